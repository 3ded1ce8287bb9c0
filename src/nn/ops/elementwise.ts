import { erf, sigmoid } from "../../core/special.js";
import { floats, release } from "../arena.js";
import { broadcastIndex, broadcastShape, runLength, type Tensor, tensor } from "../tensor.js";
import { unary } from "./_kinds.js";
import { type Op, type OpContext, type OpReads, READS_NOTHING } from "./types.js";

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
    {
      forward(a, out) {
        for (let i = 0; i < a.length; i++) out[i] = Math.max(a[i]!, 0);
      },
      // y > 0 exactly where x > 0 (NaN in both), so the mask is read from y and x can go.
      derivative(_a, y, t, out) {
        for (let i = 0; i < y.length; i++) out[i] = y[i]! > 0 ? t[i]! : 0;
      },
      linearPieces: true,
      fromOutput: true,
    },
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
    {
      forward(a, out) {
        for (let i = 0; i < a.length; i++) out[i] = erf(a[i]!);
      },
      derivative(a, _y, t, out) {
        for (let i = 0; i < a.length; i++) {
          const x = a[i]!;
          out[i] = TWO_OVER_SQRT_PI * Math.exp(-x * x) * t[i]!;
        }
      },
      linearPieces: false,
    },
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

/**
 * A partial derivative of f(a, b) at (a, b, y = f(a, b)): a function, or — for the common
 * operators, so the loops below need no call per element — a constant or one of the operands.
 */
type Partial =
  | number
  | "a"
  | "b"
  /** Div's ∂/∂a = 1/b and ∂/∂b = −a/b², written out in the loops (the same expressions). */
  | "1/b"
  | "-a/b²"
  | ((a: number, b: number, y: number) => number);

/** The partials of f(a, b). */
interface Binary {
  f(a: number, b: number): number;
  /** Integer tensors (shape arithmetic) use this instead of f when both inputs are integers. */
  int?(a: number, b: number): number;
  fa: Partial;
  fb: Partial;
  faa: Partial;
  fab: Partial;
  fbb: Partial;
}

