import type { Objective } from "../../core/objective.js";
import { runToEnd, type Stoppable } from "../../core/stoppable.js";
import { secantCurvature } from "../../core/vec.js";
import { createOptimizer, type OptimizerBase, type OptimizerOptions } from "../../optim/index.js";
import { DEFAULT_BLOW_UP_FACTOR, objectiveBound } from "../../run/divergence.js";

/**
 * How a probe run ended: `diverged` (non-finite, or the loss past the blow-up bound of
 * run/divergence.ts), `converged` (‖∇f‖ below tolerance), `unbounded` (on an objective with a
 * constant Hessian, the loss fell past the mirror of the bound: a quadratic running downhill along
 * negative curvature), or `undecided` (the horizon ran out first: the final and peak losses say
 * how it went).
 */
export type ProbeOutcome = "diverged" | "converged" | "undecided" | "unbounded";

export interface ThresholdCriteria {
  /** Step budget of each probe run (default 200,000). */
  readonly horizon?: number;
  /**
   * The blow-up bound's factor (run/divergence.ts): diverged when the loss passes
   * blowUp × max(|f(x₀)|, the trivial baseline), or is not finite (default 10⁶).
   */
  readonly blowUp?: number;
  /** Converged when ‖∇f‖ falls below this (default 1e-10). */
  readonly gradientTolerance?: number;
  /** Record the curvature along the steps (costs two vector copies per step). */
  readonly trackCurvature?: boolean;
}

/** The secant curvature (g_{k+1} − g_k)ᵀΔx/‖Δx‖² of a probe's steps, as the explanations use it. */
export interface PathCurvature {
  /** Along the first step (≈ the curvature at the start along the first update). */
  readonly first: number;
  /** Along the step that reached the peak loss (NaN when the loss never rose). */
  readonly atPeak: number;
  /** Along the last step taken. */
  readonly last: number;
  readonly max: number;
  readonly min: number;
}

export interface ProbeResult {
  readonly outcome: ProbeOutcome;
  /** Steps taken until the outcome was decided (the horizon when undecided). */
  readonly steps: number;
  readonly startLoss: number;
  readonly finalLoss: number;
  readonly finalX: Float64Array;
  /** The largest loss the run reached and the step it reached it (the start when it never rose). */
  readonly peakLoss: number;
  readonly peakStep: number;
  /** Present when `trackCurvature` was asked for and a step was taken. */
  readonly curvature?: PathCurvature;
}

/**
 * One run without records, as fast as the optimizer and gradient allow: the unit of every
 * bisection and sweep. It stops as soon as its outcome is settled (diverged, converged,
 * unbounded); otherwise it runs the whole horizon.
 */
export function probe(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: OptimizerOptions,
  criteria: ThresholdCriteria = {},
): ProbeResult {
  const horizon = criteria.horizon ?? 200_000;
  const factor = criteria.blowUp ?? DEFAULT_BLOW_UP_FACTOR;
  const tol = criteria.gradientTolerance ?? 1e-10;
  const track = criteria.trackCurvature ?? false;
  const n = objective.dim;
  const opt = createOptimizer(optimizer, n);
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const f0 = objective.gradient(x, g);
  const ceiling = objectiveBound(objective, f0, factor).value;
  // Only a constant Hessian tells that a falling loss will fall for ever (a quadratic, λ < 0).
  const floor = objective.constantHessian ? f0 - ceiling : Number.NEGATIVE_INFINITY;
  let loss = f0;
  let peakLoss = f0;
  let peakStep = 0;
  const px = track ? new Float64Array(n) : null;
  const pg = track ? new Float64Array(n) : null;
  const curv = { first: Number.NaN, atPeak: Number.NaN, last: Number.NaN, max: -Infinity, min: Infinity };
  const result = (outcome: ProbeOutcome, steps: number): ProbeResult => ({
    outcome,
    steps,
    startLoss: f0,
    finalLoss: loss,
    finalX: x,
    peakLoss,
    peakStep,
    ...(track && steps > 0 ? { curvature: { ...curv } } : {}),
  });
  for (let k = 0; k <= horizon; k++) {
    if (!(loss <= ceiling)) return result("diverged", k);
    let s = 0;
    for (let i = 0; i < n; i++) s += g[i]! * g[i]!;
    if (!Number.isFinite(s)) return result("diverged", k);
    if (loss < floor) return result("unbounded", k);
    if (Math.sqrt(s) < tol) return result("converged", k);
    if (k === horizon) break;
    if (px && pg) {
      px.set(x);
      pg.set(g);
    }
    opt.step(x, g);
    loss = objective.gradient(x, g);
    if (loss > peakLoss) {
      peakLoss = loss;
      peakStep = k + 1;
    }
    if (px && pg) {
      const c = secantCurvature(x, px, g, pg);
      if (k === 0) curv.first = c;
      if (peakStep === k + 1) curv.atPeak = c;
      curv.last = c;
      if (c > curv.max) curv.max = c;
      if (c < curv.min) curv.min = c;
    }
  }
  return result("undecided", horizon);
}

