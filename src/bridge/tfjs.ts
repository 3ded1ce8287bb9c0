import * as tf from "@tensorflow/tfjs";
import { type HessianOperator, hessianOperator } from "../analysis/curvature/hvp.js";
import { lanczos } from "../analysis/curvature/lanczos.js";
import { type UnitsFinding, UnitsWatch } from "../analysis/diagnosis/units.js";
import { criticalLearningRate } from "../analysis/thresholds/critical.js";
import { type Detection, DivergenceDetector } from "../analysis/training/detector.js";
import { RollbackPoints } from "../analysis/training/guard.js";
import { ZClip, ZScoreSkip } from "../analysis/training/spikes.js";
import { inactiveUnits } from "../analysis/training/train.js";
import {
  type Activation,
  type Loss,
  layerActivations,
  type MlpObjective,
  type MlpSpec,
  mlpObjective,
} from "../nn/mlp/mlp.js";
import { resolveOptimizerConfig } from "../optim/index.js";

/**
 * The TensorFlow.js bridge: a callback for `model.fit` that watches every batch with overshoot's
 * divergence detector, keeps the last good weights, rolls back and lowers the optimizer's learning
 * rate when the run starts to diverge, and measures the sharpness every k batches.
 *
 * Curvature is measured in overshoot's float64 engine when the model is an MLP it can copy (Dense
 * layers, one hidden activation, a loss it has): the weights are copied (TF.js kernels are in × out,
 * ours out × in) and the Hessian-vector products are exact. Any other model gets central
 * differences of TF.js's own float32 gradients, flagged `approximate`. TF.js's nested gradients
 * (tf.grad of tf.grad) are not used at all: through Tanh, Exp and Sigmoid they are silently wrong.
 *
 * A rollback restores the weights and the optimizer's state (its iteration count, momentum, Adam's
 * moments) as they were at the last good batch; the data pipeline is not rewound, so training goes
 * on with the next batch.
 *
 * Import from "overshoot/tfjs"; the main entry never loads TensorFlow.js.
 */

export interface MeasureBatch {
  readonly x: tf.Tensor;
  readonly y: tf.Tensor;
}

export interface OvershootCallbackOptions {
  /**
   * A fixed batch for the detector's gradients and the sharpness. Default: for a model the float64
   * engine copies, the first batch trained on; false: none (the detector watches the batch loss
   * alone: `onBatchEnd` is not given the batch it trained on).
   */
  readonly measure?: MeasureBatch | false;
  /** No line on the console per event (default: each event is printed). */
  readonly quiet?: boolean;
  /**
   * A JSON lines log, a record a batch (step, loss, lr; λmax where measured; each rollback), which
   * `overshoot diagnose` and `overshoot watch` read; appended to. Default in Node
   * "overshoot-tfjs.jsonl"; false for none (a browser writes none).
   */
  readonly log?: string | false;
  /** Measure λmax every k batches (needs `measure`; default 0, never). */
  readonly sharpnessEvery?: number;
  /** Batches between snapshots of the good state (default 1). */
  readonly keepEvery?: number;
  /** Rollbacks before training is stopped (default 5). */
  readonly maxRetries?: number;
  /** Fallback factor on the learning rate when the curvature gives no safe rate (default 0.5). */
  readonly factor?: number;
  /**
   * Also roll back when a hidden layer's units collapse (die or saturate on the measurement
   * batch), as for divergence (default false: the collapse is reported as a `units` event).
   */
  readonly guardUnits?: boolean;
  /**
   * What the callback does with a bad batch (default "rollback": roll back and lower the rate, as
   * above). "skip": undo a batch whose loss is more than 6σ above the last 128 batches' (or not
   * finite) — OLMo-core's step skipping, on the loss alone (a callback is not given the gradient);
   * "clip": clip each step's gradient adaptively (ZClip) as the optimizer applies it. Neither
   * lowers the rate: a rate that is simply too high is the rollback's.
   */
  readonly action?: "rollback" | "skip" | "clip" | "rollback-skip";
  /**
   * rollback-skip (PaLM's restart): on divergence go back at least this many batches (default 100)
   * and keep the rate; the data pipeline goes on, so the batches since are not seen again.
   */
  readonly rollbackBatches?: number;
  /** Called with every event as it happens (a rollback, a measurement, giving up). */
  readonly onEvent?: (event: BridgeEvent) => void;
}

