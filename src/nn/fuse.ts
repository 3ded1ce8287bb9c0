import type { GraphNode } from "./ops/index.js";
import type { Tensor } from "./tensor.js";

/**
 * Chains of primitives an exporter writes for one layer, found in the node list and replaced by
 * one engine operator (ops/fused.ts) that computes the same function in one pass, with its
 * derivatives in one pass each instead of one per primitive:
 *
 * - LayerNorm without its affine part, as torch.onnx.export writes it below opset 17:
 *   μ = ReduceMean(x) → d = Sub(x, μ) → Pow(d, 2) → ReduceMean → Add ε → Sqrt → Div(d, ·), the
 *   means over trailing axes, becomes overshoot.Normalize(x);
 * - the exact GELU, as exported below opset 20: Div(x, a) → Erf → Add b → Mul x → Mul k (or x·k
 *   first), becomes overshoot.ErfGelu(x);
 * - a Linear layer's bias: MatMul(A, B) → Add with a 1-D initializer (as exported, Add(b, ·))
 *   becomes overshoot.MatMulBias(A, B, b), the bias added into the product in place.
 *
 * A chain is fused only when every value inside it is read by the chain alone (no other node, no
 * graph output reads it) and its constants are scalars the file fixes; anything else is left as
 * it is, and runs as before.
 */
export function fuseChains(
  nodes: readonly GraphNode[],
  /** A constant's value (a Constant node's output or a non-trainable initializer), or null. */
  constantValue: (name: string) => Tensor | null,
  /** Values read from outside the nodes (the graph's outputs). */
  outputs: ReadonlySet<string>,
  /** Whether a value is a float initializer of one axis (a bias). */
  isVector: (name: string) => boolean = () => false,
): GraphNode[] {
  const producer = new Map<string, GraphNode>();
  const readers = new Map<string, GraphNode[]>();
  for (const n of nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of new Set(n.inputs)) {
      if (i === "") continue;
      const list = readers.get(i) ?? [];
      list.push(n);
      readers.set(i, list);
    }
  }
  /** The node that alone reads `value` (and no graph output), or null. */
  const soleReader = (value: string): GraphNode | null => {
    const r = readers.get(value);
    return r && r.length === 1 && !outputs.has(value) ? r[0]! : null;
  };
  const scalar = (name: string | undefined): number | null => {
    if (name === undefined) return null;
    const t = constantValue(name);
    return t && t.dtype === "float" && t.data.length === 1 ? t.data[0]! : null;
  };
  /** The other input of a two-input node, given one of them. */
  const other = (n: GraphNode, one: string): string | undefined =>
    n.inputs.length === 2
      ? n.inputs[0] === one
        ? n.inputs[1]
        : n.inputs[1] === one
          ? n.inputs[0]
          : undefined
      : undefined;

  const replaced = new Map<GraphNode, GraphNode | null>();
  const fuse = (chain: GraphNode[], by: GraphNode): void => {
    for (const n of chain) replaced.set(n, n === chain[chain.length - 1] ? by : null);
  };
  const free = (chain: (GraphNode | null)[]): chain is GraphNode[] =>
    chain.every((n) => n !== null && !replaced.has(n));

  for (const r1 of nodes) {
    if (r1.op === "ReduceMean") {
      const from = trailingAxes(r1, constantValue);
      if (from === null) continue;
      const x = r1.inputs[0]!;
      const sub = soleReader(r1.outputs[0]!);
      if (!sub || sub.op !== "Sub" || sub.inputs[0] !== x || sub.inputs[1] !== r1.outputs[0]) continue;
      const d = sub.outputs[0]!;
      const dReaders = readers.get(d) ?? [];
      if (outputs.has(d) || dReaders.length !== 2) continue;
      const square = dReaders.find(
        (n) =>
          (n.op === "Pow" && n.inputs[0] === d && scalar(n.inputs[1]) === 2) ||
          (n.op === "Mul" && n.inputs[0] === d && n.inputs[1] === d),
      );
      const div = dReaders.find((n) => n.op === "Div" && n.inputs[0] === d);
      if (!square || !div) continue;
      const r2 = soleReader(square.outputs[0]!);
      if (!r2 || r2.op !== "ReduceMean" || trailingAxes(r2, constantValue) !== from) continue;
      const add = soleReader(r2.outputs[0]!);
      const eps = add?.op === "Add" ? scalar(other(add, r2.outputs[0]!)) : null;
      if (!add || eps === null) continue;
      const sqrt = soleReader(add.outputs[0]!);
      if (!sqrt || sqrt.op !== "Sqrt" || soleReader(sqrt.outputs[0]!) !== div) continue;
      if (div.inputs[1] !== sqrt.outputs[0]) continue;
      const chain = [r1, sub, square, r2, add, sqrt, div];
      if (!free(chain)) continue;
      fuse(chain, {
        op: "overshoot.Normalize",
        name: `${div.name}/fused`,
        inputs: [x],
        outputs: [div.outputs[0]!],
        attrs: { epsilon: eps, overshoot_from: from },
      });
    } else if (r1.op === "MatMul" && r1.inputs.length === 2) {
      const add = soleReader(r1.outputs[0]!);
      const b = add?.op === "Add" ? other(add, r1.outputs[0]!) : undefined;
      if (!add || b === undefined || b === r1.outputs[0] || !isVector(b) || !free([r1, add])) continue;
      fuse([r1, add], {
        op: "overshoot.MatMulBias",
        name: `${add.name}/fused`,
        inputs: [r1.inputs[0]!, r1.inputs[1]!, b],
        outputs: [add.outputs[0]!],
        attrs: {},
      });
    } else if (r1.op === "Erf") {
      const div = producer.get(r1.inputs[0]!);
      const a = div?.op === "Div" ? scalar(div.inputs[1]) : null;
      if (!div || a === null || soleReader(div.outputs[0]!) !== r1) continue;
      const x = div.inputs[0]!;
      const add = soleReader(r1.outputs[0]!);
      const b = add?.op === "Add" ? scalar(other(add, r1.outputs[0]!)) : null;
      if (!add || b === null) continue;
      const p = add.outputs[0]!;
      const mul = soleReader(p);
      if (!mul || mul.op !== "Mul") continue;
      const with_ = other(mul, p);
      if (with_ === x) {
        // (x·p)·k
        const last = soleReader(mul.outputs[0]!);
        const k = last?.op === "Mul" ? scalar(other(last, mul.outputs[0]!)) : null;
        if (!last || k === null) continue;
        const chain = [div, r1, add, mul, last];
        if (!free(chain)) continue;
        fuse(chain, gelu(last, x, a, b, k, 0));
      } else if (with_ !== undefined) {
        // (x·k)·p
        const early = producer.get(with_);
        const k = early?.op === "Mul" ? scalar(other(early, x)) : null;
        if (!early || k === null || soleReader(with_) !== mul) continue;
        const chain = [div, r1, add, early, mul];
        if (!free(chain)) continue;
        fuse(chain, gelu(mul, x, a, b, k, 1));
      }
    }
  }
  if (replaced.size === 0) return [...nodes];
  const out: GraphNode[] = [];
  for (const n of nodes) {
    if (!replaced.has(n)) out.push(n);
    else if (replaced.get(n)) out.push(replaced.get(n)!);
  }
  // Constants only the fused chains read.
  const read = new Set(out.flatMap((n) => n.inputs));
  return out.filter((n) => n.op !== "Constant" || n.outputs.some((o) => read.has(o) || outputs.has(o)));
}

