import { columnMoments } from "../../core/columns.js";
import { plural } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { createRng, drawWithoutReplacement } from "../../core/rng.js";
import { delegate, runToEnd, type Stoppable } from "../../core/stoppable.js";
import { type MlpData, type MlpSpec, mlpObjective } from "../../nn/mlp/mlp.js";
import type { GraphObjective } from "../../nn/objective.js";
import { type ModelName, modelObjective } from "../../objectives/models.js";
import type { Design } from "../../objectives/table.js";
import type { OptimizerConfig } from "../../optim/index.js";
import { hessianOperator } from "../curvature/hvp.js";
import { lanczosSteps } from "../curvature/lanczos.js";
import { criticalLearningRate } from "../thresholds/critical.js";
import { stabilityAtSteps } from "../thresholds/stability.js";

/**
 * The two causes of divergence that live in the data rather than in the log: inputs on scales that
 * make the curvature large (unscaled inputs), and minibatches whose own curvature or gradient is far
 * from the full batch's (minibatch gradient noise). Both are measured at the run's start point on
 * the problem itself, so `diagnose` can say which it was with numbers, not guesses.
 */

export interface FeatureScale {
  readonly name: string;
  readonly mean: number;
  readonly std: number;
}

/** A model on data, re-buildable on any subset of rows and with raw or standardized inputs. */
export interface DataProblem {
  readonly rows: number;
  /** The raw inputs' scales, per feature. */
  readonly features: readonly FeatureScale[];
  /** The run's start point (the same weights serve the raw and the standardized problem). */
  readonly start: Float64Array;
  /** The objective on the given rows (all when null), with the inputs raw or standardized by the full data's statistics. */
  objectiveOn(rows: Int32Array | null, standardized: boolean): Objective;
}

export interface Curvature {
  readonly lambdaMax: number;
  /** λmax/λmin when the Hessian is positive definite at the start, else null. */
  readonly condition: number | null;
  /** The optimizer's critical rate at the start (plain GD's 2/λmax for the adaptive ones, which have none). */
  readonly criticalLr: number;
}

export interface ScalingFinding {
  readonly features: readonly FeatureScale[];
  /** Largest over smallest feature standard deviation. */
  readonly spread: number;
  /** Largest |mean|/std: how far the inputs sit from zero relative to their spread. */
  readonly offset: number;
  readonly raw: Curvature;
  readonly standardized: Curvature;
  /** How many times larger the critical rate is after standardizing. */
  readonly gain: number;
  /** The scales cost at least a factor of 10 in the stable learning rate. */
  readonly unscaled: boolean;
}

export interface NoiseFinding {
  readonly lr: number;
  readonly batchSize: number;
  readonly full: Curvature;
  /** λmax of sampled minibatches at the start: largest and median, and how many were measured. */
  readonly batchLambdaMax: number;
  readonly batchLambdaMedian: number;
  /** Minibatches measured, of those planned (fewer when stopped). */
  readonly batches: number;
  readonly batchesPlanned: number;
  /** Fraction of sampled minibatches on which a step at `lr` overshoots (lr above that batch's critical rate). */
  readonly unstableFraction: number;
  /** The smallest per-batch critical rate seen. */
  readonly batchCriticalLr: number;
  /** Gradient noise scale B = tr(Σ)/‖G‖² (McCandlish et al. 2018), Σ the per-example gradient covariance. */
  readonly noiseScale: number | null;
  /** Rows whose per-example gradients entered tr(Σ) (0, and no noise scale, when stopped before them). */
  readonly noiseRows: number;
  /** Full-batch steps at `lr` are stable at the start, yet some minibatch steps are not. */
  readonly noiseDriven: boolean;
}

/** At least this factor between the critical rates before and after standardizing counts as "unscaled". */
export const UNSCALED_GAIN = 10;

/** The curvature with k = 1 and λmin (for the condition number), at the start: one Lanczos run. */
function* curvatureSteps(
  objective: Objective,
  start: Float64Array,
  optimizer: OptimizerConfig,
  onStep: () => void,
): Generator<unknown, { curvature: Curvature; stopped: boolean }, boolean | undefined> {
  const { value, stopped } = yield* delegate(
    stabilityAtSteps(objective, start, optimizer, { k: 1, tolerance: 1e-8, onStep }),
  );
  const curvature = {
    lambdaMax: value.lambdaMax,
    condition: value.conditionNumber,
    criticalLr: value.critical.lr ?? value.criticalGd.lr ?? Number.POSITIVE_INFINITY,
  };
  return { curvature, stopped };
}

