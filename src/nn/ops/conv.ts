import { floats, release } from "../arena.js";
import { gemm } from "../gemm.js";
import { checkedSize, GraphError, shapeText, type Tensor, tensor } from "../tensor.js";
import { bilinearParts } from "./_kinds.js";
import { outputShape, type Window, windowOf } from "./_spatial.js";
import { type Maybe, type Op, type OpContext, READS_INPUTS } from "./types.js";

/**
 * Conv (1-D and 2-D; strides, pads, dilations, groups, bias optional) as products over unfolded
 * windows (im2col): per sample and group, with K = (C/G)·kh·kw taps and P output positions,
 *   Y_g (M/G × P) = W_g (M/G × K) · cols_g (K × P),
 * so W̄_g = Ȳ_g·cols_gᵀ and cols̄_g = W_gᵀ·Ȳ_g, folded back onto the input (col2im). The
 * convolution is bilinear in (X, W): its R-operator and the R-operator of its VJP follow from
 * these three products (ops/_kinds.ts); the bias adds Σ Ȳ over samples and positions.
 */
interface Plan {
  readonly w: Window;
  readonly M: number;
  readonly G: number;
  /** Taps per group, K = (C/G)·kh·kw, and output positions P. */
  readonly K: number;
  readonly P: number;
  /**
   * Per kernel tap and output row (tap·oh + oi), three numbers: the input position in its
   * channel's image read at output column `lo` (−1 when the row is all padding), and the columns
   * [lo, hi) that read the input; the others read padding (0). Along a row the input advances by
   * the stride sw, so a row of the unfolded input is a strided copy, not a gather.
   */
  readonly rows: Int32Array;
  readonly shape: readonly number[];
}

/** Plan.rows of a window (see there). */
function tapRows(w: Window): Int32Array {
  const rows = new Int32Array(w.kh * w.kw * w.oh * 3);
  for (let ki = 0; ki < w.kh; ki++)
    for (let kj = 0; kj < w.kw; kj++)
      for (let oi = 0; oi < w.oh; oi++) {
        const at = ((ki * w.kw + kj) * w.oh + oi) * 3;
        const ih = oi * w.sh - w.pt + ki * w.dh;
        // Columns whose input column oj·sw − pl + kj·dw falls inside [0, W).
        const shift = kj * w.dw - w.pl;
        let lo = Math.max(0, Math.ceil(-shift / w.sw));
        let hi = Math.min(w.ow, Math.floor((w.W - 1 - shift) / w.sw) + 1);
        if (ih < 0 || ih >= w.H || lo >= hi) {
          lo = 0;
          hi = 0;
        }
        rows[at] = hi > lo ? ih * w.W + lo * w.sw + shift : -1;
        rows[at + 1] = lo;
        rows[at + 2] = hi;
      }
  return rows;
}

function planOf(c: OpContext, x: Tensor, wt: Tensor): Plan {
  let p = c.plans.get("plan") as Plan | undefined;
  if (p) return p;
  const where = `Conv node "${c.node.name}"`;
  const G = (c.node.attrs.group as number | undefined) ?? 1;
  const M = wt.shape[0]!;
  const w = windowOf(c.node, x.shape, wt.shape.slice(2));
  if (wt.shape.length !== x.shape.length || wt.shape[1]! * G !== w.C || M % G !== 0)
    throw new GraphError(
      `${where}: weight ${shapeText(wt.shape)} does not fit input ${shapeText(x.shape)} with ${G} group${G === 1 ? "" : "s"}`,
    );
  const K = (w.C / G) * w.kh * w.kw;
  const P = w.oh * w.ow;
  // What is allocated: the output, and one sample's unfolded columns (chunks never hold fewer).
  checkedSize([w.N, M, P], where);
  checkedSize([K, P], where);
  p = { w, M, G, K, P, rows: tapRows(w), shape: outputShape(w, M) };
  c.plans.set("plan", p);
  return p;
}

/** Unfolded columns held at once (doubles): samples are taken in chunks that fit. */
const COLUMN_BUDGET = 1 << 15;

/** Samples per chunk: as many as keep K × (samples·P) within the budget. */
const chunkOf = (p: Plan): number => Math.max(1, Math.min(p.w.N, Math.floor(COLUMN_BUDGET / (p.K * p.P))));

/**
 * cols (K × n·P) ← the windows of samples s0 … s0 + n − 1, group g of x, side by side: column
 * (s − s0)·P + q is sample s's output position q, so one product serves the whole chunk.
 */
