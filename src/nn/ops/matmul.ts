import { floats } from "../arena.js";
import { gemm } from "../gemm.js";
import {
  broadcastIndex,
  broadcastShape,
  checkedSize,
  GraphError,
  shapeText,
  size,
  type Tensor,
  tensor,
} from "../tensor.js";
import { bilinearParts } from "./_kinds.js";
import { type Maybe, type Op, type OpContext, READS_INPUTS } from "./types.js";

/**
 * MatMul with NumPy's semantics: the last two axes multiply (a 1-D operand is a row or a column
 * vector, its axis dropped from the result), the leading axes broadcast. For Y = A·B:
 *   Ā = Ȳ·Bᵀ and B̄ = Aᵀ·Ȳ, each summed over the batch axes its operand was broadcast along.
 */
interface Plan {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly batch: number;
  /** For every batch index of the result, the matrix index into A and into B. */
  readonly ia: Int32Array;
  readonly ib: Int32Array;
  readonly shape: readonly number[];
  /**
   * B one matrix for the whole batch and A's matrices in order (a Linear layer on a sequence):
   * the batch of products is one product of A's stacked rows, batch·m × k, with B — the same sums
   * in the same order (each output's products in increasing p), in one call instead of `batch`.
   */
  readonly stacked: boolean;
}

function planOf(c: OpContext, a: Tensor, b: Tensor): Plan {
  let p = c.plans.get("plan") as Plan | undefined;
  if (p) return p;
  const where = `MatMul node "${c.node.name}"`;
  if (a.shape.length === 0 || b.shape.length === 0) throw new GraphError(`${where}: a scalar operand`);
  const as = a.shape.length === 1 ? [1, a.shape[0]!] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0]!, 1] : b.shape;
  const m = as[as.length - 2]!;
  const k = as[as.length - 1]!;
  const n = bs[bs.length - 1]!;
  if (bs[bs.length - 2] !== k)
    throw new GraphError(`${where}: ${shapeText(a.shape)} times ${shapeText(b.shape)}: inner sizes differ`);
  const aBatch = as.slice(0, -2);
  const bBatch = bs.slice(0, -2);
  const batchShape = broadcastShape(aBatch, bBatch, where);
  const shape = [...batchShape];
  if (a.shape.length > 1) shape.push(m);
  if (b.shape.length > 1) shape.push(n);
  checkedSize(shape, where);
  const ia = broadcastIndex(aBatch, batchShape);
  const ib = broadcastIndex(bBatch, batchShape);
  p = {
    m,
    k,
    n,
    batch: size(batchShape),
    ia,
    ib,
    shape,
    stacked: ib.every((t) => t === 0) && ia.every((t, i) => t === i),
  };
  c.plans.set("plan", p);
  return p;
}

const parts = bilinearParts({
  product(c, a, b) {
    const { m, k, n, batch, ia, ib, shape, stacked } = planOf(c, a, b);
    const out = floats(batch * m * n);
    if (stacked) gemm(batch * m, n, k, a.data, 0, false, b.data, 0, false, out, 0, true);
    else
      for (let t = 0; t < batch; t++)
        gemm(m, n, k, a.data, ia[t]! * m * k, false, b.data, ib[t]! * k * n, false, out, t * m * n, true);
    return tensor(shape, out);
  },
  // Ā[t] += Ȳ[t]·B[t]ᵀ (m×n times (k×n)ᵀ).
  leftAdjoint(c, gy, b, a) {
    const { m, k, n, batch, ia, ib, stacked } = planOf(c, a, b);
    const out = floats(a.data.length);
    if (stacked) gemm(batch * m, k, n, gy.data, 0, false, b.data, 0, true, out, 0, true);
    else
      for (let t = 0; t < batch; t++)
        gemm(m, k, n, gy.data, t * m * n, false, b.data, ib[t]! * k * n, true, out, ia[t]! * m * k, true);
    return tensor(a.shape, out);
  },
  // B̄[t] += A[t]ᵀ·Ȳ[t] ((m×k)ᵀ times m×n).
  rightAdjoint(c, a, gy, b) {
    const { m, k, n, batch, ia, ib, stacked } = planOf(c, a, b);
    const out = floats(b.data.length);
    // Σ_t A[t]ᵀ·Ȳ[t]: the products over t and then p are one sum over the stacked rows.
    if (stacked) gemm(k, n, batch * m, a.data, 0, true, gy.data, 0, false, out, 0, true);
    else
      for (let t = 0; t < batch; t++)
        gemm(k, n, m, a.data, ia[t]! * m * k, true, gy.data, t * m * n, false, out, ib[t]! * k * n, true);
    return tensor(b.shape, out);
  },
});

