import { fmt, pluralLong } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { runToEnd, type Stoppable } from "../../core/stoppable.js";
import {
  type OptimizerBase,
  type OptimizerConfig,
  type OptimizerOptions,
  resolveOptimizerConfig,
} from "../../optim/index.js";
import { type BlowUpBound, boundText, DEFAULT_BLOW_UP_FACTOR, objectiveBound } from "../../run/divergence.js";
import { type StabilityReport, stabilityAt } from "./stability.js";
import {
  diverged,
  lrBoundarySteps,
  notConverged,
  type ProbeResult,
  probe,
  type SearchOptions,
  type ThresholdResult,
} from "./threshold.js";

export interface CriticalSearch {
  readonly optimizer: OptimizerConfig;
  readonly x0: Float64Array;
  readonly criteria: Required<
    Pick<SearchOptions, "horizon" | "blowUp" | "gradientTolerance" | "relativeTolerance" | "maxLr" | "minLr">
  >;
  /** Largest rate that still converges; null if even maxLr converges. */
  readonly convergence: ThresholdResult | null;
  /** Smallest rate that diverges; null if none up to maxLr does. */
  readonly divergence: ThresholdResult | null;
  /** The local prediction from the curvature at x₀. */
  readonly atStart: StabilityReport | null;
  /** The blow-up bound the runs were judged by (run/divergence.ts). */
  readonly bound: BlowUpBound;
  /** Where a converging run ended, and the local prediction there. */
  readonly minimizer: Float64Array | null;
  readonly atMinimizer: StabilityReport | null;
  /** One or two sentences on why the local and measured answers differ (or agree). */
  readonly explanation: string;
  /**
   * Stopped by Ctrl-C: each threshold is the bracket its runs reached (marked `stopped`; one not
   * begun has no runs), and no run was traced for the explanation.
   */
  readonly stopped?: true;
}

/** The runs a search makes, about: bracketing from the start's prediction, then bisection, for both thresholds, and the traced runs. */
export function criticalSearchRuns(relativeTolerance: number): number {
  // From a ×4 bracket, bisection on log lr halves ln 4 until it is below ln(1 + tol).
  const bisections = Math.ceil(Math.log2(Math.log(4) / Math.log1p(relativeTolerance)));
  return 2 * (2 + bisections) + 5;
}

/**
 * The empirical learning-rate thresholds of an optimizer from a start point, by bisection on real
 * runs, beside the local predictions 2/λmax-style at the start and at the minimizer the runs reach.
 */
export function criticalLrSearch(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: OptimizerBase,
  options: SearchOptions = {},
): CriticalSearch {
  return runToEnd(criticalLrSearchSteps(objective, x0, optimizer, options));
}

/**
 * criticalLrSearch as a computation that yields after each run (runStoppable gives Ctrl-C a turn
 * between them); `onRun` hears the count of runs made. Stopped, it ends with the brackets reached.
 */