function unfold(
  p: Plan,
  x: Float64Array,
  s0: number,
  n: number,
  g: number,
  cols: Float64Array,
): Float64Array {
  const { w, K, P, rows } = p;
  const hw = w.H * w.W;
  const kk = w.kh * w.kw;
  const { oh, ow, sw } = w;
  const width = n * P;
  for (let r = 0; r < K; r++) {
    const ch = Math.floor(r / kk);
    const tap = (r % kk) * oh * 3;
    for (let t = 0; t < n; t++) {
      const off = (s0 + t) * w.C * hw + (g * (w.C / p.G) + ch) * hw;
      const at = r * width + t * P;
      for (let oi = 0; oi < oh; oi++) {
        const src = rows[tap + oi * 3]!;
        const lo = rows[tap + oi * 3 + 1]!;
        const hi = rows[tap + oi * 3 + 2]!;
        const dst = at + oi * ow;
        if (src < 0) {
          cols.fill(0, dst, dst + ow);
          continue;
        }
        for (let q = 0; q < lo; q++) cols[dst + q] = 0;
        const from = off + src - lo * sw;
        if (sw === 1) for (let q = lo; q < hi; q++) cols[dst + q] = x[from + q]!;
        else for (let q = lo; q < hi; q++) cols[dst + q] = x[from + q * sw]!;
        for (let q = hi; q < ow; q++) cols[dst + q] = 0;
      }
    }
  }
  return cols;
}

/** x̄ of samples s0 … s0 + n − 1, group g += the columns folded back (the transpose of unfold). */
function fold(p: Plan, cols: Float64Array, out: Float64Array, s0: number, n: number, g: number): void {
  const { w, K, P, rows } = p;
  const hw = w.H * w.W;
  const kk = w.kh * w.kw;
  const { oh, ow, sw } = w;
  const width = n * P;
  for (let r = 0; r < K; r++) {
    const ch = Math.floor(r / kk);
    const tap = (r % kk) * oh * 3;
    for (let t = 0; t < n; t++) {
      const off = (s0 + t) * w.C * hw + (g * (w.C / p.G) + ch) * hw;
      const at = r * width + t * P;
      for (let oi = 0; oi < oh; oi++) {
        const src = rows[tap + oi * 3]!;
        if (src < 0) continue;
        const lo = rows[tap + oi * 3 + 1]!;
        const hi = rows[tap + oi * 3 + 2]!;
        const dst = at + oi * ow;
        const to = off + src - lo * sw;
        if (sw === 1) for (let q = lo; q < hi; q++) out[to + q]! += cols[dst + q]!;
        else for (let q = lo; q < hi; q++) out[to + q * sw]! += cols[dst + q]!;
      }
    }
  }
}

/** The chunk's output channels of group g as one matrix (mg × n·P) ↔ y's N × M × P layout. */
function gatherChannels(
  p: Plan,
  y: Float64Array,
  s0: number,
  n: number,
  g: number,
  out: Float64Array,
): Float64Array {
  const mg = p.M / p.G;
  const width = n * p.P;
  for (let m = 0; m < mg; m++)
    for (let t = 0; t < n; t++)
      out.set(
        y.subarray(((s0 + t) * p.M + g * mg + m) * p.P, ((s0 + t) * p.M + g * mg + m + 1) * p.P),
        m * width + t * p.P,
      );
  return out;
}

function scatterChannels(p: Plan, z: Float64Array, s0: number, n: number, g: number, y: Float64Array): void {
  const mg = p.M / p.G;
  const width = n * p.P;
  for (let m = 0; m < mg; m++)
    for (let t = 0; t < n; t++)
      y.set(z.subarray(m * width + t * p.P, m * width + (t + 1) * p.P), ((s0 + t) * p.M + g * mg + m) * p.P);
}

/** Visits every chunk of samples and every group, with scratch for the unfolded windows (cols) and one group's channels (z). */
function eachChunk(
  p: Plan,
  visit: (s0: number, n: number, g: number, cols: Float64Array, z: Float64Array) => void,
): void {
  const chunk = chunkOf(p);
  const cols = floats(p.K * chunk * p.P);
  const z = floats((p.M / p.G) * chunk * p.P);
  for (let s0 = 0; s0 < p.w.N; s0 += chunk)
    for (let g = 0; g < p.G; g++) visit(s0, Math.min(chunk, p.w.N - s0), g, cols, z);
  release(cols.buffer);
  release(z.buffer);
}

