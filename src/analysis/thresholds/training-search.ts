import { fmt, plural } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import {
  type OptimizerBase,
  type OptimizerConfig,
  type OptimizerOptions,
  resolveOptimizerConfig,
} from "../../optim/index.js";
import { type BlowUpBound, boundText, objectiveBound } from "../../run/divergence.js";
import { type StabilityReport, stabilityAt } from "./stability.js";
import { type CellResult, sweepCell } from "./sweep.js";
import type { PathCurvature, ThresholdCriteria } from "./threshold.js";

/**
 * The learning rates of a model trained on data, measured on real runs from its start: the three
 * regimes of full-batch training (Lewkowycz et al. 2020; Cohen et al. 2021).
 *
 * - below the curvature's limit η_crit = 2/λ0 (per optimizer: critical.ts) the loss falls;
 * - between η_crit and η_max the loss may first rise above its start, the curvature drops, and the
 *   run still trains — the catapult;
 * - from η_max on the run overflows (a non-finite loss within the horizon).
 *
 * Each run is judged over the horizon as a sweep cell is (sweep.ts): trained, catapult, stalled
 * (below its start but at the trivial baseline: it learned next to nothing), failed (it ended at or
 * above its start without diverging — cross-entropy's usual failure), converged (‖∇f‖ below the
 * tolerance: a convex model reaching its optimum), or diverged / nonfinite (past the blow-up bound
 * of run/divergence.ts, or past float64). Only divergence ends a run early.
 *
 * The search: a scan up from 0.5·η_crit in steps of √2 until a run diverges or two rates in a row
 * fail to train after the last that did, then bisection (on log η, several rates per round, one per
 * worker) of the boundaries: η_max, the smallest rate that diverges; the largest rate that trains;
 * the largest rate that trains well (its final loss within TRAINS_WELL_FACTOR of the best final
 * loss of every run: the rate to pick); and, when some run converged, the convergence threshold
 * (the largest rate whose run reaches ‖∇f‖ < tolerance — on a convex model above it gradient
 * descent no longer reaches the optimum). Bisection assumes each outcome changes once; the scan
 * reports where it does not.
 */
/** A run trains well when its final loss is at most this multiple of the best final loss of the search. */
export const TRAINS_WELL_FACTOR = 2;

export interface TrainingSearchOptions {
  /** Steps of every run (default 2,000). */
  readonly horizon?: number;
  /** Bisect until above/below − 1 ≤ this (default 1e-3). */
  readonly relativeTolerance?: number;
  /** Give up above this rate (default 1e6) or below minLr (default 1e-12). */
  readonly maxLr?: number;
  readonly minLr?: number;
  /** Runs the given rates (in parallel, for the CLI's worker threads); one after another by default. */
  readonly evaluate?: (rates: readonly number[]) => Promise<readonly RateOutcome[]>;
  /** The blow-up bound's factor (run/divergence.ts; default 10⁶). */
  readonly blowUp?: number;
  /** Rates per round of bisection (default 2: one per worker on a 2-core machine). */
  readonly parallel?: number;
  /** Called after each round with the runs so far. */
  readonly onRound?: (runs: readonly RateOutcome[]) => void;
  /**
   * Asked before each round: true ends the search there (Ctrl-C in the CLI). Its result is then
   * what the runs so far show — each boundary the bracket reached, not bisected further — with
   * `stopped` set.
   */
  readonly stop?: () => boolean;
}

/** One run of the search. */
export interface RateOutcome {
  readonly lr: number;
  readonly status: CellResult["status"];
  readonly steps: number;
  readonly finalLoss: number;
  readonly peakLoss: number;
  readonly peakStep: number;
  readonly curvature?: PathCurvature;
}

export interface Boundary {
  /** The largest rate on the good side and the smallest on the other, after bisection. */
  readonly below: number;
  readonly above: number;
  readonly estimate: number;
}

