import { plural } from "../../../src/core/format.js";
import type { Objective } from "../../../src/core/objective.js";
import { createRng } from "../../../src/core/rng.js";
import { Graph } from "../../../src/nn/graph.js";
import type { Loss } from "../../../src/nn/mlp/mlp.js";
import { type Activation, initialParameters, mlpObjective } from "../../../src/nn/mlp/mlp.js";
import { graphObjective } from "../../../src/nn/objective.js";
import { denseNetwork, OnnxError, type OnnxNetwork } from "../../../src/nn/onnx/dense.js";
import {
  classLabels,
  classWidth,
  outputWidth,
  weightsOf,
  withoutFinalLink,
} from "../../../src/nn/onnx/graph-start.js";
import { readOnnxModel } from "../../../src/nn/onnx/model.js";
import { GraphError } from "../../../src/nn/tensor.js";
import { modelObjective } from "../../../src/objectives/models.js";
import { oneHot, splitRows } from "../../../src/objectives/synthetic.js";
import { designFromTable, type Table } from "../../../src/objectives/table.js";

/**
 * The "your data" panel's problem, apart from the DOM so its worker builds it: a CSV the user
 * picked (read in the page, never sent anywhere), a target column, and a linear model (mean squared
 * error, weights from zero) or an MLP with one output on squared error and PyTorch's initial
 * weights, or a network read from the user's ONNX file with its own weights — each built as
 * `overshoot spectrum --data FILE --target COL …` (`--model-onnx FILE`) builds it, so the page's
 * numbers are the CLI's.
 */
export interface DataSpec {
  readonly target: string;
  /**
   * "onnx": the network and its weights from an ONNX file, as --model-onnx: a chain of dense
   * layers on the MLP path, any other graph (convolutions, BatchNorm, residuals, LayerNorm,
   * attention) on the graph engine.
   */
  readonly model: "linear" | "mlp" | "onnx";
  /** The ONNX file's bytes and name, for model "onnx". */
  readonly onnx?: { readonly name: string; readonly bytes: Uint8Array };
  /**
   * An ONNX model's loss: "auto" takes the model's final Softmax or Sigmoid as cross-entropy or
   * bce on the logits, else cross-entropy for several outputs and squared error for one.
   */
  readonly loss?: "auto" | "mse" | "cross-entropy";
  readonly hidden: readonly number[];
  readonly activation: Activation;
  readonly standardize: boolean;
  readonly seed: number;
}

export interface DataProblem {
  readonly objective: Objective;
  readonly start: Float64Array;
  readonly rows: number;
  readonly features: readonly string[];
  /** The loss measured, and whether the model's final link implies it (then no --loss is given). */
  readonly loss: Loss;
  readonly impliedLoss: boolean;
  /** What was read, for the page: "a graph of 1,234 parameters …". */
  readonly describe: string;
}

export function dataProblem(table: Table, name: string, spec: DataSpec): DataProblem {
  const design = designFromTable(table, spec.target, undefined, spec.standardize);
  if (spec.model === "linear") {
    const objective = modelObjective("linear", design, name);
    return {
      objective,
      start: new Float64Array(objective.dim),
      rows: design.rows,
      features: design.features,
      loss: "mse",
      impliedLoss: false,
      describe: `a linear model of ${plural(design.features.length, "feature")}`,
    };
  }
  // The rows in the order the CLI trains on them (--validation 0 still shuffles them, with the
  // seed's split stream): the sums over rows then add in the same order as the CLI's (chromium's
  // Math.tanh and Math.pow may still round a last bit differently from Node's).
  const order = splitRows(design.rows, 0, createRng(spec.seed + 1)).train;
  const d = design.features.length;
  const x = new Float64Array(design.rows * d);
  const target = new Float64Array(design.rows);
  order.forEach((from, to) => {
    x.set(design.x.subarray(from * d, from * d + d), to * d);
    target[to] = design.y[from]!;
  });
  if (spec.model === "onnx") return onnxProblem(spec, design.features, x, target, order);
  const sizes = [d, ...spec.hidden, 1];
  const objective = mlpObjective(
    { sizes, activation: spec.activation, loss: "mse" },
    { x, y: target, rows: design.rows },
  );
  return {
    objective,
    start: initialParameters(sizes, "pytorch", createRng(spec.seed + 2)),
    rows: design.rows,
    features: design.features,
    loss: "mse",
    impliedLoss: false,
    describe: `an MLP ${sizes.join("-")}`,
  };
}

/**
 * The user's ONNX model on the CSV, as `overshoot spectrum --model-onnx FILE --data CSV --target
 * COL` builds it: its own weights the start; a chain of dense layers on the MLP path, any other
 * graph on the graph engine with each row reshaped to the model's input; the target a number
 * (squared error) or a class 0, 1, … one-hot over the model's outputs (cross-entropy, bce).
 */
