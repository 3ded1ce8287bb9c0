import { fmt } from "../../core/format.js";
import type { TrivialBaseline } from "../../core/objective.js";
import { boundText } from "../../run/divergence.js";
import { atBaseline } from "../../run/verdict.js";
import type { UnitsFinding } from "../diagnosis/units.js";
import type { TrainResult } from "./train.js";

/**
 * How a training run ended, in one word and one sentence, judged as every run on data is (DESIGN.md):
 * against its start, the trivial baseline and the blow-up bound (run/divergence.ts), with hidden
 * units that died or saturated named as a failure of their own.
 *
 * - `gave-up`, `nonfinite`, `diverged`: the run stopped there (train.ts);
 * - `dead-units` / `saturated-units`: a hidden layer collapsed (diagnosis/units.ts) and stayed so,
 *   and the run failed or stalled (a run that trained anyway is `trained`, the units flagged);
 * - `failed`: the loss on every training row ended at or above its start;
 * - `stalled`: below its start, but at or above STALLED_FRACTION of the baseline — or, for a
 *   classifier, an accuracy that closed less than CHANCE_GAIN of the gap from always predicting
 *   the majority class to perfect (55.6% on a balanced spiral: 0.11 of it);
 * - `trained`.
 */
export type TrainStatus =
  | "trained"
  | "stalled"
  | "failed"
  | "dead-units"
  | "saturated-units"
  | "diverged"
  | "nonfinite"
  | "gave-up";

/** A classifier has learned next to nothing until its accuracy closes this much of the gap from the majority class to 100%. */
export const CHANCE_GAIN = 0.2;

export interface TrainOutcome {
  readonly status: TrainStatus;
  readonly reason: string;
  /** The fix, when the run failed. */
  readonly fix?: string;
}

export interface OutcomeInput {
  readonly result: TrainResult;
  /** The loss on every training row at the start and at the end (the last finite record). */
  readonly startLoss: number;
  readonly endLoss: number;
  /** "loss" or "loss on all training rows", as the sentence names it. */
  readonly lossName: string;
  /** Accuracy words for the end ("train accuracy 95%, validation 93%"), or "". */
  readonly accuracy: string;
  /** The train accuracy at the end, for classification. */
  readonly trainAccuracy?: number | null;
  readonly baseline: TrivialBaseline | null;
  readonly units: UnitsFinding | null;
  readonly lr: number;
}

export function trainOutcome(input: OutcomeInput): TrainOutcome {
  const { result, startLoss, endLoss, lossName, accuracy, baseline, units } = input;
  const acc = accuracy ? `, ${accuracy}` : "";
  if (result.status === "gave-up") {
    const n = result.interventions.length;
    return {
      status: "gave-up",
      reason:
        n === 0
          ? `gave up at step ${result.atStep} — the run went bad and --max-retries 0 allows no rollback`
          : `gave up at step ${result.atStep} — after ${n} rollback${n === 1 ? "" : "s"} (--max-retries) the run went bad again`,
      fix:
        n === 0
          ? "lower --lr or allow rollbacks"
          : `lower --lr below the last cap ${fmt(result.interventions[n - 1]!.newLr)} or raise --max-retries`,
    };
  }
  if (result.status === "nonfinite")
    return {
      status: "nonfinite",
      reason: `nonfinite at step ${result.atStep} — the loss or gradient overflowed`,
      fix: "lower the learning rate (compare λmax with 2/η: overshoot train … --sharpness-every 10)",
    };
  if (result.status === "diverged")
    return {
      status: "diverged",
      reason: `diverged at step ${result.atStep} — the loss passed the blow-up bound ${boundText(result.bound)}; in float32 it would soon overflow, and no run comes back from there`,
      fix: "lower the learning rate (compare λmax with 2/η: overshoot train … --sharpness-every 10), or --guard",
    };
  const end = `${lossName} ${fmt(endLoss)}${acc}`;
  // Dead or saturated units are the failure named where the run failed or stalled; a run that
  // trained anyway (a catapult often kills units on its way) is trained, with the units flagged.
  const note = units ? `; but ${lower(units.summary)}` : "";
  if (!(endLoss < startLoss))
    return units
      ? unitsOutcome(units, end)
      : {
          status: "failed",
          reason: `failed — ${end}, not below its start ${fmt(startLoss)}: the run did not train`,
          fix: "lower the learning rate (overshoot critical-lr finds the largest that trains)",
        };
  const majority = baseline?.accuracy;
  const gain =
    majority !== undefined && input.trainAccuracy != null && majority < 1
      ? (input.trainAccuracy - majority) / (1 - majority)
      : null;
  const stalled = atBaseline(endLoss, baseline?.loss);
  if (stalled || (gain !== null && gain < CHANCE_GAIN)) {
    if (units) return unitsOutcome(units, end);
    const why = stalled
      ? `${endLoss >= baseline!.loss ? "not below" : "within 5% of"} the trivial baseline ${fmt(baseline!.loss)} (${baseline!.description})`
      : `a train accuracy ${fmt(100 * input.trainAccuracy!)}% against ${fmt(100 * majority!)}% for always predicting the majority class: it closed ${fmt(100 * gain!)}% of the gap to 100%`;
    return {
      status: "stalled",
      reason: `stalled at the baseline — ${end}: ${why}, so the model has learned next to nothing from its inputs`,
      fix: "a smaller learning rate, more steps, or a wider network; overshoot critical-lr reports the rate that trains well",
    };
  }
  return {
    status: "trained",
    reason: `trained — ${end}${baseline ? ` (${fmt((100 * endLoss) / baseline.loss, 3)}% of the trivial baseline ${fmt(baseline.loss)}${majority !== undefined ? `; the majority class alone is ${fmt(100 * majority, 3)}% accurate` : ""})` : ""}${note}`,
  };
}

function unitsOutcome(units: UnitsFinding, end: string): TrainOutcome {
  return {
    status: units.kind === "saturated" ? "saturated-units" : "dead-units",
    reason: `${units.summary.replace(/\.$/, "")} — ${end}`,
    fix: units.fix,
  };
}

const lower = (s: string) => `${s.charAt(0).toLowerCase()}${s.slice(1).replace(/\.$/, "")}`;
