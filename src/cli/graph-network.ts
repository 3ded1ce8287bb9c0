import { plural } from "../core/format.js";
import { Graph, type GraphSpec, withBatchNormMode } from "../nn/graph.js";
import { type GraphObjective, graphObjective } from "../nn/objective.js";
import { denseNetwork, OnnxError } from "../nn/onnx/dense.js";
import { outputWidth, weightsOf, withoutFinalLink } from "../nn/onnx/graph-start.js";
import { type OnnxModel, shown } from "../nn/onnx/model.js";
import { GraphError } from "../nn/tensor.js";
import type { ParsedFlags } from "./args.js";
import { CliError } from "./errors.js";
import { batchNormFlag, lossFromFlags, type Prepared, prepareData } from "./network.js";

/**
 * A network from an ONNX file that is not a plain chain of dense layers (a CNN, BatchNorm,
 * residual connections, LayerNorm, attention): run by the graph engine (nn/) on the rows of
 * --data, each reshaped to the model's input shape.
 */
export interface GraphNetwork {
  readonly objective: GraphObjective;
  readonly data: Prepared;
  readonly theta0: Float64Array;
  readonly model: OnnxModel;
  /** The graph as plain data, for worker threads (sweep). */
  readonly spec: GraphSpec;
  readonly inputShape: readonly number[];
  readonly describe: string;
}

/**
 * The graph network of --model-onnx, or null when the file is a chain of dense layers (the MLP
 * path, which gives the same answers faster).
 */
export function graphNetworkFromFlags(
  flags: ParsedFlags,
  onnx: { path: string; flag: string },
  seed: number,
  model: OnnxModel,
): GraphNetwork | null {
  const mode = batchNormFlag(flags);
  try {
    denseNetwork(model, onnx.path);
    if (mode)
      throw new CliError(`--batch-norm ${mode}: ${onnx.path} has no BatchNormalization layer; drop it`);
    return null;
  } catch (e) {
    if (!(e instanceof OnnxError)) throw e;
  }
  for (const key of ["hidden", "activation", "dtype"])
    if (flags[key] !== undefined)
      throw new CliError(`--${key} comes from the model in ${onnx.path}: drop it`);
  if (model.dtype === "mixed") throw new CliError(`${onnx.path} mixes float32 and float64 weights`);
  // A final Softmax or Sigmoid is the loss's link: taken into cross-entropy or bce on the logits.
  const stripped = withoutFinalLink(model.graph);
  let spec = stripped.spec;
  const implied = stripped.implied;
  const lossFlag = lossFromFlags(flags);
  if (implied && lossFlag !== undefined && lossFlag !== implied)
    throw new CliError(
      `invalid --loss: ${lossFlag}, but ${onnx.path} ends in ${stripped.link}, which overshoot takes as ${implied} on the logits before it (drop --loss)`,
    );
  if (mode) {
    if (!spec.nodes.some((n) => n.op === "BatchNormalization"))
      throw new CliError(
        `--batch-norm ${mode}: ${onnx.path} has no BatchNormalization layer (an export in eval mode may have folded it into the convolutions); drop it`,
      );
    spec = withBatchNormMode(spec, mode);
  }
  let graph: Graph;
  try {
    graph = new Graph(spec);
  } catch (e) {
    if (e instanceof GraphError)
      throw new CliError(
        `${onnx.path}: ${e.message}; overshoot's graph engine reads Conv, pooling, BatchNormalization, LayerNormalization, attention (MatMul, Softmax) and the shape operators exports use`,
      );
    throw e;
  }
  const unknown = model.inputShape.indexOf(null);
  if (unknown >= 0)
    throw new CliError(
      `${onnx.path}: its input's axis ${unknown + 1} has no fixed size (${shown(String(spec.inputs[0]!.shape[unknown + 1]))}); export with a fixed shape after the batch axis`,
    );
  const inputShape = model.inputShape as number[];
  const width = inputShape.reduce((a, b) => a * b, 1);
  const theta0 = weightsOf(graph, spec);
  const data = prepareData(flags, implied ?? lossFlag, seed, outputWidth(graph, spec, theta0, inputShape));
  if (data.inputs !== width)
    throw new CliError(
      `${onnx.path} takes rows of ${inputShape.length > 1 ? `${inputShape.join("×")} = ` : ""}${plural(width, "value")}; --data ${flags["data"]} gives ${data.inputs}${/\.csv$/i.test(String(flags["data"])) ? " (a CSV row holds the flattened input: choose its columns with --features)" : ""}`,
    );
  // BatchNormalization as the file says (or --batch-norm): training mode takes the statistics of
  // the rows measured.
  const norms = spec.nodes.filter((n) => n.op === "BatchNormalization");
  const train = norms.filter((n) => n.attrs["training_mode"] === 1).length;
  const batchNorm =
    norms.length === 0
      ? ""
      : train === norms.length
        ? "; BatchNormalization in training mode: the statistics of the rows measured, as model.train()"
        : train === 0
          ? "; BatchNormalization in eval mode: its running statistics, as model.eval()"
          : `; BatchNormalization: ${train} of ${plural(norms.length, "layer")} in training mode`;
  const describe = `${data.describe}, each row reshaped to ${inputShape.join("×")}; model ${onnx.path} (${plural(graph.dim, "parameter")} in ${graph.parameters.length} tensors; ${model.dtype === "float32" ? "float32 weights widened to float64" : "float64 weights"}; ONNX opset ${model.opset} from ${model.producer}${batchNorm})`;
  const objective = graphObjective(graph, data.train, {
    loss: data.loss,
    inputShape,
    description: describe,
  });
  // The first evaluation finds shapes the file fixed to the batch it was exported with.
  try {
    objective.value(theta0);
  } catch (e) {
    if (!(e instanceof GraphError)) throw e;
    const batch = spec.inputs[0]!.shape[0];
    const shapes = /reshaped|broadcast|does not fit|inner sizes/.test(e.message);
    throw new CliError(
      `${onnx.path}: ${e.message}${typeof batch === "number" && shapes ? ` — the model was exported for batches of ${plural(batch, "row")}: export it with dynamic_axes={"input": {0: "batch"}} so any number of rows fits` : ""}`,
    );
  }
  return { objective, data, theta0, model, spec, inputShape, describe };
}
