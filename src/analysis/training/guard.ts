import type { Objective } from "../../core/objective.js";
import type { OptimizerConfig } from "../../optim/index.js";
import { objectiveBound } from "../../run/divergence.js";
import { type RunConfig, type RunResult, Stepper } from "../../run/runner.js";
import type { StepRecord } from "../../run/types.js";
import { judge } from "../../run/verdict.js";
import { hessianOperator } from "../curvature/hvp.js";
import { lanczos } from "../curvature/lanczos.js";
import { criticalLearningRate } from "../thresholds/critical.js";
import { type Detection, DivergenceDetector } from "./detector.js";
import { ZClip, ZScoreSkip } from "./spikes.js";

/**
 * The guard: runs the optimizer with the early-warning detector on, keeps the last good state
 * (point and optimizer state, every `keepEvery` steps, once that step's values have been checked
 * finite and the detector is not alarmed), and when the
 * detector says `diverging` — or a value turns non-finite — rolls back to it, lowers the learning
 * rate and goes on. The rate is then capped at 0.9× the critical rate measured from the curvature at the
 * restored point (SGD family), or the current rate × `factor` when that is not lower or cannot be
 * measured (adaptive optimizers). Bounded retries, then a clear stop.
 */
export interface GuardOptions {
  /** Steps between good-state snapshots (default 10). */
  readonly keepEvery?: number;
  /** Rollbacks before giving up (default 5). */
  readonly maxRetries?: number;
  /** Fallback reduction of the learning rate (default 0.5). */
  readonly factor?: number;
  /**
   * What the guard does (default "rollback"): "skip" passes over a step whose loss or gradient
   * norm is past 6σ of the last 128 (spikes.ts) — once: a spike that is there again when the
   * point is evaluated afresh is the function's, not a fault, and the step is taken; "clip"
   * clips the gradient adaptively (ZClip); "rollback-skip" goes back `rollbackSteps` or more and
   * keeps the rate (PaLM's restart: in train it also goes past the batches seen; a function has
   * none, so here it recovers from a one-off fault, and gives up on a rate that is too high).
   */
  readonly action?: "rollback" | "skip" | "clip" | "rollback-skip";
  /** rollback-skip: how far back a rollback goes, at least (default 100 steps). */
  readonly rollbackSteps?: number;
}

/** A step the guard passed over ("skip"). */
export interface SkippedStep {
  readonly step: number;
  readonly reason: string;
}

/** What the guard does with a bad step (train's TrainConfig.guard.action; guardedRun has the first three). */
export type GuardAction = "rollback" | "skip" | "clip" | "rollback-skip";
export const GUARD_ACTIONS: readonly GuardAction[] = ["rollback", "skip", "clip", "rollback-skip"];

export interface Intervention {
  /** Step at which the problem was seen. */
  readonly atStep: number;
  /** Step the run was rolled back to. */
  readonly rolledBackTo: number;
  readonly reason: string;
  readonly oldLr: number;
  readonly newLr: number;
  /** How the new rate was chosen. */
  readonly how: string;
}

export interface GuardedResult extends RunResult {
  readonly interventions: readonly Intervention[];
  /** "finished", or "gave-up" after maxRetries rollbacks. */
  readonly guardStatus: "finished" | "gave-up";
  /** The steps passed over ("skip"), and the steps whose gradient was clipped ("clip"). */
  readonly skipped: readonly SkippedStep[];
  readonly clipped: number;
  readonly detection: Detection;
}