/** The curvature with the inputs as they are and standardized, at the start point. */
export function measureScaling(problem: DataProblem, optimizer: OptimizerConfig): ScalingFinding {
  return runToEnd(measureSteps(problem, optimizer)).scaling!;
}

export interface NoiseOptions {
  /** Minibatches sampled for their curvature (default 256). */
  readonly batches?: number;
  /** Rows whose per-example gradients estimate tr(Σ) (default 512; all when fewer). */
  readonly noiseRows?: number;
  readonly seed?: number;
}

/** Full-batch against minibatch curvature at `lr`, and the gradient noise scale, at the start point. */
export function measureNoise(
  problem: DataProblem,
  optimizer: OptimizerConfig,
  batchSize: number,
  options: NoiseOptions = {},
): NoiseFinding {
  return runToEnd(measureSteps(problem, optimizer, { batchSize, ...options })).noise!;
}

/** What the measurements found; with `stopped`, only the parts finished before the stop. */
export interface Measurements {
  readonly scaling?: ScalingFinding;
  readonly noise?: NoiseFinding;
  readonly stopped: boolean;
}

/**
 * How far the measurements are, by phase: the full-batch curvature in Lanczos steps (two runs, raw
 * and standardized inputs; `total` an estimate, the cap until the first run ends, then as long as
 * it took), then the noise in minibatches measured (the per-example gradients at the end of the
 * last). Each phase's units cost about the same, so the time per unit so far predicts the rest.
 */
export type MeasureProgress = (phase: "curvature" | "minibatches", done: number, total: number) => void;

/**
 * measureScaling, then (with `noise`) measureNoise, as one stoppable computation (core/stoppable.ts)
 * that yields after every Hessian-vector product and reports its progress. The full-batch curvature
 * of the raw inputs is measured once and serves both. Stopped during the scaling, it finds nothing;
 * during the minibatches, the noise finding of the batches finished (no noise scale); during the
 * per-example gradients, the noise scale of the rows done.
 */
