import type { Objective } from "../objectives/types.js";
import { createOptimizer, type OptimizerOptions } from "../optim/index.js";

/** How a probe run ended. */
export type ProbeOutcome = "diverged" | "converged" | "undecided";

export interface ThresholdCriteria {
  /** Step budget of each probe run (default 200,000). */
  readonly horizon?: number;
  /** Diverged when the loss exceeds this multiple of the initial loss, or is not finite (default 1e12). */
  readonly divergenceFactor?: number;
  /** Converged when ‖∇f‖ falls below this (default 1e-10). */
  readonly gradientTolerance?: number;
}

/**
 * One run without records, as fast as the optimizer and gradient allow: the unit of every
 * bisection and sweep.
 */
export function probe(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: OptimizerOptions,
  criteria: ThresholdCriteria = {},
): { outcome: ProbeOutcome; steps: number; finalLoss: number } {
  const horizon = criteria.horizon ?? 200_000;
  const factor = criteria.divergenceFactor ?? 1e12;
  const tol = criteria.gradientTolerance ?? 1e-10;
  const n = objective.dim;
  const opt = createOptimizer(optimizer, n);
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const f0 = objective.gradient(x, g);
  // A loss that starts at or below zero gives no scale of its own; 1 stands in for it.
  const ceiling = f0 + factor * Math.max(Math.abs(f0), 1);
  let loss = f0;
  for (let k = 0; k <= horizon; k++) {
    if (!(loss <= ceiling)) return { outcome: "diverged", steps: k, finalLoss: loss };
    let s = 0;
    for (let i = 0; i < n; i++) s += g[i]! * g[i]!;
    if (!Number.isFinite(s)) return { outcome: "diverged", steps: k, finalLoss: loss };
    if (Math.sqrt(s) < tol) return { outcome: "converged", steps: k, finalLoss: loss };
    if (k === horizon) break;
    opt.step(x, g);
    loss = objective.gradient(x, g);
  }
  return { outcome: "undecided", steps: horizon, finalLoss: loss };
}

export interface ThresholdResult {
  /** Smallest probed lr that diverged and largest that did not, bracketing the threshold. */
  readonly below: number;
  readonly above: number;
  readonly estimate: number;
  readonly probes: number;
}

/**
 * The divergence threshold by bracketing then bisection on log lr: the smallest learning rate
 * whose run diverges within the horizon. Returns null when no rate up to `maxLr` diverges.
 */
export function divergenceThreshold(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: Omit<OptimizerOptions, "lr"> & { name: OptimizerOptions["name"] },
  options: ThresholdCriteria & {
    start?: number;
    relativeTolerance?: number;
    maxLr?: number;
    minLr?: number;
  } = {},
): ThresholdResult | null {
  const rtol = options.relativeTolerance ?? 1e-6;
  const maxLr = options.maxLr ?? 1e6;
  const minLr = options.minLr ?? 1e-12;
  let probes = 0;
  const diverges = (lr: number) => {
    probes++;
    return probe(objective, x0, { ...optimizer, lr } as OptimizerOptions, options).outcome === "diverged";
  };
  let lo = options.start ?? 1e-3;
  let hi = lo;
  if (diverges(lo)) {
    do {
      hi = lo;
      lo /= 4;
      if (lo < minLr) return { below: 0, above: hi, estimate: hi, probes };
    } while (diverges(lo));
  } else {
    do {
      lo = hi;
      hi *= 4;
      if (hi > maxLr) return null;
    } while (!diverges(hi));
  }
  while (hi / lo - 1 > rtol) {
    const mid = Math.sqrt(lo * hi);
    if (diverges(mid)) hi = mid;
    else lo = mid;
  }
  return { below: lo, above: hi, estimate: Math.sqrt(lo * hi), probes };
}
