import type { Graph, GraphSpec } from "../graph.js";
import type { Loss } from "../mlp/mlp.js";
import { tensor } from "../tensor.js";

/**
 * What turns an ONNX graph into a problem to measure, shared by the CLI's --model-onnx and the
 * lab's "your ONNX model": its final link taken into the loss, its own weights as the start, the
 * width of its output, and the targets a column of classes becomes for it.
 */

/**
 * A final Softmax or Sigmoid is the loss's link: cross-entropy or bce on the logits before it
 * (numerically the same loss, and the form whose derivatives the engine's heads compute).
 */
export function withoutFinalLink(spec: GraphSpec): {
  readonly spec: GraphSpec;
  readonly implied?: Loss;
  readonly link?: "Softmax" | "Sigmoid";
} {
  const last = spec.nodes.find((n) => n.outputs[0] === spec.outputs[0]!.name);
  if (!last || (last.op !== "Softmax" && last.op !== "Sigmoid") || !last.inputs[0]) return { spec };
  return {
    spec: { ...spec, nodes: spec.nodes.filter((n) => n !== last), outputs: [{ name: last.inputs[0] }] },
    implied: last.op === "Softmax" ? "cross-entropy" : "bce",
    link: last.op,
  };
}

/** The file's own weights, laid out as the graph's parameter vector. */
export function weightsOf(graph: Graph, spec: GraphSpec): Float64Array {
  const theta = new Float64Array(graph.dim);
  for (const p of graph.parameters)
    theta.set(spec.initializers.find((i) => i.name === p.name)!.values, p.offset);
  return theta;
}

/** Values per row of the model's output: from the declared shape, else from one row through the graph. */
export function outputWidth(
  graph: Graph,
  spec: GraphSpec,
  theta: Float64Array,
  inputShape: readonly number[],
): number | undefined {
  const declared = spec.outputs[0]?.shape;
  if (declared && declared.length > 1 && declared.slice(1).every((d) => typeof d === "number" && d > 0))
    return (declared.slice(1) as number[]).reduce((a, b) => a * b, 1);
  try {
    const x = tensor([1, ...inputShape], new Float64Array(inputShape.reduce((a, b) => a * b, 1)));
    return graph.run(theta, x, null).values.get(graph.output)!.data.length;
  } catch {
    // A model fixed to its export's batch: the data's own classes decide, and the first evaluation explains.
    return undefined;
  }
}

/**
 * The outputs a column of classes 0 … classes−1 is one-hot over: one for bce; else at least two,
 * every class, and the model's outputs when it has several (a class it never sees still has its
 * logit).
 */
export function classWidth(loss: Loss, classes: number, modelOutputs?: number): number {
  if (loss === "bce") return 1;
  return Math.max(2, classes, modelOutputs !== undefined && modelOutputs > 1 ? modelOutputs : 0);
}

/**
 * A target column read as classes 0, 1, 2, … for cross-entropy or bce (at most 1000; two for
 * bce). An error names the column and the first row that is not a class, numbered as a CSV with
 * a header counts it (`rowOf` maps an index to the file's own row order when the rows were moved).
 */
export function classLabels(
  values: Float64Array,
  column: string,
  loss: "cross-entropy" | "bce",
  rowOf: (i: number) => number = (i) => i,
): { readonly labels: Int32Array; readonly classes: number } {
  const labels = Int32Array.from(values, (v, r) => {
    if (!Number.isInteger(v) || v < 0)
      throw new Error(
        `'${column}' must hold class numbers 0, 1, 2, … for ${loss}; row ${rowOf(r) + 2} has ${v}`,
      );
    return v;
  });
  let classes = 0;
  for (const c of labels) classes = Math.max(classes, c + 1);
  if (classes > 1000) throw new Error(`'${column}' has ${classes} classes (at most 1000)`);
  if (loss === "bce" && classes > 2)
    throw new Error(`bce needs 0/1 labels; '${column}' has ${classes} classes (use cross-entropy)`);
  return { labels, classes };
}
