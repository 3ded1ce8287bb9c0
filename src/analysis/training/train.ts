import { fmt, plural } from "../../core/format.js";
import type { NetworkObjective, RowData } from "../../core/objective.js";
import { createRng } from "../../core/rng.js";
import { layerActivations, type MlpObjective, sampleRows } from "../../nn/mlp/mlp.js";
import { type HyperKey, ownsKey } from "../../optim/hyper.js";
import type { OptimizerOptions, OptimizerSnapshot } from "../../optim/index.js";
import { OptimizerSequence } from "../../optim/switches.js";
import { type BlowUpBound, divergence, objectiveBound } from "../../run/divergence.js";
import { blockCurvature } from "../curvature/blocks.js";
import { hessianOperator } from "../curvature/hvp.js";
import { lanczos } from "../curvature/lanczos.js";
import { preconditionedOperator, preconditioning } from "../curvature/preconditioned.js";
import { collapsedSince, collapseText } from "../diagnosis/units.js";
import { type Detection, DivergenceDetector } from "./detector.js";
import { type GuardAction, type Intervention, lowerRate, RollbackPoints } from "./guard.js";

export { GUARD_ACTIONS, type GuardAction } from "./guard.js";

import { minibatchSampler, type SamplerState } from "./minibatches.js";
import { ZClip, ZScoreSkip } from "./spikes.js";

/**
 * Training an MLP: minibatches (or the full batch), any optimizer, and the monitors that explain a
 * blow-up — loss, gradient norm, update-to-weight ratio and dead/saturated units per layer, and the
 * top Hessian eigenvalues beside 2/η (the preconditioned sharpness beside its bound for adaptive
 * optimizers) measured by Lanczos on exact HVPs.
 */
export interface TrainConfig {
  /** The network on the training rows: an MLP, or a graph (nn/). */
  readonly objective: NetworkObjective;
  readonly train: RowData;
  readonly validation: RowData | null;
  readonly theta0: Float64Array;
  readonly optimizer: OptimizerOptions;
  readonly steps: number;
  /** Rows per step; null for the full batch. */
  readonly batchSize: number | null;
  readonly seed: number;
  /** Record every k steps (and the first, the last, and any non-finite step). */
  readonly logEvery: number;
  /** Measure curvature every k steps; null never. */
  readonly sharpnessEvery: number | null;
  /** Measure curvature at the steps this accepts instead (a demo's dense first steps). */
  readonly sharpnessAt?: (step: number) => boolean;
  readonly sharpnessK?: number;
  /**
   * Rows curvature is measured on (default: every training row, in blocks, in bounded memory);
   * fewer are a seeded random sample drawn once, the same rows at every measurement.
   */
  readonly measurementRows?: number;
  /** With each curvature measurement, each layer's Hessian block and its share of λmax's eigenvector (costs HVPs). */
  readonly layerCurvature?: boolean;
  /** The learning rate of each step; the optimizer's own when absent. */
  readonly schedule?: (step: number) => number;
  /**
   * Momentum, a beta or alpha to use from each step on, every buffer kept (optim/hyper.ts: PyTorch's
   * param_groups edited between steps); read at every step, so a change made while it runs takes
   * effect at the next one. The keys must be the optimizer's own.
   */
  readonly hyper?: (step: number) => Readonly<Partial<Record<HyperKey, number>>>;
  /**
   * Another optimizer from step k on, when this gives one for k (optim/switches.ts): fresh state, at
   * the rate then in force. Read at every step, as `hyper` is; a key `hyper` gives that the optimizer
   * in use does not have is not applied.
   */
  readonly switchAt?: (step: number) => OptimizerOptions | undefined;
  /** Roll back to the last good state and cap the rate when divergence is detected (see guard.ts). */
  readonly guard?: {
    readonly keepEvery?: number;
    readonly maxRetries?: number;
    readonly factor?: number;
    /** Also roll back when a hidden layer's units collapse (die or saturate: diagnosis/units.ts). */
    readonly units?: boolean;
    /**
     * What the guard does (default "rollback"): roll back to the last good state and cap the rate;
     * "skip": skip a step whose loss or gradient norm is a z-score outlier (spikes.ts); "clip":
     * clip the gradient adaptively (ZClip, spikes.ts); "rollback-skip": roll back `rollbackSteps`
     * steps or more and go on at the same rate past the batches seen since (PaLM's restart).
     */
    readonly action?: GuardAction;
    /** rollback-skip: how far back a rollback goes, at least (default 100 steps). */
    readonly rollbackSteps?: number;
  };
  /**
   * Called every `checkpointEvery` steps (default 100) and at the last step with a copy of the
   * state, to be saved (atomically) by the caller.
   */
  readonly onCheckpoint?: (checkpoint: TrainCheckpoint) => void;
  readonly checkpointEvery?: number;
  /** Continue from a saved checkpoint instead of theta0 and step 0. */
  readonly resume?: TrainCheckpoint;
  /** Called once, the moment the divergence detector first says `diverging`. */
  readonly onWarning?: (detection: Detection) => void;
  /** Put a copy of the weights in every record (the lab draws the decision boundary from them). */
  readonly includeWeights?: boolean;
  /** Called after every step's gradient (for a progress bar). */
  readonly onStep?: (step: number, loss: number) => void;
  /**
   * Asked before each step after the first: true makes this step the run's last (recorded and
   * checkpointed like the planned last one); the result then carries `stoppedAt`. Ctrl-C in the
   * CLI.
   */
  readonly stop?: () => boolean;
  /**
   * Yield a `TrainPause` when this many milliseconds have passed since the last yield, so that a
   * caller driving the generator can give the event loop a turn (a signal handler, a timer)
   * between records that are far apart. Off by default.
   */
  readonly pauseEveryMs?: number;
  /** The blow-up bound's factor (run/divergence.ts; default 10⁶). */
  readonly blowUp?: number;
  /**
   * Keep training past the blow-up bound to the first non-finite value (the demos show the
   * overflow that follows). By default a step past it ends the run as `diverged` (or, guarded,
   * is rolled back like a non-finite one).
   */
  readonly runPastBound?: boolean;
}