export function* measureSteps(
  problem: DataProblem,
  optimizer: OptimizerConfig,
  noise?: NoiseOptions & { readonly batchSize: number },
  onProgress?: MeasureProgress,
): Stoppable<Measurements> {
  const batchSize = noise?.batchSize;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > problem.rows))
    throw new Error(
      `invalid batch-size: ${batchSize} (a whole number from 1 to the ${plural(problem.rows, "row")})`,
    );
  const cap = Math.min(problem.start.length, 300);
  const count = noise ? (noise.batches ?? 256) : 0;
  const m = noise ? Math.min(problem.rows, noise.noiseRows ?? 512) : 0;
  let steps = 0;
  let firstRun: number | null = null;
  const onFullStep = () => {
    steps++;
    const expected =
      firstRun === null ? 2 * Math.max(cap, steps) : firstRun + Math.max(firstRun, steps - firstRun);
    onProgress?.("curvature", steps, Math.max(expected, steps));
  };

  const raw = yield* curvatureSteps(problem.objectiveOn(null, false), problem.start, optimizer, onFullStep);
  if (raw.stopped) return { stopped: true };
  firstRun = steps;
  const standardized = yield* curvatureSteps(
    problem.objectiveOn(null, true),
    problem.start,
    optimizer,
    onFullStep,
  );
  if (standardized.stopped) return { stopped: true };
  const scaling = scalingFinding(problem, raw.curvature, standardized.curvature);
  if (!noise || batchSize === undefined) return { scaling, stopped: false };

  const rng = createRng(noise.seed ?? 0);
  const full = raw.curvature;
  const order = Int32Array.from({ length: problem.rows }, (_, i) => i);
  const lambdas: number[] = [];
  let unstable = 0;
  let batchCritical = Number.POSITIVE_INFINITY;
  for (let b = 0; b < count; b++) {
    onProgress?.("minibatches", b, count);
    const objective = problem.objectiveOn(drawWithoutReplacement(order, batchSize, rng), false);
    // Only λmax decides a minibatch's critical rate: the top of the spectrum alone, which Lanczos
    // resolves in a few dozen products where λmin can take its whole cap.
    const run = yield* delegate(
      lanczosSteps(hessianOperator(objective, problem.start), {
        k: 1,
        bottom: false,
        tolerance: 1e-6,
        maxIterations: cap,
      }),
    );
    // A run stopped part-way has a lower bound on its λmax, not the value: left out.
    if (run.stopped) break;
    const lambda = run.value.top[0]!.value;
    lambdas.push(lambda);
    const critical = criticalLearningRate(optimizer, lambda).lr ?? 2 / lambda;
    batchCritical = Math.min(batchCritical, critical);
    if (optimizer.lr > critical) unstable++;
  }
  if (lambdas.length === 0) return { scaling, stopped: true };
  const stopped = lambdas.length < count;
  lambdas.sort((a, b) => a - b);

  // tr(Σ) = mean over examples of ‖g_i − G‖², with G the full-batch gradient.
  let trace = 0;
  let rowsDone = 0;
  let g2 = 0;
  if (!stopped) {
    const all = problem.objectiveOn(null, false);
    const G = new Float64Array(all.dim);
    all.gradient(problem.start, G);
    for (const v of G) g2 += v * v;
    const rows = drawWithoutReplacement(order, m, rng);
    const gi = new Float64Array(all.dim);
    for (const r of rows) {
      problem.objectiveOn(Int32Array.of(r), false).gradient(problem.start, gi);
      for (let j = 0; j < gi.length; j++) trace += (gi[j]! - G[j]!) ** 2;
      rowsDone++;
      if ((yield rowsDone) === true) break;
    }
    trace /= Math.max(rowsDone, 1);
  }
  onProgress?.("minibatches", count, count);
  const unstableFraction = unstable / lambdas.length;
  return {
    scaling,
    noise: {
      lr: optimizer.lr,
      batchSize,
      full,
      batchLambdaMax: lambdas[lambdas.length - 1]!,
      batchLambdaMedian: lambdas[Math.floor(lambdas.length / 2)]!,
      batches: lambdas.length,
      batchesPlanned: count,
      unstableFraction,
      batchCriticalLr: batchCritical,
      noiseScale: rowsDone === 0 ? null : g2 > 0 ? trace / g2 : Number.POSITIVE_INFINITY,
      noiseRows: rowsDone,
      noiseDriven: optimizer.lr < full.criticalLr && unstableFraction > 0,
    },
    stopped: stopped || rowsDone < m,
  };
}

function scalingFinding(problem: DataProblem, raw: Curvature, standardized: Curvature): ScalingFinding {
  const stds = problem.features.map((f) => f.std).filter((s) => s > 0);
  const spread = stds.length > 0 ? Math.max(...stds) / Math.min(...stds) : 1;
  const offset = Math.max(
    0,
    ...problem.features.filter((f) => f.std > 0).map((f) => Math.abs(f.mean) / f.std),
  );
  const gain = standardized.criticalLr / raw.criticalLr;
  return {
    features: problem.features,
    spread,
    offset,
    raw,
    standardized,
    gain,
    unscaled: gain >= UNSCALED_GAIN,
  };
}

// ── Problems from the library's models ──────────────────────────────────────────────────────────

/** Per-column mean and standard deviation (population), and the standardized copy (constant columns only centred). */
function columnScales(
  x: Float64Array,
  rows: number,
  cols: number,
): { scales: { mean: number; std: number }[]; standardized: Float64Array } {
  const scales = columnMoments(x, rows, cols);
  const standardized = new Float64Array(x.length);
  scales.forEach(({ mean, std }, j) => {
    for (let r = 0; r < rows; r++)
      standardized[r * cols + j] = (x[r * cols + j]! - mean) / (std > 0 ? std : 1);
  });
  return { scales, standardized };
}

function pickRows(x: Float64Array, width: number, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length * width);
  for (let r = 0; r < rows.length; r++)
    out.set(x.subarray(rows[r]! * width, (rows[r]! + 1) * width), r * width);
  return out;
}

