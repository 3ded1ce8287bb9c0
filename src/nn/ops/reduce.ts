import { floats } from "../arena.js";
import { axisOf, runLength, size, strides, type Tensor, tensor } from "../tensor.js";
import { linear } from "./_kinds.js";
import { intsFrom } from "./_read.js";
import type { Maybe, Op, OpContext } from "./types.js";

/**
 * ReduceSum and ReduceMean over a set of axes (keepdims 1 by default), linear: the adjoint
 * broadcasts ȳ back over the reduced axes (times 1/count for the mean).
 */
interface Plan {
  readonly shape: readonly number[];
  /** For every input element, the output element it adds into. */
  readonly target: Int32Array;
  readonly scale: number;
  /** The run length of target (tensor.ts runLength): a row's mean sums each run before storing it. */
  readonly run: number;
}

function planOf(c: OpContext, x: readonly Maybe[], mean: boolean): Plan {
  let p = c.plans.get("plan") as Plan | undefined;
  if (p) return p;
  const { node } = c;
  const where = `${node.op} node "${node.name}"`;
  const xs = x[0]!.shape;
  const rank = xs.length;
  const given = intsFrom(node, x[1], "axes");
  const noop = node.attrs.noop_with_empty_axes === 1;
  const axes =
    given && given.length > 0 ? given.map((a) => axisOf(a, rank, where)) : noop ? [] : xs.map((_d, i) => i);
  const keep = (node.attrs.keepdims as number | undefined) ?? 1;
  const reduced = new Set(axes);
  const kept = xs.map((d, i) => (reduced.has(i) ? 1 : d));
  const shape = keep ? kept : xs.filter((_d, i) => !reduced.has(i));
  const os = strides(kept);
  const n = size(xs);
  const target = new Int32Array(n);
  const counter = new Array<number>(rank).fill(0);
  for (let k = 0; k < n; k++) {
    let t = 0;
    for (let a = 0; a < rank; a++) if (!reduced.has(a)) t += counter[a]! * os[a]!;
    target[k] = t;
    for (let a = rank - 1; a >= 0; a--) {
      if (++counter[a]! < xs[a]!) break;
      counter[a] = 0;
    }
  }
  const count = n / Math.max(1, size(kept));
  p = { shape, target, scale: mean ? 1 / count : 1, run: runLength(target) };
  c.plans.set("plan", p);
  return p;
}

function reduction(mean: boolean): Op {
  return linear(
    (c, x0, x) => {
      const { shape, target, scale, run } = planOf(c, x, mean);
      const out = floats(size(shape));
      const data = x0.data;
      if (run > 1)
        for (let j = 0; j < target.length; j += run) {
          let sum = 0;
          for (let k = j; k < j + run; k++) sum += data[k]!;
          out[target[j]!]! += sum;
        }
      else for (let k = 0; k < target.length; k++) out[target[k]!]! += data[k]!;
      if (scale !== 1) for (let i = 0; i < out.length; i++) out[i]! *= scale;
      return tensor(shape, out, x0.dtype);
    },
    (c, g, x) => {
      const { target, scale } = planOf(c, x, mean);
      const out = floats(target.length);
      for (let k = 0; k < target.length; k++) out[k] = g.data[target[k]!]! * scale;
      return tensor(x[0]!.shape, out) as Tensor;
    },
  );
}

export const reduceSum = reduction(false);
export const reduceMean = reduction(true);
