import * as tf from "@tensorflow/tfjs";
import { type HessianOperator, hessianOperator } from "../analysis/curvature/hvp.js";
import { lanczos } from "../analysis/curvature/lanczos.js";
import { type UnitsFinding, UnitsWatch } from "../analysis/diagnosis/units.js";
import { criticalLearningRate } from "../analysis/thresholds/critical.js";
import { type Detection, DivergenceDetector } from "../analysis/training/detector.js";
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
   * A fixed batch for the detector's gradients and the sharpness. `onBatchEnd` is not given the
   * batch it trained on, so without one the detector watches the batch loss alone.
   */
  readonly measure?: MeasureBatch;
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
  | { readonly kind: "units"; readonly atBatch: number; readonly finding: UnitsFinding };

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

/** A callback for `model.fit(…, { callbacks: [callback] })` and the report it fills as training runs. */
export function overshootCallback(
  model: tf.LayersModel,
  options: OvershootCallbackOptions = {},
): { callback: tf.CustomCallback; report: BridgeReport } {
  const measure = options.measure;
  const every = options.sharpnessEvery ?? 0;
  const keepEvery = options.keepEvery ?? 1;
  const maxRetries = options.maxRetries ?? 5;
  const factor = options.factor ?? 0.5;
  const mapped = mlpSpecOf(model);
  const spec = "spec" in mapped ? mapped.spec : null;
  // The measurement batch in float64, once: the copied model's objective and the units' count read it.
  const f64Data = spec && measure ? measureData(measure) : null;
  const f64 = spec && f64Data ? mlpObjective(spec, f64Data) : null;
  const report: BridgeReport = {
    interventions: [],
    sharpness: [],
    detection: { state: "stable", firstWarningStep: null, reason: "no sign of instability" },
    firstWarningBatch: null,
    status: "running",
    engine: !measure ? "none" : f64 ? "float64-exact" : "tfjs-finite-differences",
    unsupported: "reason" in mapped ? mapped.reason : null,
    units: null,
  };
  // The units' inactive fractions on the measurement batch, when the float64 copy can count them.
  let units = new UnitsWatch();
  const unitKinds = spec ? layerActivations(spec) : [];
  const emit = (e: BridgeEvent) => options.onEvent?.(e);
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

  let detector = newDetector();
  let batch = 0;
  let good: { batch: number; weights: tf.Tensor[]; optimizer: { name: string; tensor: tf.Tensor }[] } | null =
    null;
  let cap = Number.POSITIVE_INFINITY;

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

  /** Copies of the weights and of the optimizer's state (iterations, momentum or Adam's moments). */
  const keep = async () => {
    const state = await model.optimizer.getWeights();
    if (good) tf.dispose([...good.weights, ...good.optimizer.map((s) => s.tensor)]);
    good = {
      batch,
      weights: model.getWeights().map((w) => w.clone()),
      optimizer: state.map((s) => ({ name: s.name, tensor: s.tensor.clone() })),
    };
  };

  const callback = new tf.CustomCallback({
    onTrainBegin: async () => {
      await keep();
    },
    onBatchEnd: async (_b, logs) => {
      batch++;
      const lr = learningRateOf(model);
      const o = observation(typeof logs?.["loss"] === "number" ? logs["loss"] : Number.NaN);
      const state = detector.observe({ step: batch, x: o.x, loss: o.loss, grad: o.grad, lr });
      report.detection = detector.detection;
      // A layer whose units collapsed in this batch is treated as the guard treats divergence.
      let collapsed = false;
      if (f64 && Number.isFinite(o.loss)) {
        // With the float64 copy the observation's x is the copied parameter vector itself.
        const fresh = units.observe(batch, inactiveUnits(f64, o.x as Float64Array, f64Data!));
        const finding = units.finding({ kinds: unitKinds, lr, unit: "batch" });
        // The latest account (the fractions go on changing); an event when a layer first collapses.
        if (finding && (report.units !== null || fresh.length > 0)) report.units = finding;
        if (fresh.length > 0 && finding) {
          collapsed = options.guardUnits === true;
          emit({ kind: "units", atBatch: batch, finding });
        }
      }
      if (state === "diverging" || !Number.isFinite(o.loss) || collapsed) {
        report.firstWarningBatch ??= batch;
        if (report.interventions.length >= maxRetries || !good) {
          report.status = "gave-up";
          model.stopTraining = true;
          emit({
            kind: "gave-up",
            atBatch: batch,
            reason: `still diverging after ${report.interventions.length} rollbacks: ${detector.detection.reason}`,
          });
          return;
        }
        const restored: {
          batch: number;
          weights: tf.Tensor[];
          optimizer: { name: string; tensor: tf.Tensor }[];
        } = good;
        model.setWeights(restored.weights);
        // The optimizer's state goes back too: a momentum built up while diverging would repeat it.
        await model.optimizer.setWeights(
          restored.optimizer.map((s) => ({ name: s.name, tensor: s.tensor.clone() })),
        );
        // The curvature at the restored weights, when it can be measured, says how far to lower η.
        let newLr = lr * factor;
        let how = `× ${factor} (no curvature measured)`;
        const s = sharpness();
        if (s && s.value > 0 && sgdLike()) {
          const momentum = (model.optimizer as unknown as { momentum?: number }).momentum ?? 0;
          const nesterov = (model.optimizer as unknown as { useNesterov?: boolean }).useNesterov ?? false;
          const critical = criticalLearningRate(
            resolveOptimizerConfig({ name: "sgd", lr: 1, momentum, nesterov }),
            s.value,
          ).lr;
          if (critical !== null && 0.9 * critical < lr) {
            newLr = 0.9 * critical;
            how = `0.9 × the critical rate ${critical.toPrecision(4)} measured at the restored weights (λmax = ${s.value.toPrecision(4)}${s.approximate ? ", approximate" : ""})`;
          } else how = `× ${factor} (the curvature gave no lower safe rate)`;
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
        emit({ kind: "rollback", intervention });
        detector = newDetector();
        // The restored weights are measured afresh: the collapse is judged against them.
        units = new UnitsWatch();
        return;
      }
      if (state === "stable" && batch % keepEvery === 0) await keep();
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
          emit({ kind: "sharpness", measurement: m });
        }
      }
    },
    onTrainEnd: async () => {
      if (report.status === "running") report.status = "finished";
      if (good) tf.dispose([...good.weights, ...good.optimizer.map((s) => s.tensor)]);
      good = null;
    },
  });
  return { callback, report };
}