export interface BridgeIntervention {
  /** Global batch counter (over epochs) at which divergence was seen. */
  readonly atBatch: number;
  readonly rolledBackTo: number;
  readonly reason: string;
  readonly oldLr: number;
  readonly newLr: number;
  readonly how: string;
}

export interface SharpnessMeasurement {
  readonly batch: number;
  readonly lambdaMax: number;
  readonly twoOverLr: number;
  /** Central differences of float32 TF.js gradients instead of exact float64 HVPs. */
  readonly approximate: boolean;
}

export type BridgeEvent =
  | { readonly kind: "rollback"; readonly intervention: BridgeIntervention }
  | { readonly kind: "sharpness"; readonly measurement: SharpnessMeasurement }
  | { readonly kind: "gave-up"; readonly atBatch: number; readonly reason: string }
  | { readonly kind: "units"; readonly atBatch: number; readonly finding: UnitsFinding }
  | { readonly kind: "skipped"; readonly atBatch: number; readonly reason: string };

export interface BridgeReport {
  readonly interventions: BridgeIntervention[];
  readonly sharpness: SharpnessMeasurement[];
  /** The detector's account of the batches since the last rollback; `firstWarningBatch` over the whole run. */
  detection: Detection;
  firstWarningBatch: number | null;
  status: "running" | "finished" | "gave-up";
  /** How curvature is measured: exactly in float64, by differences of TF.js gradients, or not at all. */
  readonly engine: "float64-exact" | "tfjs-finite-differences" | "none";
  /** Why the float64 engine could not take the model, when it could not. */
  readonly unsupported: string | null;
  /**
   * Hidden units that died or saturated (analysis/diagnosis/units.ts), counted on the measurement
   * batch every batch when the model maps to the float64 engine; null while none has.
   */
  units: UnitsFinding | null;
  /** The batches undone ("skip"), and the steps whose gradient was clipped ("clip"). */
  readonly skipped: number[];
  clipped: number;
}

// ── The model as overshoot's float64 MLP ────────────────────────────────────────────────────────

const ACTIVATIONS: Readonly<Record<string, Activation>> = {
  tanh: "tanh",
  relu: "relu",
  sigmoid: "sigmoid",
  linear: "identity",
};

/** The float64 MLP that computes what `model` computes, or the reason there is none. */
export function mlpSpecOf(model: tf.LayersModel): { spec: MlpSpec } | { reason: string } {
  const layers = model.layers.filter((l) => l.getClassName() !== "InputLayer");
  if (layers.length === 0) return { reason: "the model has no layers" };
  const sizes: number[] = [];
  const hidden: Activation[] = [];
  let last = "linear";
  for (const [i, layer] of layers.entries()) {
    if (layer.getClassName() !== "Dense")
      return { reason: `layer ${i + 1} is ${layer.getClassName()}, not Dense` };
    const config = layer.getConfig() as { activation?: string; useBias?: boolean; units: number };
    if (config.useBias === false) return { reason: `layer ${i + 1} has no bias` };
    const kernel = layer.getWeights()[0]!;
    if (i === 0) sizes.push(kernel.shape[0]!);
    sizes.push(config.units);
    const activation = config.activation ?? "linear";
    if (i < layers.length - 1) {
      const mapped = ACTIVATIONS[activation];
      if (!mapped)
        return {
          reason: `layer ${i + 1}'s activation ${activation} is not one of tanh, relu, sigmoid, linear`,
        };
      hidden.push(mapped);
    } else last = activation;
  }
  const lossName = typeof model.loss === "string" ? model.loss : null;
  let loss: Loss;
  if (lossName === "meanSquaredError" && last === "linear") loss = "mse";
  else if (lossName === "categoricalCrossentropy" && last === "softmax") loss = "cross-entropy";
  else if (lossName === "binaryCrossentropy" && last === "sigmoid") loss = "bce";
  else
    return {
      reason: `${lossName === null ? "a loss that is not named by a string (a function or none)" : `the loss ${lossName}`} with a ${last} output is not one overshoot has (meanSquaredError + linear, categoricalCrossentropy + softmax, binaryCrossentropy + sigmoid)`,
    };
  // One activation a hidden layer; `activations` only where they differ, so a plain net's spec is as before.
  const same = hidden.every((a) => a === hidden[0]);
  return {
    spec: { sizes, activation: hidden[0] ?? "identity", ...(same ? {} : { activations: hidden }), loss },
  };
}