export interface TrainRecord {
  readonly step: number;
  readonly epoch: number;
  /** Loss of the batch the step was taken on (the full training set when full-batch). */
  readonly loss: number;
  readonly gradNorm: number;
  /**
   * Loss and accuracy on every training row: every record when full-batch; with minibatches at
   * step 0, the end of each epoch and the last step (the rows cost a forward pass each).
   */
  readonly trainLoss?: number;
  readonly trainAccuracy?: number | null;
  /** With minibatches, between full evaluations: the mean batch loss over the `runningOver` steps since the previous record. */
  readonly runningLoss?: number;
  readonly runningOver?: number;
  readonly validationLoss?: number;
  readonly validationAccuracy?: number | null;
  /** ‖Δθ‖/‖θ‖ of each layer's weights and biases over the last step. */
  readonly updateRatio?: readonly number[];
  /**
   * Per hidden layer, on the measurement batch: fraction of units that are dead (relu: zero on
   * every measured row) or saturated (tanh/sigmoid: |f′| < 0.01 on more than 90% of rows).
   * With minibatches, measured where the training set is evaluated.
   */
  readonly inactive?: readonly number[];
  readonly sharpness?: number;
  readonly eigenvalues?: readonly number[];
  /** Per layer (with layerCurvature): λmax of its block, its trace (± standard error) and its share of λmax's eigenvector. */
  readonly layers?: readonly {
    readonly lambdaMax: number;
    readonly trace: number;
    readonly traceSe: number;
    readonly share: number;
  }[];
  readonly twoOverLr?: number;
  readonly preconditionedSharpness?: number;
  readonly bound?: number;
  /** Present on the record of a step where the guard rolled the run back. */
  readonly intervention?: Intervention;
  /** Why the guard ("skip", or "clip" on a non-finite gradient) did not take this step. */
  readonly skipped?: string;
  /** The gradient norm this step was clipped to ("clip"), where it was. */
  readonly clippedTo?: number;
  /** The learning rate of this step, under a schedule. */
  readonly lr?: number;
  /** The weights at this step, when the config asks for them (includeWeights). */
  readonly theta?: Float64Array;
}