export function guardedRun(config: RunConfig, options: GuardOptions = {}): GuardedResult {
  const keepEvery = options.keepEvery ?? 10;
  const maxRetries = options.maxRetries ?? 5;
  const factor = options.factor ?? 0.5;
  const { objective } = config;
  const tolerance = config.tolerance ?? 1e-10;
  // The runner's own stepper, with rollback: the guard only decides the rate and when to go back.
  const stepper = new Stepper(config);
  const baseLr = stepper.optimizerConfig.lr;
  // The guard caps the rate: a constant rate is lowered to the cap, a schedule is clipped only where
  // it would exceed it (a spike), its shape elsewhere untouched.
  let cap = Number.POSITIVE_INFINITY;
  const lrAt = (k: number) => Math.min(cap, config.schedule ? config.schedule(k) : baseLr);
  const capped = () => config.schedule !== undefined || cap < Number.POSITIVE_INFINITY;

  const trace: StepRecord[] = [];
  const interventions: Intervention[] = [];
  // The run's one bound (run/divergence.ts): the detector warns before it and at it, and a
  // detector started afresh after a rollback keeps it.
  const bound = objectiveBound(objective, stepper.startLoss, config.blowUp);
  const newDetector = () => new DivergenceDetector(stepper.optimizerConfig, { bound: bound.value });
  let detector = newDetector();
  const points = new RollbackPoints({ state: stepper.save(), traceLength: 0 });
  let guardStatus: GuardedResult["guardStatus"] = "finished";
  const action = options.action ?? "rollback";
  const skipper = action === "skip" ? new ZScoreSkip() : null;
  const clipper = action === "clip" ? new ZClip() : null;
  const skipped: SkippedStep[] = [];
  let clipped = 0;
  const reach = options.rollbackSteps ?? 100;
  // rollback-skip's points: every snapshot back to `reach` steps and one more.
  const ring: { state: ReturnType<Stepper["save"]>; traceLength: number }[] = [];
  /** The values of the step last passed over: seen again at the same point, they are the function's. */
  let passed: { loss: number; gradNorm: number } | null = null;

  for (;;) {
    const k = stepper.step;
    if ((skipper || clipper) && k < config.steps) {
      const { loss, gradNorm } = stepper.current;
      const again = passed !== null && Object.is(passed.loss, loss) && Object.is(passed.gradNorm, gradNorm);
      passed = null;
      const to = clipper ? clipper.clipTo(gradNorm) : gradNorm;
      const why = again
        ? null
        : skipper
          ? skipper.judge(loss, gradNorm)
          : Number.isNaN(to) || !Number.isFinite(loss)
            ? `a non-finite value (loss ${loss}, ‖g‖ ${gradNorm})`
            : null;
      if (why !== null) {
        skipped.push({ step: k, reason: why });
        passed = { loss, gradNorm };
        stepper.skip();
        continue;
      }
      if (!Number.isNaN(to) && to < gradNorm) {
        clipped++;
        stepper.scaleGradient(to / gradNorm);
      }
    }
    // A snapshot candidate: the state this step starts from. It carries the loss and gradient at
    // its point (evaluated by the previous step), so it becomes the good state only once this
    // step's record has shown them finite and the detector calm — never a state not yet checked.
    const candidate = k % keepEvery === 0 ? { state: stepper.save(), traceLength: trace.length } : null;
    const lr = lrAt(k);
    const record = stepper.next(capped() ? lr : undefined);
    if (record === null) break;
    const finite = Number.isFinite(record.loss) && Number.isFinite(record.gradNorm);
    const state = finite
      ? detector.observe({ step: k, x: record.x, loss: record.loss, grad: record.grad, lr })
      : "diverging";
    if ((action === "rollback" || action === "rollback-skip") && (!finite || state === "diverging")) {
      if (interventions.length >= maxRetries) {
        trace.push({
          step: record.step,
          x: record.x,
          loss: record.loss,
          grad: record.grad,
          gradNorm: record.gradNorm,
        });
        guardStatus = "gave-up";
        break;
      }
      const reason = finite
        ? detector.detection.reason
        : `a non-finite value at step ${k} (loss ${record.loss}, ‖g‖ ${record.gradNorm})`;
      const oldLr = Math.max(points.maxLrSince, lr);
      const far =
        action === "rollback-skip"
          ? ([...ring].reverse().find((p) => p.state.k <= k - reach) ?? ring[0])
          : undefined;
      const good = far ?? points.good;
      if (far) ring.splice(ring.indexOf(far) + 1);
      // The restored point's loss and gradient are evaluated afresh: a one-off fault in them (or
      // in the start's) is not brought back.
      stepper.restore(good.state, { reevaluate: true });
      points.rolledBack();
      trace.length = good.traceLength;
      const lowered =
        action === "rollback-skip"
          ? { newCap: cap, how: `back ${k - good.state.k} steps at the same rate (rollback-skip)` }
          : lowerRate(objective, good.state.x, stepper.optimizerConfig, oldLr, factor);
      cap = lowered.newCap;
      interventions.push({
        atStep: k,
        rolledBackTo: good.state.k,
        reason,
        oldLr,
        newLr: lrAt(good.state.k),
        how: lowered.how,
      });
      detector = newDetector();
      continue;
    }
    if (candidate) {
      points.offer(candidate);
      if (action === "rollback-skip") {
        ring.push(candidate);
        while (ring.length > 2 && ring[1]!.state.k <= k - reach) ring.shift();
      }
    }
    points.stepped(lr);
    trace.push(record);
  }
  const resolved = stepper.optimizerConfig;
  return {
    optimizer: { ...resolved, lr: baseLr } as OptimizerConfig,
    x0: Float64Array.from(config.x0),
    steps: config.steps,
    tolerance,
    bound,
    trace,
    verdict: judge(trace, { objective, optimizer: resolved, tolerance, bound }),
    interventions,
    guardStatus,
    detection: detector.detection,
    skipped,
    clipped,
  };
}

