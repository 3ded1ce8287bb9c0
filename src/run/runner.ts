import type { Objective } from "../core/objective.js";
import { allFinite, dot, norm2 } from "../core/vec.js";
import { type HyperChange, type HyperKey, hyperValue, ownsKey } from "../optim/hyper.js";
import type { Optimizer, OptimizerConfig, OptimizerOptions, OptimizerSnapshot } from "../optim/index.js";
import { resolveOptimizerConfig } from "../optim/index.js";
import type { Schedule } from "../optim/schedule.js";
import {
  checkChangesAgainstSwitches,
  hyperWithSwitches,
  OptimizerSequence,
  type OptimizerSwitch,
  switchesAt,
} from "../optim/switches.js";
import { type BlowUpBound, objectiveBound } from "./divergence.js";
import { TraceSummary } from "./summary.js";
import type { StepRecord, Verdict } from "./types.js";
import { judgeView } from "./verdict.js";

export interface RunConfig {
  readonly objective: Objective;
  readonly optimizer: OptimizerOptions | OptimizerConfig;
  /** Start point x₀ (copied, never modified). */
  readonly x0: ArrayLike<number>;
  /** Step budget N: at most N updates, N+1 records. */
  readonly steps: number;
  /** The learning rate of each step (from optim/schedule.ts); the optimizer's own lr when absent. */
  readonly schedule?: Schedule;
  /**
   * Momentum, a beta or alpha changed at given steps, every buffer kept (optim/hyper.ts): the
   * value at step k is the latest change at or before k, else the optimizer's own.
   */
  readonly hyperChanges?: readonly HyperChange[];
  /**
   * Another optimizer from given steps on, fresh, at the rate then in force (optim/switches.ts); a
   * hyper-parameter change belongs to the optimizer in use at its step.
   */
  readonly optimizerChanges?: readonly OptimizerSwitch[];
  /** Converged when ‖∇f(x_k)‖ ≤ tolerance; the run stops there. Default 1e-10. */
  readonly tolerance?: number;
  /**
   * The blow-up bound's factor (run/divergence.ts; default 10⁶). The verdict says `diverged` from
   * the first step past it; the run goes on (a learner sees the overflow that follows).
   */
  readonly blowUp?: number;
}

export interface RunResult {
  readonly optimizer: OptimizerConfig;
  readonly x0: Float64Array;
  readonly steps: number;
  readonly tolerance: number;
  /** The blow-up bound the verdict used. */
  readonly bound: BlowUpBound;
  readonly trace: StepRecord[];
  readonly verdict: Verdict;
}

/** Checks what a run is given, so that a bad start fails with a sentence rather than a NaN trace. */
export function validateRun(config: RunConfig): void {
  const { objective, x0, steps } = config;
  if (x0.length !== objective.dim) {
    throw new Error(
      `invalid x0: ${x0.length} value${x0.length === 1 ? "" : "s"} for ${objective.dim} variable${objective.dim === 1 ? "" : "s"} (${objective.names.join(", ")})`,
    );
  }
  for (let i = 0; i < x0.length; i++) {
    if (!Number.isFinite(x0[i]))
      throw new Error(`invalid x0: ${objective.names[i]} = ${x0[i]} is not finite`);
  }
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`invalid steps: ${steps} (a whole number ≥ 0)`);
  const first = resolveOptimizerConfig(config.optimizer).name;
  const switches = config.optimizerChanges ?? [];
  for (const s of switches) {
    if (!Number.isInteger(s.step) || s.step < 0)
      throw new Error(`invalid switch at step ${s.step} (a whole number ≥ 0)`);
    resolveOptimizerConfig({ lr: 1, ...s.optimizer } as OptimizerOptions);
  }
  if (config.hyperChanges && config.hyperChanges.length > 0)
    checkChangesAgainstSwitches(first, switches, config.hyperChanges);
  const tolerance = config.tolerance ?? 1e-10;
  if (!(tolerance >= 0)) throw new Error(`invalid tolerance: ${tolerance} (a number ≥ 0)`);
}

/**
 * Steps the optimizer on the objective, one record per call (DESIGN.md contract): record k holds
 * x_k, f(x_k), ∇f(x_k), and — once x_{k+1} is known — ΔC_k = f(x_{k+1}) − f(x_k), the first-order
 * prediction ∇f(x_k)ᵀΔx and the second-order one adding ½ΔxᵀH(x_k)Δx. Ends after `steps` updates,
 * at the first point with ‖g‖ ≤ tolerance, or at the first non-finite value (whose record is the
 * last). A plain class rather than a generator: the loop is the hot path of every sweep.
 */