export interface TrainCheckpoint {
  readonly step: number;
  readonly theta: Float64Array;
  readonly optimizer: OptimizerSnapshot;
  /** The guard's cap on the learning rate (Infinity when none). */
  readonly lrCap: number;
  /** The minibatch sampler before this step's batch (minibatch runs). */
  readonly sampler?: SamplerState;
}

/** Yielded between records when `pauseEveryMs` is set: no record, a turn for the caller. */
export interface TrainPause {
  readonly pause: true;
  readonly step: number;
}

export const isPause = (r: TrainRecord | TrainPause): r is TrainPause => "pause" in r;

export interface TrainResult {
  readonly interventions: readonly Intervention[];
  readonly theta: Float64Array;
  /** The early-warning detector's account of the run (on every step). */
  readonly detection: Detection;
  /**
   * "diverged": the loss passed the blow-up bound (run/divergence.ts) and the run stopped there;
   * "nonfinite": a non-finite loss or gradient; "gave-up": the guard used its --max-retries
   * rollbacks and the run went bad again; it stops there.
   */
  readonly status: "finished" | "diverged" | "nonfinite" | "gave-up";
  readonly atStep: number | null;
  readonly stepsPerEpoch: number;
  /** The run's blow-up bound: 10⁶ (blowUp) × max(|loss at the start|, the trivial baseline). */
  readonly bound: BlowUpBound;
  /** The step the run was stopped at by `stop` (its last record), when it was. */
  readonly stoppedAt?: number;
}

