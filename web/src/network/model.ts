import { createRng } from "../../../src/core/rng.js";
import {
  type Activation,
  initialParameters,
  type Loss,
  type MlpData,
  type MlpObjective,
  mlpObjective,
} from "../../../src/nn/mlp/mlp.js";
import { oneHot, type SyntheticName, synthetic } from "../../../src/objectives/synthetic.js";

/**
 * The network panel's problem, apart from the DOM so a worker can build the same one: a 2-D data
 * set, an MLP with two outputs (one-hot targets) and PyTorch's initial weights, each drawn from
 * the seed exactly as `overshoot train --data NAME --seed S --validation 0` draws them.
 */
export interface NetworkSpec {
  readonly data: SyntheticName;
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
}

export function networkProblem(spec: NetworkSpec): NetworkProblem {
  const set = synthetic(spec.data, spec.n, spec.noise, createRng(spec.seed));
  const data: MlpData = { x: set.x, y: oneHot(set.labels, 2), rows: set.rows };
  const sizes = [2, ...spec.hidden, 2];
  const objective = mlpObjective({ sizes, activation: spec.activation, loss: spec.loss }, data);
  return {
    objective,
    data,
    labels: set.labels,
    theta0: initialParameters(sizes, "pytorch", createRng(spec.seed + 2)),
  };
}
