import { plural } from "../../core/format.js";
import { floats } from "../arena.js";
import {
  axisOf,
  broadcastIndex,
  broadcastShape,
  checkedSize,
  GraphError,
  MAX_TENSOR_ELEMENTS,
  shapeText,
  size,
  strides,
  type Tensor,
  tensor,
} from "../tensor.js";
import { constantOp, gather, linear } from "./_kinds.js";
import { intAttr, intsFrom, tensorAttr } from "./_read.js";
import type { GraphNode, Maybe, Op, OpContext } from "./types.js";

/**
 * Operators that move elements without arithmetic — reshapes, transposes, slices, gathers, pads,
 * concatenation and splitting — all linear (their adjoints put ȳ back where each element came
 * from), and the shape arithmetic exports carry (Shape, Constant, Cast, …) on integer tensors,
 * which no derivative passes through.
 */

const where = (n: GraphNode): string => `${n.op} node "${n.name}"`;

/** An operator that only relabels the shape: the same elements in the same order. */
function relabel(shapeOf: (c: OpContext, x: readonly Maybe[]) => readonly number[]): Op {
  return linear(
    (c, x0, x) => tensor(shapeOf(c, x), x0.data, x0.dtype),
    (_c, g, x) => tensor(x[0]!.shape, g.data),
  );
}

export const reshape = relabel((c, x) => {
  const from = x[0]!.shape;
  const target = intsFrom(c.node, x[1], "shape");
  if (!target) throw new GraphError(`${where(c.node)}: no target shape`);
  const allowZero = intAttr(c.node, "allowzero", 0) === 1;
  const shape = target.map((d, i) => (d === 0 && !allowZero ? from[i]! : d));
  const known = shape.filter((d) => d !== -1);
  if (shape.length - known.length > 1)
    throw new GraphError(`${where(c.node)}: more than one −1 in ${shapeText(target)}`);
  const n = size(from);
  if (known.length < shape.length) {
    const rest = size(known);
    if (rest === 0 || n % rest !== 0)
      throw new GraphError(`${where(c.node)}: ${shapeText(from)} cannot be reshaped to ${shapeText(target)}`);
    shape[shape.indexOf(-1)] = n / rest;
  }
  if (size(shape) !== n)
    throw new GraphError(`${where(c.node)}: ${shapeText(from)} cannot be reshaped to ${shapeText(target)}`);
  return shape;
});

export const flatten = relabel((c, x) => {
  const s = x[0]!.shape;
  const a = intAttr(c.node, "axis", 1);
  const axis = a < 0 ? a + s.length : a;
  return [size(s.slice(0, axis)), size(s.slice(axis))];
});

export const squeeze = relabel((c, x) => {
  const s = x[0]!.shape;
  const axes = intsFrom(c.node, x[1], "axes");
  if (!axes) return s.filter((d) => d !== 1);
  const drop = new Set(axes.map((a) => axisOf(a, s.length, where(c.node))));
  return s.filter((_d, i) => !drop.has(i));
});

export const unsqueeze = relabel((c, x) => {
  const s = x[0]!.shape;
  const axes = intsFrom(c.node, x[1], "axes") ?? [];
  const rank = s.length + axes.length;
  const add = new Set(axes.map((a) => axisOf(a, rank, where(c.node))));
  const out: number[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) out.push(add.has(i) ? 1 : s[j++]!);
  return out;
});

/** A map that follows from the input's shape alone (a transpose's, from its perm attribute). */
const always = (): boolean => true;

/**
 * A map that follows from the shapes and the integer inputs (starts, ends, a target shape), when
 * those are small enough to be part of the node's plan key (graph.ts plansFor: at most 64 values).
 */
const smallIntegerInputs = (x: readonly Maybe[]): boolean =>
  x.slice(1).every((t) => !t || (t.dtype === "int" && t.data.length <= 64));

/** The flat index in a tensor of `shape` of every element of the sub-array given per axis by `index(axis, i)`. */
function indexGrid(
  outShape: readonly number[],
  st: readonly number[],
  index: (axis: number, i: number) => number,
): Int32Array {
  const n = size(outShape);
  const rank = outShape.length;
  const map = new Int32Array(n);
  const counter = new Array<number>(rank).fill(0);
  for (let k = 0; k < n; k++) {
    let at = 0;
    let inside = true;
    for (let a = 0; a < rank; a++) {
      const j = index(a, counter[a]!);
      if (j < 0) inside = false;
      at += j * st[a]!;
    }
    map[k] = inside ? at : -1;
    for (let a = rank - 1; a >= 0; a--) {
      if (++counter[a]! < outShape[a]!) break;
      counter[a] = 0;
    }
  }
  return map;
}