/** Without `pauseEveryMs` every value yielded is a record. */
export function train(
  config: TrainConfig & { readonly pauseEveryMs?: undefined },
): Generator<TrainRecord, TrainResult, undefined>;
export function train(config: TrainConfig): Generator<TrainRecord | TrainPause, TrainResult, undefined>;
export function* train(config: TrainConfig): Generator<TrainRecord | TrainPause, TrainResult, undefined> {
  const { objective: f, train: data } = config;
  const n = f.dim;
  const batch = config.batchSize ?? data.rows;
  if (!Number.isInteger(batch) || batch < 1)
    throw new Error(`invalid batch-size: ${batch} (a whole number ≥ 1)`);
  if (batch > data.rows)
    throw new Error(`invalid batch-size: ${batch} is larger than the ${data.rows} training rows`);
  const stepsPerEpoch = Math.ceil(data.rows / batch);
  const sampler = batch < data.rows ? minibatchSampler(data, batch, config.seed) : null;
  const sequence = new OptimizerSequence(config.optimizer, n, config.switchAt ?? (() => undefined));
  // The optimizer in use: `sequence` replaces it at a switch, and at a rollback across one.
  let opt = sequence.optimizer;
  const theta = Float64Array.from(config.resume?.theta ?? config.theta0);
  if (config.resume) {
    if (config.resume.theta.length !== n)
      throw new Error(
        `invalid resume: the checkpoint has ${plural(config.resume.theta.length, "parameter")}, the model ${n}`,
      );
    // The optimizer of the checkpoint's step: the switches before it are made first.
    for (let k = 0; k < config.resume.step; k++) sequence.before(k);
    opt = sequence.optimizer;
    opt.restore(config.resume.optimizer);
    if (sampler && config.resume.sampler) sampler.restore(config.resume.sampler);
  }
  // float32 storage holds the weights in float32 too (the optimizer's moments stay float64).
  const round = () => {
    if (f.float32) for (let i = 0; i < n; i++) theta[i] = Math.fround(theta[i]!);
  };
  round();
  const previous = new Float64Array(n);
  const g = new Float64Array(n);
  const measure = measurementObjective(f, data, measurementRows(data, config.measurementRows, config.seed));
  const lr = opt.config.lr;
  // The one bound of the run, from the loss on every training row where it starts.
  const bound = objectiveBound(f, f.value(theta), config.blowUp);
  // With minibatches the secant between two batches' gradients is not the curvature: the
  // detector reads the loss alone there (detector.ts).
  const newDetector = () =>
    new DivergenceDetector(opt.config, { bound: bound.value, curvature: sampler === null });
  let detector = newDetector();
  let cap = config.resume?.lrCap ?? Number.POSITIVE_INFINITY;
  const lrAt = (k: number) => Math.min(cap, config.schedule ? config.schedule(k) : lr);
  const guard = config.guard;
  const action: GuardAction = guard?.action ?? "rollback";
  const rollsBack = guard !== undefined && (action === "rollback" || action === "rollback-skip");
  const skipper = guard && action === "skip" ? new ZScoreSkip() : null;
  const clipper = guard && action === "clip" ? new ZClip() : null;
  const reach = guard?.rollbackSteps ?? 100;
  // rollback-skip's points: every calm snapshot back to `reach` steps and one more.
  const ring: { step: number; theta: Float64Array; state: ReturnType<typeof opt.snapshot> }[] = [];
  const interventions: Intervention[] = [];
  // Where a rollback goes (two deep, as in guardedRun: see RollbackPoints).
  const points = new RollbackPoints({
    step: config.resume?.step ?? 0,
    theta: Float64Array.from(theta),
    state: opt.snapshot(),
  });

  const measureAt = (step: number) =>
    config.sharpnessAt
      ? config.sharpnessAt(step)
      : config.sharpnessEvery !== null && step % config.sharpnessEvery === 0;
  const sinceRecord = { sum: 0, count: 0 };
  // The inactive fractions at the run's first measurement, the reference of a collapse.
  let startInactive: number[] | null = null;
  let step = config.resume?.step ?? 0;
  const firstStep = step;
  let stoppedAt: number | undefined;
  let lastYield = Date.now();
  for (; step <= config.steps; step++) {
    const epoch = Math.floor(step / stepsPerEpoch);
    const stopping = step > firstStep && config.stop?.() === true;
    // A checkpoint of this step holds the sampler as it is before this step's batch is drawn.
    const checkpointDue =
      config.onCheckpoint !== undefined &&
      (step === config.steps || stopping || (step > 0 && step % (config.checkpointEvery ?? 100) === 0));
    const samplerState = checkpointDue && sampler ? sampler.save() : undefined;
    const loss = sampler ? f.gradientOn(theta, g, sampler.next()) : f.gradient(theta, g);
    let s = 0;
    for (let i = 0; i < n; i++) s += g[i]! * g[i]!;
    const gradNorm = Math.sqrt(s);
    config.onStep?.(step, loss);
    // Spike handling before anything judges the step: a skipped step is not taken (its batch is
    // consumed), a clipped one goes on with the gradient scaled to the clipped norm.
    let clippedTo: number | undefined;
    if (skipper || clipper) {
      const to = clipper ? clipper.clipTo(gradNorm) : gradNorm;
      const why = skipper
        ? skipper.judge(loss, gradNorm)
        : Number.isNaN(to) || !Number.isFinite(loss)
          ? `a non-finite value (loss ${loss}, ‖g‖ ${gradNorm})`
          : null;
      if (why !== null && step < config.steps) {
        yield { step, epoch, loss, gradNorm, skipped: why } as TrainRecord;
        continue;
      }
      if (!Number.isNaN(to) && to < gradNorm) {
        clippedTo = to;
        for (let i = 0; i < n; i++) g[i]! *= to / gradNorm;
      }
    }
    const warnedBefore = detector.detection.firstWarningStep !== null;
    const diverged = divergence(loss, gradNorm, bound);
    const finite = diverged !== "nonfinite" && (diverged === null || config.runPastBound === true);
    const state = detector.observe({ step, x: theta, loss, grad: g, lr: lrAt(step) });
    if (!warnedBefore && detector.detection.firstWarningStep !== null) config.onWarning?.(detector.detection);
    const last = step === config.steps || stopping || !finite;
    const endOfEpoch = (step + 1) % stepsPerEpoch === 0;
    const fullBatch = batch === data.rows;
    const recordDue =
      step % config.logEvery === 0 ||
      step === firstStep ||
      last ||
      measureAt(step) ||
      (endOfEpoch && batch < data.rows);
    const rowsDue = recordDue && (fullBatch || step === firstStep || endOfEpoch || last);
    // The hidden units' inactive fractions over every row, where a record evaluates the rows —
    // and, guarded full-batch, at every rollback point too (a forward pass beside the step's
    // own): a collapse of a layer (diagnosis/units.ts) is rolled back like a divergence, before a
    // point past it can become the good one. With minibatches it is checked where the rows are.
    const keepDue = guard !== undefined && step % (guard.keepEvery ?? 10) === 0;
    const inactive =
      finite && (rowsDue || (keepDue && fullBatch && guard?.units === true))
        ? inactiveUnits(f, theta, data)
        : null;
    if (inactive && startInactive === null) startInactive = inactive;
    const collapsed =
      guard?.units && inactive && startInactive && state !== "diverging"
        ? collapsedSince(startInactive, inactive)
        : [];
    const bad = !finite || state === "diverging" || collapsed.length > 0;
    if (rollsBack && bad && interventions.length >= (guard!.maxRetries ?? 5)) {
      // Out of retries: stop rather than train on unguarded.
      yield { step, epoch, loss, gradNorm } as TrainRecord;
      return {
        theta,
        detection: detector.detection,
        interventions,
        status: "gave-up",
        atStep: step,
        stepsPerEpoch,
        bound,
      };
    }
    if (guard && rollsBack && bad) {
      const reason = !finite
        ? diverged === "bound"
          ? `the loss ${fmt(loss)} passed the blow-up bound ${fmt(bound.value)} at step ${step}`
          : `a non-finite value at step ${step} (loss ${loss}, ‖g‖ ${gradNorm})`
        : state === "diverging"
          ? detector.detection.reason
          : collapseText(step, collapsed, startInactive!, inactive!);
      // rollback-skip goes `reach` steps back (or as far as it can) and keeps the rate: the batches
      // since are not seen again (the sampler goes on), which is what a spike from bad data needs.
      const far =
        action === "rollback-skip"
          ? ([...ring].reverse().find((p) => p.step <= step - reach) ?? ring[0])
          : undefined;
      const good = far ?? points.good;
      theta.set(good.theta);
      sequence.restore(good.step, good.state, opt.config.lr);
      opt = sequence.optimizer;
      const oldLr = Math.max(points.maxLrSince, lrAt(step));
      const lowered =
        action === "rollback-skip"
          ? {
              newCap: cap,
              how: `back ${step - good.step} steps at the same rate, past the batches since (rollback-skip)`,
            }
          : lowerRate(measure, theta, opt.config, oldLr, guard.factor ?? 0.5);
      cap = lowered.newCap;
      if (far) ring.splice(ring.indexOf(far) + 1);
      const intervention = {
        atStep: step,
        rolledBackTo: good.step,
        reason,
        oldLr,
        newLr: lrAt(good.step),
        how: lowered.how,
      };
      interventions.push(intervention);
      yield { step, epoch, loss, gradNorm, intervention } as TrainRecord;
      detector = newDetector();
      points.rolledBack();
      step = good.step - 1; // the loop's increment lands on the good step
      continue;
    }
    sinceRecord.sum += loss;
    sinceRecord.count++;
    // With minibatches every epoch's end is a record: the training set and the validation rows
    // are evaluated there.
    if (recordDue) {
      const record: Record<string, unknown> = { step, epoch, loss, gradNorm };
      if (config.includeWeights) record["theta"] = Float64Array.from(theta);
      const stepLr = lrAt(step);
      if (config.schedule || cap < Number.POSITIVE_INFINITY) record["lr"] = stepLr;
      if (clippedTo !== undefined) record["clippedTo"] = clippedTo;
      if (finite) {
        // The whole training set costs a forward pass over every row: with minibatches it is
        // evaluated at the start, at the end of each epoch and at the last step; in between the
        // record carries the running mean of the minibatch losses since the previous record.
        if (rowsDue) {
          const t = f.evaluate(theta);
          record["trainLoss"] = t.loss;
          record["trainAccuracy"] = t.accuracy;
          // Counted above for every step whose rows are evaluated.
          record["inactive"] = inactive;
        } else if (sinceRecord.count > 0) {
          record["runningLoss"] = sinceRecord.sum / sinceRecord.count;
          record["runningOver"] = sinceRecord.count;
        }
        // Against the previous step's weights, which a resumed run does not have at its first step.
        if (step > (config.resume?.step ?? 0)) record["updateRatio"] = updateRatios(f, theta, previous);
        if (config.validation && (endOfEpoch || last)) {
          const v = f.evaluate(theta, config.validation);
          record["validationLoss"] = v.loss;
          record["validationAccuracy"] = v.accuracy;
        }
        if (measureAt(step)) {
          const op = hessianOperator(measure, theta);
          const est = lanczos(op, {
            k: config.sharpnessK ?? 3,
            bottom: false,
            tolerance: 1e-6,
            maxIterations: Math.min(n, 100),
            vectors: config.layerCurvature === true,
          });
          record["sharpness"] = est.top[0]!.value;
          record["eigenvalues"] = est.top.map((e) => e.value);
          if (config.layerCurvature)
            record["layers"] = blockCurvature(op, [...f.groups], est.vectors!.top[0]!, {
              tolerance: 1e-6,
              maxIterations: 100,
              traceProbes: 16,
            }).map((b) => ({
              lambdaMax: b.top.value,
              trace: b.trace.estimate,
              traceSe: b.trace.standardError,
              share: b.share!,
            }));
          record["twoOverLr"] = 2 / stepLr;
          const p = preconditioning(opt);
          if (p && opt.config.name !== "sgd") {
            const pre = lanczos(preconditionedOperator(hessianOperator(measure, theta), p), {
              k: 1,
              bottom: false,
              tolerance: 1e-6,
              maxIterations: Math.min(n, 100),
            });
            record["preconditionedSharpness"] = pre.top[0]!.value;
            record["bound"] = p.bound;
          }
        }
      }
      sinceRecord.sum = 0;
      sinceRecord.count = 0;
      lastYield = Date.now();
      yield record as unknown as TrainRecord;
    }
    if (!finite)
      return {
        theta,
        detection: detector.detection,
        interventions,
        status: diverged === "bound" ? "diverged" : "nonfinite",
        atStep: step,
        stepsPerEpoch,
        bound,
      };
    const checkpoint = () =>
      config.onCheckpoint?.({
        step,
        theta: Float64Array.from(theta),
        optimizer: opt.snapshot(),
        lrCap: cap,
        ...(samplerState ? { sampler: samplerState } : {}),
      });
    // The last step is always checkpointed (a finite state: a non-finite end returned above).
    if (step === config.steps || stopping) {
      if (checkpointDue) checkpoint();
      if (stopping) stoppedAt = step;
      break;
    }
    if (keepDue && state !== "diverging") {
      const snapshot = { step, theta: Float64Array.from(theta), state: opt.snapshot() };
      points.offer(snapshot);
      if (action === "rollback-skip") {
        ring.push(snapshot);
        while (ring.length > 2 && ring[1]!.step <= step - reach) ring.shift();
      }
    }
    if (checkpointDue) checkpoint();
    previous.set(theta);
    const stepLr = lrAt(step);
    points.stepped(stepLr);
    if (sequence.before(step)) {
      // A new optimizer: the detector reads the steps by its rule from here.
      opt = sequence.optimizer;
      detector.setOptimizer(opt.config);
    }
    if (config.schedule || cap < Number.POSITIVE_INFINITY) opt.setLearningRate(stepLr);
    if (config.hyper)
      for (const [key, value] of Object.entries(config.hyper(step)))
        if (ownsKey(opt.config.name, key as HyperKey)) opt.setHyperparameter(key as HyperKey, value!);
    opt.step(theta, g);
    round();
    if (config.pauseEveryMs !== undefined && Date.now() - lastYield >= config.pauseEveryMs) {
      lastYield = Date.now();
      yield { pause: true, step };
    }
  }
  return {
    theta,
    detection: detector.detection,
    interventions,
    status: "finished",
    atStep: null,
    stepsPerEpoch,
    bound,
    ...(stoppedAt !== undefined ? { stoppedAt } : {}),
  };
}

