import { fmt } from "../../core/format.js";
import type { Objective } from "../../objectives/types.js";
import {
  type OptimizerBase,
  type OptimizerConfig,
  type OptimizerOptions,
  resolveOptimizerConfig,
} from "../../optim/index.js";
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
 * Each run is judged over the horizon as a sweep cell is (sweep.ts): trained, catapult, failed (it
 * ended at or above its start without overflowing — cross-entropy's usual failure), or nonfinite.
 * Only an overflow ends a run early; a loss far above its start may still come back (it does for
 * cross-entropy), so nothing else is taken as settled.
 *
 * The search: a scan up from 0.5·η_crit in steps of √2 until a run overflows or two rates in a row
 * fail to train after the last that did, then bisection (on log η, several rates per round, one per
 * worker) of the two boundaries: η_max, the smallest rate that overflows, and the largest rate that
 * trains. Bisection assumes each outcome changes once; the scan reports where it does not.
 */
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
  /** Rates per round of bisection (default 2: one per worker on a 2-core machine). */
  readonly parallel?: number;
  /** Called after each round with the runs so far. */
  readonly onRound?: (runs: readonly RateOutcome[]) => void;
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
  /** Sentences derived from what was measured. */
  readonly explanation: string;
}

const trained = (s: RateOutcome["status"]) => s === "trained" || s === "catapult" || s === "converged";
const overflowed = (s: RateOutcome["status"]) => s === "nonfinite" || s === "diverging";

/** The runs of one objective at given rates, one after another in this thread. */
export function serialEvaluator(
  objective: Objective,
  x0: ArrayLike<number>,
  optimizer: OptimizerBase,
  criteria: ThresholdCriteria,
): (rates: readonly number[]) => Promise<readonly RateOutcome[]> {
  return async (rates) => rates.map((lr, i) => sweepCell(objective, x0, optimizer, { lr }, i, criteria));
}

/** The probe criteria a training search runs with: only an overflow settles a run early. */
export function trainingCriteria(horizon: number): ThresholdCriteria {
  return { horizon, divergenceFactor: Number.POSITIVE_INFINITY, trackCurvature: true };
}

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
  const evaluate = options.evaluate ?? serialEvaluator(objective, x0, optimizer, trainingCriteria(horizon));
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
  const run = async (rates: readonly number[]) => {
    const fresh = rates.filter((lr) => !runs.has(lr));
    if (fresh.length > 0) {
      const out = await evaluate(fresh);
      out.forEach((o, i) => {
        runs.set(fresh[i]!, { ...o, lr: fresh[i]! });
      });
      options.onRound?.(sorted());
    }
    return rates.map((lr) => runs.get(lr)!);
  };
  const sorted = () => [...runs.values()].sort((a, b) => a.lr - b.lr);

  // Scan: up from half the curvature's limit (or 1e-3 without one) by √2, `parallel` rates a time.
  const ratio = Math.SQRT2;
  let first = crit !== null ? crit / 2 : 1e-3;
  first = Math.min(Math.max(first, minLr), maxLr);
  // If the first rate does not train, walk down until one does.
  let lowest = (await run([first]))[0]!;
  while (!trained(lowest.status) && lowest.lr / 4 >= minLr) lowest = (await run([lowest.lr / 4]))[0]!;
  let next = first * ratio;
  let failsAfterTrained = 0;
  let stop = !trained(lowest.status);
  while (!stop && next <= maxLr) {
    const batch: number[] = [];
    for (let i = 0; i < parallel && next <= maxLr; i++, next *= ratio) batch.push(next);
    for (const o of await run(batch)) {
      if (overflowed(o.status)) stop = true;
      failsAfterTrained = trained(o.status) ? 0 : failsAfterTrained + 1;
      if (failsAfterTrained >= 2) stop = true;
      if (stop) break;
    }
  }

  // Bisection of a boundary between a rate `lo` with good(lo) and `hi` with !good(hi).
  const bisect = async (lo: number, hi: number, good: (o: RateOutcome) => boolean): Promise<Boundary> => {
    while (hi / lo - 1 > rtol) {
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
  // The largest rate that trains: the last trained rate before the first that did not, bisected.
  all = sorted();
  let trains: Boundary | null = null;
  const firstTrained = all.find((o) => trained(o.status));
  if (firstTrained) {
    const after = all.filter((o) => o.lr > firstTrained.lr);
    const failing = after.find((o) => !trained(o.status));
    const lastGood = all.filter((o) => trained(o.status) && (!failing || o.lr < failing.lr)).pop()!;
    trains = failing
      ? await bisect(lastGood.lr, failing.lr, (o) => trained(o.status))
      : { below: lastGood.lr, above: Number.POSITIVE_INFINITY, estimate: lastGood.lr };
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
    catapult,
    largestTried,
    notAnInterval,
    runs: all,
  };
  return { ...result, explanation: explainTraining(result) };
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
        where = `${fmt(a.lr)} ${describe(a.status)} while ${fmt(b.lr)} ${describe(b.status)}`;
    }
  }
  return changes >= 2 ? where : null;
}

