import { plural } from "../../core/format.js";
import type { RangeTest } from "./find-lr.js";

/**
 * One recommended learning rate from the range test and real runs of the user's own training
 * protocol (same optimizer, batches and number of steps), since every rule read off the ramp
 * alone fails somewhere: the ramp spends one step at each rate and its smoothed loss lags, so it
 * cannot see where a whole run collapses (the cliff).
 *
 * 1. The ramp brackets the answer: U, the rate at its lowest smoothed loss (where it turns up; fastai's
 *    `minimum` is U/10), and four rates below it, a half-decade apart: U/100 … U.
 * 2. Each is trained with the protocol; the best final loss wins, then its two half-way neighbours
 *    (a quarter-decade either side) are tried and the best of all is kept.
 * 3. The cliff: the smallest tried rate above the winner whose run did not train (its final loss
 *    not below the start, or non-finite). When the winner's next tried rate up is that cliff, the
 *    recommendation steps a quarter-decade down from the winner, if that rate trained within 2×
 *    of the winner's loss: a margin from the edge, since near it a run's fate turns on noise.
 */
export interface TrialRun {
  readonly lr: number;
  /** The final training loss of the protocol at this rate (Infinity or NaN when it overflowed). */
  readonly finalLoss: number;
}

export interface Recommendation {
  readonly lr: number;
  readonly finalLoss: number;
  readonly startLoss: number;
  /** Every protocol run, by rate. */
  readonly trials: readonly TrialRun[];
  /** The largest tried rate that trained and the smallest above the winner that did not. */
  readonly cliff: { readonly trained: number; readonly failed: number | null };
  /** How the rate was chosen, in a sentence with the numbers. */
  readonly reason: string;
}

/** The trial runs recommendLr makes (at most: a rate already run is not run again). */
export const RECOMMEND_TRIALS = 7;

export async function recommendLr(
  test: RangeTest,
  trainAt: (lr: number) => Promise<number> | number,
  startLoss: number,
): Promise<Recommendation> {
  const used = test.points.slice(test.used.from, test.used.to);
  const pool = used.length > 0 ? used : test.points;
  if (pool.length === 0) throw new Error("invalid range test: no points to bracket a rate with");
  const lowest = pool.reduce((a, b) => (b.smoothed < a.smoothed ? b : a));
  const u = lowest.lr;
  const trials = new Map<number, number>();
  const run = async (lr: number) => {
    if (!trials.has(lr)) trials.set(lr, await trainAt(lr));
    return trials.get(lr)!;
  };
  const half = Math.sqrt(10);
  for (let i = 4; i >= 0; i--) await run(u / half ** i);
  const trainedOk = (loss: number) => Number.isFinite(loss) && loss < startLoss;
  const best = () =>
    [...trials.entries()]
      .filter(([, l]) => trainedOk(l))
      .reduce<[number, number] | null>((a, b) => (a === null || b[1] < a[1] ? b : a), null);
  let winner = best();
  if (winner === null)
    throw new Error(
      `no rate from ${(u / 100).toPrecision(3)} to ${u.toPrecision(3)} trained: the loss never ended below its start ${startLoss.toPrecision(4)}`,
    );
  const quarter = Math.sqrt(half);
  await run(winner[0] / quarter);
  await run(winner[0] * quarter);
  winner = best()!;
  const sorted = [...trials.entries()].sort((a, b) => a[0] - b[0]);
  const failedAbove = sorted.find(([lr, l]) => lr > winner![0] && !trainedOk(l));
  const largestTrained = sorted.filter(([, l]) => trainedOk(l)).pop()![0];
  const nextUp = sorted.find(([lr]) => lr > winner![0]);
  let chosen = winner;
  let reason = `the best final loss of ${plural(trials.size, "run")} of the protocol from ${(u / 100).toPrecision(3)} to ${u.toPrecision(3)} (U = ${u.toPrecision(3)}, where the ramp's smoothed loss was lowest)`;
  if (failedAbove && nextUp && nextUp[0] === failedAbove[0]) {
    const below = winner[0] / quarter;
    const l = await run(below);
    if (trainedOk(l) && l <= 2 * winner[1]) {
      chosen = [below, l];
      reason += `; the next rate up, ${failedAbove[0].toPrecision(3)}, did not train (the cliff), so a quarter-decade below the best, ${winner[0].toPrecision(3)}`;
    }
  }
  return {
    lr: chosen[0],
    finalLoss: chosen[1],
    startLoss,
    trials: [...trials.entries()].sort((a, b) => a[0] - b[0]).map(([lr, finalLoss]) => ({ lr, finalLoss })),
    cliff: { trained: largestTrained, failed: failedAbove ? failedAbove[0] : null },
    reason,
  };
}
