import type { Objective } from "../../../src/core/objective.js";
import { createRng } from "../../../src/core/rng.js";
import { type Activation, initialParameters, mlpObjective } from "../../../src/nn/mlp/mlp.js";
import { modelObjective } from "../../../src/objectives/models.js";
import { splitRows } from "../../../src/objectives/synthetic.js";
import { designFromTable, type Table } from "../../../src/objectives/table.js";

/**
 * The "your data" panel's problem, apart from the DOM so its worker builds it: a CSV the user
 * picked (read in the page, never sent anywhere), a target column, and a linear model (mean squared
 * error, weights from zero) or an MLP with one output on squared error and PyTorch's initial
 * weights — each built as `overshoot spectrum --data FILE --target COL …` builds it, so the page's
 * numbers are the CLI's.
 */
export interface DataSpec {
  readonly target: string;
  readonly model: "linear" | "mlp";
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
  const sizes = [design.features.length, ...spec.hidden, 1];
  // The rows in the order the CLI trains on them (--validation 0 still shuffles them, with the
  // seed's split stream): the sums over rows then add in the same order, and every number the page
  // computes is the CLI's to the last bit.
  const order = splitRows(design.rows, 0, createRng(spec.seed + 1)).train;
  const d = design.features.length;
  const x = new Float64Array(design.rows * d);
  const y = new Float64Array(design.rows);
  order.forEach((from, to) => {
    x.set(design.x.subarray(from * d, from * d + d), to * d);
    y[to] = design.y[from]!;
  });
  const objective = mlpObjective(
    { sizes, activation: spec.activation, loss: "mse" },
    { x, y, rows: design.rows },
  );
  return {
    objective,
    start: initialParameters(sizes, "pytorch", createRng(spec.seed + 2)),
    rows: design.rows,
    features: design.features,
  };
}
