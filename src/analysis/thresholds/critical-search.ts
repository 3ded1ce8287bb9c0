import { fmt } from "../../core/format.js";
import type { Objective } from "../../objectives/types.js";
import {
  type OptimizerBase,
  type OptimizerConfig,
  type OptimizerOptions,
  resolveOptimizerConfig,
} from "../../optim/index.js";
import { type StabilityReport, stabilityAt } from "./stability.js";
import {
  convergenceThreshold,
  divergenceThreshold,
  probe,
  type SearchOptions,
  type ThresholdResult,
} from "./threshold.js";

export interface CriticalSearch {
  readonly optimizer: OptimizerConfig;
  readonly x0: Float64Array;
  readonly criteria: Required<
    Pick<
      SearchOptions,
      "horizon" | "divergenceFactor" | "gradientTolerance" | "relativeTolerance" | "maxLr" | "minLr"
    >
  >;
  /** Largest rate that still converges; null if even maxLr converges. */
  readonly convergence: ThresholdResult | null;
  /** Smallest rate that diverges; null if none up to maxLr does. */
  readonly divergence: ThresholdResult | null;
  /** The local prediction from the curvature at x₀. */
  readonly atStart: StabilityReport | null;
  /** Where a converging run ended, and the local prediction there. */
  readonly minimizer: Float64Array | null;
  readonly atMinimizer: StabilityReport | null;
  /** One or two sentences on why the local and measured answers differ (or agree). */
  readonly explanation: string;
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
  const criteria = {
    horizon: options.horizon ?? 200_000,
    divergenceFactor: options.divergenceFactor ?? 1e12,
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
  const divergence = divergenceThreshold(objective, x0, optimizer, search);
  const convergence = convergenceThreshold(objective, x0, optimizer, search);
  let minimizer: Float64Array | null = null;
  if (convergence && convergence.below > 0) {
    const settled = probe(
      objective,
      x0,
      { ...optimizer, lr: convergence.below } as OptimizerOptions,
      criteria,
    );
    if (settled.outcome === "converged") minimizer = settled.finalX;
  }
  const atMinimizer = minimizer ? local(minimizer) : null;
  return {
    optimizer: config,
    x0: Float64Array.from(x0),
    criteria,
    convergence,
    divergence,
    atStart,
    minimizer,
    atMinimizer,
    explanation: explain(divergence, convergence, atStart, atMinimizer, criteria.maxLr),
  };
}

function explain(
  divergence: ThresholdResult | null,
  convergence: ThresholdResult | null,
  atStart: StabilityReport | null,
  atMinimizer: StabilityReport | null,
  maxLr: number,
): string {
  const parts: string[] = [];
  const ls = atStart?.critical.lr ?? null;
  const lm = atMinimizer?.critical.lr ?? null;
  if (divergence === null) {
    parts.push(
      `No rate up to ${fmt(maxLr)} diverged: the curvature fades away from the start, so an overshooting step lands on flatter ground and is never amplified.`,
    );
  } else if (ls !== null) {
    const d = divergence.estimate;
    const lamStart = atStart!.lambdaMax;
    const lamEnd = atMinimizer?.lambdaMax;
    if (Math.abs(d / ls - 1) <= 0.02) {
      parts.push(
        `The start's local prediction ${fmt(ls)} matches the measured divergence threshold ${fmt(d)}: the curvature barely changes along the path (as on a quadratic).`,
      );
    } else if (d > ls) {
      const flatter =
        lamEnd !== undefined && lamEnd < lamStart ? ` (λmax = ${fmt(lamEnd)} at the minimizer)` : "";
      parts.push(
        `The start's local prediction ${fmt(ls)} (λmax = ${fmt(lamStart)}) is conservative: a step there does overshoot, but lands where the curvature is lower than at the start${flatter}, so the overshoot is not amplified and runs survive rates up to ${fmt(d)}.`,
      );
    } else {
      const steeper =
        lamEnd !== undefined && lamEnd > lamStart ? ` (λmax = ${fmt(lamEnd)} at the minimizer)` : "";
      parts.push(
        `The start's local prediction ${fmt(ls)} (λmax = ${fmt(lamStart)}) is optimistic: the path crosses steeper ground before it settles${steeper}, and rates above ${fmt(d)} overshoot there.`,
      );
    }
  } else if (atStart && atStart.lambdaMin < 0) {
    parts.push(
      `At the start the curvature is negative (λmin = ${fmt(atStart.lambdaMin)}), so the local formula gives no rate there; the runs roll off that region and the threshold is set further along the path.`,
    );
  }
  if (convergence && lm !== null && convergence.below > 0) {
    const c = convergence.estimate;
    if (Math.abs(c / lm - 1) <= 0.02)
      parts.push(
        `Near the minimizer f is close to its quadratic model, so the convergence threshold ${fmt(c)} is the minimizer's local prediction ${fmt(lm)}.`,
      );
  }
  if (convergence && divergence && divergence.estimate > convergence.estimate * (1 + 1e-3)) {
    parts.push(
      `Between ${fmt(convergence.estimate)} and ${fmt(divergence.estimate)} runs neither converge nor diverge within the horizon: they keep bouncing.`,
    );
  }
  return parts.join(" ");
}