function gelu(last: GraphNode, x: string, a: number, b: number, k: number, early: 0 | 1): GraphNode {
  return {
    op: "overshoot.ErfGelu",
    name: `${last.name}/fused`,
    inputs: [x],
    outputs: [last.outputs[0]!],
    attrs: { divisor: a, offset: b, factor: k, early },
  };
}

/**
 * −k when a ReduceMean (keepdims 1) averages over the last k axes, named as −k … −1 (as exporters
 * write a normalization's axes, so the rank need not be known); otherwise null.
 */
function trailingAxes(n: GraphNode, constantValue: (name: string) => Tensor | null): number | null {
  if (((n.attrs.keepdims as number | undefined) ?? 1) !== 1) return null;
  let axes: number[] | null = null;
  if (n.inputs.length > 1 && n.inputs[1] !== "") {
    const t = constantValue(n.inputs[1]!);
    if (t && t.dtype === "int") axes = Array.from(t.data);
  } else if (Array.isArray(n.attrs.axes)) axes = [...(n.attrs.axes as number[])];
  else if (typeof n.attrs.axes === "number") axes = [n.attrs.axes];
  if (!axes || axes.length === 0) return null;
  const sorted = [...axes].sort((p, q) => p - q);
  if (!sorted.every((v, i) => v === -sorted.length + i)) return null;
  return -sorted.length;
}