function describe(s: RateOutcome["status"]): string {
  return s === "catapult" ? "trained after a catapult" : s === "nonfinite" ? "overflowed" : s;
}

/** Sentences from what was measured: the runs' outcomes, peaks and the curvature along their steps. */
export function explainTraining(r: Omit<TrainingSearch, "explanation">): string {
  const parts: string[] = [];
  const crit = r.atStart?.critical.lr ?? null;
  const lam0 = r.atStart?.lambdaMax;
  const limitAt = (lr: number) => (crit !== null && lam0 !== undefined ? (crit * lam0) / lr : null);
  const quiet = r.runs.filter((o) => o.status === "trained" || o.status === "converged");
  if (crit !== null && quiet.length > 0) {
    const under = quiet.filter((o) => o.lr <= crit);
    if (under.length > 0)
      parts.push(
        `Below the curvature's limit ${fmt(crit)} (${r.atStart!.critical.formula} with λ0 = ${fmt(lam0!)}) the ${under.length === 1 ? "run" : `${under.length} runs`} tried trained without the loss rising above its start ${fmt(r.startLoss)}.`,
      );
  }
  const spikes = crit !== null ? r.runs.filter((o) => o.status === "catapult" && o.lr <= crit) : [];
  if (spikes.length > 0)
    parts.push(
      `Below the limit, ${spikes.length === 1 ? "the run at" : "the runs at"} ${spikes.map((o) => fmt(o.lr)).join(", ")} still rose above ${spikes.length === 1 ? "its" : "their"} start late (at step ${spikes.map((o) => o.peakStep).join(", ")}), once the sharpness had climbed to 2/η: edge-of-stability spikes, and ${spikes.length === 1 ? "it" : "they"} trained.`,
    );
  if (r.catapult) {
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
  const over = r.etaMax ? r.runs.find((o) => o.lr === r.etaMax!.above) : undefined;
  if (r.etaMax && over) {
    const limit = limitAt(over.lr);
    const c = over.curvature;
    const curv =
      c && limit !== null && Number.isFinite(c.max)
        ? `; the curvature along its steps reached ${fmt(c.max)}, ${fmt(c.max / limit)}× the limit ${fmt(limit)}, and did not fall back under it as a catapult's does`
        : "";
    const multiple = crit !== null ? ` = ${fmt(r.etaMax.estimate / crit)}× the curvature's limit` : "";
    parts.push(
      `From η_max ≈ ${fmt(r.etaMax.estimate)}${multiple} the runs overflow: at ${fmt(over.lr)} the loss was non-finite at step ${over.steps}${curv}.`,
    );
  } else if (!r.etaMax) {
    const failed = r.runs.filter((o) => o.status === "failed");
    parts.push(
      failed.length > 0
        ? `No rate up to ${fmt(r.largestTried)} overflowed within ${r.criteria.horizon} steps; from ${fmt(failed[0]!.lr)} the runs ended above their start without overflowing (the loss peaked at ${fmt(Math.max(...failed.map((o) => o.peakLoss)))}), which is how training fails here.`
        : `No rate up to ${fmt(r.largestTried)} overflowed within ${r.criteria.horizon} steps.`,
    );
  }
  if (r.trains && r.etaMax && r.trains.above < r.etaMax.below) {
    parts.push(
      `Between the largest rate that trains, ${fmt(r.trains.estimate)}, and η_max the runs neither train nor overflow: their loss ends above its start.`,
    );
  }
  if (r.notAnInterval)
    parts.push(
      `The rates that train are not one interval: ${r.notAnInterval}; bisection found the first boundary.`,
    );
  parts.push(
    `Measured over ${r.criteria.horizon} steps from these weights; a run that had not overflowed by then could later, and another start moves every boundary.`,
  );
  return parts.join(" ");
}