export interface StepperState {
  readonly k: number;
  readonly x: Float64Array;
  readonly g: Float64Array;
  readonly loss: number;
  readonly finished: boolean;
  readonly optimizer: OptimizerSnapshot;
}

export class Stepper {
  private readonly n: number;
  private readonly tolerance: number;
  /** The optimizer, switched part-way when the run says so. */
  private readonly sequence: OptimizerSequence;
  private x: Float64Array;
  private g: Float64Array;
  private loss: number;
  private readonly dx: Float64Array;
  private readonly hdx: Float64Array;
  private k = 0;
  private finished = false;
  private readonly initialLoss: number;
  /** The configuration the run started with, and the keys its hyper-parameter changes touch. */
  private readonly first: OptimizerConfig;
  private readonly hyperKeys: readonly HyperKey[];

  constructor(private readonly config: RunConfig) {
    validateRun(config);
    this.n = config.objective.dim;
    this.tolerance = config.tolerance ?? 1e-10;
    this.sequence = new OptimizerSequence(
      config.optimizer,
      this.n,
      switchesAt(config.optimizerChanges ?? []),
    );
    this.first = this.optimizer.config;
    this.hyperKeys = [...new Set((config.hyperChanges ?? []).map((c) => c.key))];
    this.x = new Float64Array(config.x0);
    this.g = new Float64Array(this.n);
    this.loss = config.objective.gradient(this.x, this.g);
    this.initialLoss = this.loss;
    this.dx = new Float64Array(this.n);
    this.hdx = new Float64Array(this.n);
  }

  private get optimizer(): Optimizer {
    return this.sequence.optimizer;
  }

  get optimizerConfig(): OptimizerConfig {
    return this.optimizer.config;
  }

  /** f(x₀), the loss the run started from. */
  get startLoss(): number {
    return this.initialLoss;
  }

  /** The index of the record `next` will return. */
  get step(): number {
    return this.k;
  }

  /** The loss and the gradient's norm at the point the next step starts from. */
  get current(): { loss: number; gradNorm: number } {
    return { loss: this.loss, gradNorm: norm2(this.g) };
  }

  /** Scales the gradient the next step takes (the guard's clipping). */
  scaleGradient(factor: number): void {
    const g = new Float64Array(this.g);
    for (let i = 0; i < g.length; i++) g[i]! *= factor;
    this.g = g;
  }

  /**
   * Passes over step k without taking it (the guard's skipping): the point and the optimizer's
   * state stay, the step index moves on, and the loss and gradient are evaluated afresh.
   */
  skip(): void {
    this.k++;
    this.g = new Float64Array(this.n);
    this.loss = this.config.objective.gradient(this.x, this.g);
  }

  /** Everything needed to come back to this point later (the guard's rollback). */
  save(): StepperState {
    return {
      k: this.k,
      x: this.x,
      g: this.g,
      loss: this.loss,
      finished: this.finished,
      optimizer: this.optimizer.snapshot(),
    };
  }

  /**
   * Back to a saved state. With `reevaluate`, the loss and gradient at its point are computed
   * again instead of taken from the state (the guard: a value that was faulty once is not reused).
   */
  restore(state: StepperState, options: { reevaluate?: boolean } = {}): void {
    // Records share x and g with the stepper (they are never written after), so no copies are needed.
    this.k = state.k;
    this.x = state.x;
    this.g = state.g;
    this.loss = state.loss;
    this.finished = state.finished;
    this.sequence.restore(state.k, state.optimizer, this.optimizer.config.lr);
    if (options.reevaluate) {
      this.g = new Float64Array(this.n);
      this.loss = this.config.objective.gradient(this.x, this.g);
      this.finished = false;
    }
  }