export interface TrainingSearch {
  readonly optimizer: OptimizerConfig;
  readonly x0: Float64Array;
  readonly startLoss: number;
  readonly criteria: { readonly horizon: number; readonly relativeTolerance: number; readonly maxLr: number };
  /** λ0 and the optimizer's critical rate at the start (null when Lanczos did not converge). */
  readonly atStart: StabilityReport | null;
  /** The smallest rate that overflowed; null when none did up to the largest rate tried. */
  readonly etaMax: Boundary | null;
  /** The largest rate whose run ended below its start; null when even the smallest tried did not. */
  readonly trains: Boundary | null;
  /** The lowest final loss of any run that did not diverge, and its rate. */
  readonly best: { readonly lr: number; readonly finalLoss: number } | null;
  /** The largest rate that trains with a final loss ≤ TRAINS_WELL_FACTOR × the best's. */
  readonly trainsWell: Boundary | null;
  /** When some run converged (‖∇f‖ < tolerance): the largest rate that converges. */
  readonly convergence: Boundary | null;
  /** The blow-up bound the runs were judged by. */
  readonly bound: BlowUpBound;
  /** The trivial baseline's loss (the best constant prediction), when the objective has one. */
  readonly baseline: { readonly loss: number; readonly description: string } | null;
  /** The Hessian is the same everywhere (a linear model): 2/λ0 is exact and nothing catapults. */
  readonly constantHessian: boolean;
  /**
   * The rates above the curvature's limit whose loss rose above its start and still trained, and
   * the highest peak among them.
   */
  readonly catapult: {
    readonly from: number;
    readonly to: number;
    readonly peak: { readonly lr: number; readonly loss: number; readonly step: number };
  } | null;
  /** The largest rate tried. */
  readonly largestTried: number;
  /** Where the outcome changed more than once along the rates tried (non-monotone), or null. */
  readonly notAnInterval: string | null;
  /** Every run, by rate. */
  readonly runs: readonly RateOutcome[];
  /** The search was stopped (`stop`) before it finished: the boundaries are the brackets it had reached. */
  readonly stopped?: boolean;
  /** Sentences derived from what was measured. */
  readonly explanation: string;
}

const trained = (s: RateOutcome["status"]) => s === "trained" || s === "catapult" || s === "converged";
const overflowed = (s: RateOutcome["status"]) => s === "nonfinite" || s === "diverged";

/** The run with the lowest final loss among those that did not diverge, or null. */
function bestRun(runs: readonly RateOutcome[]): RateOutcome | null {
  let best: RateOutcome | null = null;
  for (const o of runs)
    if (
      !overflowed(o.status) &&
      Number.isFinite(o.finalLoss) &&
      (best === null || o.finalLoss < best.finalLoss)
    )
      best = o;
  return best;
}

/** The runs of one objective at given rates, one after another in this thread. */
export function serialEvaluator(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: OptimizerBase,
  criteria: ThresholdCriteria,
): (rates: readonly number[]) => Promise<readonly RateOutcome[]> {
  return async (rates) => rates.map((lr, i) => sweepCell(objective, x0, optimizer, { lr }, i, criteria));
}

/** The probe criteria a training search runs with: only divergence (run/divergence.ts) settles a run early. */
export function trainingCriteria(horizon: number): ThresholdCriteria {
  return { horizon, trackCurvature: true };
}

/** Steps of ×1/4 the walk down takes below the first rate past runs that stall at the baseline. */
const WALK_DOWN_STALLED = 5;

/** Doublings past the last rate tried when the scan ended without an overflow. */
const OVERFLOW_SCAN = 6;

