import { plural } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { runToEnd, type Stoppable } from "../../core/stoppable.js";
import {
  createOptimizer,
  type OptimizerBase,
  type OptimizerOptions,
  resolveOptimizerConfig,
} from "../../optim/index.js";
import { type StabilityReport, stabilityAtSteps } from "./stability.js";

/**
 * The learning-rate range test (Smith, 2017), as fastai's `lr_find` runs it (fastai 2.8.9,
 * callback/schedule.py): one run whose rate grows every step, the loss smoothed by a debiased
 * EMA, stopped once the smoothed loss passes `stopFactor`× its best; then fastai's suggestion
 * functions on the smoothed losses with the first ⌊N/10⌋ and the last 5 points dropped.
 *
 * - exponential ramp (fastai): η_k = start·(end/start)^(k/N) for k = 0 … N−1 (end itself is
 *   never reached); linear ramp (torch-lr-finder): η_k = start + k/(N−1)·(end − start);
 * - the loss recorded at step k is the loss at the weights the step starts from (the batch's
 *   loss, as fastai records it), or, in validation mode (torch-lr-finder's `val_loader`), the
 *   validation loss after the step;
 * - smoothing: a_k = β·a_{k−1} + (1 − β)·loss_k, smoothed_k = a_k/(1 − β^{k+1});
 * - suggestions (fastai's valley, slide, minimum, steep), in float64 where fastai rounds to float32.
 *
 * Beside it, the curvature at the start: for plain SGD on a smooth problem, 2/λmax is the
 * stability limit itself.
 */
export interface RangeTestOptions {
  readonly start?: number;
  readonly end?: number;
  /** Steps of the ramp, fastai's num_it (default 100; at least 6 as fastai clamps it). */
  readonly steps?: number;
  /** "exp" (fastai, the default) or "linear" (torch-lr-finder's step_mode="linear"). */
  readonly mode?: "exp" | "linear";
  /** EMA factor of the smoothed loss (default 0.98). */
  readonly beta?: number;
  /** Stop once the smoothed loss exceeds this multiple of its best (default 4; Infinity never stops). */
  readonly stopFactor?: number;
  /** Points dropped before the suggestions: the first (default ⌊steps/10⌋) and the last (default 5). */
  readonly skipStart?: number;
  readonly skipEnd?: number;
  /**
   * The loss and gradient of step k at x, into g: a minibatch, for networks trained on batches.
   * Default: the objective's own (full batch).
   */
  readonly lossAt?: (k: number, x: Float64Array, g: Float64Array) => number;
  /** Validation mode: the loss recorded for step k is this, at the weights after the step. */
  readonly validationLoss?: (x: Float64Array) => number;
  /** λmax at the start (default: by Lanczos on the objective; null to skip it). */
  readonly curvature?: StabilityReport | null;
  /** Hears the ramp's steps taken, of its total (the ramp usually stops before it). */
  readonly onStep?: (steps: number, total: number) => void;
}

export interface RangePoint {
  readonly step: number;
  readonly lr: number;
  readonly loss: number;
  readonly smoothed: number;
}

export interface RangeTest {
  readonly points: readonly RangePoint[];
  readonly stoppedAt: number | null;
  readonly stopReason: string;
  /** The points the suggestions were read from (indices into points, end exclusive). */
  readonly used: { readonly from: number; readonly to: number };
  /** fastai's suggestions; null where the kept points are too few for the rule (slide needs 16). */
  readonly suggestions: {
    readonly valley: number | null;
    readonly slide: number | null;
    readonly minimumOver10: number | null;
    readonly steepest: number | null;
  };
  /** The curvature at the start point, and the critical rate it implies for this optimizer. */
  readonly curvature: StabilityReport | null;
  readonly advice: string;
  /** Stopped by Ctrl-C: the ramp ends at `stoppedAt`, and the curvature was not measured. */
  readonly stopped?: true;
}

export function lrRangeTest(
  objective: Objective,
  x0: ArrayLike<number>,
  base: OptimizerBase,
  options: RangeTestOptions = {},
): RangeTest {
  return runToEnd(lrRangeTestSteps(objective, x0, base, options));
}

/** Between yields of the ramp (a turn of the event loop each, for Ctrl-C), at least this long. */
const YIELD_MS = 100;

/**
 * lrRangeTest as a computation that yields every YIELD_MS of the ramp and after each Lanczos step
 * of the curvature: stopped there (`next(true)`), the ramp ends where it is (its suggestions from
 * the points so far) and the curvature is not measured.
 */
