import { plural } from "../../core/format.js";
import type { Activation } from "../mlp/mlp.js";
import type { AttrValue } from "../ops/index.js";
import { OnnxFormatError, type OnnxModel, readOnnxModel, shown } from "./model.js";

/**
 * A feed-forward network read from an ONNX file (torch.onnx.export, tf2onnx) as weights and
 * architecture: the graph is walked as a chain from its input to its output and each node is
 * matched to a layer — Gemm, or MatMul then Add, for a dense layer; Relu, Tanh, Sigmoid, Gelu (and
 * the Div–Erf–Add–Mul–Mul chain that PyTorch exports for GELU before opset 20) for its activation;
 * Identity and a leading Flatten as no-ops; a final Softmax or Sigmoid as the loss's link. The
 * model is never executed: anything else is refused with the operator and the node named (the
 * graph engine, nn/, takes every other network). The file is read by nn/onnx/model.ts, which
 * checks every size before it expands anything; float32 initializers are widened to float64 exactly.
 */
export interface OnnxNetwork {
  /** Layer widths from the (flattened) input to the output. */
  readonly sizes: readonly number[];
  /** The activation after each hidden layer. */
  readonly activations: readonly Activation[];
  /** The final link the loss absorbs: softmax (cross-entropy), sigmoid (bce) or none. */
  readonly output: "softmax" | "sigmoid" | "none";
  /** Every layer's W (out × in, row-major) then b, float64. */
  readonly theta: Float64Array;
  /** The initializers' element type. */
  readonly dtype: "float32" | "float64";
  readonly opset: number;
  readonly producer: string;
  /** The input's shape after the batch dimension (e.g. [2, 3] before a Flatten). */
  readonly inputShape: readonly number[];
}

const SUPPORTED =
  "Gemm, MatMul+Add, Relu, Tanh, Sigmoid, Gelu, Identity, Flatten (or a flattening Reshape) at the input and a final Softmax or Sigmoid";

export class OnnxError extends Error {}

interface Tensor {
  readonly dims: readonly number[];
  readonly values: Float64Array;
  readonly type: "float32" | "float64" | "int64";
}