/** Linear or logistic regression on a design in raw units (see models.ts). */
export function modelProblem(
  model: ModelName,
  design: Design,
  source: string,
  start: Float64Array,
): DataProblem {
  const p = design.features.length;
  const { scales, standardized } = columnScales(design.x, design.rows, p);
  return {
    rows: design.rows,
    features: design.features.map((name, j) => ({ name, ...scales[j]! })),
    start,
    objectiveOn(rows, std) {
      const x = std ? standardized : design.x;
      const sub: Design = rows
        ? { ...design, x: pickRows(x, p, rows), y: pickRows(design.y, 1, rows), rows: rows.length }
        : { ...design, x };
      return modelObjective(model, { ...sub, scaling: std ? scales : null }, source);
    },
  };
}

/** An MLP on its training rows; `names` label the inputs (default x1, x2, …). */
export function mlpProblem(
  spec: MlpSpec,
  data: MlpData,
  start: Float64Array,
  names?: readonly string[],
): DataProblem {
  const inputs = spec.sizes[0]!;
  const outputs = spec.sizes[spec.sizes.length - 1]!;
  const { scales, standardized } = columnScales(data.x, data.rows, inputs);
  return {
    rows: data.rows,
    features: scales.map((s, j) => ({ name: names?.[j] ?? `x${j + 1}`, ...s })),
    start,
    objectiveOn(rows, std) {
      const x = std ? standardized : data.x;
      const d: MlpData = rows
        ? { x: pickRows(x, inputs, rows), y: pickRows(data.y, outputs, rows), rows: rows.length }
        : { x, y: data.y, rows: data.rows };
      return mlpObjective(spec, d);
    },
  };
}

/**
 * The axis of a row's shape whose entries are the "features" a practitioner scales: the columns of
 * a flat row; the last axis of a sequence (T×D); the channel axis of an image — ONNX's C×H×W
 * (PyTorch) or H×W×C (Keras through tf2onnx), told apart by which end is the smaller (a channel
 * count below the image's side, as in every common network's input).
 */
export function featureAxis(shape: readonly number[]): number {
  if (shape.length === 3) return shape[0]! <= shape[2]! ? 0 : 2;
  return shape.length - 1;
}

/**
 * A graph network on its training rows (nn/objective.ts), with each feature of featureAxis
 * standardized over the rows and the other axes — per channel for images, as transforms.Normalize
 * does, not per pixel.
 */
export function graphProblem(
  objective: GraphObjective,
  data: MlpData,
  inputShape: readonly number[],
  start: Float64Array,
): DataProblem {
  const width = inputShape.reduce((a, b) => a * b, 1);
  const outputs = data.y.length / data.rows;
  const axis = featureAxis(inputShape);
  const count = inputShape[axis]!;
  const inner = inputShape.slice(axis + 1).reduce((a, b) => a * b, 1);
  // Entry i of a row belongs to feature ⌊i / inner⌋ mod count.
  const featureOf = (i: number) => Math.floor(i / inner) % count;
  const sum = new Float64Array(count);
  const n = new Float64Array(count);
  for (let r = 0; r < data.rows; r++)
    for (let i = 0; i < width; i++) {
      sum[featureOf(i)]! += data.x[r * width + i]!;
      n[featureOf(i)]!++;
    }
  const mean = Array.from(sum, (s, j) => s / n[j]!);
  const sq = new Float64Array(count);
  for (let r = 0; r < data.rows; r++)
    for (let i = 0; i < width; i++) sq[featureOf(i)]! += (data.x[r * width + i]! - mean[featureOf(i)]!) ** 2;
  const scales = mean.map((m, j) => ({ mean: m, std: Math.sqrt(sq[j]! / n[j]!) }));
  const standardized = data.x.map((v, k) => {
    const s = scales[featureOf(k % width)]!;
    return (v - s.mean) / (s.std > 0 ? s.std : 1);
  });
  const label = inputShape.length === 3 ? "channel" : inputShape.length === 2 ? "feature" : "x";
  return {
    rows: data.rows,
    features: scales.map((s, j) => ({ name: label === "x" ? `x${j + 1}` : `${label} ${j + 1}`, ...s })),
    start,
    objectiveOn(rows, std) {
      const x = std ? standardized : data.x;
      const d: MlpData = rows
        ? { x: pickRows(x, width, rows), y: pickRows(data.y, outputs, rows), rows: rows.length }
        : { x, y: data.y, rows: data.rows };
      return objective.onRows(
        d,
        objective.description.kind === "builtin" ? objective.description.name : "graph",
      );
    },
  };
}
