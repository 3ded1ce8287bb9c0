import { floats, release } from "../arena.js";
import { type Tensor, tensor } from "../tensor.js";
import { type Maybe, type Op, type OpContext, type OpReads, READS_NOTHING } from "./types.js";

/**
 * The three shapes most operators take, each with its derivatives written once:
 * elementwise functions, maps linear in one input, and index maps (gathers).
 */

/**
 * y = f(x) elementwise, with f′ and f″ given at (x, y):
 *   R{y} = f′·ẋ,  x̄ = f′·ȳ,  R{x̄} = f″·ẋ·ȳ + f′·R{ȳ}.
 */
export function unary(
  f: (x: number) => number,
  d1: (x: number, y: number) => number,
  d2: (x: number, y: number) => number,
  /**
   * The same f and f′ as loops of their own, for the hottest operators: these closures share one
   * call site for f across every operator, which V8 then never inlines (a call per element).
   */
  loops?: {
    readonly forward: (a: Float64Array, out: Float64Array) => void;
    readonly derivative: (a: Float64Array, y: Float64Array, t: Float64Array, out: Float64Array) => void;
    /** f″ ≡ 0 (a piecewise-linear f): R{x̄} = f′·R{ȳ} alone. */
    readonly linearPieces: boolean;
    /** f′ read from y alone (Relu's y > 0), and with linearPieces no ẋ: x is free after the forward pass. */
    readonly fromOutput?: boolean;
  },
): Op {
  const reads: OpReads | undefined =
    loops?.fromOutput && loops.linearPieces ? { x: false, dx: false, y: true, dy: false } : undefined;
  // The Jacobian is diagonal, so R{y} and x̄ are the same product: f′ ⊙ u.
  const derivative = (x: Tensor, y: Tensor, u: Tensor): Tensor => {
    const a = x.data;
    const b = y.data;
    const t = u.data;
    const out = floats(a.length);
    if (loops) loops.derivative(a, b, t, out);
    else for (let i = 0; i < a.length; i++) out[i] = d1(a[i]!, b[i]!) * t[i]!;
    return tensor(x.shape, out);
  };
  return {
    ...(reads ? { reads } : {}),
    forward(_c, [x]) {
      const a = x!.data;
      const out = floats(a.length);
      if (loops) loops.forward(a, out);
      else for (let i = 0; i < a.length; i++) out[i] = f(a[i]!);
      return [tensor(x!.shape, out)];
    },
    jvp: (_c, [x], [dx], [y]) => [dx ? derivative(x!, y!, dx) : null],
    vjp: (_c, [x], [y], [gy], need) => [need[0] && gy ? derivative(x!, y!, gy) : null],
    rvjp(_c, [x], [dx], [y], _dy, [gy], [dgy], need) {
      if (!need[0]) return [null];
      const a = x!.data;
      const b = y!.data;
      const out = dgy ? derivative(x!, y!, dgy) : tensor(x!.shape, floats(a.length));
      if (dx && gy && !loops?.linearPieces) {
        const t = dx.data;
        const g = gy.data;
        const o = out.data;
        for (let i = 0; i < a.length; i++) o[i]! += d2(a[i]!, b[i]!) * t[i]! * g[i]!;
      }
      return [out];
    },
  };
}

/**
 * An operator linear in its first input (the others fix the map: shapes, axes, indices). With L
 * the map, R{y} = L·ẋ, x̄ = Lᵀ·ȳ, R{x̄} = Lᵀ·R{ȳ}. `apply` with `homogeneous` false may add a
 * constant (Pad's value); the derivatives call it with true.
 */
export function linear(
  apply: (c: OpContext, x0: Tensor, x: readonly Maybe[], homogeneous: boolean) => Tensor,
  transpose: (c: OpContext, g: Tensor, x: readonly Maybe[]) => Tensor,
): Op {
  return {
    // The map is fixed by shapes, plans and the forward pass's cache: no contents are read.
    reads: READS_NOTHING,
    forward: (c, x) => [apply(c, x[0]!, x, false)],
    jvp: (c, x, dx) => [dx[0] ? apply(c, dx[0], x, true) : null],
    vjp: (c, x, _y, gy, need) => [
      need[0] && gy[0] ? transpose(c, gy[0], x) : null,
      ...x.slice(1).map(() => null),
    ],
    rvjp: (c, x, _dx, _y, _dy, _gy, dgy, need) => [
      need[0] && dgy[0] ? transpose(c, dgy[0], x) : null,
      ...x.slice(1).map(() => null),
    ],
  };
}

/** y[i] = x[map[i]], or `fill` where map[i] < 0: slices, gathers, transposes, pads, max-pool's choice. */
export interface IndexMap {
  readonly shape: readonly number[];
  readonly map: Int32Array;
  readonly fill: number;
}