interface Node {
  readonly opType: string;
  readonly name: string;
  readonly input: readonly string[];
  readonly output: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

export function readOnnxNetwork(bytes: Uint8Array, source = "the model"): OnnxNetwork {
  let model: OnnxModel;
  try {
    model = readOnnxModel(bytes, source);
  } catch (e) {
    if (e instanceof OnnxFormatError) throw new OnnxError(e.message);
    throw e;
  }
  return denseNetwork(model, source);
}

/** The chain of dense layers of a model already read (readOnnxModel); OnnxError when it is not one. */
export function denseNetwork(model: OnnxModel, source: string): OnnxNetwork {
  const { opset, producer } = model;
  const tensors = new Map<string, Tensor>();
  for (const t of model.graph.initializers)
    tensors.set(t.name, {
      dims: t.dims,
      values: Float64Array.from(t.values),
      type: t.dtype === "float32" ? "float32" : t.dtype === "float64" ? "float64" : "int64",
    });
  const nodes: Node[] = model.graph.nodes.map((n) => ({
    opType: n.op,
    name: n.name,
    input: n.inputs,
    output: n.outputs,
    attrs: n.attrs,
  }));
  // Constant nodes are values too (PyTorch exports GELU's √2, 1 and ½ as Constant nodes).
  for (const node of nodes)
    if (node.opType === "Constant") {
      const value = node.attrs.value;
      const scalar = node.attrs.value_float;
      if (value !== undefined && typeof value === "object" && "data" in value)
        tensors.set(node.output[0]!, {
          dims: value.shape,
          values: value.data,
          type: value.dtype === "int" ? "int64" : "float32",
        });
      else if (typeof scalar === "number")
        tensors.set(node.output[0]!, { dims: [], values: Float64Array.of(scalar), type: "float32" });
      else throw refuse(node, "a Constant of a kind other than a tensor or a float");
    }
  const inputs = model.graph.inputs;
  const outputs = model.graph.outputs;
  if (outputs.length !== 1)
    throw new OnnxError(`${source} has ${outputs.length} outputs; overshoot imports networks of one output`);
  const inputShape = model.inputShape.map((d) => d ?? 0);
  const finalName = outputs[0]!.name;

  /** The nodes that read a value, Constant nodes aside. */
  const consumers = new Map<string, Node[]>();
  for (const node of nodes) {
    if (node.opType === "Constant") continue;
    for (const i of node.input) {
      if (!consumers.has(i)) consumers.set(i, []);
      consumers.get(i)!.push(node);
    }
  }
  const only = (value: string): Node | null => {
    const list = consumers.get(value) ?? [];
    if (list.length > 1 && !isGelu(list, value))
      throw refuse(
        list[1]!,
        `a branch: ${JSON.stringify(value)} feeds ${list.length} nodes (${list.map((n) => `${shown(n.opType)} "${shown(n.name)}"`).join(", ")}), not one after another`,
      );
    return list[0] ?? null;
  };
  /** The GELU chain PyTorch exports: Div(x, √2) → Erf → Add(1) → Mul(x, ·) → Mul(½), x read twice. */
  const isGelu = (list: Node[], x: string) =>
    list.length === 2 &&
    list.some((n) => n.opType === "Div") &&
    list.some((n) => n.opType === "Mul") &&
    x !== "";
  const constant = (name: string): number | null => {
    const t = tensors.get(name);
    return t && t.values.length === 1 ? t.values[0]! : null;
  };
  const other = (node: Node, value: string) => node.input.find((i) => i !== value) ?? value;
  /** The graph's output, read by no node after it: where the chain ends. */
  const isEnd = (value: string) => value === finalName && (consumers.get(value) ?? []).length === 0;

  const layers: { w: Float64Array; b: Float64Array; in: number; out: number; node: Node }[] = [];
  const activations: Activation[] = [];
  let output: OnnxNetwork["output"] = "none";
  // Unknown (symbolic) dimensions after the batch leave the width to the first layer.
  let width =
    inputShape.length === 0 || inputShape.includes(0) ? null : inputShape.reduce((a, b) => a * b, 1);
  let pending: Activation | null = null;
  let current = inputs[0]!.name;
  const types = new Set<string>();

  const addLayer = (w: Float64Array, b: Float64Array, inS: number, outS: number, node: Node) => {
    if (width !== null && inS !== width)
      throw refuse(node, `a layer of ${inS} inputs after ${plural(width, "value")}`);
    // Two dense layers in a row have the identity between them.
    if (layers.length > 0) activations.push(pending ?? "identity");
    pending = null;
    layers.push({ w, b, in: inS, out: outS, node });
    width = outS;
  };
  const weight = (node: Node, name: string | undefined): Tensor => {
    const t = name === undefined ? undefined : tensors.get(name);
    if (!t)
      throw refuse(
        node,
        `a product with a computed value (${JSON.stringify(name)}), not with weights stored in the file`,
      );
    if (t.type === "int64") throw refuse(node, `a product with integer weights (${JSON.stringify(name)})`);
    types.add(t.type);
    return t;
  };
  const bias = (node: Node, t: Tensor, out: number): Float64Array => {
    if (t.values.length !== out)
      throw refuse(node, `a bias of ${plural(t.values.length, "value")} for a layer of ${out} outputs`);
    return t.values;
  };

  for (let guard = 0; guard <= nodes.length; guard++) {
    if (isEnd(current)) break;
    const node = only(current);
    if (!node)
      throw new OnnxError(
        `${source}: the chain from the input stops at ${JSON.stringify(current)}, which is not the graph's output`,
      );
    const op = node.opType;
    // PyTorch's GELU before opset 20: the output of its Div–Erf–Add–Mul–Mul chain, when it is one.
    const geluEnd = op === "Div" ? geluChain(node, current) : null;
    if (output !== "none")
      throw refuse(node, `a node after the final ${output === "softmax" ? "Softmax" : "Sigmoid"}`);
    if (op === "Flatten") {
      if (layers.length > 0) throw refuse(node, "a Flatten between layers");
      const axis = attrInt(node, "axis", 1);
      if (axis !== 1) throw refuse(node, `Flatten with axis ${axis} (only axis 1, keeping the batch)`);
      current = node.output[0]!;
    } else if (op === "Reshape") {
      // Keras's Flatten through tf2onnx: Reshape(x, [-1, n]) (or [0, -1] …) at the input.
      const shape = tensors.get(node.input[1] ?? "");
      const to = shape ? Array.from(shape.values) : [];
      const flattens =
        shape?.type === "int64" &&
        to.length === 2 &&
        (to[0] === -1 || to[0] === 0) &&
        (to[1] === -1 || width === null || to[1] === width) &&
        !(to[0] === -1 && to[1] === -1);
      if (layers.length > 0 || !flattens)
        throw refuse(
          node,
          `a Reshape to [${to.join(", ")}]${layers.length > 0 ? " between layers" : ""} (only flattening the input, to [-1, n])`,
        );
      if (to[1]! > 0) width = to[1]!;
      current = node.output[0]!;
    } else if (op === "Identity") {
      current = node.output[0]!;
    } else if (op === "Gemm") {
      if (node.input[0] !== current) throw refuse(node, "a Gemm whose first input is not the previous layer");
      if (attrInt(node, "transA", 0) !== 0) throw refuse(node, "Gemm with transA = 1");
      const transB = attrInt(node, "transB", 0);
      const alpha = attrFloat(node, "alpha", 1);
      const beta = attrFloat(node, "beta", 1);
      const B = weight(node, node.input[1]);
      if (B.dims.length !== 2) throw refuse(node, `a weight of shape [${B.dims.join(", ")}]`);
      const [outS, inS] = transB ? [B.dims[0]!, B.dims[1]!] : [B.dims[1]!, B.dims[0]!];
      if (node.input[2] === undefined || node.input[2] === "")
        throw refuse(node, "a layer without a bias (overshoot's layers have W and b)");
      const C = weight(node, node.input[2]);
      const w = outInWeights(B.values, inS, outS, transB === 1, alpha);
      const b = Float64Array.from(bias(node, C, outS), (v) => beta * v);
      addLayer(w, b, inS, outS, node);
      current = node.output[0]!;
    } else if (op === "MatMul") {
      if (node.input[0] !== current)
        throw refuse(node, "a MatMul whose first input is not the previous layer");
      const B = weight(node, node.input[1]);
      if (B.dims.length !== 2) throw refuse(node, `a weight of shape [${B.dims.join(", ")}]`);
      const [inS, outS] = [B.dims[0]!, B.dims[1]!];
      const add = only(node.output[0]!);
      if (add?.opType !== "Add")
        throw refuse(node, "a MatMul without a bias Add after it (overshoot's layers have W and b)");
      const C = weight(add, other(add, node.output[0]!));
      addLayer(
        outInWeights(B.values, inS, outS, false, 1),
        Float64Array.from(bias(add, C, outS)),
        inS,
        outS,
        node,
      );
      current = add.output[0]!;
    } else if (op === "Relu" || op === "Tanh" || op === "Sigmoid" || op === "Gelu" || geluEnd !== null) {
      if (op === "Gelu" && attrString(node, "approximate", "none") !== "none")
        throw refuse(node, 'Gelu with approximate = "tanh" (only the exact erf form)');
      const name = geluEnd !== null ? "GELU" : op;
      if (pending) throw refuse(node, `two activations in a row (${pending}, then ${name})`);
      if (layers.length === 0) throw refuse(node, `an activation (${name}) before the first layer`);
      const out = geluEnd ?? node.output[0]!;
      if (op === "Sigmoid" && isEnd(out)) output = "sigmoid";
      else pending = geluEnd !== null ? "gelu" : (op.toLowerCase() as Activation);
      current = out;
    } else if (op === "Softmax") {
      const out = node.output[0]!;
      const axis = attrInt(node, "axis", opset >= 13 ? -1 : 1);
      if (axis !== -1 && axis !== 1) throw refuse(node, `Softmax over axis ${axis} (only over the outputs)`);
      if (!isEnd(out)) throw refuse(node, "a Softmax that is not the last node");
      if (pending) throw refuse(node, `a Softmax after an activation (${pending})`);
      output = "softmax";
      current = out;
    } else if (op === "Add" && !tensors.has(other(node, current)))
      throw refuse(node, "an Add of two computed values (a skip connection), not a bias");
    else throw refuse(node, null);
  }
  if (current !== finalName)
    throw new OnnxError(`${source}: the chain from the input does not reach the output`);
  if (layers.length === 0) throw new OnnxError(`${source} has no dense layer (Gemm or MatMul+Add)`);
  if (pending) {
    const node = layers[layers.length - 1]!.node;
    throw refuse(
      node,
      `an output activation (${pending}) other than a final Softmax or Sigmoid; overshoot's networks end in a linear layer`,
    );
  }
  if (types.size > 1) throw new OnnxError(`${source} mixes float32 and float64 weights`);
  const size = layers.reduce((s, l) => s + l.w.length + l.b.length, 0);
  const theta = new Float64Array(size);
  let k = 0;
  for (const l of layers) {
    theta.set(l.w, k);
    k += l.w.length;
    theta.set(l.b, k);
    k += l.b.length;
  }
  return {
    sizes: [layers[0]!.in, ...layers.map((l) => l.out)],
    activations,
    output,
    theta,
    dtype: types.has("float64") ? "float64" : "float32",
    opset,
    producer,
    inputShape,
  };

  /** The output of the GELU chain starting at Div(x, c), or null if the nodes are not that chain. */
  function geluChain(div: Node, x: string): string | null {
    const near = (v: number | null, want: number) => v !== null && Math.abs(v - want) <= 1e-6 * want;
    if (div.input[0] !== x || !near(constant(div.input[1]!), Math.SQRT2)) return null;
    const erf = (consumers.get(div.output[0]!) ?? [])[0];
    if (erf?.opType !== "Erf") return null;
    const add = (consumers.get(erf.output[0]!) ?? [])[0];
    if (add?.opType !== "Add" || !near(constant(other(add, erf.output[0]!)), 1)) return null;
    const mul = (consumers.get(add.output[0]!) ?? [])[0];
    if (mul?.opType !== "Mul" || other(mul, add.output[0]!) !== x) return null;
    const half = (consumers.get(mul.output[0]!) ?? [])[0];
    if (half?.opType !== "Mul" || !near(constant(other(half, mul.output[0]!)), 0.5)) return null;
    return half.output[0]!;
  }

  function refuse(node: Node, what: string | null): OnnxError {
    return new OnnxError(
      what === null
        ? `${source}: unsupported ONNX operator ${shown(node.opType)} (node "${shown(node.name)}"); overshoot imports feed-forward networks of ${SUPPORTED}`
        : `${source}: node "${shown(node.name)}" (${shown(node.opType)}) is ${what}; overshoot imports feed-forward networks of ${SUPPORTED}`,
    );
  }
}

/** W as out × in row-major, from B stored out × in (transB) or in × out, times alpha. */
function outInWeights(
  b: Float64Array,
  inS: number,
  outS: number,
  outIn: boolean,
  alpha: number,
): Float64Array {
  if (b.length !== inS * outS)
    throw new OnnxError(`invalid ONNX weight: ${plural(b.length, "value")} for ${inS}×${outS}`);
  const w = new Float64Array(inS * outS);
  for (let i = 0; i < outS; i++)
    for (let j = 0; j < inS; j++) w[i * inS + j] = alpha * (outIn ? b[i * inS + j]! : b[j * outS + i]!);
  return w;
}

function attrInt(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  return typeof a === "number" ? a : fallback;
}
function attrFloat(node: Node, name: string, fallback: number): number {
  const a = node.attrs[name];
  return typeof a === "number" ? a : fallback;
}
function attrString(node: Node, name: string, fallback: string): string {
  const a = node.attrs[name];
  return typeof a === "string" ? a : fallback;
}