/** The model's weights in overshoot's order: per layer W (out × in, row-major), then b. */
export function parametersOf(model: tf.LayersModel): Float64Array {
  const parts: number[] = [];
  for (const layer of model.layers) {
    const weights = layer.getWeights();
    if (weights.length === 0) continue;
    const [kernel, bias] = weights as [tf.Tensor, tf.Tensor];
    const [inS, outS] = kernel.shape as [number, number];
    const k = kernel.dataSync();
    for (let i = 0; i < outS; i++) for (let j = 0; j < inS; j++) parts.push(k[j * outS + i]!);
    for (const v of bias.dataSync()) parts.push(v);
  }
  return Float64Array.from(parts);
}

/** A tensor's values as float64, row-major. */
function float64(t: tf.Tensor): Float64Array {
  return Float64Array.from(t.dataSync());
}

// ── Curvature ───────────────────────────────────────────────────────────────────────────────────

/** The float64 objective of the copied model on the measurement batch. */
export function float64Objective(spec: MlpSpec, measure: MeasureBatch): MlpObjective {
  return mlpObjective(spec, measureData(measure));
}

/** The measurement batch as float64 rows. */
function measureData(measure: MeasureBatch) {
  return { x: float64(measure.x), y: float64(measure.y), rows: measure.x.shape[0]! };
}

/** Loss and gradient of the model on a batch, by TF.js (float32) with the model's own compiled loss, flattened in getWeights order. */
function tfGradient(model: tf.LayersModel, measure: MeasureBatch): { loss: number; grad: Float64Array } {
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  // A Sequential keeps its compiled loss on the LayersModel it wraps.
  type Compiled = { lossFunctions?: ((y: tf.Tensor, p: tf.Tensor) => tf.Tensor)[]; model?: Compiled };
  const compiled = model as unknown as Compiled;
  const lossFn = (compiled.lossFunctions ?? compiled.model?.lossFunctions)?.[0];
  if (!lossFn) throw new Error("the model is not compiled: call model.compile({ optimizer, loss }) first");
  const { value, grads } = tf.variableGrads(
    () => tf.mean(lossFn(measure.y, model.predict(measure.x) as tf.Tensor)) as tf.Scalar,
    variables,
  );
  const loss = value.dataSync()[0]!;
  const flat = variables.flatMap((v) => Array.from(grads[v.name]!.dataSync()));
  value.dispose();
  tf.dispose(Object.values(grads));
  return { loss, grad: Float64Array.from(flat) };
}

/** The model's weights flattened in getWeights order, and a way to set them back. */
function flatWeights(model: tf.LayersModel): { values: Float64Array; set(values: Float64Array): void } {
  const weights = model.getWeights();
  const shapes = weights.map((w) => w.shape);
  const values = Float64Array.from(weights.flatMap((w) => Array.from(w.dataSync())));
  return {
    values,
    set(next) {
      let offset = 0;
      const tensors = shapes.map((shape) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const t = tf.tensor(Array.from(next.subarray(offset, offset + size)), shape);
        offset += size;
        return t;
      });
      model.setWeights(tensors);
      tf.dispose(tensors);
    },
  };
}

/**
 * H·v by central differences of TF.js gradients on the measurement batch (float32: the step is
 * relative to the weights' size, √ε₃₂ ≈ 3e-4, so about three significant digits survive).
 */
export function finiteDifferenceOperator(model: tf.LayersModel, measure: MeasureBatch): HessianOperator {
  const w = flatWeights(model);
  const theta = w.values;
  let norm = 0;
  for (const v of theta) norm += v * v;
  const scale = Math.max(1, Math.sqrt(norm));
  const n = theta.length;
  let count = 0;
  return {
    dim: n,
    exact: false,
    get count() {
      return count;
    },
    apply(v: Float64Array, out: Float64Array) {
      let vn = 0;
      for (const x of v) vn += x * x;
      vn = Math.sqrt(vn);
      const h = (3e-4 * scale) / Math.max(vn, 1e-30);
      const plus = theta.map((t, i) => t + h * v[i]!);
      const minus = theta.map((t, i) => t - h * v[i]!);
      w.set(plus);
      const gp = tfGradient(model, measure).grad;
      w.set(minus);
      const gm = tfGradient(model, measure).grad;
      w.set(theta);
      for (let i = 0; i < n; i++) out[i] = (gp[i]! - gm[i]!) / (2 * h);
      count++;
    },
  };
}