export const transpose = gather((c, x0) => {
  const s = x0.shape;
  const perm = intsFrom(c.node, undefined, "perm") ?? s.map((_d, i) => s.length - 1 - i);
  const st = strides(s);
  const shape = perm.map((p) => s[p]!);
  return {
    shape,
    map: indexGrid(
      shape,
      perm.map((p) => st[p]!),
      (_a, i) => i,
    ),
    fill: 0,
  };
}, always);

export const slice = gather((c, x0, x) => {
  const s = x0.shape;
  const starts = intsFrom(c.node, x[1], "starts") ?? [];
  const ends = intsFrom(c.node, x[2], "ends") ?? [];
  const axes = intsFrom(c.node, x[3], "axes") ?? starts.map((_v, i) => i);
  const steps = intsFrom(c.node, x[4], "steps") ?? starts.map(() => 1);
  const first = s.map(() => 0);
  const step = s.map(() => 1);
  const shape = [...s];
  axes.forEach((a0, i) => {
    const a = axisOf(a0, s.length, where(c.node));
    const d = s[a]!;
    const k = steps[i]!;
    if (k === 0) throw new GraphError(`${where(c.node)}: a step of 0`);
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
    let b = starts[i]!;
    let e = ends[i]!;
    b = b < 0 ? b + d : b;
    e = e < 0 ? e + d : e;
    if (k > 0) {
      b = clamp(b, 0, d);
      e = clamp(e, 0, d);
    } else {
      b = clamp(b, 0, d - 1);
      e = clamp(e, -1, d - 1);
    }
    first[a] = b;
    step[a] = k;
    shape[a] = Math.max(0, Math.ceil((e - b) / k));
  });
  return { shape, map: indexGrid(shape, strides(s), (a, i) => first[a]! + i * step[a]!), fill: 0 };
}, smallIntegerInputs);

export const gatherOp = gather((c, x0, x) => {
  const s = x0.shape;
  const idx = x[1];
  if (idx?.dtype !== "int") throw new GraphError(`${where(c.node)}: indices must be an integer tensor`);
  const axis = axisOf(intAttr(c.node, "axis", 0), s.length, where(c.node));
  const outer = size(s.slice(0, axis));
  const d = s[axis]!;
  const inner = size(s.slice(axis + 1));
  const m = idx.data.length;
  const map = new Int32Array(outer * m * inner);
  for (let o = 0; o < outer; o++)
    for (let j = 0; j < m; j++) {
      let t = idx.data[j]!;
      if (t < 0) t += d;
      if (t < 0 || t >= d)
        throw new GraphError(`${where(c.node)}: index ${idx.data[j]} is outside an axis of ${d}`);
      for (let i = 0; i < inner; i++) map[(o * m + j) * inner + i] = (o * d + t) * inner + i;
    }
  return { shape: [...s.slice(0, axis), ...idx.shape, ...s.slice(axis + 1)], map, fill: 0 };
});

export const expand = gather((c, x0, x) => {
  const target = intsFrom(c.node, x[1], "shape");
  if (!target) throw new GraphError(`${where(c.node)}: no shape`);
  const shape = broadcastShape(x0.shape, target, where(c.node));
  return { shape, map: broadcastIndex(x0.shape, shape), fill: 0 };
}, smallIntegerInputs);

