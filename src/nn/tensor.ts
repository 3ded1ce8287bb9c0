import { plural } from "../core/format.js";
/**
 * Dense N-D tensors of the graph engine: a shape and its elements in row-major order, always
 * float64 (integer tensors — shapes, indices — hold exact integers below 2⁵³ in the same array and
 * carry dtype "int" so that no derivative flows through them).
 */
export type DType = "float" | "int";

export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
  readonly dtype: DType;
}

/**
 * A malformed graph or a shape that does not fit: the message names the node and what to do, on
 * one line (names from a file are shown with their control characters escaped).
 */
export class GraphError extends Error {
  constructor(message: string) {
    let line = "";
    for (const ch of message) {
      const code = ch.charCodeAt(0);
      line += code < 0x20 || code === 0x7f ? JSON.stringify(ch).slice(1, -1) : ch;
    }
    super(line);
  }
}

export const tensor = (shape: readonly number[], data: Float64Array, dtype: DType = "float"): Tensor => ({
  shape,
  data,
  dtype,
});

export const zeros = (shape: readonly number[]): Tensor => tensor(shape, new Float64Array(size(shape)));

/** The most elements one tensor may hold (2 GB of float64): a shape from a file past it is refused, not allocated. */
export const MAX_TENSOR_ELEMENTS = 2 ** 28;

/** The shape's element count, refused (GraphError) when it is not a list of whole numbers ≥ 0 or holds too many. */
export function checkedSize(shape: readonly number[], where: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new GraphError(`${where}: a dimension of ${d} in ${shapeText(shape)}`);
    n *= d;
  }
  if (n > MAX_TENSOR_ELEMENTS)
    throw new GraphError(
      `${where}: a tensor of ${shapeText(shape)} would hold ${plural(n, "value")}, more than the ${MAX_TENSOR_ELEMENTS} overshoot allocates for one tensor`,
    );
  return n;
}

/** Number of elements: the product of the dimensions (1 for a scalar). */
export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides in elements. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export const shapeText = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

/** NumPy broadcasting: align the trailing dimensions; each pair equal or one of them 1. */
export function broadcastShape(a: readonly number[], b: readonly number[], where: string): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1)
      throw new GraphError(`${where}: shapes ${shapeText(a)} and ${shapeText(b)} do not broadcast`);
    out[i] = da === 1 ? db : da;
  }
  checkedSize(out, where);
  return out;
}

/**
 * For every element of a tensor of shape `to`, the flat index of the element of a tensor of shape
 * `from` that broadcasting reads there (`from` broadcastable to `to`). The identity when equal.
 */
export function broadcastIndex(from: readonly number[], to: readonly number[]): Int32Array {
  const n = size(to);
  const idx = new Int32Array(n);
  const rank = to.length;
  // The stride of `from` along each axis of `to`, 0 where `from` has size 1 or lacks the axis.
  const fs = strides(from);
  const st = new Array<number>(rank).fill(0);
  for (let i = 0; i < from.length; i++) {
    const axis = rank - from.length + i;
    st[axis] = from[i] === 1 ? 0 : fs[i]!;
  }
  const counter = new Array<number>(rank).fill(0);
  let at = 0;
  for (let k = 0; k < n; k++) {
    idx[k] = at;
    for (let a = rank - 1; a >= 0; a--) {
      counter[a]!++;
      at += st[a]!;
      if (counter[a]! < to[a]!) break;
      at -= st[a]! * counter[a]!;
      counter[a] = 0;
    }
  }
  return idx;
}

export const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i]);

/** A new tensor with the same elements and another shape of the same size. */
export function reshaped(t: Tensor, shape: readonly number[]): Tensor {
  return tensor(shape, t.data, t.dtype);
}

/** out += t, elementwise (same size). */
export function addInto(out: Float64Array, t: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i]! += t[i]!;
}

/** Normalise a possibly negative axis of a rank-r tensor. */
export function axisOf(axis: number, rank: number, where: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank)
    throw new GraphError(`${where}: axis ${axis} is outside a tensor of rank ${rank}`);
  return a;
}

/**
 * R when the index is constant on every aligned run of R elements (an input broadcast along the
 * last axes: a mean over a row, BatchNorm's statistic over a channel's pixels), else 1.
 */
export function runLength(idx: Int32Array): number {
  const n = idx.length;
  let r = 1;
  while (r < n && idx[r] === idx[0]) r++;
  if (r === 1 || n % r !== 0) return 1;
  for (let j = 0; j < n; j += r) {
    const v = idx[j]!;
    for (let i = j + 1; i < j + r; i++) if (idx[i] !== v) return 1;
  }
  return r;
}