/**
 * The rows curvature is measured on: all of them, or `rows` of them drawn once without
 * replacement (seeded, kept in their original order).
 */
export function measurementRows(data: RowData, rows: number | undefined, seed: number): RowData {
  if (rows === undefined || rows >= data.rows) return data;
  if (!Number.isInteger(rows) || rows < 1)
    throw new Error(`invalid curvature-rows: ${rows} (a whole number ≥ 1)`);
  return sampleRows(data, rows, createRng(seed + 7));
}

/** The objective curvature is measured on: the training objective itself, or its loss on a sample of measurementRows'. */
export function measurementObjective<F extends NetworkObjective>(
  f: F,
  data: RowData,
  sample: RowData,
): NetworkObjective {
  return sample === data ? f : f.onRows(sample, "measurement rows");
}

/** Runs `train` to its end: every record it yields, and its result (demos, benches, tests). */
export function trainToEnd(
  config: TrainConfig,
  onRecord?: (record: TrainRecord) => void,
): { records: TrainRecord[]; result: TrainResult } {
  const records: TrainRecord[] = [];
  const it = train(config);
  let r = it.next();
  for (; !r.done; r = it.next())
    if (!isPause(r.value)) {
      records.push(r.value);
      onRecord?.(r.value);
    }
  return { records, result: r.value };
}

