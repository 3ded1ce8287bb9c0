import { erf, sigmoid } from "../../core/special.js";
import { broadcastIndex, broadcastShape, type Tensor, tensor } from "../tensor.js";
import { unary } from "./_kinds.js";
import type { Op, OpContext } from "./types.js";

/**
 * Elementwise operators. Unary: f′ and f″ written in terms of x or y = f(x). Binary (NumPy
 * broadcasting): the first and second partials of f(a, b); an input broadcast along an axis gets
 * the sum of its adjoints along it.
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

export const UNARY: Readonly<Record<string, Op>> = {
  // max(x, 0): f′ = [x > 0] (0 at the kink, as PyTorch), f″ = 0.
  Relu: unary(
    (x) => Math.max(x, 0),
    (x) => (x > 0 ? 1 : 0),
    () => 0,
  ),
  // f′ = 1 − y², f″ = −2y(1 − y²).
  Tanh: unary(
    Math.tanh,
    (_x, y) => 1 - y * y,
    (_x, y) => -2 * y * (1 - y * y),
  ),
  // f′ = y(1 − y), f″ = y(1 − y)(1 − 2y).
  Sigmoid: unary(
    sigmoid,
    (_x, y) => y * (1 - y),
    (_x, y) => y * (1 - y) * (1 - 2 * y),
  ),
  // f′ = (2/√π)e^{−x²}, f″ = −2x·f′.
  Erf: unary(
    erf,
    (x) => TWO_OVER_SQRT_PI * Math.exp(-x * x),
    (x) => -2 * x * TWO_OVER_SQRT_PI * Math.exp(-x * x),
  ),
  // f′ = 1/(2y), f″ = −1/(4y³).
  Sqrt: unary(
    Math.sqrt,
    (_x, y) => 0.5 / y,
    (_x, y) => -0.25 / (y * y * y),
  ),
  Exp: unary(
    Math.exp,
    (_x, y) => y,
    (_x, y) => y,
  ),
  // f′ = 1/x, f″ = −1/x².
  Log: unary(
    Math.log,
    (x) => 1 / x,
    (x) => -1 / (x * x),
  ),
  Neg: unary(
    (x) => -x,
    () => -1,
    () => 0,
  ),
  // f′ = −1/x², f″ = 2/x³.
  Reciprocal: unary(
    (x) => 1 / x,
    (x) => -1 / (x * x),
    (x) => 2 / (x * x * x),
  ),
};

/** The partials of f(a, b) at (a, b, y = f(a, b)). */
interface Binary {
  f(a: number, b: number): number;
  /** Integer tensors (shape arithmetic) use this instead of f when both inputs are integers. */
  int?(a: number, b: number): number;
  fa(a: number, b: number, y: number): number;
  fb(a: number, b: number, y: number): number;
  faa(a: number, b: number, y: number): number;
  fab(a: number, b: number, y: number): number;
  fbb(a: number, b: number, y: number): number;
}

const zero = (): number => 0;
const one = (): number => 1;

const BINARY_RULES: Readonly<Record<string, Binary>> = {
  Add: { f: (a, b) => a + b, fa: one, fb: one, faa: zero, fab: zero, fbb: zero },
  Sub: { f: (a, b) => a - b, fa: one, fb: () => -1, faa: zero, fab: zero, fbb: zero },
  Mul: { f: (a, b) => a * b, fa: (_a, b) => b, fb: (a) => a, faa: zero, fab: one, fbb: zero },
  // a/b: f_b = −a/b², f_ab = −1/b², f_bb = 2a/b³.
  Div: {
    f: (a, b) => a / b,
    int: (a, b) => Math.trunc(a / b),
    fa: (_a, b) => 1 / b,
    fb: (a, b) => -a / (b * b),
    faa: zero,
    fab: (_a, b) => -1 / (b * b),
    fbb: (a, b) => (2 * a) / (b * b * b),
  },
  // a^b: f_a = b·a^{b−1}, f_aa = b(b−1)a^{b−2}, f_b = y·ln a, f_ab = a^{b−1}(1 + b ln a), f_bb = y·ln²a.
  Pow: {
    f: (a, b) => a ** b,
    fa: (a, b) => (b === 0 ? 0 : b * a ** (b - 1)),
    fb: (a, _b, y) => y * Math.log(a),
    faa: (a, b) => (b === 0 || b === 1 ? 0 : b * (b - 1) * a ** (b - 2)),
    fab: (a, b) => a ** (b - 1) * (1 + b * Math.log(a)),
    fbb: (a, _b, y) => y * Math.log(a) ** 2,
  },
};

interface Plan {
  readonly shape: readonly number[];
  readonly ia: Int32Array;
  readonly ib: Int32Array;
}