/**
 * A guard's rollback points, two deep: `good`, where a rollback goes, and the latest snapshot
 * offered, which becomes good only when the next one is offered with the run still calm. A point a
 * faulty step threw far out can look calm for a step or two before it diverges; by then it is only
 * pending. Beside each, the largest rate used since it: a schedule's spike may already be over
 * when it is detected. Shared by guardedRun and train's guard.
 */
export class RollbackPoints<S> {
  private pending: S | null = null;
  private lrSinceGood = 0;
  private lrSincePending = 0;

  constructor(private current: S) {}

  get good(): S {
    return this.current;
  }

  /** The states held: the good one and the one pending (a caller that owns their memory frees the rest). */
  get kept(): readonly S[] {
    return this.pending === null ? [this.current] : [this.current, this.pending];
  }

  /** The largest rate used since the good state. */
  get maxLrSince(): number {
    return this.lrSinceGood;
  }

  /** A state whose step was checked finite with the detector calm: the one before it becomes good. */
  offer(snapshot: S): void {
    if (this.pending !== null) {
      this.current = this.pending;
      this.lrSinceGood = this.lrSincePending;
    }
    this.pending = snapshot;
    this.lrSincePending = 0;
  }

  /** A step taken at rate `lr`. */
  stepped(lr: number): void {
    this.lrSinceGood = Math.max(this.lrSinceGood, lr);
    this.lrSincePending = Math.max(this.lrSincePending, lr);
  }

  /** The run went back to `good`: what was offered after it is gone. */
  rolledBack(): void {
    this.pending = null;
    this.lrSinceGood = 0;
    this.lrSincePending = 0;
  }
}

/** The cap on the learning rate after a rollback to `at`: below the largest rate used lately, and safe where the curvature says so. */
export function lowerRate(
  objective: Objective,
  at: Float64Array,
  config: OptimizerConfig,
  currentLr: number,
  factor: number,
): { newCap: number; how: string } {
  if (config.name === "sgd") {
    try {
      const est = lanczos(hessianOperator(objective, at), {
        k: 1,
        bottom: false,
        tolerance: 1e-6,
        maxIterations: Math.min(objective.dim, 100),
      });
      // Only λmax sets the cap: negative curvature (a network's saddle directions) limits no rate.
      const critical = criticalLearningRate(config, est.top[0]!.value).lr;
      if (critical !== null && 0.9 * critical < currentLr) {
        return {
          newCap: 0.9 * critical,
          how: `0.9 × the critical rate ${critical.toPrecision(4)} measured at the restored point (λmax = ${est.top[0]!.value.toPrecision(4)})`,
        };
      }
    } catch {
      // fall through to the fixed factor
    }
  }
  return { newCap: currentLr * factor, how: `× ${factor} (the curvature gave no lower safe rate)` };
}