/**
 * The loss on all training rows when the run ends (the last record's; +Infinity when the run
 * overflowed): what a learning rate is judged by when several are tried with one protocol.
 */
export function finalTrainingLoss(config: TrainConfig): number {
  const { records, result } = trainToEnd(config);
  if (result.status === "nonfinite" || result.status === "diverged") return Number.POSITIVE_INFINITY;
  const last = records[records.length - 1];
  return last ? (last.trainLoss ?? last.loss) : Number.NaN;
}

function updateRatios(f: NetworkObjective, theta: Float64Array, previous: Float64Array): number[] {
  return f.groups.map((l) => {
    let d = 0;
    let w = 0;
    for (let i = l.start; i < l.end; i++) {
      d += (theta[i]! - previous[i]!) ** 2;
      w += previous[i]! ** 2;
    }
    return w > 0 ? Math.sqrt(d / w) : 0;
  });
}

/**
 * Per hidden layer, the fraction of units that are dead (relu: pre-activation ≤ 0 on every row) or
 * saturated (tanh, sigmoid: |f′| < 0.01 on more than 90% of rows), over the given rows — for an
 * MLP; a graph network's units are not counted (none listed).
 */
export function inactiveUnits(g: NetworkObjective, theta: Float64Array, data: RowData): number[] {
  if (!("spec" in g && "activations" in g)) return [];
  const f = g as MlpObjective;
  const hidden = f.spec.sizes.slice(1, -1);
  const active = hidden.map((s) => new Int32Array(s));
  const kinds = layerActivations(f.spec);
  f.activations(theta, data, (layer, unit, z, a) => {
    const kind = kinds[layer - 1];
    const live =
      kind === "relu"
        ? z > 0
        : kind === "tanh"
          ? 1 - a * a >= 0.01
          : kind === "sigmoid"
            ? a * (1 - a) >= 0.01 / 4
            : true;
    if (live) active[layer - 1]![unit]!++;
  });
  return active.map((counts, l) => {
    let off = 0;
    for (const c of counts) if (kinds[l] === "relu" ? c === 0 : c < 0.1 * data.rows) off++;
    return counts.length > 0 ? off / counts.length : 0;
  });
}