function planOf(c: OpContext, a: Tensor, b: Tensor): Plan {
  let p = c.cache.get("plan") as Plan | undefined;
  if (!p) {
    const shape = broadcastShape(a.shape, b.shape, `${c.node.op} node "${c.node.name}"`);
    p = { shape, ia: broadcastIndex(a.shape, shape), ib: broadcastIndex(b.shape, shape) };
    c.cache.set("plan", p);
  }
  return p;
}

/** Sum the per-element values v into an input of the given shape through its broadcast index. */
function reduceTo(v: Float64Array, idx: Int32Array, t: Tensor): Tensor {
  const out = new Float64Array(t.data.length);
  for (let i = 0; i < v.length; i++) out[idx[i]!]! += v[i]!;
  return tensor(t.shape, out);
}

function binary(r: Binary): Op {
  return {
    forward(c, [a, b]) {
      const { shape, ia, ib } = planOf(c, a!, b!);
      const A = a!.data;
      const B = b!.data;
      const out = new Float64Array(ia.length);
      const ints = a!.dtype === "int" && b!.dtype === "int";
      const f = ints && r.int ? r.int : r.f;
      for (let i = 0; i < out.length; i++) out[i] = f(A[ia[i]!]!, B[ib[i]!]!);
      return [tensor(shape, out, ints ? "int" : "float")];
    },
    jvp(c, [a, b], [da, db], [y]) {
      if (!da && !db) return [null];
      const { shape, ia, ib } = planOf(c, a!, b!);
      const A = a!.data;
      const B = b!.data;
      const Y = y!.data;
      const out = new Float64Array(ia.length);
      if (da)
        for (let i = 0; i < out.length; i++) out[i] = r.fa(A[ia[i]!]!, B[ib[i]!]!, Y[i]!) * da.data[ia[i]!]!;
      if (db)
        for (let i = 0; i < out.length; i++)
          out[i]! += r.fb(A[ia[i]!]!, B[ib[i]!]!, Y[i]!) * db.data[ib[i]!]!;
      return [tensor(shape, out)];
    },
    vjp(c, [a, b], [y], [gy], need) {
      if (!gy) return [null, null];
      const { ia, ib } = planOf(c, a!, b!);
      const A = a!.data;
      const B = b!.data;
      const Y = y!.data;
      const G = gy.data;
      const v = new Float64Array(ia.length);
      const side = (d: Binary["fa"], idx: Int32Array, t: Tensor): Tensor => {
        for (let i = 0; i < v.length; i++) v[i] = d(A[ia[i]!]!, B[ib[i]!]!, Y[i]!) * G[i]!;
        return reduceTo(v, idx, t);
      };
      return [need[0] ? side(r.fa, ia, a!) : null, need[1] ? side(r.fb, ib, b!) : null];
    },
    rvjp(c, [a, b], [da, db], [y], _dy, [gy], [dgy], need) {
      const { ia, ib } = planOf(c, a!, b!);
      const A = a!.data;
      const B = b!.data;
      const Y = y!.data;
      const n = ia.length;
      const v = new Float64Array(n);
      // R{ā} = reduce(f_aa·ȧ·ȳ + f_ab·ḃ·ȳ + f_a·R{ȳ}), and the same for b with f_ab, f_bb, f_b.
      const side = (
        first: Binary["fa"],
        withA: Binary["fa"],
        withB: Binary["fa"],
        idx: Int32Array,
        t: Tensor,
      ): Tensor => {
        v.fill(0);
        if (gy) {
          const G = gy.data;
          if (da)
            for (let i = 0; i < n; i++)
              v[i]! += withA(A[ia[i]!]!, B[ib[i]!]!, Y[i]!) * da.data[ia[i]!]! * G[i]!;
          if (db)
            for (let i = 0; i < n; i++)
              v[i]! += withB(A[ia[i]!]!, B[ib[i]!]!, Y[i]!) * db.data[ib[i]!]! * G[i]!;
        }
        if (dgy) {
          const H = dgy.data;
          for (let i = 0; i < n; i++) v[i]! += first(A[ia[i]!]!, B[ib[i]!]!, Y[i]!) * H[i]!;
        }
        return reduceTo(v, idx, t);
      };
      return [
        need[0] ? side(r.fa, r.faa, r.fab, ia, a!) : null,
        need[1] ? side(r.fb, r.fab, r.fbb, ib, b!) : null,
      ];
    },
  };
}

export const BINARY: Readonly<Record<string, Op>> = Object.fromEntries(
  Object.entries(BINARY_RULES).map(([name, r]) => [name, binary(r)]),
);

/** x unchanged (Identity; Dropout at inference, whose optional mask output is all ones). */
export const identity: Op = {
  forward: (_c, [x]) => [x!, tensor(x!.shape, new Float64Array(x!.data.length).fill(1))],
  jvp: (_c, _x, [dx]) => [dx ?? null, null],
  vjp: (_c, _x, _y, [gy], need) => [need[0] ? (gy ?? null) : null],
  rvjp: (_c, _x, _dx, _y, _dy, _gy, [dgy], need) => [need[0] ? (dgy ?? null) : null],
};
