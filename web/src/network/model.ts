import { createRng } from "../../../src/core/rng.js";
import {
  type Activation,
  initialParameters,
  type Loss,
  type MlpData,
  type MlpObjective,
  mlpObjective,
} from "../../../src/nn/mlp/mlp.js";
import { oneHot, type SyntheticName, splitRows, synthetic } from "../../../src/objectives/synthetic.js";
import { numericTable } from "../../../src/objectives/table.js";

/**
 * The network panel's problem, apart from the DOM so a worker can build the same one: a 2-D data
 * set, an MLP with two outputs (one-hot targets) and PyTorch's initial weights, each drawn from
 * the seed exactly as `overshoot train --data NAME --seed S --validation 0` draws them.
 */
export interface NetworkSpec {
  /** A synthetic set, or "csv": the user's points. */
  readonly data: SyntheticName | "csv";
  /** For "csv": the file as read in the page — two feature columns, then a column of classes 0 and 1. */
  readonly csv?: { readonly name: string; readonly text: string };
  readonly n: number;
  readonly noise: number;
  readonly seed: number;
  readonly hidden: readonly number[];
  readonly activation: Activation;
  readonly loss: Loss;
}

export interface NetworkProblem {
  readonly objective: MlpObjective;
  readonly data: MlpData;
  readonly labels: Int32Array;
  readonly theta0: Float64Array;
  /** The class column of the user's CSV (null for a synthetic set). */
  readonly target: string | null;
}

export function networkProblem(spec: NetworkSpec): NetworkProblem {
  const set =
    spec.data === "csv" ? csvPoints(spec) : synthetic(spec.data, spec.n, spec.noise, createRng(spec.seed));
  const data: MlpData = { x: set.x, y: oneHot(set.labels, 2), rows: set.rows };
  const sizes = [2, ...spec.hidden, 2];
  const objective = mlpObjective({ sizes, activation: spec.activation, loss: spec.loss }, data);
  return {
    objective,
    data,
    labels: set.labels,
    theta0: initialParameters(sizes, "pytorch", createRng(spec.seed + 2)),
    target: "target" in set ? set.target : null,
  };
}

/**
 * The user's points: a CSV of two feature columns and a last column of classes 0 and 1 (a bad
 * shape or cell is one line naming it). The rows go in the order `overshoot train --data FILE
 * --target COLUMN --validation 0` trains on them (it shuffles them with the seed's split stream
 * even with no validation), so the page's sums are the CLI's.
 */
function csvPoints(spec: NetworkSpec): { x: Float64Array; labels: Int32Array; rows: number; target: string } {
  if (!spec.csv)
    throw new Error("pick a CSV of points: two feature columns, then a column of classes 0 and 1");
  const table = numericTable(spec.csv.text, spec.csv.name);
  const c = table.columns.length;
  if (c !== 3)
    throw new Error(
      `${spec.csv.name} has ${c} columns (${table.columns.join(", ")}); the network panel draws points in the plane: two feature columns, then a column of classes 0 and 1`,
    );
  const order = splitRows(table.rows, 0, createRng(spec.seed + 1)).train;
  const x = new Float64Array(2 * table.rows);
  const labels = new Int32Array(table.rows);
  order.forEach((from, to) => {
    const label = table.values[from * 3 + 2]!;
    if (label !== 0 && label !== 1)
      throw new Error(
        `${spec.csv!.name}: row ${from + 2}, column '${table.columns[2]}' is ${label}; the classes must be 0 or 1`,
      );
    x[2 * to] = table.values[from * 3]!;
    x[2 * to + 1] = table.values[from * 3 + 1]!;
    labels[to] = label;
  });
  return { x, labels, rows: table.rows, target: table.columns[2]! };
}