/**
 * y += b broadcast along the last axis (b of its length, or one value), in place: the bias of a
 * Linear layer that fuse.ts folded into its MatMul, added to the finished product as the Add it
 * replaces did (b + y, the same bits).
 */
function addBias(c: OpContext, y: Tensor, b: Tensor): Tensor {
  const n = y.shape.length > 0 ? y.shape[y.shape.length - 1]! : 1;
  const out = y.data;
  if (b.data.length === 1) {
    const v = b.data[0]!;
    for (let i = 0; i < out.length; i++) out[i]! += v;
    return y;
  }
  if (b.data.length !== n)
    throw new GraphError(
      `${c.node.op} node "${c.node.name}": a bias of ${shapeText(b.shape)} does not broadcast over a product of ${shapeText(y.shape)}`,
    );
  const B = b.data;
  for (let r = 0; r < out.length; r += n) for (let j = 0; j < n; j++) out[r + j]! += B[j]!;
  return y;
}

/** b̄[j] = Σ over the rows of ȳ[…, j] (a single b: the sum of ȳ). */
function biasAdjoint(gy: Tensor, b: Tensor): Tensor {
  const out = floats(b.data.length);
  const G = gy.data;
  const n = b.data.length;
  if (n === 1) {
    let t = 0;
    for (let i = 0; i < G.length; i++) t += G[i]!;
    out[0] = t;
  } else for (let r = 0; r < G.length; r += n) for (let j = 0; j < n; j++) out[j]! += G[r + j]!;
  return tensor(b.shape, out);
}

const bias = (x: readonly Maybe[]): Maybe => (x.length > 2 ? (x[2] ?? null) : null);

/**
 * MatMul, and overshoot.MatMulBias: MatMul(A, B) + b with b along the last axis (fuse.ts), its
 * bias's derivatives those of the Add it replaces: R{y} gains ḃ, b̄ = Σ ȳ over the rows.
 */
export const matmul: Op = {
  reads: READS_INPUTS,
  forward(c, x) {
    const y = parts.jvp(c, x[0]!, x[1]!, x[0]!, null)!;
    const b = bias(x);
    return [b ? addBias(c, y, b) : y];
  },
  jvp(c, x, dx) {
    const y = parts.jvp(c, x[0]!, x[1]!, dx[0] ?? null, dx[1] ?? null);
    const db = dx.length > 2 ? (dx[2] ?? null) : null;
    if (!db) return [y];
    const { batch, m, n, shape } = planOf(c, x[0]!, x[1]!);
    return [addBias(c, y ?? tensor(shape, floats(batch * m * n)), db)];
  },
  vjp(c, x, _y, [gy], need) {
    const [ga, gb] = parts.vjp(c, x[0]!, x[1]!, gy ?? null, need);
    const b = bias(x);
    return [ga, gb, b && need[2] && gy ? biasAdjoint(gy, b) : null];
  },
  rvjp(c, x, dx, _y, _dy, [gy], [dgy], need) {
    const [ga, gb] = parts.rvjp(c, x[0]!, x[1]!, dx[0] ?? null, dx[1] ?? null, gy ?? null, dgy ?? null, need);
    const b = bias(x);
    return [ga, gb, b && need[2] && dgy ? biasAdjoint(dgy, b) : null];
  },
};
