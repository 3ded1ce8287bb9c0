import type { Objective } from "../../objectives/types.js";
import {
  createOptimizer,
  type OptimizerBase,
  type OptimizerOptions,
  resolveOptimizerConfig,
} from "../../optim/index.js";
import { type StabilityReport, stabilityAt } from "./stability.js";

/**
 * The learning-rate range test (Smith, 2017; fastai's lr_find): one run whose learning rate grows
 * exponentially every step, the loss smoothed by a debiased EMA, stopped when the smoothed loss
 * passes a multiple of its best. It is reported beside the curvature prediction at the start,
 * which for plain SGD on a smooth problem is the stability limit itself.
 */
export interface RangeTestOptions {
  readonly start?: number;
  readonly end?: number;
  readonly steps?: number;
  /** EMA factor of the smoothed loss (default 0.98). */
  readonly beta?: number;
  /** Stop once the smoothed loss exceeds this multiple of its best (default 4). */
  readonly stopFactor?: number;
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
  /** fastai's suggestions: the longest descending valley (2/3 along it), the minimum's lr / 10, the steepest descent. */
  readonly suggestions: {
    readonly valley: number | null;
    readonly minimumOver10: number | null;
    readonly steepest: number | null;
  };
  /** The curvature at the start point, and the critical rate it implies for this optimizer. */
  readonly curvature: StabilityReport | null;
  readonly advice: string;
}

export function lrRangeTest(
  objective: Objective,
  x0: ArrayLike<number>,
  base: OptimizerBase,
  options: RangeTestOptions = {},
): RangeTest {
  const start = options.start ?? 1e-7;
  const end = options.end ?? 10;
  const steps = options.steps ?? 100;
  const beta = options.beta ?? 0.98;
  const stopFactor = options.stopFactor ?? 4;
  if (!(start > 0 && end > start)) throw new Error(`invalid range: ${start} → ${end} (need 0 < start < end)`);
  if (!Number.isInteger(steps) || steps < 5) throw new Error(`invalid steps: ${steps} (a whole number ≥ 5)`);
  if (!(beta >= 0 && beta < 1)) throw new Error(`invalid beta: ${beta} (in [0, 1))`);
  if (!(stopFactor > 1)) throw new Error(`invalid stop factor: ${stopFactor} (a number > 1)`);
  const n = objective.dim;
  const opt = createOptimizer({ ...base, lr: start } as OptimizerOptions, n);
  // A copy: the caller's start point is the state restored afterwards.
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const points: RangePoint[] = [];
  let avg = 0;
  let best = Number.POSITIVE_INFINITY;
  let stoppedAt: number | null = null;
  let stopReason = `the ramp reached ${end} after ${steps} steps without the loss passing ${stopFactor}× its best`;
  for (let k = 0; k < steps; k++) {
    const lr = start * (end / start) ** (k / (steps - 1));
    const loss = objective.gradient(x, g);
    if (!Number.isFinite(loss)) {
      stoppedAt = k;
      stopReason = `the loss became ${loss} at lr ${lr.toPrecision(3)}`;
      break;
    }
    avg = beta * avg + (1 - beta) * loss;
    const smoothed = avg / (1 - beta ** (k + 1));
    points.push({ step: k, lr, loss, smoothed });
    if (smoothed < best) best = smoothed;
    if (k > 0 && smoothed > stopFactor * best) {
      stoppedAt = k;
      stopReason = `the smoothed loss passed ${stopFactor}× its best at lr ${lr.toPrecision(3)}`;
      break;
    }
    opt.setLearningRate(lr);
    opt.step(x, g);
  }
  const config = resolveOptimizerConfig({ ...base, lr: 1 } as OptimizerOptions);
  let curvature: StabilityReport | null = null;
  try {
    const r = stabilityAt(objective, x0, config);
    curvature = r.spectrum.converged ? r : null;
  } catch {
    curvature = null;
  }
  const suggestions = suggest(points);
  return {
    points,
    stoppedAt,
    stopReason,
    suggestions,
    curvature,
    advice: advise(suggestions, curvature, config.name),
  };
}

function suggest(points: readonly RangePoint[]): RangeTest["suggestions"] {
  if (points.length < 3) return { valley: null, minimumOver10: null, steepest: null };
  const lrs = points.map((p) => p.lr);
  const losses = points.map((p) => p.smoothed);
  let iMin = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i]! < losses[iMin]!) iMin = i;
  // Steepest: most negative d(loss)/d(log lr), by central differences (one-sided at the ends).
  let iSteep = 0;
  let slope = Number.POSITIVE_INFINITY;
  for (let i = 0; i < losses.length; i++) {
    const a = Math.max(0, i - 1);
    const b = Math.min(losses.length - 1, i + 1);
    const d = (losses[b]! - losses[a]!) / (Math.log(lrs[b]!) - Math.log(lrs[a]!));
    if (d < slope) {
      slope = d;
      iSteep = i;
    }
  }
  // fastai's valley: the longest descending subsequence of the loss, then two-thirds of the way along it.
  const n = losses.length;
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
  const iValley = Math.min(n - 1, Math.max(0, maxStart + Math.floor(sections) + Math.floor(sections / 2)));
  return { valley: lrs[iValley]!, minimumOver10: lrs[iMin]! / 10, steepest: slope < 0 ? lrs[iSteep]! : null };
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
    ["minimum/10", s.minimumOver10],
    ["steepest", s.steepest],
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
    return `${head} every suggestion is below it — ${list(below)}. Trust both; the largest is the fastest that is still stable at the start.`;
  return `${head} ${below.length > 0 ? `${list(below)} ${below.length === 1 ? "is" : "are"} below it, ` : ""}${list(above)} ${above.length === 1 ? "is" : "are"} above it. The ramp spends one step at each rate and its smoothed loss lags, so it can still look like falling past the stability limit; for plain SGD trust the curvature bound, which is exact on the start's quadratic model, and take the largest suggestion below it.`;
}