const BINARY_RULES: Readonly<Record<string, Binary>> = {
  Add: { f: (a, b) => a + b, fa: 1, fb: 1, faa: 0, fab: 0, fbb: 0 },
  Sub: { f: (a, b) => a - b, fa: 1, fb: -1, faa: 0, fab: 0, fbb: 0 },
  Mul: { f: (a, b) => a * b, fa: "b", fb: "a", faa: 0, fab: 1, fbb: 0 },
  // a/b: f_b = −a/b², f_ab = −1/b², f_bb = 2a/b³.
  Div: {
    f: (a, b) => a / b,
    int: (a, b) => Math.trunc(a / b),
    fa: "1/b",
    fb: "-a/b²",
    faa: 0,
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
  /** The run length of each index (runLength): how reduceTo sums an adjoint into that input. */
  readonly ra: number;
  readonly rb: number;
  /** Each index's period when it is i mod the input's size (a bias over the last axes), else 0. */
  readonly pa: number;
  readonly pb: number;
}

function planOf(c: OpContext, a: Tensor, b: Tensor): Plan {
  let p = c.plans.get("plan") as Plan | undefined;
  if (!p) {
    const shape = broadcastShape(a.shape, b.shape, `${c.node.op} node "${c.node.name}"`);
    const ia = sharedIndex(a.shape, shape);
    const ib = sharedIndex(b.shape, shape);
    p = {
      shape,
      ia,
      ib,
      ra: runLength(ia),
      rb: runLength(ib),
      pa: periodOf(ia, a.data.length),
      pb: periodOf(ib, b.data.length),
    };
    c.plans.set("plan", p);
  }
  return p;
}

/** m when idx[i] = i mod m for every i (an input repeated whole along the leading axes), else 0. */
function periodOf(idx: Int32Array, m: number): number {
  if (m <= 1 || m >= idx.length || idx.length % m !== 0) return 0;
  for (let i = 0; i < idx.length; i++) if (idx[i] !== i % m) return 0;
  return m;
}

/** The operands of one broadcast product, element by element: a[ia[i]], b[ib[i]], y[i]. */
interface Operands {
  readonly A: Float64Array;
  readonly B: Float64Array;
  readonly Y: Float64Array;
  readonly ia: Int32Array;
  readonly ib: Int32Array;
  /** The run lengths of ia and ib (runLength). */
  readonly ra: number;
  readonly rb: number;
  /** The identity index of the broadcast shape. */
  readonly all: Int32Array;
}

/** An operand's index, or null where it is the identity (the operand has the broadcast shape). */
const gather = (idx: Int32Array, t: Tensor): Int32Array | null => (t.data.length === idx.length ? null : idx);

/**
 * The forward loops of the common operators, each its own function so that none calls f per
 * element (the generic loop's f differs from node to node and is never inlined). Same results.
 */
type Loop = (
  out: Float64Array,
  A: Float64Array,
  ia: Int32Array,
  B: Float64Array,
  ib: Int32Array,
  /**
   * How b is read when a has the output's shape: 1, one value a run of k (a row's mean, a
   * channel's statistic); 2, whole every k elements (a bias); 0, through the indices.
   */
  mode: number,
  k: number,
) => void;
const LOOPS: Readonly<Record<string, Loop>> = {
  Add(out, A, ia, B, ib, mode, k) {
    if (mode === 1)
      for (let j = 0; j < out.length; j += k) {
        const b = B[ib[j]!]!;
        for (let i = j; i < j + k; i++) out[i] = A[i]! + b;
      }
    else if (mode === 2)
      for (let j = 0; j < out.length; j += k) for (let t = 0; t < k; t++) out[j + t] = A[j + t]! + B[t]!;
    else for (let i = 0; i < out.length; i++) out[i] = A[ia[i]!]! + B[ib[i]!]!;
  },
  Sub(out, A, ia, B, ib, mode, k) {
    if (mode === 1)
      for (let j = 0; j < out.length; j += k) {
        const b = B[ib[j]!]!;
        for (let i = j; i < j + k; i++) out[i] = A[i]! - b;
      }
    else if (mode === 2)
      for (let j = 0; j < out.length; j += k) for (let t = 0; t < k; t++) out[j + t] = A[j + t]! - B[t]!;
    else for (let i = 0; i < out.length; i++) out[i] = A[ia[i]!]! - B[ib[i]!]!;
  },
  Mul(out, A, ia, B, ib, mode, k) {
    if (mode === 1)
      for (let j = 0; j < out.length; j += k) {
        const b = B[ib[j]!]!;
        for (let i = j; i < j + k; i++) out[i] = A[i]! * b;
      }
    else if (mode === 2)
      for (let j = 0; j < out.length; j += k) for (let t = 0; t < k; t++) out[j + t] = A[j + t]! * B[t]!;
    else for (let i = 0; i < out.length; i++) out[i] = A[ia[i]!]! * B[ib[i]!]!;
  },
  Div(out, A, ia, B, ib, mode, k) {
    if (mode === 1)
      for (let j = 0; j < out.length; j += k) {
        const b = B[ib[j]!]!;
        for (let i = j; i < j + k; i++) out[i] = A[i]! / b;
      }
    else if (mode === 2)
      for (let j = 0; j < out.length; j += k) for (let t = 0; t < k; t++) out[j + t] = A[j + t]! / B[t]!;
    else for (let i = 0; i < out.length; i++) out[i] = A[ia[i]!]! / B[ib[i]!]!;
  },
};

/** Add and Mul give the same with their operands swapped (IEEE + and × commute exactly). */
const COMMUTES = new Set(["Add", "Mul"]);

/** How a loop reads b (Loop's mode and k), given the plan; [0, 0] for the indexed loop. */
function modeOf(p: Plan, aFull: boolean): [number, number] {
  if (!aFull) return [0, 0];
  if (p.rb > 1) return [1, p.rb];
  if (p.pb > 0) return [2, p.pb];
  return [0, 0];
}

/**
 * v[i] += d(a_i, b_i, y_i) · u[iu[i]] · (w ? w[i] : 1), for every element of the broadcast shape;
 * nothing when d ≡ 0. One loop per kind of partial, so none calls a function per element unless
 * the partial is one.
 */
function addProduct(
  v: Float64Array,
  d: Partial,
  o: Operands,
  u: Float64Array,
  iu: Int32Array | null,
  w: Float64Array | null,
): void {
  if (d === 0) return;
  const { A, B, Y, ia, ib } = o;
  const n = v.length;
  // u read in place (iu null: u has the broadcast shape), the common case without the gather.
  if (iu === null && typeof d === "number") {
    if (w) for (let i = 0; i < n; i++) v[i]! += d * u[i]! * w[i]!;
    else if (d === 1) for (let i = 0; i < n; i++) v[i]! += u[i]!;
    else for (let i = 0; i < n; i++) v[i]! += d * u[i]!;
    return;
  }
  if (iu === null && (d === "a" || d === "b")) {
    const P = d === "a" ? A : B;
    const ip = d === "a" ? ia : ib;
    const run = d === "a" ? o.ra : o.rb;
    if (P.length === n) {
      // P has the broadcast shape: its index is the identity.
      if (w) for (let i = 0; i < n; i++) v[i]! += P[i]! * u[i]! * w[i]!;
      else for (let i = 0; i < n; i++) v[i]! += P[i]! * u[i]!;
    } else if (run > 1 && !w)
      for (let j = 0; j < n; j += run) {
        const p = P[ip[j]!]!;
        for (let i = j; i < j + run; i++) v[i]! += p * u[i]!;
      }
    else if (w) for (let i = 0; i < n; i++) v[i]! += P[ip[i]!]! * u[i]! * w[i]!;
    else for (let i = 0; i < n; i++) v[i]! += P[ip[i]!]! * u[i]!;
    return;
  }
  // Div's partials with b one value a run (a LayerNorm's deviation over a row), a read in place.
  if (iu === null && (d === "1/b" || d === "-a/b²") && o.rb > 1 && A.length === n) {
    const run = o.rb;
    for (let j = 0; j < n; j += run) {
      const b = B[ib[j]!]!;
      if (d === "1/b") {
        const r = 1 / b;
        if (w) for (let i = j; i < j + run; i++) v[i]! += r * u[i]! * w[i]!;
        else for (let i = j; i < j + run; i++) v[i]! += r * u[i]!;
      } else {
        const bb = b * b;
        if (w) for (let i = j; i < j + run; i++) v[i]! += (-A[i]! / bb) * u[i]! * w[i]!;
        else for (let i = j; i < j + run; i++) v[i]! += (-A[i]! / bb) * u[i]!;
      }
    }
    return;
  }
  if (iu === null) iu = o.all;
  if (d === "1/b") {
    if (w) for (let i = 0; i < n; i++) v[i]! += (1 / B[ib[i]!]!) * u[iu[i]!]! * w[i]!;
    else for (let i = 0; i < n; i++) v[i]! += (1 / B[ib[i]!]!) * u[iu[i]!]!;
  } else if (d === "-a/b²") {
    if (w)
      for (let i = 0; i < n; i++) {
        const b = B[ib[i]!]!;
        v[i]! += (-A[ia[i]!]! / (b * b)) * u[iu[i]!]! * w[i]!;
      }
    else
      for (let i = 0; i < n; i++) {
        const b = B[ib[i]!]!;
        v[i]! += (-A[ia[i]!]! / (b * b)) * u[iu[i]!]!;
      }
  } else if (typeof d === "number") {
    if (w) for (let i = 0; i < n; i++) v[i]! += d * u[iu[i]!]! * w[i]!;
    else for (let i = 0; i < n; i++) v[i]! += d * u[iu[i]!]!;
  } else if (d === "a" || d === "b") {
    const P = d === "a" ? A : B;
    const ip = d === "a" ? ia : ib;
    if (w) for (let i = 0; i < n; i++) v[i]! += P[ip[i]!]! * u[iu[i]!]! * w[i]!;
    else for (let i = 0; i < n; i++) v[i]! += P[ip[i]!]! * u[iu[i]!]!;
  } else if (w) for (let i = 0; i < n; i++) v[i]! += d(A[ia[i]!]!, B[ib[i]!]!, Y[i]!) * u[iu[i]!]! * w[i]!;
  else for (let i = 0; i < n; i++) v[i]! += d(A[ia[i]!]!, B[ib[i]!]!, Y[i]!) * u[iu[i]!]!;
}

/** The identity index 0 … n−1 (a tensor of the broadcast shape read element by element). */
function iota(n: number): Int32Array {
  return sharedIndex([n], [n]);
}

/**
 * broadcastIndex, one array per pair of shapes for every node (read only): a ResNet's BatchNorms
 * all broadcast [1, C, 1, 1] over [N, C, H, W], and a block of 128 images makes each such index
 * 2M entries; one per node was hundreds of MB. The last few pairs are kept.
 */
function sharedIndex(from: readonly number[], to: readonly number[]): Int32Array {
  const key = `${from.join("x")}>${to.join("x")}`;
  let idx = SHARED.get(key);
  if (idx) {
    // Most recently used last.
    SHARED.delete(key);
  } else {
    idx = broadcastIndex(from, to);
    if (SHARED.size >= SHARED_PAIRS) SHARED.delete(SHARED.keys().next().value!);
  }
  SHARED.set(key, idx);
  return idx;
}
const SHARED = new Map<string, Int32Array>();
const SHARED_PAIRS = 64;

/**
 * Sum the per-element values v into an input of the given shape through its broadcast index (an
 * input as large as the output is broadcast along no axis: its index is the identity). Where the
 * index is constant on runs of `run` elements, each run is summed first and added once: the same
 * sum in another order, without a store to the same element on every step.
 */
function reduceTo(v: Float64Array, idx: Int32Array, t: Tensor, run: number, period = 0): Tensor {
  if (idx.length === t.data.length) return tensor(t.shape, v);
  const out = floats(t.data.length);
  if (period > 0) {
    // idx[i] = i mod period: row after row into the same vector, in the same order as below.
    for (let j = 0; j < v.length; j += period) for (let k = 0; k < period; k++) out[k]! += v[j + k]!;
  } else if (run > 1) {
    for (let j = 0; j < v.length; j += run) {
      let sum = 0;
      for (let i = j; i < j + run; i++) sum += v[i]!;
      out[idx[j]!]! += sum;
    }
  } else for (let i = 0; i < v.length; i++) out[idx[i]!]! += v[i]!;
  return tensor(t.shape, out);
}

/**
 * What a binary operator's derivatives read: a and b where a partial depends on them, y where one
 * is a function (which may read it), the tangents where a second partial is not 0; never R{y}.
 */
function binaryReads(r: Binary): OpReads {
  const first = [r.fa, r.fb];
  const second = [r.faa, r.fab, r.fbb];
  const all = [...first, ...second];
  return {
    x: all.some((d) => typeof d !== "number"),
    y: all.some((d) => typeof d === "function"),
    dx: second.some((d) => d !== 0),
    dy: false,
  };
}

/** reduceTo on a scratch array of the broadcast shape, given back to the arena once summed. */
function reducedFrom(v: Float64Array, idx: Int32Array, t: Tensor, run: number, period: number): Tensor {
  const out = reduceTo(v, idx, t, run, period);
  if (out.data !== v) release(v.buffer);
  return out;
}

function binary(name: string, r: Binary): Op {
  const loop = LOOPS[name];
  return {
    reads: binaryReads(r),
    forward(c, [a, b]) {
      const plan = planOf(c, a!, b!);
      const { shape, ia, ib } = plan;
      const A = a!.data;
      const B = b!.data;
      const out = floats(ia.length);
      const ints = a!.dtype === "int" && b!.dtype === "int";
      if (loop && !(ints && r.int)) {
        // The full operand read in place and the other once a run or whole every period: the
        // common broadcasts (a row's mean, a channel's statistic, a bias), without the indices.
        const swap = COMMUTES.has(name) && B.length === ia.length && A.length < ia.length;
        if (swap) {
          const flipped: Plan = {
            ...plan,
            ia: ib,
            ib: ia,
            ra: plan.rb,
            rb: plan.ra,
            pa: plan.pb,
            pb: plan.pa,
          };
          const [mode, k] = modeOf(flipped, true);
          loop(out, B, ib, A, ia, mode, k);
        } else {
          const [mode, k] = modeOf(plan, A.length === ia.length);
          loop(out, A, ia, B, ib, mode, k);
        }
      } else {
        const f = ints && r.int ? r.int : r.f;
        for (let i = 0; i < out.length; i++) out[i] = f(A[ia[i]!]!, B[ib[i]!]!);
      }
      return [tensor(shape, out, ints ? "int" : "float")];
    },
    jvp(c, [a, b], [da, db], [y]) {
      if (!da && !db) return [null];
      const { shape, ia, ib, ra, rb } = planOf(c, a!, b!);
      const o: Operands = { A: a!.data, B: b!.data, Y: y!.data, ia, ib, ra, rb, all: iota(ia.length) };
      const out = floats(ia.length);
      if (da) addProduct(out, r.fa, o, da.data, gather(ia, a!), null);
      if (db) addProduct(out, r.fb, o, db.data, gather(ib, b!), null);
      return [tensor(shape, out)];
    },
    vjp(c, [a, b], [y], [gy], need) {
      if (!gy) return [null, null];
      const { ia, ib, ra, rb, pa, pb } = planOf(c, a!, b!);
      const o: Operands = { A: a!.data, B: b!.data, Y: y!.data, ia, ib, ra, rb, all: iota(ia.length) };
      const side = (d: Partial, idx: Int32Array, run: number, period: number, t: Tensor): Tensor => {
        // ∂f/∂a ≡ 1 (Add, Sub's a): the adjoint itself, summed where a was broadcast (the
        // accumulator copies a tensor before adding to it, so gy is shared, not changed).
        if (d === 1) return reduceTo(gy.data, idx, t, run, period);
        const v = floats(ia.length);
        addProduct(v, d, o, gy.data, null, null);
        return reducedFrom(v, idx, t, run, period);
      };
      return [need[0] ? side(r.fa, ia, ra, pa, a!) : null, need[1] ? side(r.fb, ib, rb, pb, b!) : null];
    },
    rvjp(c, [a, b], [da, db], [y], _dy, [gy], [dgy], need) {
      const { ia, ib, ra, rb, pa, pb } = planOf(c, a!, b!);
      const o: Operands = { A: a!.data, B: b!.data, Y: y!.data, ia, ib, ra, rb, all: iota(ia.length) };
      // R{ā} = reduce(f_aa·ȧ·ȳ + f_ab·ḃ·ȳ + f_a·R{ȳ}), and the same for b with f_ab, f_bb, f_b.
      const side = (
        first: Partial,
        withA: Partial,
        withB: Partial,
        idx: Int32Array,
        run: number,
        period: number,
        t: Tensor,
      ): Tensor => {
        if (withA === 0 && withB === 0 && first === 1 && dgy) return reduceTo(dgy.data, idx, t, run, period);
        const v = floats(ia.length);
        if (gy) {
          if (da) addProduct(v, withA, o, da.data, gather(ia, a!), gy.data);
          if (db) addProduct(v, withB, o, db.data, gather(ib, b!), gy.data);
        }
        if (dgy) addProduct(v, first, o, dgy.data, null, null);
        return reducedFrom(v, idx, t, run, period);
      };
      return [
        need[0] ? side(r.fa, r.faa, r.fab, ia, ra, pa, a!) : null,
        need[1] ? side(r.fb, r.fab, r.fbb, ib, rb, pb, b!) : null,
      ];
    },
  };
}

export const BINARY: Readonly<Record<string, Op>> = Object.fromEntries(
  Object.entries(BINARY_RULES).map(([name, r]) => [name, binary(name, r)]),
);

/** x unchanged (Identity; Dropout at inference, whose optional mask output is all ones). */
export const identity: Op = {
  reads: READS_NOTHING,
  forward: (_c, [x]) => [x!, tensor(x!.shape, floats(x!.data.length).fill(1))],
  jvp: (_c, _x, [dx]) => [dx ?? null, null],
  vjp: (_c, _x, _y, [gy], need) => [need[0] ? (gy ?? null) : null],
  rvjp: (_c, _x, _dx, _y, _dy, _gy, [dgy], need) => [need[0] ? (dgy ?? null) : null],
};
