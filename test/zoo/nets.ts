import { type Detection, DivergenceDetector } from "../../src/analysis/training/detector.js";
import { type TrainResult, trainToEnd } from "../../src/analysis/training/train.js";
import { createRng } from "../../src/core/rng.js";
import {
  type Activation,
  initialParameters,
  type Loss,
  type MlpObjective,
  mlpObjective,
} from "../../src/nn/mlp/mlp.js";
import { oneHot, type SyntheticName, synthetic } from "../../src/objectives/synthetic.js";
import { resolveOptimizerConfig } from "../../src/optim/index.js";

/**
 * The networks of the labelled zoo (scripts/fixtures/zoo.ts): full-batch runs over activations,
 * losses, widths and depths, each rebuilt here from seeds alone so tests, the bench and the
 * generator share one definition. Data: a seeded synthetic 2-D set of 200 points; targets one-hot
 * (cross-entropy, and mse on the two class outputs). Initial weights: nn.Linear's default.
 */
export interface ZooNet {
  readonly id: string;
  readonly activation: Activation;
  readonly loss: Loss;
  readonly hidden: readonly number[];
  readonly data: SyntheticName;
  readonly seed: number;
}

export const ZOO_ROWS = 200;
export const ZOO_NOISE = 0.05;

const def = (
  activation: Activation,
  loss: Loss,
  hidden: number[],
  data: SyntheticName,
  seed: number,
): ZooNet => ({
  id: `${activation}-${loss === "cross-entropy" ? "ce" : loss}-${hidden.join("x")}-${data}-s${seed}`,
  activation,
  loss,
  hidden,
  data,
  seed,
});

export const ZOO_NETS: readonly ZooNet[] = [
  def("tanh", "mse", [16, 16], "spiral", 0),
  def("relu", "mse", [64], "spiral", 1),
  def("gelu", "cross-entropy", [32, 32], "spiral", 2),
  def("tanh", "mse", [128], "spiral", 3),
  def("relu", "cross-entropy", [64, 64], "circles", 4),
  def("tanh", "cross-entropy", [16], "xor", 5),
  def("gelu", "mse", [256], "gaussian", 6),
  def("relu", "mse", [32, 32, 32], "circles", 7),
  def("tanh", "cross-entropy", [256], "spiral", 8),
  def("relu", "cross-entropy", [128, 128], "xor", 9),
  def("gelu", "cross-entropy", [64, 64, 64], "gaussian", 10),
  def("tanh", "mse", [256, 256], "spiral", 11),
  def("relu", "mse", [16], "xor", 12),
  def("tanh", "mse", [32, 32, 32], "xor", 13),
];

/**
 * Held out: nets the detector's thresholds were not chosen on (other seeds, data and shapes), to
 * check that what held on the zoo holds elsewhere.
 */
export const ZOO_HOLDOUT: readonly ZooNet[] = [
  def("tanh", "mse", [32, 32], "circles", 101),
  def("relu", "mse", [128], "xor", 102),
  def("gelu", "cross-entropy", [64], "spiral", 103),
  def("relu", "cross-entropy", [32, 32, 32], "spiral", 104),
  def("gelu", "mse", [64, 64], "xor", 105),
  def("tanh", "cross-entropy", [64, 64], "gaussian", 106),
  def("relu", "mse", [256], "gaussian", 107),
  def("tanh", "mse", [64, 64, 64], "spiral", 108),
];

/** Learning rates of the zoo, as multiples of 2/λ0 (λ0 = λmax at the initial weights). */
export const ZOO_MULTIPLES = [0.5, 1.1, 1.5, 2, 3, 5, 10] as const;

export interface BuiltNet {
  readonly objective: MlpObjective;
  readonly theta0: Float64Array;
  readonly sizes: readonly number[];
  readonly x: Float64Array;
  readonly y: Float64Array;
}

export function buildNet(net: ZooNet): BuiltNet {
  const set = synthetic(net.data, ZOO_ROWS, ZOO_NOISE, createRng(net.seed));
  const y = oneHot(set.labels, 2);
  const sizes = [2, ...net.hidden, 2];
  const objective = mlpObjective(
    { sizes, activation: net.activation, loss: net.loss },
    { x: set.x, y, rows: set.rows },
    `mlp ${sizes.join("-")} on ${net.data}`,
  );
  return {
    objective,
    theta0: initialParameters(sizes, "pytorch", createRng(net.seed + 1000)),
    sizes,
    x: set.x,
    y,
  };
}

/**
 * One zoo run trained again with `train`'s guard on (full batch, the zoo's horizon): what the
 * guard did, and the loss it ended at (the test and the bench judge the guard by these).
 */
export function guardedZooRun(
  built: BuiltNet,
  lr: number,
  horizon: number,
): { result: TrainResult; finalLoss: number } {
  const { records, result } = trainToEnd({
    objective: built.objective,
    train: { x: built.x, y: built.y, rows: built.x.length / 2 },
    validation: null,
    theta0: built.theta0,
    optimizer: { name: "sgd", lr },
    steps: horizon,
    batchSize: null,
    seed: 0,
    logEvery: horizon,
    sharpnessEvery: null,
    guard: {},
  });
  return { result, finalLoss: records[records.length - 1]?.loss ?? Number.NaN };
}

/** The detector replayed over a stored zoo run's streams (its loss and curvature-along-the-step per step). */
export function replayDetector(run: {
  readonly lr: number;
  readonly loss: readonly (number | string)[];
  readonly curvature: readonly (number | string)[];
}): Detection {
  const d = new DivergenceDetector(resolveOptimizerConfig({ name: "sgd", lr: run.lr }));
  run.loss.forEach((l, k) => {
    d.observeScalars({ step: k, loss: Number(l), curvature: Number(run.curvature[k]), lr: run.lr });
  });
  return d.detection;
}
