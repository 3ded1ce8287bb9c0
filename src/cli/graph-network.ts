import { plural } from "../core/format.js";
import { peakFloats } from "../nn/arena.js";
import { Graph, type GraphSpec, withBatchNormMode } from "../nn/graph.js";
import { rowRange } from "../nn/mlp/mlp.js";
import {
  type GraphObjective,
  type GraphObjectiveOptions,
  graphObjective,
  ROWS_PER_BLOCK,
} from "../nn/objective.js";
import { denseNetwork, OnnxError } from "../nn/onnx/dense.js";
import { outputWidth, weightsOf, withoutFinalLink } from "../nn/onnx/graph-start.js";
import { type OnnxModel, shown } from "../nn/onnx/model.js";
import { GraphError } from "../nn/tensor.js";
import type { ParsedFlags } from "./args.js";
import { checkMemory } from "./budget.js";
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
  /** Rows per block of BatchNorm statistics (--bn-batch, or --batch-size); undefined: all rows. */
  readonly statsRows?: number;
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
  const statsRows = statsRowsFromFlags(flags, graph, onnx.path);
  const statistics =
    statsRows === undefined
      ? "the statistics of the rows measured"
      : `the statistics of each block of ${plural(statsRows, "row")} on its own${flags["bnBatch"] === undefined ? " (--batch-size; --bn-batch sets it)" : ""}`;
  const batchNorm =
    norms.length === 0
      ? ""
      : train === norms.length
        ? `; BatchNormalization in training mode: ${statistics}, as model.train()`
        : train === 0
          ? "; BatchNormalization in eval mode: its running statistics, as model.eval()"
          : `; BatchNormalization: ${train} of ${plural(norms.length, "layer")} in training mode (${statistics})`;
  const describe = `${data.describe}, each row reshaped to ${inputShape.join("×")}; model ${onnx.path} (${plural(graph.dim, "parameter")} in ${graph.parameters.length} tensors; ${model.dtype === "float32" ? "float32 weights widened to float64" : "float64 weights"}; ONNX opset ${model.opset} from ${model.producer}${batchNorm})`;
  const options = {
    loss: data.loss,
    inputShape,
    description: describe,
    ...(statsRows === undefined ? {} : { statsRows }),
  };
  if (graph.couplesRows) checkCoupledMemory(graph, data.train, options, theta0, statsRows);
  const objective = graphObjective(graph, data.train, options);
  // A first evaluation finds shapes the file fixed to the batch it was exported with: on the
  // first block of rows and on the last, shorter one, the sizes every pass over the rows takes
  // (not on all of them: 10,000 images would cost a full pass before any work).
  const rows = data.train.rows;
  const per = Math.min(rows, graph.couplesRows ? (statsRows ?? rows) : ROWS_PER_BLOCK);
  try {
    for (const n of new Set([per, rows % per || per]))
      graphObjective(graph, rowRange(data.train, 0, n), { ...options, statsRows: n }).value(theta0);
  } catch (e) {
    if (!(e instanceof GraphError)) throw e;
    const batch = spec.inputs[0]!.shape[0];
    const shapes = /reshaped|broadcast|does not fit|inner sizes/.test(e.message);
    throw new CliError(
      `${onnx.path}: ${e.message}${typeof batch === "number" && shapes ? ` — the model was exported for batches of ${plural(batch, "row")}: export it with dynamic_axes={"input": {0: "batch"}} so any number of rows fits` : ""}`,
    );
  }
  return {
    objective,
    data,
    theta0,
    model,
    spec,
    inputShape,
    describe,
    ...(statsRows === undefined ? {} : { statsRows }),
  };
}

/**
 * --bn-batch, or --batch-size where the graph's BatchNorm takes batch statistics (the blocks a
 * minibatch run would see); undefined (all rows at once) otherwise. Refused where nothing couples
 * the rows: it would change nothing.
 */
function statsRowsFromFlags(flags: ParsedFlags, graph: Graph, path: string): number | undefined {
  const given = flags["bnBatch"] as number | undefined;
  if (given !== undefined) {
    if (!Number.isInteger(given) || given < 1)
      throw new CliError(
        `invalid --bn-batch: ${given} (rows per block of BatchNorm statistics, a whole number ≥ 1)`,
      );
    if (!graph.couplesRows)
      throw new CliError(
        `--bn-batch: ${path} has no BatchNormalization in training mode, whose statistics it sets; drop it`,
      );
    return given;
  }
  const batch = flags["batchSize"] as number | undefined;
  return graph.couplesRows && typeof batch === "number" && Number.isInteger(batch) && batch >= 1
    ? batch
    : undefined;
}

/**
 * Where BatchNorm couples the rows, one pass holds every row of a block at once (all rows without
 * --bn-batch): the most arrays an HVP holds at once (the largest pass: values, tangents, the
 * reverse pass's adjoints) are counted over 2 rows and over 4, half their difference is a row's
 * (what does not grow with the rows, the parameters' arrays and scratch, cancels), and a block
 * past the memory budget is refused before any work.
 */
function checkCoupledMemory(
  graph: Graph,
  rows: Prepared["train"],
  options: GraphObjectiveOptions,
  theta: Float64Array,
  statsRows: number | undefined,
): void {
  if (rows.rows <= 4) return;
  const v = new Float64Array(graph.dim);
  const bytesOver = (n: number): number => {
    const sample = graphObjective(graph, rowRange(rows, 0, n), { ...options, statsRows: n });
    const out = new Float64Array(graph.dim);
    return 8 * peakFloats(() => sample.hessianVector(theta, v, out));
  };
  let two: number;
  let four: number;
  try {
    two = bytesOver(2);
    four = bytesOver(4);
  } catch (e) {
    // A shape fixed to the export's batch: the first evaluation says so in its own words.
    if (e instanceof GraphError) return;
    throw e;
  }
  const block = Math.min(statsRows ?? rows.rows, rows.rows);
  const perRow = (four - two) / 2;
  checkMemory(
    two + perRow * (block - 2),
    `BatchNormalization in training mode over ${statsRows === undefined ? "all " : "blocks of "}${plural(block, "row")} (one pass holds them at once)`,
    `give --bn-batch B (each block of B rows takes its own statistics, as a minibatch of B does in model.train()), or --batch-norm eval`,
  );
}