export function* criticalLrSearchSteps(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: OptimizerBase,
  options: SearchOptions = {},
  onRun?: (runs: number) => void,
): Stoppable<CriticalSearch> {
  const criteria = {
    horizon: options.horizon ?? 200_000,
    blowUp: options.blowUp ?? DEFAULT_BLOW_UP_FACTOR,
    gradientTolerance: options.gradientTolerance ?? 1e-10,
    relativeTolerance: options.relativeTolerance ?? 1e-6,
    maxLr: options.maxLr ?? 1e6,
    minLr: options.minLr ?? 1e-12,
  };
  const config = resolveOptimizerConfig({ ...optimizer, lr: 1 } as OptimizerOptions);
  const local = (at: ArrayLike<number>): StabilityReport | null => {
    const r = stabilityAt(objective, at, config);
    return r.spectrum.converged ? r : null;
  };
  const atStart = local(x0);
  const start = atStart?.critical.lr ?? atStart?.criticalGd.lr ?? 1e-3;
  const search = { ...criteria, start };
  let runs = 0;
  const run = (lr: number, c: typeof criteria & { trackCurvature?: boolean }) => {
    const r = probe(objective, x0, { ...optimizer, lr } as OptimizerOptions, c);
    onRun?.(++runs);
    return r;
  };
  const bound = objectiveBound(objective, objective.value(Float64Array.from(x0)), criteria.blowUp);
  // Stopped: what was measured (undefined: a threshold not begun, which has no runs).
  const partial = (
    divergence: ThresholdResult | null,
    convergence: ThresholdResult | null | undefined,
  ): CriticalSearch => {
    const none: ThresholdResult = {
      below: 0,
      above: Infinity,
      estimate: Number.NaN,
      probes: 0,
      stopped: true,
    };
    return {
      optimizer: config,
      x0: Float64Array.from(x0),
      criteria,
      divergence,
      convergence: convergence === undefined ? none : convergence,
      atStart,
      bound,
      minimizer: null,
      atMinimizer: null,
      explanation: `Stopped by Ctrl-C after ${pluralLong(runs, "run")}: each threshold is the bracket its runs reached, not bisected to the tolerance.`,
      stopped: true,
    };
  };
  // The smallest rate that diverges, then the largest that still converges.
  const divergence = yield* lrBoundarySteps((lr) => diverged(run(lr, search)), search);
  if (divergence?.stopped) return partial(divergence, undefined);
  if (yield) return partial(divergence, undefined);
  const convergence = yield* lrBoundarySteps((lr) => notConverged(run(lr, search)), search);
  if (convergence?.stopped) return partial(divergence, convergence);
  let minimizer: Float64Array | null = null;
  if (convergence && convergence.below > 0) {
    const settled = run(convergence.below, criteria);
    if (settled.outcome === "converged") minimizer = settled.finalX;
  }
  const atMinimizer = minimizer ? local(minimizer) : null;
  // The runs the explanation is read from: either side of the divergence threshold, and one in the
  // gap between the thresholds, with the curvature along their steps.
  const traced = { ...criteria, trackCurvature: true };
  // The traced runs, each followed by a turn (a stop there leaves the thresholds whole: the
  // explanation is then not written).
  const lastStable =
    divergence && divergence.below > 0 ? { lr: divergence.below, run: run(divergence.below, traced) } : null;
  if (yield) return partial(divergence, convergence);
  const firstDiverged = divergence ? { lr: divergence.above, run: run(divergence.above, traced) } : null;
  if (yield) return partial(divergence, convergence);
  const atStartRate = run(start, traced);
  if (yield) return partial(divergence, convergence);
  const gapLr =
    convergence && divergence && convergence.below > 0 && divergence.below > convergence.above
      ? Math.sqrt(convergence.above * divergence.below)
      : null;
  const facts: Facts = {
    gradNorm0: startGradNorm(objective, x0),
    bound,
    lastStable,
    firstDiverged,
    atStartRate,
    inGap: gapLr === null ? null : { lr: gapLr, run: run(gapLr, traced) },
  };
  return {
    optimizer: config,
    x0: Float64Array.from(x0),
    criteria,
    convergence,
    divergence,
    atStart,
    bound: facts.bound,
    minimizer,
    atMinimizer,
    explanation: explain(divergence, convergence, atStart, atMinimizer, criteria, facts),
  };
}

interface Facts {
  readonly gradNorm0: number;
  readonly bound: BlowUpBound;
  readonly lastStable: { readonly lr: number; readonly run: ProbeResult } | null;
  readonly firstDiverged: { readonly lr: number; readonly run: ProbeResult } | null;
  readonly atStartRate: ProbeResult;
  readonly inGap: { readonly lr: number; readonly run: ProbeResult } | null;
}

function startGradNorm(objective: Objective, x0: ArrayLike<number>): number {
  const g = new Float64Array(objective.dim);
  objective.gradient(Float64Array.from(x0), g);
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i]! * g[i]!;
  return Math.sqrt(s);
}

/**
 * One or more sentences on why the measured thresholds are where they are, read from the runs:
 * a stationary start, an objective that falls without limit, runs that overflowed running
 * downhill, the curvature along the path against the start's, and how a run in the gap between
 * the thresholds ended.
 */