export function* lrRangeTestSteps(
  objective: Objective,
  x0: ArrayLike<number>,
  base: OptimizerBase,
  options: RangeTestOptions = {},
): Stoppable<RangeTest> {
  const start = options.start ?? 1e-7;
  const end = options.end ?? 10;
  const steps = Math.max(options.steps ?? 100, 6);
  const mode = options.mode ?? "exp";
  const beta = options.beta ?? 0.98;
  const stopFactor = options.stopFactor ?? 4;
  const skipStart = options.skipStart ?? Math.floor((options.steps ?? 100) / 10);
  const skipEnd = options.skipEnd ?? 5;
  if (!(start > 0 && end > start)) throw new Error(`invalid range: ${start} → ${end} (need 0 < start < end)`);
  if (!Number.isInteger(options.steps ?? 100) || (options.steps ?? 100) < 6)
    throw new Error(`invalid steps: ${options.steps} (a whole number ≥ 6)`);
  if (!(beta >= 0 && beta < 1)) throw new Error(`invalid beta: ${beta} (in [0, 1))`);
  if (!(stopFactor > 1)) throw new Error(`invalid stop factor: ${stopFactor} (a number > 1)`);
  for (const [name, v] of [
    ["skip-start", skipStart],
    ["skip-end", skipEnd],
  ] as const)
    if (!Number.isInteger(v) || v < 0) throw new Error(`invalid ${name}: ${v} (a whole number ≥ 0)`);
  const n = objective.dim;
  const opt = createOptimizer({ ...base, lr: start } as OptimizerOptions, n);
  // A copy: the caller's start point is the state restored afterwards.
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const lossAt =
    options.lossAt ?? ((_k: number, at: Float64Array, out: Float64Array) => objective.gradient(at, out));
  const lrOf = (k: number) =>
    mode === "exp" ? start * (end / start) ** (k / steps) : start + (k / (steps - 1)) * (end - start);
  const points: RangePoint[] = [];
  let avg = 0;
  let best = Number.POSITIVE_INFINITY;
  let stoppedAt: number | null = null;
  let stopReason = `the ramp ran its ${plural(steps, "step")} without the smoothed loss passing ${stopFactor}× its best`;
  let stopped = false;
  let yielded = performance.now();
  for (let k = 0; k < steps; k++) {
    if (performance.now() - yielded >= YIELD_MS) {
      options.onStep?.(k, steps);
      if ((yield k) === true) {
        stopped = true;
        stoppedAt = k;
        stopReason = `it was stopped by Ctrl-C at step ${k} (lr ${lrOf(k).toPrecision(3)})`;
        break;
      }
      yielded = performance.now();
    }
    const lr = lrOf(k);
    let loss = lossAt(k, x, g);
    if (options.validationLoss && Number.isFinite(loss)) {
      opt.setLearningRate(lr);
      opt.step(x, g);
      loss = options.validationLoss(x);
    }
    if (!Number.isFinite(loss)) {
      stoppedAt = k;
      stopReason = `the loss became ${loss} at lr ${lr.toPrecision(3)}`;
      break;
    }
    avg = beta * avg + (1 - beta) * loss;
    const smoothed = avg / (1 - beta ** (k + 1));
    points.push({ step: k, lr, loss, smoothed });
    if (smoothed < best) best = smoothed;
    if (smoothed > stopFactor * best) {
      stoppedAt = k;
      stopReason = `the smoothed loss passed ${stopFactor}× its best at lr ${lr.toPrecision(3)}`;
      break;
    }
    if (!options.validationLoss) {
      opt.setLearningRate(lr);
      opt.step(x, g);
    }
  }
  let curvature: StabilityReport | null = null;
  if (options.curvature !== undefined) curvature = options.curvature;
  else if (!stopped) {
    const config = resolveOptimizerConfig({ ...base, lr: 1 } as OptimizerOptions);
    try {
      const steps = stabilityAtSteps(objective, x0, config, { k: 1, tolerance: 1e-8 });
      let r = steps.next();
      while (!r.done) {
        const stop = (yield) === true;
        if (stop) stopped = true;
        r = steps.next(stop);
      }
      curvature = r.value.spectrum.converged && !stopped ? r.value : null;
    } catch {
      curvature = null;
    }
  }
  // fastai: recorder[num_it//10 : -5], counted from the end of the run (the divergent point
  // when it stopped early).
  const from = Math.min(skipStart, points.length);
  const to = Math.max(from, points.length - skipEnd);
  const kept = points.slice(from, to);
  const suggestions = fastaiSuggestions(
    kept.map((p) => p.lr),
    kept.map((p) => p.smoothed),
  );
  return {
    points,
    stoppedAt,
    stopReason,
    used: { from, to },
    suggestions,
    curvature,
    advice: stopped
      ? `Stopped by Ctrl-C: ${kept.length ? `the suggestions are read from the ${plural(points.length, "point")} the ramp reached` : `the ramp reached ${plural(points.length, "point")}, too few for a suggestion once the first ${from} are skipped`}, and the curvature at the start was not measured; run it again for the whole answer.`
      : advise(suggestions, curvature, base.name),
    ...(stopped ? { stopped: true as const } : {}),
  };
}

