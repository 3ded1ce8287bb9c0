import { floats } from "../arena.js";
import { GraphError, shapeText, size, type Tensor, tensor } from "../tensor.js";
import { gather, linear } from "./_kinds.js";
import { outputShape, type Window, windowOf } from "./_spatial.js";
import type { Op, OpContext } from "./types.js";

/**
 * Pooling. MaxPool is linear once its choice is made: y = x[argmax of the window] (the first
 * largest, as PyTorch; padding never chosen), so its derivatives gather and scatter through that
 * choice. AveragePool is linear: y = Σ_window x / count, count the window's size with
 * count_include_pad, else its taps inside the input. GlobalAveragePool is the mean over all
 * spatial positions.
 */

/** For each output position of one channel plane, the input positions of its window (−1: padding). */
function windows(w: Window, visit: (q: number, taps: number[], padded: number) => void): void {
  const taps: number[] = [];
  for (let oi = 0; oi < w.oh; oi++)
    for (let oj = 0; oj < w.ow; oj++) {
      taps.length = 0;
      let padded = 0;
      for (let ki = 0; ki < w.kh; ki++) {
        const ih = oi * w.sh - w.pt + ki * w.dh;
        for (let kj = 0; kj < w.kw; kj++) {
          const iw = oj * w.sw - w.pl + kj * w.dw;
          // Taps past the padded extent (ceil_mode's last window) count for neither rule.
          if (ih < -w.pt || ih >= w.H + w.pb || iw < -w.pl || iw >= w.W + w.pr) continue;
          padded++;
          if (ih >= 0 && ih < w.H && iw >= 0 && iw < w.W) taps.push(ih * w.W + iw);
        }
      }
      visit(oi * w.ow + oj, taps, padded);
    }
}

/** Each output position's taps in one plane, as CSR (ptr, idx): shape-only, planned once. */
function tapTable(c: OpContext, w: Window): { ptr: Int32Array; idx: Int32Array } {
  let t = c.plans.get("taps") as { ptr: Int32Array; idx: Int32Array } | undefined;
  if (t) return t;
  const ptr = new Int32Array(w.oh * w.ow + 1);
  const idx: number[] = [];
  windows(w, (q, taps) => {
    for (const tap of taps) idx.push(tap);
    ptr[q + 1] = idx.length;
  });
  t = { ptr, idx: Int32Array.from(idx) };
  c.plans.set("taps", t);
  return t;
}

export const maxPool: Op = gather((c, x) => {
  const w = windowOf(c.node, x.shape, null);
  const P = w.oh * w.ow;
  const hw = w.H * w.W;
  const planes = w.N * w.C;
  const map = new Int32Array(planes * P);
  const a = x.data;
  const { ptr, idx } = tapTable(c, w);
  // Plane by plane (each plane's pixels are contiguous), the first largest tap of each window;
  // a NaN wins and ends the window, as PyTorch's max_pool propagates it.
  for (let plane = 0; plane < planes; plane++) {
    const off = plane * hw;
    const base = plane * P;
    for (let q = 0; q < P; q++) {
      let best = -1;
      let top = Number.NEGATIVE_INFINITY;
      for (let e = ptr[q]!; e < ptr[q + 1]!; e++) {
        const at = off + idx[e]!;
        const v = a[at]!;
        if (best < 0 || v > top || Number.isNaN(v)) {
          best = at;
          top = v;
          if (Number.isNaN(v)) break;
        }
      }
      map[base + q] = best;
    }
  }
  return { shape: outputShape(w, w.C), map, fill: 0 };
});

interface AveragePlan {
  readonly w: Window;
  /** CSR over the output positions of one plane: taps and their weights 1/count. */
  readonly ptr: Int32Array;
  readonly idx: Int32Array;
  readonly weight: Float64Array;
}

function averagePlan(c: OpContext, x: Tensor): AveragePlan {
  let p = c.plans.get("plan") as AveragePlan | undefined;
  if (p) return p;
  const w = windowOf(c.node, x.shape, null);
  const includePad = c.node.attrs.count_include_pad === 1;
  const ptr = new Int32Array(w.oh * w.ow + 1);
  const idx: number[] = [];
  const weight: number[] = [];
  windows(w, (q, taps, padded) => {
    const count = includePad ? padded : taps.length;
    for (const t of taps) {
      idx.push(t);
      weight.push(1 / count);
    }
    ptr[q + 1] = idx.length;
  });
  p = { w, ptr, idx: Int32Array.from(idx), weight: Float64Array.from(weight) };
  c.plans.set("plan", p);
  return p;
}

export const averagePool: Op = linear(
  (c, x0, x) => {
    const { w, ptr, idx, weight } = averagePlan(c, x[0]!);
    const P = w.oh * w.ow;
    const hw = w.H * w.W;
    const out = floats(w.N * w.C * P);
    for (let plane = 0; plane < w.N * w.C; plane++)
      for (let q = 0; q < P; q++) {
        let s = 0;
        for (let e = ptr[q]!; e < ptr[q + 1]!; e++) s += weight[e]! * x0.data[plane * hw + idx[e]!]!;
        out[plane * P + q] = s;
      }
    return tensor(outputShape(w, w.C), out);
  },
  (c, g, x) => {
    const { w, ptr, idx, weight } = averagePlan(c, x[0]!);
    const P = w.oh * w.ow;
    const hw = w.H * w.W;
    const out = floats(x[0]!.data.length);
    for (let plane = 0; plane < w.N * w.C; plane++)
      for (let q = 0; q < P; q++) {
        const v = g.data[plane * P + q]!;
        for (let e = ptr[q]!; e < ptr[q + 1]!; e++) out[plane * hw + idx[e]!]! += weight[e]! * v;
      }
    return tensor(x[0]!.shape, out);
  },
);

/** N × C × spatial → N × C × 1 × … × 1, the mean over the spatial positions. */
export const globalAveragePool: Op = linear(
  (c, x0, x) => {
    const shape = x[0]!.shape;
    if (shape.length < 3)
      throw new GraphError(
        `GlobalAveragePool node "${c.node.name}": input ${shapeText(shape)} has no spatial axes`,
      );
    const planes = shape[0]! * shape[1]!;
    const n = size(shape.slice(2));
    const out = floats(planes);
    for (let p = 0; p < planes; p++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x0.data[p * n + i]!;
      out[p] = s / n;
    }
    return tensor([shape[0]!, shape[1]!, ...shape.slice(2).map(() => 1)], out);
  },
  (_c, g, x) => {
    const shape = x[0]!.shape;
    const planes = shape[0]! * shape[1]!;
    const n = size(shape.slice(2));
    const out = floats(planes * n);
    for (let p = 0; p < planes; p++) out.fill(g.data[p]! / n, p * n, (p + 1) * n);
    return tensor(shape, out);
  },
);