export interface ThresholdResult {
  /** The bracket after bisection: `below` passed the test's good side, `above` failed it. */
  readonly below: number;
  readonly above: number;
  /** Geometric midpoint of the bracket. */
  readonly estimate: number;
  readonly probes: number;
  /**
   * Stopped (Ctrl-C) before the bisection ended: `below` is the largest rate found good so far (0
   * when none), `above` the smallest found bad (Infinity when none), `estimate` their geometric
   * midpoint when both are known (NaN otherwise).
   */
  readonly stopped?: true;
}

export interface SearchOptions extends ThresholdCriteria {
  /** First learning rate tried (default 1e-3). */
  readonly start?: number;
  /** Bisect until above/below − 1 ≤ this (default 1e-6). */
  readonly relativeTolerance?: number;
  /** Give up above this rate (default 1e6) or below minLr (default 1e-12). */
  readonly maxLr?: number;
  readonly minLr?: number;
}

/**
 * The boundary of `bad` in lr, by bracketing (×4 steps from `start`) then bisection on log lr:
 * `below` is the largest rate found good, `above` the smallest found bad. Null when every rate up
 * to maxLr is good; below = 0 when every rate down to minLr is bad. The set of bad rates need not
 * be an interval; bisection finds one boundary, the one nearest the start.
 */
export function lrBoundary(
  bad: (lr: number) => boolean,
  options: SearchOptions = {},
): ThresholdResult | null {
  return runToEnd(lrBoundarySteps(bad, options));
}

/**
 * lrBoundary as a computation that yields after each rate tried: stopped there (`next(true)`),
 * it ends with the bracket reached so far, marked `stopped`.
 */
export function* lrBoundarySteps(
  bad: (lr: number) => boolean,
  options: SearchOptions = {},
): Stoppable<ThresholdResult | null> {
  const rtol = options.relativeTolerance ?? 1e-6;
  const maxLr = options.maxLr ?? 1e6;
  const minLr = options.minLr ?? 1e-12;
  if (!(rtol > 0)) throw new Error(`invalid tolerance: ${rtol} (a number > 0)`);
  let probes = 0;
  // The largest rate found good and the smallest found bad, so far.
  let good = 0;
  let worst = Number.POSITIVE_INFINITY;
  let stop: boolean | undefined = false;
  const test = function* (lr: number): Generator<unknown, boolean, boolean | undefined> {
    probes++;
    const b = bad(lr);
    if (b) worst = Math.min(worst, lr);
    else good = Math.max(good, lr);
    stop = yield;
    return b;
  };
  const stopped = (): ThresholdResult => ({
    below: good,
    above: worst,
    estimate: good > 0 && Number.isFinite(worst) ? Math.sqrt(good * worst) : Number.NaN,
    probes,
    stopped: true,
  });
  let lo = options.start ?? 1e-3;
  let hi = lo;
  if (!(lo > 0 && Number.isFinite(lo))) throw new Error(`invalid start: ${lo} (a learning rate > 0)`);
  if (yield* test(lo)) {
    do {
      if (stop) return stopped();
      hi = lo;
      lo /= 4;
      if (lo < minLr) return { below: 0, above: hi, estimate: hi, probes };
    } while (yield* test(lo));
  } else {
    do {
      if (stop) return stopped();
      lo = hi;
      hi *= 4;
      if (hi > maxLr) return null;
    } while (!(yield* test(hi)));
  }
  while (hi / lo - 1 > rtol) {
    if (stop) return stopped();
    const mid = Math.sqrt(lo * hi);
    if (yield* test(mid)) hi = mid;
    else lo = mid;
  }
  return { below: lo, above: hi, estimate: Math.sqrt(lo * hi), probes };
}

/**
 * The bad side of the two boundaries a search bisects: past the divergence threshold a run
 * diverges; past the convergence threshold it no longer converges.
 */
export const diverged = (r: ProbeResult): boolean => r.outcome === "diverged";
export const notConverged = (r: ProbeResult): boolean => r.outcome !== "converged";

/** The smallest learning rate whose run diverges within the horizon; null if none up to maxLr. */
export function divergenceThreshold(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: OptimizerBase,
  options: SearchOptions = {},
): ThresholdResult | null {
  return lrBoundary(
    (lr) => diverged(probe(objective, x0, { ...optimizer, lr } as OptimizerOptions, options)),
    options,
  );
}

/**
 * Where Infinity and then NaN first appear in the loss when nothing stops the run (the runner
 * stops at the first non-finite value; this keeps going to show the whole story).
 */
export function nonFiniteSteps(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: OptimizerOptions,
  maxSteps = 100_000,
): { infinity: number | null; nan: number | null } {
  const opt = createOptimizer(optimizer, objective.dim);
  const x = Float64Array.from(x0);
  const g = new Float64Array(objective.dim);
  let infinity: number | null = null;
  for (let k = 0; k <= maxSteps; k++) {
    const loss = objective.gradient(x, g);
    if (Number.isNaN(loss)) return { infinity, nan: k };
    if (loss === Number.POSITIVE_INFINITY && infinity === null) infinity = k;
    opt.step(x, g);
  }
  return { infinity, nan: null };
}