export async function trainingLrSearch(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: OptimizerBase,
  options: TrainingSearchOptions = {},
): Promise<TrainingSearch> {
  const horizon = options.horizon ?? 2000;
  const rtol = options.relativeTolerance ?? 1e-3;
  const maxLr = options.maxLr ?? 1e6;
  const minLr = options.minLr ?? 1e-12;
  const parallel = Math.max(1, options.parallel ?? 2);
  if (!(rtol > 0 && rtol < 1)) throw new Error(`invalid tolerance: ${rtol} (a number between 0 and 1)`);
  if (!Number.isInteger(horizon) || horizon < 1)
    throw new Error(`invalid steps: ${horizon} (a whole number ≥ 1)`);
  const evaluate =
    options.evaluate ??
    serialEvaluator(objective, x0, optimizer, {
      ...trainingCriteria(horizon),
      ...(options.blowUp !== undefined ? { blowUp: options.blowUp } : {}),
    });
  const config = resolveOptimizerConfig({ ...optimizer, lr: 1 } as OptimizerOptions);
  let atStart: StabilityReport | null = null;
  try {
    const r = stabilityAt(objective, x0, config, {
      k: 1,
      tolerance: 1e-8,
      maxHvps: Math.min(objective.dim, 300),
    });
    atStart = r.spectrum.converged ? r : null;
  } catch {
    atStart = null;
  }
  const startLoss = objective.value(Float64Array.from(x0));
  const crit = atStart?.critical.lr ?? null;

  const runs = new Map<number, RateOutcome>();
  let stopped = false;
  // The outcomes at these rates, run where new; once stopped, only those already run.
  const run = async (rates: readonly number[]): Promise<RateOutcome[]> => {
    const fresh = rates.filter((lr) => !runs.has(lr));
    if (fresh.length > 0 && runs.size > 0 && !stopped && options.stop) {
      // A turn of the event loop first: runs in this thread hold it, and a signal's handler
      // (which sets what stop() reads) waits for one.
      await new Promise((ok) => setTimeout(ok, 0));
      if (options.stop()) stopped = true;
    }
    if (fresh.length > 0 && !stopped) {
      const out = await evaluate(fresh);
      out.forEach((o, i) => {
        runs.set(fresh[i]!, { ...o, lr: fresh[i]! });
      });
      options.onRound?.(sorted());
    }
    const now = sorted();
    return rates.flatMap((lr) => now.filter((o) => o.lr === lr));
  };
  // A run at the trivial baseline has stalled — unless the best run of the search is near the
  // baseline too (a model that can barely beat it on these data): then a run that closed at least
  // half the gap from the baseline down to the best trained as well as this model can.
  const baseline = objective.baseline?.loss;
  const reclassify = (o: RateOutcome, best: number): RateOutcome =>
    o.status === "stalled" && baseline !== undefined && o.finalLoss - best <= 0.5 * (baseline - best)
      ? { ...o, status: o.peakLoss > startLoss ? "catapult" : "trained" }
      : o;
  const sorted = () => {
    const all = [...runs.values()].sort((a, b) => a.lr - b.lr);
    const best = bestRun(all);
    return best ? all.map((o) => reclassify(o, best.finalLoss)) : all;
  };

  // Scan: up from half the curvature's limit (or 1e-3 without one) by √2, `parallel` rates a time.
  const ratio = Math.SQRT2;
  let first = crit !== null ? crit / 2 : 1e-3;
  first = Math.min(Math.max(first, minLr), maxLr);
  // If the first rate does not train, walk down until one does. Judged on the run's own outcome,
  // not as reclassified against the best so far: a lone run at the baseline is the best of one,
  // and every run stalling at the first rates says they are too high, not that the model can do
  // no better than the baseline.
  // Runs that stall are walked down at most ×4⁵ below the first rate (a model that cannot leave
  // the baseline at a thousandth of the curvature's limit will not in this horizon), runs that
  // fail otherwise as far as the smallest rate.
  const own = (o: RateOutcome): RateOutcome => runs.get(o.lr) ?? o;
  let lowest = (await run([first]))[0]!;
  while (
    !stopped &&
    !trained(own(lowest).status) &&
    lowest.lr / 4 >= minLr &&
    !(own(lowest).status === "stalled" && lowest.lr / 4 < first / 4 ** WALK_DOWN_STALLED)
  )
    lowest = (await run([lowest.lr / 4]))[0] ?? lowest;
  let next = first * ratio;
  let failsAfterTrained = 0;
  let stop = !trained(lowest.status);
  while (!stop && !stopped && next <= maxLr) {
    const batch: number[] = [];
    for (let i = 0; i < parallel && next <= maxLr; i++, next *= ratio) batch.push(next);
    for (const o of await run(batch)) {
      if (overflowed(o.status)) stop = true;
      failsAfterTrained = trained(o.status) ? 0 : failsAfterTrained + 1;
      if (failsAfterTrained >= 2) stop = true;
      if (stop) break;
    }
  }
  // Runs that stopped training without overflowing (a network whose units died stalls at the
  // baseline over a whole range of rates) leave η_max above them: on up by ×2, as far as ×2⁶
  // past the last rate, until one diverges.
  const top = sorted().pop()!;
  let doublings = 0;
  let overflow = overflowed(top.status);
  while (!overflow && !stopped && trained(lowest.status) && doublings < OVERFLOW_SCAN) {
    const batch: number[] = [];
    for (let i = 0; i < parallel && doublings < OVERFLOW_SCAN && top.lr * 2 ** (doublings + 1) <= maxLr; i++)
      batch.push(top.lr * 2 ** ++doublings);
    if (batch.length === 0) break;
    overflow = (await run(batch)).some((o) => overflowed(o.status));
  }

  // Bisection of a boundary between a rate `lo` with good(lo) and `hi` with !good(hi).
  const bisect = async (lo: number, hi: number, good: (o: RateOutcome) => boolean): Promise<Boundary> => {
    while (!stopped && hi / lo - 1 > rtol) {
      const k = parallel;
      const l = Math.log(lo);
      const h = Math.log(hi);
      const rates = Array.from({ length: k }, (_, i) => Math.exp(l + ((i + 1) * (h - l)) / (k + 1)));
      const out = await run(rates);
      let newLo = lo;
      let newHi = hi;
      for (const o of out) {
        if (good(o)) newLo = Math.max(newLo, o.lr);
      }
      for (const o of out) if (!good(o) && o.lr > newLo) newHi = Math.min(newHi, o.lr);
      lo = newLo;
      hi = newHi;
    }
    return { below: lo, above: hi, estimate: Math.sqrt(lo * hi) };
  };

  // η_max: the first overflow along the rates, and the largest rate below it that did not overflow.
  let all = sorted();
  let etaMax: Boundary | null = null;
  const firstOverflow = all.find((o) => overflowed(o.status));
  if (firstOverflow) {
    const below = all.filter((o) => o.lr < firstOverflow.lr && !overflowed(o.status)).pop();
    etaMax = below
      ? await bisect(below.lr, firstOverflow.lr, (o) => !overflowed(o.status))
      : { below: 0, above: firstOverflow.lr, estimate: firstOverflow.lr };
  }
  // The largest rate with good(run): the last good rate before the first after it that is not,
  // bisected; open above when every rate tried past the first good one is good.
  const largestGood = async (good: (o: RateOutcome) => boolean): Promise<Boundary | null> => {
    const now = sorted();
    const first = now.find(good);
    if (!first) return null;
    const failing = now.find((o) => o.lr > first.lr && !good(o));
    const lastGood = now.filter((o) => good(o) && (!failing || o.lr < failing.lr)).pop()!;
    return failing
      ? bisect(lastGood.lr, failing.lr, good)
      : { below: lastGood.lr, above: Number.POSITIVE_INFINITY, estimate: lastGood.lr };
  };
  // The largest rate that trains.
  const trains = await largestGood((o) => trained(o.status));

  // The rate to pick: the largest that trains with a final loss within TRAINS_WELL_FACTOR of the
  // best run's. The best is read after the other bisections, which add runs.
  const wellFrom = bestRun(sorted());
  const trainsWell = wellFrom
    ? await largestGood((o) => trained(o.status) && o.finalLoss <= TRAINS_WELL_FACTOR * wellFrom.finalLoss)
    : null;
  // The best again: that bisection added runs.
  const best = bestRun(sorted());
  // A convex model's runs reach its optimum: the largest rate that still converges.
  all = sorted();
  let convergence: Boundary | null = null;
  const converged = (o: RateOutcome) => o.status === "converged";
  const lastConverged = all.filter(converged).pop();
  if (lastConverged) {
    const above = all.find((o) => o.lr > lastConverged.lr && !converged(o));
    convergence = above
      ? await bisect(lastConverged.lr, above.lr, converged)
      : { below: lastConverged.lr, above: Number.POSITIVE_INFINITY, estimate: lastConverged.lr };
  }

  all = sorted();
  // The catapult proper sits above the curvature's limit; below it a rise above the start comes
  // late, once the sharpness has climbed to 2/η (an edge-of-stability spike), and is told apart.
  const catapults = all.filter((o) => o.status === "catapult" && (crit === null || o.lr > crit));
  const catapult =
    catapults.length > 0
      ? {
          from: catapults[0]!.lr,
          to: catapults[catapults.length - 1]!.lr,
          peak: (() => {
            const p = catapults.reduce((a, b) => (b.peakLoss > a.peakLoss ? b : a));
            return { lr: p.lr, loss: p.peakLoss, step: p.peakStep };
          })(),
        }
      : null;
  const notAnInterval = monotonicity(all);
  const largestTried = all[all.length - 1]!.lr;
  const result = {
    optimizer: config,
    x0: Float64Array.from(x0),
    startLoss,
    criteria: { horizon, relativeTolerance: rtol, maxLr },
    atStart,
    etaMax,
    trains,
    best: best ? { lr: best.lr, finalLoss: best.finalLoss } : null,
    trainsWell,
    convergence,
    bound: objectiveBound(objective, startLoss, options.blowUp),
    baseline: objective.baseline ?? null,
    constantHessian: objective.constantHessian === true,
    catapult,
    largestTried,
    notAnInterval,
    runs: all,
    ...(stopped ? { stopped: true } : {}),
  };
  return { ...result, explanation: explainTraining(result) };
}

