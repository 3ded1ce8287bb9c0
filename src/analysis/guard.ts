import { allFinite, dot, norm2 } from "../core/vec.js";
import type { Objective } from "../objectives/types.js";
import { createOptimizer, type OptimizerConfig } from "../optim/index.js";
import type { RunConfig, RunResult } from "../run/runner.js";
import type { StepRecord } from "../run/types.js";
import { judge } from "../run/verdict.js";
import { criticalLearningRate } from "./critical.js";
import { type Detection, DivergenceDetector } from "./detector.js";
import { hessianOperator } from "./hvp.js";
import { lanczos } from "./lanczos.js";

/**
 * The guard: runs the optimizer with the early-warning detector on, keeps the last good state
 * (point and optimizer state, every `keepEvery` steps while the run looks stable), and when the
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
}

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
  readonly detection: Detection;
}

export function guardedRun(config: RunConfig, options: GuardOptions = {}): GuardedResult {
  const keepEvery = options.keepEvery ?? 10;
  const maxRetries = options.maxRetries ?? 5;
  const factor = options.factor ?? 0.5;
  const { objective } = config;
  const n = objective.dim;
  const tolerance = config.tolerance ?? 1e-10;
  const optimizer = createOptimizer(config.optimizer, n);
  const baseLr = optimizer.config.lr;
  // The guard caps the rate: a constant rate is lowered to the cap, a schedule is clipped only where
  // it would exceed it (a spike), its shape elsewhere untouched.
  let cap = Number.POSITIVE_INFINITY;
  const lrAt = (k: number) => Math.min(cap, config.schedule ? config.schedule(k) : baseLr);

  let x = Float64Array.from(config.x0);
  let g = new Float64Array(n);
  let loss = objective.gradient(x, g);
  const trace: StepRecord[] = [];
  const interventions: Intervention[] = [];
  let detector = new DivergenceDetector(optimizer.config);
  let good = { step: 0, x: Float64Array.from(x), state: optimizer.snapshot(), traceLength: 0 };
  let k = 0;
  // The largest rate used since the good state: a schedule spike may already be over when it is detected.
  let maxLrSince = 0;
  let guardStatus: GuardedResult["guardStatus"] = "finished";

  while (true) {
    const gradNorm = norm2(g);
    const finite = Number.isFinite(loss) && Number.isFinite(gradNorm);
    const lr = lrAt(k);
    const state = finite ? detector.observe({ step: k, x, loss, grad: g, lr }) : "diverging";
    if (!finite || state === "diverging") {
      if (interventions.length >= maxRetries) {
        trace.push({ step: k, x, loss, grad: g, gradNorm });
        guardStatus = "gave-up";
        break;
      }
      const reason = finite
        ? detector.detection.reason
        : `a non-finite value at step ${k} (loss ${loss}, ‖g‖ ${gradNorm})`;
      const oldLr = lr;
      const { newCap, how } = lowerRate(
        objective,
        good.x,
        optimizer.config,
        Math.max(maxLrSince, lr),
        factor,
      );
      cap = newCap;
      interventions.push({ atStep: k, rolledBackTo: good.step, reason, oldLr, newLr: lrAt(good.step), how });
      // Roll back: point, optimizer state, and the records after the good step.
      x = Float64Array.from(good.x);
      optimizer.restore(good.state);
      trace.length = good.traceLength;
      k = good.step;
      g = new Float64Array(n);
      loss = objective.gradient(x, g);
      detector = new DivergenceDetector(optimizer.config);
      maxLrSince = 0;
      continue;
    }
    if (k === config.steps || gradNorm <= tolerance) {
      trace.push({ step: k, x, loss, grad: g, gradNorm });
      break;
    }
    if (k % keepEvery === 0 && state !== "edge-of-stability") {
      good = { step: k, x: Float64Array.from(x), state: optimizer.snapshot(), traceLength: trace.length };
      maxLrSince = 0;
    }
    maxLrSince = Math.max(maxLrSince, lr);
    const xNext = Float64Array.from(x);
    optimizer.setLearningRate(lr);
    optimizer.step(xNext, g);
    const gNext = new Float64Array(n);
    const lossNext = objective.gradient(xNext, gNext);
    const dx = new Float64Array(n);
    let firstOrder = 0;
    for (let i = 0; i < n; i++) {
      dx[i] = xNext[i]! - x[i]!;
      firstOrder += g[i]! * dx[i]!;
    }
    // The same second-order prediction as the runner's, so guarded and plain traces read alike.
    let secondOrder = Number.NaN;
    if (allFinite(dx)) {
      const hdx = new Float64Array(n);
      objective.hessianVector(x, dx, hdx);
      secondOrder = firstOrder + 0.5 * dot(dx, hdx);
    }
    trace.push({
      step: k,
      x,
      loss,
      grad: g,
      gradNorm,
      deltaLoss: lossNext - loss,
      firstOrder,
      secondOrder,
      ...(config.schedule || cap < Number.POSITIVE_INFINITY ? { lr } : {}),
    });
    x = xNext;
    g = gNext;
    loss = lossNext;
    k++;
  }
  const resolved = optimizer.config;
  return {
    optimizer: { ...resolved, lr: baseLr } as OptimizerConfig,
    x0: Float64Array.from(config.x0),
    steps: config.steps,
    tolerance,
    trace,
    verdict: judge(trace, { objective, optimizer: resolved, tolerance }),
    interventions,
    guardStatus,
    detection: detector.detection,
  };
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
        tolerance: 1e-6,
        maxIterations: Math.min(objective.dim, 100),
      });
      // Negative curvature (a network's saddle directions) sets no step-size limit for the cap.
      const critical = criticalLearningRate(
        config,
        est.top[0]!.value,
        Math.max(0, est.bottom?.value ?? 0),
      ).lr;
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