  /**
   * The next record, or null once the last one has been returned. `lr`, when given, is the rate
   * of this step (overriding the schedule) and is recorded.
   */
  next(lrOverride?: number): StepRecord | null {
    if (this.finished) return null;
    const { objective } = this.config;
    const { n, x, g, loss, dx, hdx } = this;
    const k = this.k++;
    const gradNorm = norm2(g);
    if (
      !Number.isFinite(loss) ||
      !allFinite(g) ||
      !allFinite(x) ||
      k === this.config.steps ||
      gradNorm <= this.tolerance
    ) {
      this.finished = true;
      return { step: k, x, loss, grad: g, gradNorm };
    }
    const xNext = new Float64Array(x);
    this.sequence.before(k);
    const lr = lrOverride ?? this.config.schedule?.(k);
    if (lr !== undefined) this.optimizer.setLearningRate(lr);
    if (this.hyperKeys.length > 0) {
      const at = hyperWithSwitches(
        this.first,
        this.config.optimizerChanges ?? [],
        this.config.hyperChanges!,
        k,
      );
      for (const key of this.hyperKeys)
        if (ownsKey(at.name, key)) this.optimizer.setHyperparameter(key, hyperValue(at, key));
    }
    this.optimizer.step(xNext, g);
    const gNext = new Float64Array(n);
    const lossNext = objective.gradient(xNext, gNext);
    let firstOrder = 0;
    for (let i = 0; i < n; i++) {
      const d = xNext[i]! - x[i]!;
      dx[i] = d;
      firstOrder += g[i]! * d;
    }
    let secondOrder = Number.NaN;
    if (allFinite(dx)) {
      objective.hessianVector(x, dx, hdx);
      secondOrder = firstOrder + 0.5 * dot(dx, hdx);
    }
    this.x = xNext;
    this.g = gNext;
    this.loss = lossNext;
    const record = {
      step: k,
      x,
      loss,
      grad: g,
      gradNorm,
      deltaLoss: lossNext - loss,
      firstOrder,
      secondOrder,
    };
    return lr === undefined ? record : { ...record, lr };
  }
}

/** The records of a run one at a time, for consumers that pull at their own pace (the web page). */
export function* iterateRun(config: RunConfig): Generator<StepRecord, void, undefined> {
  const stepper = new Stepper(config);
  for (let r = stepper.next(); r !== null; r = stepper.next()) yield r;
}

export interface SummarizedRun {
  readonly optimizer: OptimizerConfig;
  readonly x0: Float64Array;
  readonly steps: number;
  readonly tolerance: number;
  readonly bound: BlowUpBound;
  /** The first and last records, the running quantities, a thinned sample: see TraceSummary. */
  readonly summary: TraceSummary;
  readonly verdict: Verdict;
}

/**
 * Runs to the end in memory that does not grow with the number of steps: every record goes to
 * `onRecord` as it is made (streamed output, the detector) and into a TraceSummary, which is all
 * that is kept; the verdict is the same as `run`'s.
 */
export function runSummarized(
  config: RunConfig,
  onRecord?: (record: StepRecord) => void,
  options: { head?: number; tail?: number; sample?: number } = {},
): SummarizedRun {
  const stepper = new Stepper(config);
  const summary = new TraceSummary(options);
  const bound = objectiveBound(config.objective, stepper.startLoss, config.blowUp);
  summary.bound = bound.value;
  for (let r = stepper.next(); r !== null; r = stepper.next()) {
    summary.push(r);
    onRecord?.(r);
  }
  return summarized(config, stepper, summary, bound);
}

/** A summarized run's result from its stepper and summary: the verdict on what was kept. */
function summarized(
  config: RunConfig,
  stepper: Stepper,
  summary: TraceSummary,
  bound: BlowUpBound,
): SummarizedRun {
  const optimizer = stepper.optimizerConfig;
  const tolerance = config.tolerance ?? 1e-10;
  return {
    optimizer,
    x0: Float64Array.from(config.x0),
    steps: config.steps,
    tolerance,
    bound,
    summary,
    verdict: judgeView(summary, { objective: config.objective, optimizer, tolerance, bound }),
  };
}

/**
 * runSummarized that gives the event loop a turn every `yieldMs` (so a signal handler or a timer
 * runs during a long run) and stops early once `stop()` says so: the summary and verdict are then
 * those of the steps taken, and `stopped` is true.
 */
export async function runSummarizedAsync(
  config: RunConfig,
  onRecord: (record: StepRecord) => void,
  control: { stop: () => boolean; yieldMs?: number },
): Promise<SummarizedRun & { stopped: boolean }> {
  const stepper = new Stepper(config);
  const summary = new TraceSummary({});
  const bound = objectiveBound(config.objective, stepper.startLoss, config.blowUp);
  summary.bound = bound.value;
  const yieldMs = control.yieldMs ?? 50;
  let last = Date.now();
  let stopped = false;
  let n = 0;
  for (let r = stepper.next(); r !== null; r = stepper.next()) {
    summary.push(r);
    onRecord(r);
    // The clock read every 1,024 steps only: a step can take well under a microsecond.
    if ((++n & 1023) === 0 && Date.now() - last >= yieldMs) {
      await new Promise((ok) => setImmediate(ok));
      last = Date.now();
      if (control.stop()) {
        stopped = true;
        break;
      }
    }
  }
  return { ...summarized(config, stepper, summary, bound), stopped };
}

/** Runs to the end, keeping every record, and judges the trace (see `judge`). */
export function run(config: RunConfig): RunResult {
  const trace: StepRecord[] = [];
  const { summary: _kept, ...result } = runSummarized(config, (r) => trace.push(r));
  return { ...result, trace };
}