/**
 * About how many more runs the search needs, from the runs so far (for a progress estimate, not
 * a promise): each boundary already bracketed — the first overflow above the last rate below it,
 * the first rate after a trained one that did not train — costs its bisection rounds,
 * ⌈log_{p+1}(ln(hi/lo)/ln(1 + rtol))⌉ of `parallel` runs; with no overflow yet, a few more rounds
 * of the scan and the bisection of one doubling are counted for it.
 */
export function searchRunsLeft(
  runs: readonly RateOutcome[],
  relativeTolerance: number,
  parallel: number,
): number {
  const p = Math.max(1, parallel);
  const rounds = (lo: number, hi: number) =>
    hi / lo - 1 > relativeTolerance
      ? Math.ceil(Math.log(Math.log(hi / lo) / Math.log1p(relativeTolerance)) / Math.log(p + 1))
      : 0;
  const all = [...runs].sort((a, b) => a.lr - b.lr);
  let left = 0;
  const firstOverflow = all.find((o) => overflowed(o.status));
  if (firstOverflow) {
    const below = all.filter((o) => o.lr < firstOverflow.lr && !overflowed(o.status)).pop();
    if (below) left += rounds(below.lr, firstOverflow.lr) * p;
  } else left += (3 + rounds(1, 2)) * p;
  const first = all.find((o) => trained(o.status));
  const failing = first ? all.find((o) => o.lr > first.lr && !trained(o.status)) : undefined;
  if (first && failing) {
    const lastGood = all.filter((o) => trained(o.status) && o.lr < failing.lr).pop()!;
    // The largest rate that trains, and the one that trains well below it.
    left += 2 * rounds(lastGood.lr, failing.lr) * p;
  }
  // Called while the search goes on: at least one more round (the brackets of the rate that trains
  // well and of convergence are not counted until they are known).
  return Math.max(left, p);
}