/**
 * A linear operator given by an index map, computed from the input once per pass (cached) — or,
 * where `shapeOnly` says the map follows from the shapes and small integer inputs alone (a
 * transpose, an expand, a slice), once for all passes with those shapes (the node's plans, which
 * are keyed by exactly that), instead of again on every pass.
 */
export function gather(
  mapOf: (c: OpContext, x0: Tensor, x: readonly Maybe[]) => IndexMap,
  shapeOnly: (x: readonly Maybe[]) => boolean = () => false,
): Op {
  // Computed from the forward pass's input x[0] (max-pool's choice is the primal's), then reused.
  const cached = (c: OpContext, x: readonly Maybe[]): IndexMap => {
    const store = shapeOnly(x) ? c.plans : c.cache;
    let m = store.get("map") as IndexMap | undefined;
    if (!m) {
      m = mapOf(c, x[0]!, x);
      store.set("map", m);
    }
    return m;
  };
  return linear(
    (c, x0, x, homogeneous) => {
      const { shape, map, fill } = cached(c, x);
      const v = homogeneous ? 0 : fill;
      const a = x0.data;
      const out = floats(map.length);
      for (let i = 0; i < map.length; i++) {
        const j = map[i]!;
        out[i] = j >= 0 ? a[j]! : v;
      }
      return tensor(shape, out, x0.dtype);
    },
    (c, g, x) => {
      const x0 = x[0]!;
      const { map } = cached(c, x);
      const out = floats(x0.data.length);
      const h = g.data;
      for (let i = 0; i < map.length; i++) {
        const j = map[i]!;
        if (j >= 0) out[j]! += h[i]!;
      }
      return tensor(x0.shape, out);
    },
  );
}

/** An operator with no derivative at all (shape arithmetic on integer tensors, constants). */
export function constantOp(forward: (c: OpContext, x: readonly Maybe[]) => Tensor[]): Op {
  return {
    forward,
    jvp: (_c, _x, _dx, y) => y.map(() => null),
    vjp: (_c, x) => x.map(() => null),
    rvjp: (_c, x) => x.map(() => null),
  };
}

/** a + b for tensors of one shape, either possibly null (zero). */
export function plus(a: Maybe, b: Maybe): Maybe {
  if (!a) return b;
  if (!b) return a;
  // Both are the products' own new arrays: the sum goes into a, and b goes back to the arena.
  const out = a.data;
  for (let i = 0; i < out.length; i++) out[i]! += b.data[i]!;
  release(b.data.buffer);
  return a;
}

/** The products a bilinear operator y = P(a, b) needs: P itself, and its two transposes. */
export interface Bilinear {
  product(c: OpContext, a: Tensor, b: Tensor): Tensor;
  /** ā = ∂/∂a ⟨ȳ, P(a, b)⟩ for the given ȳ and b. */
  leftAdjoint(c: OpContext, gy: Tensor, b: Tensor, a: Tensor): Tensor;
  /** b̄ = ∂/∂b ⟨ȳ, P(a, b)⟩ for the given a and ȳ. */
  rightAdjoint(c: OpContext, a: Tensor, gy: Tensor, b: Tensor): Tensor;
}

/**
 * y = P(a, b) bilinear (a matrix product, a convolution): R{y} = P(ȧ, b) + P(a, ḃ);
 * ā = Pₐᵀ(ȳ, b), b̄ = P_bᵀ(a, ȳ); R{ā} = Pₐᵀ(R{ȳ}, b) + Pₐᵀ(ȳ, ḃ), R{b̄} = P_bᵀ(ȧ, ȳ) + P_bᵀ(a, R{ȳ}).
 */
export function bilinearParts(p: Bilinear) {
  return {
    jvp(c: OpContext, a: Tensor, b: Tensor, da: Maybe, db: Maybe): Maybe {
      return plus(da ? p.product(c, da, b) : null, db ? p.product(c, a, db) : null);
    },
    vjp(c: OpContext, a: Tensor, b: Tensor, gy: Maybe, need: readonly boolean[]): [Maybe, Maybe] {
      if (!gy) return [null, null];
      return [need[0] ? p.leftAdjoint(c, gy, b, a) : null, need[1] ? p.rightAdjoint(c, a, gy, b) : null];
    },
    rvjp(
      c: OpContext,
      a: Tensor,
      b: Tensor,
      da: Maybe,
      db: Maybe,
      gy: Maybe,
      dgy: Maybe,
      need: readonly boolean[],
    ): [Maybe, Maybe] {
      const left = need[0]
        ? plus(dgy ? p.leftAdjoint(c, dgy, b, a) : null, gy && db ? p.leftAdjoint(c, gy, db, a) : null)
        : null;
      const right = need[1]
        ? plus(gy && da ? p.rightAdjoint(c, da, gy, b) : null, dgy ? p.rightAdjoint(c, a, dgy, b) : null)
        : null;
      return [left, right];
    },
  };
}