/** Pad (opset 11+: pads, constant_value, axes as inputs; before: attributes) in constant, reflect or edge mode. */
export const pad = gather((c, x0, x) => {
  const s = x0.shape;
  const rank = s.length;
  let pads = intsFrom(c.node, x[1], "pads");
  if (!pads) throw new GraphError(`${where(c.node)}: no pads`);
  const axes = intsFrom(c.node, x[3], "axes");
  if (axes) {
    const full = new Array<number>(2 * rank).fill(0);
    axes.forEach((a0, i) => {
      const a = axisOf(a0, rank, where(c.node));
      full[a] = pads![i]!;
      full[a + rank] = pads![i + axes.length]!;
    });
    pads = full;
  }
  const value = x[2] ? x[2].data[0]! : ((c.node.attrs.value as number | undefined) ?? 0);
  const mode = (c.node.attrs.mode as string | undefined) ?? "constant";
  if (mode !== "constant" && mode !== "reflect" && mode !== "edge")
    throw new GraphError(`${where(c.node)}: mode ${mode} is not supported (constant, reflect, edge are)`);
  const shape = s.map((d, a) => d + pads![a]! + pads![a + rank]!);
  checkedSize(shape, where(c.node));
  const source = (a: number, i: number): number => {
    const d = s[a]!;
    let j = i - pads![a]!;
    if (j >= 0 && j < d) return j;
    if (mode === "constant") return -1;
    if (mode === "edge") return j < 0 ? 0 : d - 1;
    // reflect: mirror without repeating the edge (period 2(d − 1)).
    if (d === 1) return 0;
    const period = 2 * (d - 1);
    j = ((j % period) + period) % period;
    return j < d ? j : period - j;
  };
  return { shape, map: indexGrid(shape, strides(s), source), fill: value };
});

/** Concat along an axis: each input's adjoint is its slab of ȳ. */
function concatPlan(
  c: OpContext,
  x: readonly Maybe[],
): { axis: number; outer: number; inner: number; widths: number[]; shape: number[] } {
  const parts = x.filter((t): t is Tensor => t !== null);
  const s = parts[0]!.shape;
  const axis = axisOf(intAttr(c.node, "axis", 0), s.length, where(c.node));
  const widths = parts.map((t) => {
    if (t.shape.length !== s.length || t.shape.some((d, i) => i !== axis && d !== s[i]))
      throw new GraphError(
        `${where(c.node)}: ${shapeText(t.shape)} does not fit ${shapeText(s)} along axis ${axis}`,
      );
    return t.shape[axis]!;
  });
  const shape = [...s];
  shape[axis] = widths.reduce((a, b) => a + b, 0);
  return { axis, outer: size(s.slice(0, axis)), inner: size(s.slice(axis + 1)), widths, shape };
}

function concatOf(
  c: OpContext,
  x: readonly Maybe[],
  parts: readonly Maybe[],
  dtype: Tensor["dtype"],
): Tensor {
  const p = concatPlan(c, x);
  const total = p.shape[p.axis]!;
  const out = floats(size(p.shape));
  let at = 0;
  parts.forEach((t, i) => {
    const w = p.widths[i]!;
    if (t)
      for (let o = 0; o < p.outer; o++)
        out.set(t.data.subarray(o * w * p.inner, (o + 1) * w * p.inner), (o * total + at) * p.inner);
    at += w;
  });
  return tensor(p.shape, out, dtype);
}

function slabs(c: OpContext, x: readonly Maybe[], g: Tensor, need: readonly boolean[]): Maybe[] {
  const p = concatPlan(c, x);
  const total = p.shape[p.axis]!;
  let at = 0;
  return p.widths.map((w, i) => {
    const start = at;
    at += w;
    if (!need[i]) return null;
    const out = floats(p.outer * w * p.inner);
    for (let o = 0; o < p.outer; o++)
      out.set(
        g.data.subarray((o * total + start) * p.inner, (o * total + start + w) * p.inner),
        o * w * p.inner,
      );
    return tensor(x[i]!.shape, out);
  });
}

export const concat: Op = {
  forward: (c, x) => [concatOf(c, x, x, x.every((t) => !t || t.dtype === "int") ? "int" : "float")],
  jvp: (c, x, dx) => [dx.some((t) => t) ? concatOf(c, x, dx, "float") : null],
  vjp: (c, x, _y, [gy], need) => (gy ? slabs(c, x, gy, need) : x.map(() => null)),
  rvjp: (c, x, _dx, _y, _dy, _gy, [dgy], need) => (dgy ? slabs(c, x, dgy, need) : x.map(() => null)),
};