function topEigenvalue(op: HessianOperator, maxIterations: number): number {
  return lanczos(op, { k: 1, bottom: false, tolerance: 1e-6, maxIterations }).top[0]!.value;
}

// ── The learning rate ───────────────────────────────────────────────────────────────────────────

/** The optimizer's learning rate, as TF.js 4.x keeps it. */
export function learningRateOf(model: tf.LayersModel): number {
  const lr = (model.optimizer as unknown as { learningRate?: number }).learningRate;
  if (typeof lr !== "number")
    throw new Error(`the optimizer ${model.optimizer.getClassName()} has no learningRate`);
  return lr;
}

/**
 * Sets the learning rate so the next step uses it: SGD and Momentum cache −η as a scalar tensor and
 * must go through setLearningRate; Adam, RMSprop, Adagrad… read the field on every step.
 */
export function setLearningRate(model: tf.LayersModel, lr: number): void {
  const o = model.optimizer as unknown as { learningRate: number; setLearningRate?: (lr: number) => void };
  if (typeof o.setLearningRate === "function") o.setLearningRate(lr);
  else o.learningRate = lr;
}

// ── The callback ────────────────────────────────────────────────────────────────────────────────

/** The callback itself, for `callbacks: [overshootCallback(model)]`, with the report it fills. */
export type OvershootCallback = tf.CustomCallback & {
  readonly report: BridgeReport;
  /** The callback itself (for `const { callback, report } = overshootCallback(model)`). */
  readonly callback: tf.CustomCallback;
};

/** The JSON lines log a Node process writes by default: what `overshoot diagnose` and `watch` read. */
export const DEFAULT_LOG = "overshoot-tfjs.jsonl";

const isNode = typeof process !== "undefined" && typeof process.versions?.node === "string";

/** The inner LayersModel a Sequential trains through (fit hands the callbacks that one). */
const innerModel = (model: tf.LayersModel): tf.LayersModel =>
  (model as unknown as { model?: tf.LayersModel }).model ?? model;

/**
 * A callback for `model.fit(x, y, { callbacks: [overshootCallback(model)] })`: the detector on
 * every batch, rollback with a lowered rate on divergence, events printed and logged.
 *
 * By default (each can be turned off): every event is printed on the console (`quiet: true`);
 * in Node every batch is appended to the JSON lines log `overshoot-tfjs.jsonl` (`log: PATH` or
 * `false`), which `overshoot diagnose` and `overshoot watch` read; and a model the float64 engine
 * can copy is measured on the first batch it trains on (`measure: { x, y }` to choose the batch,
 * `false` for none): the detector reads the curvature along the steps, and a rollback sets the
 * rate from λmax at the restored weights.
 *
 * Without a measurement the detector reads the batch loss alone, and a rollback goes to the last
 * point whose loss was seen finite and at most the run's first (RollbackPoints: a snapshot counts
 * only once the next batch has shown its loss), with the rate lowered by `factor` — or, for plain
 * SGD, to 0.9 × 2/λ̂ where λ̂ = (1 + √r)/η is the curvature the rise implies (a loss growing ×r a
 * step along one direction has |1 − ηλ| = √r), read from the first step of the rise, the one
 * nearest the quadratic regime, when that is lower.
 */