/** fastai's four suggestion functions (callback/schedule.py) on the kept lrs and smoothed losses. */
export function fastaiSuggestions(
  lrs: readonly number[],
  losses: readonly number[],
): RangeTest["suggestions"] {
  return {
    valley: valley(lrs, losses),
    slide: slide(lrs, losses),
    minimumOver10: minimum(lrs, losses),
    steepest: steep(lrs, losses),
  };
}

/**
 * fastai's `valley`: the longest strictly decreasing subsequence of the losses (its last index
 * the first where the longest length is reached), then the point ⌊L/3⌋ + ⌊L/6⌋ past its start.
 * Its start is max_end − L, one before the run's first index, so a short run can land on index
 * −1 — which Python reads as the last element; so does this.
 */
function valley(lrs: readonly number[], losses: readonly number[]): number | null {
  const n = losses.length;
  if (n === 0) return null;
  const lds = new Array<number>(n).fill(1);
  let maxStart = 0;
  let maxEnd = 0;
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i]! < losses[j]! && lds[i]! < lds[j]! + 1) lds[i] = lds[j]! + 1;
      if (lds[maxEnd]! < lds[i]!) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd]!;
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const idx = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  return lrs[idx < 0 ? idx + n : idx]!;
}

/**
 * fastai's `slide` (lr_diff 15, thresh 0.005): walk a pair of points 15 apart down from the end
 * while the loss gradients (numpy.gradient, unit spacing) at the two differ by more than thresh;
 * the lr of the last left point that still differed. Needs 16 points (fastai raises otherwise).
 */
function slide(
  lrs: readonly number[],
  losses: readonly number[],
  lrDiff = 15,
  thresh = 0.005,
): number | null {
  const n = losses.length;
  if (n < lrDiff + 1 || n < 2) return null;
  const grad = losses.map((_, i) =>
    i === 0
      ? losses[1]! - losses[0]!
      : i === n - 1
        ? losses[n - 1]! - losses[n - 2]!
        : (losses[i + 1]! - losses[i - 1]!) / 2,
  );
  let r = n - 1;
  let l = r - lrDiff;
  let local = lrs[l]!;
  while (l >= 0 && Math.abs(grad[r]! - grad[l]!) > thresh) {
    local = lrs[l]!;
    r--;
    l--;
  }
  return local;
}

/** fastai's `minimum`: the lr of the (first) lowest smoothed loss, divided by 10. */
function minimum(lrs: readonly number[], losses: readonly number[]): number | null {
  if (losses.length === 0) return null;
  let best = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i]! < losses[best]!) best = i;
  return lrs[best]! / 10;
}

/** fastai's `steep`: the left end of the segment where the loss falls fastest per unit of log lr. */
function steep(lrs: readonly number[], losses: readonly number[]): number | null {
  if (losses.length < 2) return null;
  let best = 0;
  let slope = Number.POSITIVE_INFINITY;
  for (let i = 0; i + 1 < losses.length; i++) {
    const d = (losses[i + 1]! - losses[i]!) / (Math.log(lrs[i + 1]!) - Math.log(lrs[i]!));
    if (d < slope) {
      slope = d;
      best = i;
    }
  }
  return lrs[best]!;
}

function advise(s: RangeTest["suggestions"], curvature: StabilityReport | null, optimizer: string): string {
  const critical = curvature?.critical.lr ?? null;
  if (critical === null) {
    return optimizer === "sgd"
      ? "The curvature at the start limits no rate (no positive curvature there); trust the range test, whose ramp has seen where the loss actually turns up."
      : `${optimizer} rescales its steps by its gradient history, so λmax alone predicts no rate; trust the range test, and check the preconditioned sharpness along the run (overshoot stability --steps).`;
  }
  const candidates: [string, number | null][] = [
    ["valley", s.valley],
    ["slide", s.slide],
    ["minimum/10", s.minimumOver10],
    ["steep", s.steepest],
  ];
  const named = candidates.filter((e): e is [string, number] => e[1] !== null);
  if (named.length === 0)
    return `The ramp stopped too early to suggest a rate; the curvature says stay below ${critical.toPrecision(3)}.`;
  const above = named.filter(([, v]) => v > critical);
  const below = named.filter(([, v]) => v <= critical);
  const list = (xs: readonly (readonly [string, number])[]) =>
    xs.map(([k, v]) => `${k} ${v.toPrecision(3)} (${(v / critical).toPrecision(2)}×)`).join(", ");
  const head = `Against the critical rate ${critical.toPrecision(3)} from the curvature at the start:`;
  if (above.length === 0)
    return `${head} every suggestion is below it — ${list(below)}. The largest is the fastest that is still stable at the start.`;
  return `${head} ${below.length > 0 ? `${list(below)} ${below.length === 1 ? "is" : "are"} below it, ` : ""}${list(above)} ${above.length === 1 ? "is" : "are"} above it. The ramp spends one step at each rate and its smoothed loss lags, so it can still look like falling past the stability limit; on a network a rate past 2/λ0 may still train after a spike (the catapult) — only runs tell how far (overshoot critical-lr, or --recommend here).`;
}