/** Split along an axis into the sizes given (input from opset 13, attribute before) or equal parts. */
function splitPlan(
  c: OpContext,
  x: readonly Maybe[],
): { axis: number; outer: number; inner: number; widths: number[]; d: number } {
  const s = x[0]!.shape;
  const axis = axisOf(intAttr(c.node, "axis", 0), s.length, where(c.node));
  const d = s[axis]!;
  const n = c.node.outputs.length;
  const widths =
    intsFrom(c.node, x[1], "split") ??
    (() => {
      const each = Math.ceil(d / n);
      return Array.from({ length: n }, (_v, i) => Math.max(0, Math.min(each, d - i * each)));
    })();
  if (widths.reduce((a, b) => a + b, 0) !== d)
    throw new GraphError(`${where(c.node)}: sizes ${shapeText(widths)} do not add up to ${d}`);
  return { axis, outer: size(s.slice(0, axis)), inner: size(s.slice(axis + 1)), widths, d };
}

function pieces(c: OpContext, x: readonly Maybe[], t: Tensor): Tensor[] {
  const p = splitPlan(c, x);
  let at = 0;
  return p.widths.map((w) => {
    const start = at;
    at += w;
    const out = floats(p.outer * w * p.inner);
    for (let o = 0; o < p.outer; o++)
      out.set(t.data.subarray((o * p.d + start) * p.inner, (o * p.d + start + w) * p.inner), o * w * p.inner);
    const shape = [...t.shape];
    shape[p.axis] = w;
    return tensor(shape, out, t.dtype);
  });
}

function joined(c: OpContext, x: readonly Maybe[], g: readonly Maybe[]): Tensor {
  const p = splitPlan(c, x);
  const out = floats(x[0]!.data.length);
  let at = 0;
  p.widths.forEach((w, i) => {
    const t = g[i];
    if (t)
      for (let o = 0; o < p.outer; o++)
        out.set(t.data.subarray(o * w * p.inner, (o + 1) * w * p.inner), (o * p.d + at) * p.inner);
    at += w;
  });
  return tensor(x[0]!.shape, out);
}

export const split: Op = {
  forward: (c, x) => pieces(c, x, x[0]!),
  jvp: (c, x, [dx]) => (dx ? pieces(c, x, dx) : c.node.outputs.map(() => null)),
  vjp: (c, x, _y, gy, need) => [need[0] && gy.some((t) => t) ? joined(c, x, gy) : null, null],
  rvjp: (c, x, _dx, _y, _dy, _gy, dgy, need) => [
    need[0] && dgy.some((t) => t) ? joined(c, x, dgy) : null,
    null,
  ],
};

/** Where(condition, a, b): a where the condition holds, else b; linear in (a, b) for a fixed condition. */
function select(cond: Tensor, a: Maybe, b: Maybe, shape: readonly number[]): Tensor {
  const n = size(shape);
  const ic = broadcastIndex(cond.shape, shape);
  const ia = a ? broadcastIndex(a.shape, shape) : null;
  const ib = b ? broadcastIndex(b.shape, shape) : null;
  const out = floats(n);
  for (let i = 0; i < n; i++)
    out[i] = cond.data[ic[i]!] ? (a ? a.data[ia![i]!]! : 0) : b ? b.data[ib![i]!]! : 0;
  return tensor(shape, out, a && b && a.dtype === "int" && b.dtype === "int" ? "int" : "float");
}

function unselect(cond: Tensor, g: Tensor, t: Tensor, whenTrue: boolean): Tensor {
  const ic = broadcastIndex(cond.shape, g.shape);
  const it = broadcastIndex(t.shape, g.shape);
  const out = floats(t.data.length);
  for (let i = 0; i < g.data.length; i++)
    if (Boolean(cond.data[ic[i]!]) === whenTrue) out[it[i]!]! += g.data[i]!;
  return tensor(t.shape, out);
}

const whereShape = (c: OpContext, x: readonly Maybe[]): number[] =>
  broadcastShape(broadcastShape(x[0]!.shape, x[1]!.shape, where(c.node)), x[2]!.shape, where(c.node));

export const whereOp: Op = {
  forward: (c, x) => [select(x[0]!, x[1]!, x[2]!, whereShape(c, x))],
  jvp: (c, x, dx) => [dx[1] || dx[2] ? select(x[0]!, dx[1] ?? null, dx[2] ?? null, whereShape(c, x)) : null],
  vjp: (_c, x, _y, [gy], need) => [
    null,
    need[1] && gy ? unselect(x[0]!, gy, x[1]!, true) : null,
    need[2] && gy ? unselect(x[0]!, gy, x[2]!, false) : null,
  ],
  rvjp: (_c, x, _dx, _y, _dy, _gy, [dgy], need) => [
    null,
    need[1] && dgy ? unselect(x[0]!, dgy, x[1]!, true) : null,
    need[2] && dgy ? unselect(x[0]!, dgy, x[2]!, false) : null,
  ],
};