export function overshootCallback(
  model: tf.LayersModel,
  options: OvershootCallbackOptions = {},
): OvershootCallback {
  if (!model || typeof (model as { fit?: unknown }).fit !== "function" || !Array.isArray(model.layers))
    throw new TypeError(
      "overshootCallback(model): give the tf.LayersModel you will fit, e.g. callbacks: [overshootCallback(model)]",
    );
  const every = options.sharpnessEvery ?? 0;
  const keepEvery = options.keepEvery ?? 1;
  const maxRetries = options.maxRetries ?? 5;
  const factor = options.factor ?? 0.5;
  const mapped = mlpSpecOf(model);
  const spec = "spec" in mapped ? mapped.spec : null;
  // The measurement batch: the user's, else (for a model the float64 engine copies) the first batch
  // trained on, captured when fit starts; false: none.
  let measure: MeasureBatch | undefined = options.measure || undefined;
  // makeTrainFunction is TF.js 4's (protected); where it is not, no batch is captured and the
  // detector reads the batch loss alone, as with measure: false.
  const target = innerModel(model) as unknown as {
    makeTrainFunction?: () => (data: tf.Tensor[]) => tf.Scalar[];
  };
  const captureFirst =
    options.measure === undefined && spec !== null && typeof target.makeTrainFunction === "function";
  let f64Data = spec && measure ? measureData(measure) : null;
  let f64 = spec && f64Data ? mlpObjective(spec, f64Data) : null;
  const report: BridgeReport = {
    interventions: [],
    sharpness: [],
    detection: { state: "stable", firstWarningStep: null, reason: "no sign of instability" },
    firstWarningBatch: null,
    status: "running",
    engine: measure
      ? f64
        ? "float64-exact"
        : "tfjs-finite-differences"
      : captureFirst
        ? "float64-exact"
        : "none",
    unsupported: "reason" in mapped ? mapped.reason : null,
    units: null,
    skipped: [],
    clipped: 0,
  };
  const action = options.action ?? "rollback";
  if (!["rollback", "skip", "clip", "rollback-skip"].includes(action))
    throw new TypeError(
      `overshootCallback: invalid action ${String(action)} (rollback, skip, clip or rollback-skip)`,
    );
  const reach = options.rollbackBatches ?? 100;
  if (!(Number.isInteger(reach) && reach >= 1))
    throw new TypeError(`overshootCallback: invalid rollbackBatches ${reach} (a whole number ≥ 1)`);
  const rollsBack = action === "rollback" || action === "rollback-skip";
  // rollback-skip's points: about ten snapshots over the reach, the oldest at least `reach` back.
  const ringEvery = Math.max(keepEvery, Math.ceil(reach / 10));
  const ring: Snapshot[] = [];
  const skipper = action === "skip" ? new ZScoreSkip() : null;
  const clipper = action === "clip" ? new ZClip() : null;
  // The units' inactive fractions on the measurement batch, when the float64 copy can count them.
  let units = new UnitsWatch();
  const unitKinds = spec ? layerActivations(spec) : [];
  const logPath = options.log === undefined ? (isNode ? DEFAULT_LOG : false) : options.log;
  let append: ((line: string) => void) | null = null;
  const emit = (e: BridgeEvent) => {
    options.onEvent?.(e);
    if (!options.quiet) console.log(`overshoot: ${eventLine(e)}`);
  };
  const sgdLike = () => {
    const name = model.optimizer.getClassName();
    return name === "SGD" || name === "Momentum";
  };
  // The one bound (run/divergence.ts): with the float64 copy the measurement batch's baseline
  // counts too; without a measurement batch the detector reads the batch loss alone.
  const newDetector = () =>
    new DivergenceDetector(
      sgdLike() ? resolveOptimizerConfig({ name: "sgd", lr: learningRateOf(model) }) : { name: "adam" },
      { baseline: f64?.baseline?.loss ?? null, curvature: measure !== undefined },
    );

  let detector: DivergenceDetector | null = null;
  let batch = 0;
  type Snapshot = { batch: number; weights: tf.Tensor[]; optimizer: { name: string; tensor: tf.Tensor }[] };
  let points: RollbackPoints<Snapshot> | null = null;
  /** skip: the state before the batch under way, to undo it. */
  let previous: Snapshot | null = null;
  /** clip: the optimizer's own applyGradients, put back when training ends. */
  let unpatch: (() => void) | null = null;
  const held = new Set<Snapshot>();
  let cap = Number.POSITIVE_INFINITY;
  /** The run's scale: the first loss the detector saw (a point at or below it is at least as good as the start). */
  let scale = Number.NaN;
  let lastLoss = Number.NaN;
  /** The growth factor of the first step of the current rise above the scale (NaN when the loss is not rising). */
  let firstRise = Number.NaN;

  /** λmax at the current weights: exact in float64 when the model maps, else by differences. */
  const sharpness = (): { value: number; approximate: boolean } | null => {
    if (!measure) return null;
    if (f64 && spec) {
      const theta = parametersOf(model);
      return { value: topEigenvalue(hessianOperator(f64, theta), Math.min(f64.dim, 60)), approximate: false };
    }
    const op = finiteDifferenceOperator(model, measure);
    return { value: topEigenvalue(op, Math.min(op.dim, 20)), approximate: true };
  };

  /** What the detector sees each batch: the weights, and loss and gradient on the fixed batch (or the batch loss alone). */
  const observation = (batchLoss: number) => {
    if (!measure) return { x: [] as number[], loss: batchLoss, grad: [] as number[] };
    if (f64) {
      const theta = parametersOf(model);
      const g = new Float64Array(f64.dim);
      const loss = f64.gradient(theta, g);
      return { x: theta, loss, grad: g };
    }
    const { loss, grad } = tfGradient(model, measure);
    return { x: flatWeights(model).values, loss, grad };
  };

  /** A copy of the weights and of the optimizer's state (iterations, momentum or Adam's moments). */
  const snapshot = async (): Promise<Snapshot> => {
    const state = await model.optimizer.getWeights();
    const s: Snapshot = {
      batch,
      weights: model.getWeights().map((w) => w.clone()),
      optimizer: state.map((o) => ({ name: o.name, tensor: o.tensor.clone() })),
    };
    held.add(s);
    return s;
  };
  /** Frees the snapshots the rollback points no longer hold. */
  const release = (keep: readonly (Snapshot | null)[]) => {
    for (const s of held)
      if (!keep.includes(s)) {
        tf.dispose([...s.weights, ...s.optimizer.map((o) => o.tensor)]);
        held.delete(s);
      }
  };
  const record = (r: Record<string, unknown>) =>
    append?.(
      `${JSON.stringify(r, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v))}\n`,
    );

  // The first batch trained on, captured as fit hands it to the training function (fit, fitDataset
  // and trainOnBatch all make theirs through makeTrainFunction).
  if (captureFirst && target.makeTrainFunction) {
    const make = target.makeTrainFunction.bind(target);
    target.makeTrainFunction = () => {
      const train = make();
      return (data: tf.Tensor[]) => {
        if (!measure && data.length >= 2) {
          measure = { x: tf.keep(data[0]!.clone()), y: tf.keep(data[1]!.clone()) };
          f64Data = measureData(measure);
          f64 = mlpObjective(spec!, f64Data);
        }
        return train(data);
      };
    };
  }

  const callback = new tf.CustomCallback({
    onTrainBegin: async () => {
      if (logPath && !append) {
        const fs = await import("node:fs");
        append = (line) => fs.appendFileSync(logPath, line);
      }
      points ??= new RollbackPoints(await snapshot());
      if (skipper) previous = points.good;
      if (clipper && !unpatch) {
        // The global norm of each step's gradient, clipped as ZClip says before the step is applied.
        const optimizer = model.optimizer as unknown as {
          applyGradients(g: tf.NamedTensorMap | { name: string; tensor: tf.Tensor }[]): void;
        };
        const own = optimizer.applyGradients;
        optimizer.applyGradients = (grads) => {
          const named = Array.isArray(grads)
            ? grads
            : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
          let sum = 0;
          for (const g of named) sum += tf.tidy(() => tf.sum(tf.square(g.tensor))).dataSync()[0]!;
          const norm = Math.sqrt(sum);
          const to = clipper.clipTo(norm);
          if (Number.isNaN(to)) return; // a non-finite gradient is not applied
          if (!(to < norm)) return own.call(optimizer, grads);
          report.clipped++;
          const scaled = named.map((g) => ({ name: g.name, tensor: tf.mul(g.tensor, to / norm) }));
          own.call(optimizer, scaled);
          tf.dispose(scaled.map((g) => g.tensor));
        };
        unpatch = () => {
          optimizer.applyGradients = own;
        };
      }
    },
    onBatchEnd: async (_b, logs) => {
      batch++;
      detector ??= newDetector();
      const lr = learningRateOf(model);
      const batchLoss = typeof logs?.["loss"] === "number" ? logs["loss"] : Number.NaN;
      if (skipper) {
        // The batch's loss was taken before its step: a spike means the step it drove is undone.
        const why = skipper.judge(batchLoss, null);
        if (why !== null && previous) {
          model.setWeights(previous.weights);
          await model.optimizer.setWeights(
            previous.optimizer.map((o) => ({ name: o.name, tensor: o.tensor.clone() })),
          );
          report.skipped.push(batch);
          record({ step: batch, loss: batchLoss, lr, skipped: why });
          emit({ kind: "skipped", atBatch: batch, reason: why });
          return;
        }
        const kept = await snapshot();
        previous = kept;
        release([...(points?.kept ?? []), kept]);
      }
      const o = observation(batchLoss);
      const state = detector.observe({ step: batch, x: o.x, loss: o.loss, grad: o.grad, lr });
      report.detection = detector.detection;
      if (Number.isNaN(scale) && Number.isFinite(o.loss)) scale = o.loss;
      // The rise's first step: its growth is the one nearest the quadratic model.
      if (Number.isFinite(o.loss) && o.loss > Math.max(lastLoss, scale)) {
        if (Number.isNaN(firstRise)) firstRise = o.loss / Math.max(lastLoss, scale);
      } else if (Number.isFinite(o.loss) && o.loss <= scale) firstRise = Number.NaN;
      lastLoss = o.loss;
      // A layer whose units collapsed in this batch is treated as the guard treats divergence.
      let collapsed = false;
      if (f64 && f64Data && Number.isFinite(o.loss)) {
        // With the float64 copy the observation's x is the copied parameter vector itself.
        const fresh = units.observe(batch, inactiveUnits(f64, o.x as Float64Array, f64Data));
        const finding = units.finding({ kinds: unitKinds, lr, unit: "batch" });
        // The latest account (the fractions go on changing); an event when a layer first collapses.
        if (finding && (report.units !== null || fresh.length > 0)) report.units = finding;
        if (fresh.length > 0 && finding) {
          collapsed = options.guardUnits === true;
          emit({ kind: "units", atBatch: batch, finding });
        }
      }
      if (rollsBack && (state === "diverging" || !Number.isFinite(o.loss) || collapsed)) {
        report.firstWarningBatch ??= batch;
        if (report.interventions.length >= maxRetries || !points) {
          report.status = "gave-up";
          model.stopTraining = true;
          record({ step: batch, loss: o.loss, lr, gaveUp: true });
          emit({
            kind: "gave-up",
            atBatch: batch,
            reason: `still diverging after ${report.interventions.length} rollbacks: ${detector.detection.reason}`,
          });
          return;
        }
        const far =
          action === "rollback-skip"
            ? ([...ring].reverse().find((r) => r.batch <= batch - reach) ?? ring[0])
            : undefined;
        const restored = far ?? points.good;
        points.rolledBack();
        if (far) ring.splice(ring.indexOf(far) + 1);
        release([restored, ...ring]);
        model.setWeights(restored.weights);
        // The optimizer's state goes back too: a momentum built up while diverging would repeat it.
        await model.optimizer.setWeights(
          restored.optimizer.map((s) => ({ name: s.name, tensor: s.tensor.clone() })),
        );
        // The curvature at the restored weights, when it can be measured, says how far to lower η;
        // without it, plain SGD's rise says how sharp the direction it overshot is.
        let newLr = lr * factor;
        let how = `× ${factor} (no curvature measured)`;
        const momentum = (model.optimizer as unknown as { momentum?: number }).momentum ?? 0;
        const s = action === "rollback-skip" ? null : sharpness();
        if (action === "rollback-skip") {
          newLr = lr;
          how = `back ${batch - restored.batch} batches at the same rate, past the batches since (rollback-skip)`;
        } else if (s && s.value > 0 && sgdLike()) {
          const nesterov = (model.optimizer as unknown as { useNesterov?: boolean }).useNesterov ?? false;
          const critical = criticalLearningRate(
            resolveOptimizerConfig({ name: "sgd", lr: 1, momentum, nesterov }),
            s.value,
          ).lr;
          if (critical !== null && 0.9 * critical < lr) {
            newLr = 0.9 * critical;
            how = `0.9 × the critical rate ${critical.toPrecision(4)} measured at the restored weights (λmax = ${s.value.toPrecision(4)}${s.approximate ? ", approximate" : ""})`;
          } else how = `× ${factor} (the curvature gave no lower safe rate)`;
        } else if (!s && sgdLike() && momentum === 0 && firstRise > 1 && Number.isFinite(firstRise)) {
          const lambda = (1 + Math.sqrt(firstRise)) / lr;
          if (0.9 * (2 / lambda) < newLr) {
            newLr = 0.9 * (2 / lambda);
            how = `0.9 × 2/λ̂ with λ̂ = (1 + √r)/η = ${lambda.toPrecision(4)} from the rise's first step (×${firstRise.toPrecision(3)}: |1 − ηλ| = √r; no curvature measured)`;
          }
        }
        cap = Math.min(cap, newLr);
        setLearningRate(model, newLr);
        const intervention: BridgeIntervention = {
          atBatch: batch,
          rolledBackTo: restored.batch,
          reason: !Number.isFinite(o.loss)
            ? `the loss is ${o.loss} at batch ${batch}`
            : collapsed && state !== "diverging"
              ? report.units!.summary
              : detector.detection.reason,
          oldLr: lr,
          newLr,
          how,
        };
        report.interventions.push(intervention);
        record({ step: batch, loss: o.loss, lr, intervention: { ...intervention, atStep: batch } });
        emit({ kind: "rollback", intervention });
        detector = newDetector();
        lastLoss = Number.NaN;
        firstRise = Number.NaN;
        // The restored weights are measured afresh: the collapse is judged against them.
        units = new UnitsWatch();
        return;
      }
      const entry: Record<string, unknown> = { step: batch, loss: batchLoss, lr };
      // A point is offered once its loss is finite, the detector calm and the loss at most the run's
      // first; it becomes the rollback point when the next one is offered (its loss seen too).
      if (o.loss <= scale && batch % keepEvery === 0 && points) {
        const kept = await snapshot();
        points.offer(kept);
        if (action === "rollback-skip" && batch % ringEvery === 0) {
          ring.push(kept);
          while (ring.length > 2 && ring[1]!.batch <= batch - reach) ring.shift();
        }
        release([...points.kept, previous, ...ring]);
      }
      points?.stepped(lr);
      if (every > 0 && batch % every === 0) {
        const s = sharpness();
        if (s) {
          const m: SharpnessMeasurement = {
            batch,
            lambdaMax: s.value,
            twoOverLr: 2 / lr,
            approximate: s.approximate,
          };
          report.sharpness.push(m);
          entry["sharpness"] = s.value;
          entry["twoOverLr"] = 2 / lr;
          emit({ kind: "sharpness", measurement: m });
        }
      }
      record(entry);
    },
    onTrainEnd: async () => {
      if (report.status === "running") report.status = "finished";
      release([]);
      points = null;
      previous = null;
      unpatch?.();
      unpatch = null;
    },
  });
  // fit hands its callbacks the model it trains (a Sequential's inner one): another model is a wiring mistake.
  const setModel = callback.setModel.bind(callback);
  callback.setModel = (m: Parameters<typeof setModel>[0]) => {
    if (m !== model && m !== innerModel(model))
      throw new Error(
        "overshootCallback(model) was made for another model: make it with the model you fit (model.fit(x, y, { callbacks: [overshootCallback(model)] }))",
      );
    setModel(m);
  };
  return Object.assign(callback, { report, callback });
}

/** An event as one line of text. */
function eventLine(e: BridgeEvent): string {
  const p = (v: number) => (Number.isFinite(v) ? v.toPrecision(4) : String(v));
  if (e.kind === "rollback") {
    const i = e.intervention;
    return `batch ${i.atBatch}: ${i.reason}; rolled back to batch ${i.rolledBackTo}, learning rate ${p(i.oldLr)} → ${p(i.newLr)} (${i.how})`;
  }
  if (e.kind === "sharpness") {
    const m = e.measurement;
    return `batch ${m.batch}: λmax = ${p(m.lambdaMax)} beside 2/η = ${p(m.twoOverLr)}${m.approximate ? " (approximate)" : ""}`;
  }
  if (e.kind === "units") return `batch ${e.atBatch}: ${e.finding.summary}`;
  if (e.kind === "skipped") return `batch ${e.atBatch} undone (skip): ${e.reason}`;
  return `gave up at batch ${e.atBatch}: ${e.reason}`;
}