function explain(
  divergence: ThresholdResult | null,
  convergence: ThresholdResult | null,
  atStart: StabilityReport | null,
  atMinimizer: StabilityReport | null,
  criteria: { horizon: number; blowUp: number; gradientTolerance: number; maxLr: number },
  facts: Facts,
): string {
  const parts: string[] = [];
  const ls = atStart?.critical.lr ?? null;
  const lm = atMinimizer?.critical.lr ?? null;
  const steps = pluralLong(criteria.horizon, "step");
  if (facts.gradNorm0 < criteria.gradientTolerance) {
    parts.push(
      `x₀ is a stationary point (‖∇f(x₀)‖ = ${fmt(facts.gradNorm0)} < ${fmt(criteria.gradientTolerance)}): gradient descent never moves from it, so every rate "converges" at step 0 and none diverges.${ls !== null ? ` The local limit ${fmt(ls)} is what any perturbation of x₀ would meet.` : ""}`,
    );
    return parts.join(" ");
  }
  if (facts.atStartRate.outcome === "unbounded" && divergence === null) {
    parts.push(
      `The loss falls without limit: the Hessian is the same everywhere and has negative curvature${atStart ? ` (λmin = ${fmt(atStart.lambdaMin)})` : ""}, so f is unbounded below — the runs fell from ${fmt(facts.atStartRate.startLoss)} past ${fmt(facts.atStartRate.finalLoss)}. No rate converges, and none diverges by overshooting.`,
    );
    return parts.join(" ");
  }
  const above = facts.firstDiverged;
  if (above && above.run.finalLoss < above.run.startLoss) {
    parts.push(
      `The runs counted as diverging ran downhill: at ${fmt(above.lr)} the loss fell from ${fmt(above.run.startLoss)} to ${fmt(above.run.finalLoss)} before the values overflowed at step ${above.run.steps} — f has no minimum along that path, so this threshold is how fast a run leaves, not an overshoot.`,
    );
  } else if (divergence === null) {
    parts.push(
      `No rate up to ${fmt(criteria.maxLr)} diverged within ${steps}${facts.atStartRate.curvature ? `; along the runs the curvature of the steps stayed between ${fmt(facts.atStartRate.curvature.min)} and ${fmt(facts.atStartRate.curvature.max)}` : ""}.`,
    );
  } else if (ls !== null && atStart) {
    const d = divergence.estimate;
    const lam0 = atStart.lambdaMax;
    const c = facts.lastStable?.run.curvature;
    const flat = c && Math.abs(c.max / lam0 - 1) <= 0.01 && Math.abs(c.min / lam0 - 1) <= 0.01;
    if (flat) {
      const grow = above?.run.curvature ? growthPerStep(above.lr, lam0, atStart) : null;
      parts.push(
        `The curvature along the runs is ${fmt(lam0)} at every step, as at the start, so the local limit ${fmt(ls)} is exact here${
          d / ls - 1 > 1e-3
            ? `; the measured ${fmt(d)} sits above it only because the horizon is ${steps}: just past the limit the error grows slowly${grow !== null ? ` (×${fmt(grow)} per step at ${fmt(above!.lr)})` : ""}, and a run must pass the blow-up bound ${boundText(facts.bound)} to count as diverged (it did at step ${above!.run.steps})`
            : ""
        }.`,
      );
    } else if (Math.abs(d / ls - 1) <= 0.02) {
      parts.push(
        `The start's local prediction ${fmt(ls)} matches the measured divergence threshold ${fmt(d)}.`,
      );
    } else if (d > ls) {
      const along = c
        ? ` (along the run at ${fmt(facts.lastStable!.lr)} the curvature of the steps went from ${fmt(c.first)} to ${fmt(c.last)})`
        : "";
      parts.push(
        `The start's local prediction ${fmt(ls)} (λmax = ${fmt(lam0)}) is conservative: runs survive rates up to ${fmt(d)}${along}${lm !== null && atMinimizer!.lambdaMax < lam0 ? `, and the minimizer they reach is flatter (λmax = ${fmt(atMinimizer!.lambdaMax)})` : ""}.`,
      );
    } else {
      const along = above?.run.curvature
        ? ` (along the run at ${fmt(above.lr)} the curvature of the steps reached ${fmt(above.run.curvature.max)})`
        : "";
      parts.push(
        `The start's local prediction ${fmt(ls)} (λmax = ${fmt(lam0)}) is optimistic: the path crosses steeper ground${along}, and rates above ${fmt(d)} overshoot there.`,
      );
    }
  } else if (atStart && atStart.lambdaMax <= 0) {
    parts.push(
      `At the start there is no positive curvature (λmax = ${fmt(atStart.lambdaMax)}), so the local formula gives no rate; the threshold is set further along the path.`,
    );
  }
  if (convergence && lm !== null && convergence.below > 0) {
    const c = convergence.estimate;
    if (Math.abs(c / lm - 1) <= 0.02)
      parts.push(
        `Near the minimizer f is close to its quadratic model, so the convergence threshold ${fmt(c)} is the minimizer's local prediction ${fmt(lm)}.`,
      );
  }
  if (facts.inGap) {
    const { lr, run } = facts.inGap;
    const end = run.finalLoss < run.startLoss ? "below its start" : "not below its start";
    const c = run.curvature;
    const limit = ls !== null && atStart ? (ls * atStart.lambdaMax) / lr : null;
    const edge =
      c && limit !== null && Number.isFinite(c.last)
        ? `; the curvature along its last step was ${fmt(c.last)}, ${fmt(c.last / limit)}× the limit ${fmt(limit)} at that rate${Math.abs(c.last / limit - 1) < 0.1 ? ": it hovers at the edge of stability" : ""}`
        : "";
    parts.push(
      `Between the thresholds a run neither converges nor diverges within ${steps}: at ${fmt(lr)} the loss went from ${fmt(run.startLoss)} to ${fmt(run.finalLoss)} (${end}) with ‖∇f‖ still above ${fmt(criteria.gradientTolerance)}${edge}.`,
    );
  }
  return parts.join(" ");
}

/** For plain GD on a constant curvature λ: the loss's per-step factor (1 − ηλ)². */
function growthPerStep(lr: number, lambda: number, atStart: StabilityReport): number | null {
  return atStart.critical.formula === "2/λmax" ? (1 - lr * lambda) ** 2 : null;
}