// ONNX TensorProto element types that are integers or booleans.
const INT_TYPES = new Set([2, 3, 4, 5, 6, 7, 9, 12, 13]);

/** Cast: to an integer type truncates (shape arithmetic); between float types it is the identity (the engine is float64). */
export const cast: Op = {
  forward(c, [x]) {
    const to = intAttr(c.node, "to", 11);
    if (INT_TYPES.has(to)) return [tensor(x!.shape, x!.data.map(Math.trunc), "int")];
    return [tensor(x!.shape, x!.data, "float")];
  },
  jvp: (c, _x, [dx]) => [INT_TYPES.has(intAttr(c.node, "to", 11)) ? null : (dx ?? null)],
  vjp: (c, _x, _y, [gy], need) => [
    need[0] && !INT_TYPES.has(intAttr(c.node, "to", 11)) ? (gy ?? null) : null,
  ],
  rvjp: (c, _x, _dx, _y, _dy, _gy, [dgy], need) => [
    need[0] && !INT_TYPES.has(intAttr(c.node, "to", 11)) ? (dgy ?? null) : null,
  ],
};

export const shapeOp = constantOp((c, [x]) => {
  const s = x!.shape;
  const rank = s.length;
  const clampAxis = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
  const start = clampAxis(intAttr(c.node, "start", 0));
  const end = clampAxis(intAttr(c.node, "end", rank));
  const dims = s.slice(start, end);
  return [tensor([dims.length], Float64Array.from(dims), "int")];
});

export const constant = constantOp((c) => {
  const { node } = c;
  const t = tensorAttr(node, "value");
  if (t) return [t];
  const a = node.attrs;
  if (typeof a.value_float === "number") return [tensor([], Float64Array.of(a.value_float))];
  if (Array.isArray(a.value_floats))
    return [tensor([a.value_floats.length], Float64Array.from(a.value_floats as number[]))];
  if (typeof a.value_int === "number") return [tensor([], Float64Array.of(a.value_int), "int")];
  if (Array.isArray(a.value_ints))
    return [tensor([a.value_ints.length], Float64Array.from(a.value_ints as number[]), "int")];
  throw new GraphError(
    `${where(node)}: a Constant without a value (sparse and string constants are not supported)`,
  );
});

export const constantOfShape = constantOp((c, [x]) => {
  const shape = Array.from(x!.data);
  checkedSize(shape, where(c.node));
  const v = tensorAttr(c.node, "value");
  return [tensor(shape, floats(size(shape)).fill(v ? v.data[0]! : 0), v ? v.dtype : "float")];
});

export const range = constantOp((c, [start, limit, delta]) => {
  const s = start!.data[0]!;
  const d = delta!.data[0]!;
  const n = Math.max(Math.ceil((limit!.data[0]! - s) / d), 0);
  if (!(n <= MAX_TENSOR_ELEMENTS)) throw new GraphError(`${where(c.node)}: a range of ${plural(n, "value")}`);
  const out = floats(n);
  for (let i = 0; i < n; i++) out[i] = s + i * d;
  return [tensor([n], out, start!.dtype)];
});

export const equal = constantOp((c, [a, b]) => {
  const shape = broadcastShape(a!.shape, b!.shape, where(c.node));
  const ia = broadcastIndex(a!.shape, shape);
  const ib = broadcastIndex(b!.shape, shape);
  const out = floats(ia.length);
  for (let i = 0; i < out.length; i++) out[i] = a!.data[ia[i]!] === b!.data[ib[i]!] ? 1 : 0;
  return [tensor(shape, out, "int")];
});

/** Engine-only: a per-channel vector [C] shaped 1×C×1×… to broadcast against the second input's rank. */
export const channel = relabel((_c, x) => {
  const rank = x[1]!.shape.length;
  return [1, x[0]!.data.length, ...new Array<number>(Math.max(0, rank - 2)).fill(1)];
});