/** Where the trained / not-trained outcome changes more than once along the rates tried. */
function monotonicity(all: readonly RateOutcome[]): string | null {
  let changes = 0;
  let where = "";
  for (let i = 1; i < all.length; i++) {
    const a = all[i - 1]!;
    const b = all[i]!;
    if (trained(a.status) !== trained(b.status)) {
      changes++;
      if (changes === 2)
        where = `${fmt(a.lr, 6)} ${describe(a.status)} while ${fmt(b.lr, 6)} ${describe(b.status)}`;
    }
  }
  return changes >= 2 ? where : null;
}

function describe(s: RateOutcome["status"]): string {
  return s === "catapult"
    ? "trained after a catapult"
    : s === "nonfinite"
      ? "overflowed"
      : s === "stalled"
        ? "stalled at the baseline"
        : s;
}

/** "3 trained, 2 failed and 1 diverged": the outcomes of some runs, counted. */
function tally(runs: readonly RateOutcome[]): string {
  const counts = new Map<string, number>();
  for (const o of runs) {
    const what = trained(o.status) ? "trained" : overflowed(o.status) ? "diverged" : describe(o.status);
    counts.set(what, (counts.get(what) ?? 0) + 1);
  }
  const parts = [...counts].map(([what, n]) => `${n} ${what}`);
  return parts.length <= 1
    ? (parts[0] ?? "")
    : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}