function onnxProblem(
  spec: DataSpec,
  features: readonly string[],
  x: Float64Array,
  target: Float64Array,
  /** Each row's place in the file (the CLI's order moved them). */
  order: Int32Array,
): DataProblem {
  if (!spec.onnx) throw new Error("choose the model's ONNX file");
  const file = spec.onnx.name;
  const model = readOnnxModel(spec.onnx.bytes, file);
  const rows = target.length;
  let dense: OnnxNetwork | null = null;
  try {
    dense = denseNetwork(model, file);
  } catch (e) {
    if (!(e instanceof OnnxError)) throw e;
  }
  const lossOf = (implied: Loss | undefined, link: string, outputs: number | undefined): Loss => {
    const asked = spec.loss ?? "auto";
    if (implied && asked !== "auto" && asked !== implied)
      throw new Error(
        `${file} ends in ${link}, which is ${implied} on the logits before it; choose the loss "as the model says"`,
      );
    if (implied) return implied;
    if (asked !== "auto") return asked;
    return outputs !== undefined && outputs > 1 ? "cross-entropy" : "mse";
  };
  if (dense) {
    if (dense.sizes[0] !== features.length)
      throw new Error(
        `${file} takes ${dense.sizes[0]} inputs; the CSV gives ${features.length} features besides the target`,
      );
    const outputs = dense.sizes[dense.sizes.length - 1]!;
    const implied: Loss | undefined =
      dense.output === "softmax" ? "cross-entropy" : dense.output === "sigmoid" ? "bce" : undefined;
    const loss = lossOf(implied, dense.output === "softmax" ? "Softmax" : "Sigmoid", outputs);
    const y = targetsFor(loss, target, spec.target, order);
    if (y.width !== outputs)
      throw new Error(
        `${file} has ${plural(outputs, "output")}; the column '${spec.target}' with ${loss} needs ${y.width}`,
      );
    return {
      objective: mlpObjective(
        {
          sizes: [...dense.sizes],
          activation: dense.activations[0] ?? "identity",
          activations: dense.activations,
          loss,
        },
        { x, y: y.values, rows },
      ),
      start: Float64Array.from(dense.theta),
      rows,
      features,
      loss,
      impliedLoss: implied !== undefined,
      describe: `${file}: dense layers ${dense.sizes.join("-")}`,
    };
  }
  if (model.dtype === "mixed") throw new Error(`${file} mixes float32 and float64 weights`);
  const stripped = withoutFinalLink(model.graph);
  let graph: Graph;
  try {
    graph = new Graph(stripped.spec);
  } catch (e) {
    if (e instanceof GraphError)
      throw new Error(
        `${file}: ${e.message}; the graph engine reads Conv, pooling, BatchNormalization, LayerNormalization, attention (MatMul, Softmax) and the shape operators exports use`,
      );
    throw e;
  }
  const unknown = model.inputShape.indexOf(null);
  if (unknown >= 0)
    throw new Error(
      `${file}: its input's axis ${unknown + 1} has no fixed size; export it with a fixed shape after the batch axis`,
    );
  const inputShape = model.inputShape as number[];
  const width = inputShape.reduce((a, b) => a * b, 1);
  if (width !== features.length)
    throw new Error(
      `${file} takes rows of ${inputShape.length > 1 ? `${inputShape.join("×")} = ` : ""}${plural(width, "value")}; the CSV gives ${features.length} features besides the target (a row holds the flattened input)`,
    );
  const theta = weightsOf(graph, stripped.spec);
  const outputs = outputWidth(graph, stripped.spec, theta, inputShape);
  const loss = lossOf(stripped.implied, stripped.link ?? "", outputs);
  if (loss !== "cross-entropy" && outputs !== undefined && outputs > 1)
    throw new Error(
      `${file} has ${outputs} outputs a row; ${loss === "bce" ? "bce" : "squared error"} on the column '${spec.target}' takes one — choose cross-entropy for a class column`,
    );
  const y = targetsFor(loss, target, spec.target, order, outputs);
  const objective = graphObjective(graph, { x, y: y.values, rows }, { loss, inputShape });
  try {
    objective.value(theta);
  } catch (e) {
    if (e instanceof GraphError) throw new Error(`${file}: ${e.message}`);
    throw e;
  }
  return {
    objective,
    start: theta,
    rows,
    features,
    loss,
    impliedLoss: stripped.implied !== undefined,
    describe: `${file}: a graph of ${graph.parameters.length} weight tensors on ${inputShape.join("×")} inputs`,
  };
}

/**
 * The target column as the loss takes it: the numbers themselves for squared error; for
 * cross-entropy and bce classes 0, 1, 2, … (the CLI's rule, classLabels) one-hot over classWidth's
 * outputs. `order` maps each row to its place in the file, for the row an error names.
 */
function targetsFor(
  loss: Loss,
  target: Float64Array,
  column: string,
  order: Int32Array,
  modelOutputs?: number,
): { values: Float64Array; width: number } {
  if (loss !== "cross-entropy" && loss !== "bce") return { values: target, width: 1 };
  const { labels, classes } = classLabels(target, column, loss, (i) => order[i]!);
  const width = classWidth(loss, classes, modelOutputs);
  if (width === 1) return { values: target, width };
  return { values: oneHot(labels, width), width };
}
