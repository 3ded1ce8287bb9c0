import type { Objective } from "../../../src/core/objective.js";
import { createRng } from "../../../src/core/rng.js";
import { type Activation, initialParameters, mlpObjective } from "../../../src/nn/mlp/mlp.js";
import { type OnnxNetwork, readOnnxNetwork } from "../../../src/nn/onnx/dense.js";
import { modelObjective } from "../../../src/objectives/models.js";
import { splitRows } from "../../../src/objectives/synthetic.js";
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
  /** "onnx": the network and its weights from an ONNX file (a chain of dense layers), as --model-onnx. */
  readonly model: "linear" | "mlp" | "onnx";
  /** The ONNX file's bytes and name, for model "onnx". */
  readonly onnx?: { readonly name: string; readonly bytes: Uint8Array };
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
    };
  }
  const net = spec.model === "onnx" ? onnxRegression(spec, design.features.length) : null;
  const sizes = net ? [...net.sizes] : [design.features.length, ...spec.hidden, 1];
  // The rows in the order the CLI trains on them (--validation 0 still shuffles them, with the
  // seed's split stream): the sums over rows then add in the same order as the CLI's (chromium's
  // Math.tanh and Math.pow may still round a last bit differently from Node's).
  const order = splitRows(design.rows, 0, createRng(spec.seed + 1)).train;
  const d = design.features.length;
  const x = new Float64Array(design.rows * d);
  const y = new Float64Array(design.rows);
  order.forEach((from, to) => {
    x.set(design.x.subarray(from * d, from * d + d), to * d);
    y[to] = design.y[from]!;
  });
  const objective = mlpObjective(
    net
      ? { sizes, activation: net.activations[0] ?? "identity", activations: net.activations, loss: "mse" }
      : { sizes, activation: spec.activation, loss: "mse" },
    { x, y, rows: design.rows },
  );
  return {
    objective,
    start: net ? Float64Array.from(net.theta) : initialParameters(sizes, "pytorch", createRng(spec.seed + 2)),
    rows: design.rows,
    features: design.features,
  };
}

/**
 * The ONNX file's dense network for a regression target: as many inputs as the CSV has features
 * and one output without a final link (the page fits a target column on squared error; a
 * classifier's ONNX goes through `overshoot spectrum --model-onnx` for now).
 */
function onnxRegression(spec: DataSpec, features: number): OnnxNetwork {
  if (!spec.onnx) throw new Error("choose the model's ONNX file");
  const net = readOnnxNetwork(spec.onnx.bytes, spec.onnx.name);
  if (net.sizes[0] !== features)
    throw new Error(
      `${spec.onnx.name} takes ${net.sizes[0]} inputs; the CSV gives ${features} features besides the target`,
    );
  const outputs = net.sizes[net.sizes.length - 1];
  if (outputs !== 1 || net.output !== "none")
    throw new Error(
      `${spec.onnx.name} has ${outputs} output${outputs === 1 ? "" : "s"}${net.output === "none" ? "" : ` and a final ${net.output}`}; the page measures a regression model (one output, squared error) — for a classifier: overshoot spectrum --model-onnx ${spec.onnx.name} --data FILE --target COLUMN`,
    );
  return net;
}