/** Sentences from what was measured: the runs' outcomes, peaks and the curvature along their steps. */
export function explainTraining(r: Omit<TrainingSearch, "explanation">): string {
  const parts: string[] = [];
  const crit = r.atStart?.critical.lr ?? null;
  const lam0 = r.atStart?.lambdaMax;
  const limitAt = (lr: number) => (crit !== null && lam0 !== undefined ? (crit * lam0) / lr : null);
  if (r.constantHessian && crit !== null) {
    // A quadratic loss: gradient descent multiplies the error along each eigenvector by 1 − ηλ at
    // every step, everywhere, so 2/λmax is the whole answer.
    parts.push(
      `The Hessian is the same everywhere (a linear model, a quadratic loss), so the limit ${fmt(crit)} (${r.atStart!.critical.formula} with λmax = ${fmt(lam0!)}) is exact: below it every run converges towards the optimum, above it the error along the top eigenvector grows by |1 − η·λmax| > 1 at every step.`,
    );
  }
  const quiet = r.runs.filter((o) => o.status === "trained" || o.status === "converged");
  if (!r.constantHessian && crit !== null && quiet.length > 0) {
    const under = quiet.filter((o) => o.lr <= crit);
    if (under.length > 0)
      parts.push(
        `Below the curvature's limit ${fmt(crit)} (${r.atStart!.critical.formula} with λ0 = ${fmt(lam0!)}) the ${under.length === 1 ? "run" : `${plural(under.length, "run")}`} tried trained without the loss rising above its start ${fmt(r.startLoss)}.`,
      );
  }
  const spikes =
    crit !== null && !r.constantHessian ? r.runs.filter((o) => o.status === "catapult" && o.lr <= crit) : [];
  if (spikes.length > 0)
    parts.push(
      `Below the limit, ${spikes.length === 1 ? "the run at" : "the runs at"} ${spikes.map((o) => fmt(o.lr)).join(", ")} still rose above ${spikes.length === 1 ? "its" : "their"} start late (at step ${spikes.map((o) => o.peakStep).join(", ")}), once the sharpness had climbed to 2/η: edge-of-stability spikes, and ${spikes.length === 1 ? "it" : "they"} trained.`,
    );
  if (r.catapult && !r.constantHessian) {
    const p = r.catapult.peak;
    const run = r.runs.find((o) => o.lr === p.lr)!;
    const c = run.curvature;
    const limit = limitAt(p.lr);
    const curv =
      c && limit !== null && Number.isFinite(c.atPeak) && Number.isFinite(c.last)
        ? `; the curvature along the step into the peak was ${fmt(c.atPeak)} (${fmt(c.atPeak / limit)}× the limit ${fmt(limit)} at this rate) and along the last step ${fmt(c.last)} (${fmt(c.last / limit)}×)${c.last < limit ? ": it fell back under the limit" : ""}`
        : "";
    const multiple = crit !== null ? ` (${fmt(p.lr / crit)}× the limit)` : "";
    parts.push(
      `From ${fmt(r.catapult.from)} to ${fmt(r.catapult.to)} the loss first rose above its start and the run still trained — the catapult. The highest peak: at lr ${fmt(p.lr)}${multiple} the loss reached ${fmt(p.loss)} (×${fmt(p.loss / r.startLoss)} its start) at step ${p.step}${curv}; the run ended at ${fmt(run.finalLoss)}.`,
    );
  }
  const stalled = r.runs.filter((o) => o.status === "stalled");
  if (stalled.length > 0 && r.baseline)
    parts.push(
      `${stalled.length === 1 ? "The run at" : `${plural(stalled.length, "run")}, at`} ${stalled
        .slice(0, 6)
        .map((o) => fmt(o.lr, 5))
        .join(
          ", ",
        )}${stalled.length > 6 ? " …" : ""}, ended below ${stalled.length === 1 ? "its" : "their"} start but at the trivial baseline ${fmt(r.baseline.loss)} (${r.baseline.description}) or within 5% of it: ${stalled.length === 1 ? "it" : "they"} stalled at the baseline, which is not training.`,
    );
  if (r.best && r.trainsWell) {
    parts.push(
      `The best final loss was ${fmt(r.best.finalLoss)} (at lr ${fmt(r.best.lr, 5)}); the largest rate whose run ends within ×${TRAINS_WELL_FACTOR} of it is ${fmt(r.trainsWell.estimate, 5)}${crit !== null ? ` (${fmt(r.trainsWell.estimate / crit, 3)}× the limit)` : ""}: the rate to pick for this horizon.`,
    );
  }
  if (r.convergence) {
    const c = r.convergence;
    parts.push(
      Number.isFinite(c.above)
        ? `Up to the convergence threshold ${fmt(c.estimate, 5)} gradient descent reaches the optimum (‖∇f‖ below the tolerance within ${plural(r.criteria.horizon, "step")}); above it the runs no longer converge${r.constantHessian ? "" : ", though they may still train"}.`
        : `Every rate up to ${fmt(c.below, 5)} converged to the optimum (‖∇f‖ below the tolerance).`,
    );
  }
  const over = r.etaMax ? r.runs.find((o) => o.lr === r.etaMax!.above) : undefined;
  if (r.etaMax && over) {
    const limit = limitAt(over.lr);
    const c = over.curvature;
    const curv =
      c && limit !== null && Number.isFinite(c.max) && !r.constantHessian
        ? `; the curvature along its steps reached ${fmt(c.max)}, ${fmt(c.max / limit)}× the limit ${fmt(limit)}, and did not fall back under it as a catapult's does`
        : "";
    const multiple = crit !== null ? ` = ${fmt(r.etaMax.estimate / crit)}× the curvature's limit` : "";
    const how =
      over.status === "nonfinite"
        ? `the loss was non-finite at step ${over.steps}`
        : `the loss passed the blow-up bound ${boundText(r.bound)} at step ${over.steps}`;
    parts.push(
      `From η_max ≈ ${fmt(r.etaMax.estimate)}${multiple} the runs diverge: at ${fmt(over.lr)} ${how}${curv}.`,
    );
  } else if (!r.etaMax) {
    const failed = r.runs.filter((o) => o.status === "failed");
    parts.push(
      failed.length > 0
        ? `No rate up to ${fmt(r.largestTried)} diverged within ${plural(r.criteria.horizon, "step")}; from ${fmt(failed[0]!.lr)} the runs ended above their start without diverging (the loss peaked at ${fmt(Math.max(...failed.map((o) => o.peakLoss)))}), which is how training fails here.`
        : `No rate up to ${fmt(r.largestTried)} diverged within ${plural(r.criteria.horizon, "step")}.`,
    );
  }
  if (r.trains && r.etaMax && r.trains.estimate < r.etaMax.estimate) {
    // What the runs between the two boundaries actually did, counted from the run list.
    const between = r.runs.filter((o) => o.lr > r.trains!.below && o.lr < r.etaMax!.above);
    if (between.length > 0)
      parts.push(
        `Between the largest rate that trains, ${fmt(r.trains.estimate, 5)}, and η_max ≈ ${fmt(r.etaMax.estimate, 5)} the ${between.length === 1 ? "run" : `${plural(between.length, "run")}`} tried ${between.every((o) => o.status === "failed") ? `neither trained nor diverged: ${between.length === 1 ? "its loss ends" : "their losses end"} at or above the start` : `went: ${tally(between)}`}.`,
      );
  }
  if (r.notAnInterval)
    parts.push(
      `The rates that train are not one interval: ${r.notAnInterval}; bisection found the first boundary.`,
    );
  parts.push(
    `Measured over ${plural(r.criteria.horizon, "step")} from these weights; a run that had not diverged by then could later, and another start moves every boundary.`,
  );
  return parts.join(" ");
}