const parts = bilinearParts({
  // Y_g = W_g · cols_g over a chunk of samples at once.
  product(c, x, wt) {
    const p = planOf(c, x, wt);
    const mg = p.M / p.G;
    const out = floats(p.w.N * p.M * p.P);
    eachChunk(p, (s0, n, g, cols, z) => {
      unfold(p, x.data, s0, n, g, cols);
      gemm(mg, n * p.P, p.K, wt.data, g * mg * p.K, false, cols, 0, false, z, 0, false);
      scatterChannels(p, z, s0, n, g, out);
    });
    return tensor(p.shape, out);
  },
  // cols̄_g = W_gᵀ · Ȳ_g, folded back onto x̄.
  leftAdjoint(c, gy, wt, x) {
    const p = planOf(c, x, wt);
    const mg = p.M / p.G;
    const out = floats(x.data.length);
    eachChunk(p, (s0, n, g, cols, z) => {
      gatherChannels(p, gy.data, s0, n, g, z);
      gemm(p.K, n * p.P, mg, wt.data, g * mg * p.K, true, z, 0, false, cols, 0, false);
      fold(p, cols, out, s0, n, g);
    });
    return tensor(x.shape, out);
  },
  // W̄_g += Ȳ_g · cols_gᵀ.
  rightAdjoint(c, x, gy, wt) {
    const p = planOf(c, x, wt);
    const mg = p.M / p.G;
    const out = floats(wt.data.length);
    eachChunk(p, (s0, n, g, cols, z) => {
      unfold(p, x.data, s0, n, g, cols);
      gatherChannels(p, gy.data, s0, n, g, z);
      gemm(mg, p.K, n * p.P, z, 0, false, cols, 0, true, out, g * mg * p.K, true);
    });
    return tensor(wt.shape, out);
  },
});

/** y[n, m, …] += b[m]. */
function addBias(c: OpContext, y: Tensor, b: Tensor): Tensor {
  const p = c.plans.get("plan") as Plan;
  const out = y.data;
  for (let s = 0; s < p.w.N; s++)
    for (let m = 0; m < p.M; m++) {
      const off = (s * p.M + m) * p.P;
      for (let q = 0; q < p.P; q++) out[off + q]! += b.data[m]!;
    }
  return y;
}

/** b̄[m] = Σ over samples and positions of ȳ[n, m, …]. */
function biasAdjoint(c: OpContext, gy: Tensor, b: Tensor): Tensor {
  const p = c.plans.get("plan") as Plan;
  const out = floats(p.M);
  for (let s = 0; s < p.w.N; s++)
    for (let m = 0; m < p.M; m++) {
      const off = (s * p.M + m) * p.P;
      let t = 0;
      for (let q = 0; q < p.P; q++) t += gy.data[off + q]!;
      out[m]! += t;
    }
  return tensor(b.shape, out);
}

const bias = (x: readonly Maybe[]): Maybe => (x.length > 2 ? (x[2] ?? null) : null);

export const conv: Op = {
  reads: READS_INPUTS,
  forward(c, x) {
    const y = parts.jvp(c, x[0]!, x[1]!, x[0]!, null)!;
    const b = bias(x);
    return [b ? addBias(c, y, b) : y];
  },
  jvp(c, x, dx) {
    let y = parts.jvp(c, x[0]!, x[1]!, dx[0] ?? null, dx[1] ?? null);
    const db = dx.length > 2 ? (dx[2] ?? null) : null;
    if (db) {
      const p = c.plans.get("plan") as Plan;
      y = addBias(c, y ?? tensor(p.shape, floats(p.w.N * p.M * p.P)), db);
    }
    return [y];
  },
  vjp(c, x, _y, [gy], need) {
    const [gx, gw] = parts.vjp(c, x[0]!, x[1]!, gy ?? null, need);
    const b = bias(x);
    return [gx, gw, b && need[2] && gy ? biasAdjoint(c, gy, b) : null];
  },
  rvjp(c, x, dx, _y, _dy, [gy], [dgy], need) {
    const [gx, gw] = parts.rvjp(c, x[0]!, x[1]!, dx[0] ?? null, dx[1] ?? null, gy ?? null, dgy ?? null, need);
    const b = bias(x);
    return [gx, gw, b && need[2] && dgy ? biasAdjoint(c, dgy, b) : null];
  },
};
