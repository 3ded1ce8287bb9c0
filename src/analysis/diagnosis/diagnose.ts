import { fmt, plural } from "../../core/format.js";
/**
 * Diagnosis of a finished run or a training log: which cause made the loss blow up, with the
 * numbers that show it and the fix — or, from a loss log alone, what can and cannot be known.
 *
 * Evidence used, when the log has it: the curvature along the steps against the optimizer's limit
 * (overshoot run --json traces), the measured sharpness against 2/η and the preconditioned
 * sharpness against its bound (overshoot train logs), dead or saturated units at step 0, and the
 * size of the last finite values (a float32 overflow stops near 3.4e38). Given the problem itself
 * (data-causes.ts), also the two causes a log cannot show: minibatch gradient noise and unscaled inputs.
 */
import { blowUpBound, boundText } from "../../run/divergence.js";
import { median } from "../thresholds/sweep-groups.js";
import type { NoiseFinding, ScalingFinding } from "./data-causes.js";
import { UnitsWatch } from "./units.js";

export type Cause =
  | "curvature-overshoot"
  | "minibatch-noise"
  | "unscaled-inputs"
  | "adaptive-optimizer"
  | "bad-initialization"
  | "numeric-overflow"
  | "dead-units"
  | "saturated-units"
  | "no-divergence"
  | "undetermined";

export interface Diagnosis {
  readonly cause: Cause;
  /** One plain sentence naming the cause. */
  readonly summary: string;
  readonly evidence: readonly string[];
  readonly fix: string;
  /** What the log cannot tell, when it is only a loss column. */
  readonly unknowable?: string;
}

/** One step of a log, whatever format it came from. */
export interface LogRecord {
  readonly step: number;
  readonly loss: number;
  /** The loss on every training row, where the log carries it (train --log: at its first step, each epoch's end). */
  readonly trainLoss?: number;
  readonly lr?: number;
  /** The gradient's norm at this step, where the log carries it. */
  readonly gradNorm?: number;
  readonly sharpness?: number;
  readonly twoOverLr?: number;
  readonly preconditionedSharpness?: number;
  readonly bound?: number;
  readonly inactive?: readonly number[];
  /** Secant curvature along the step from here, when the log carried points and gradients. */
  readonly curvature?: number;
  /** The optimizer's critical curvature at this step (r₁/η), for `curvature`. */
  readonly curvatureLimit?: number;
  /** A guard intervention logged at this step. */
  readonly intervention?: {
    readonly atStep: number;
    readonly reason: string;
    readonly oldLr: number;
    readonly newLr: number;
    readonly how: string;
  };
}

/** What was measured on the problem itself, when diagnose is given the data (see data-causes.ts). */
export interface ProblemEvidence {
  readonly scaling?: ScalingFinding;
  readonly noise?: NoiseFinding;
  /** The run's learning rate, when the log does not carry it. */
  readonly lr?: number;
  /** The blow-up bound's factor (run/divergence.ts; default 10⁶). */
  readonly blowUp?: number;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * `unit`: what one record of the log is, "step" or "epoch" (Keras' CSVLogger logs per epoch); the
 * evidence names records by it.
 */
export function diagnose(
  records: readonly LogRecord[],
  problem: ProblemEvidence = {},
  unit: "step" | "epoch" = "step",
): Diagnosis {
  if (records.length < 2) throw new Error(`invalid log: fewer than two ${unit}s with a loss`);
  const bad = records.findIndex((r) => !Number.isFinite(r.loss));
  const finite = bad < 0 ? records : records.slice(0, bad);
  const first = records[0]!;
  const evidence: string[] = [];
  // The one definition of divergence (run/divergence.ts), from the log's first loss: a log
  // carries no baseline, so the bound is 10⁶ × the start loss.
  const bound = blowUpBound(first.loss, null, problem.blowUp);
  const pastBound = finite.find((r) => r.loss > bound.value);
  // Short of the bound a loss can still be running away: a log that ends ×1000 above its lowest
  // value is diagnosed as diverging (not yet diverged) — the same causes, caught early.
  const lastFinite = finite[finite.length - 1];
  const lowest = Math.max(Math.min(...finite.map((r) => r.loss)), Number.MIN_VALUE);
  const runningAway = lastFinite !== undefined && lastFinite.loss > 1e3 * lowest;
  const grew = pastBound !== undefined || runningAway;
  const saved = records.filter((r) => r.intervention).map((r) => r.intervention!);
  if (saved.length > 0 && bad < 0) {
    const i = saved[0]!;
    const lambda = /λmax = ([\d.e+-]+)/.exec(i.how)?.[1];
    const over = lambda !== undefined && i.oldLr * Number(lambda) > 2;
    return {
      cause: over ? "curvature-overshoot" : "undetermined",
      summary: `The run was diverging and the guard saved it: ${saved.length} rollback${saved.length === 1 ? "" : "s"}, the first at ${unit} ${i.atStep}, after which the learning rate was capped at ${fmt(i.newLr)}.`,
      evidence: [
        `${unit} ${i.atStep}: ${i.reason}`,
        ...(over
          ? [
              `λmax = ${lambda} at the restored point, so η·λ = ${fmt(i.oldLr * Number(lambda))} > 2 at the original rate ${fmt(i.oldLr)}`,
            ]
          : []),
      ],
      fix: `train at or below ${fmt(i.newLr)} from the start (the guard's cap), or standardize the inputs to lower λmax`,
    };
  }
  // Hidden units that died or saturated: a failure of their own where the loss did not blow up
  // (when it did, units saturate on the way: a symptom, and the causes below come first).
  const units = unitsFinding(records, problem, unit);
  if (units && bad < 0 && !grew) {
    const lastLoss = records[records.length - 1]!.loss;
    return {
      cause: units.kind === "saturated" ? "saturated-units" : "dead-units",
      summary: `${units.summary.replace(/\.$/, "")}; the loss ended at ${fmt(lastLoss)} (from ${fmt(first.loss)}).`,
      evidence: units.evidence,
      fix: units.fix,
    };
  }
  if (bad < 0 && !grew) {
    return {
      cause: "no-divergence",
      summary: `The loss stayed finite and under the blow-up bound ${boundText(bound)} (from ${fmt(first.loss)} to ${fmt(records[records.length - 1]!.loss)}): it never diverged.`,
      evidence: [],
      fix: "nothing to fix here; if it is slow, `overshoot find-lr` or `overshoot stability` say how far the rate can go",
    };
  }
  const where =
    bad >= 0
      ? `became ${records[bad]!.loss} at ${unit} ${records[bad]!.step}`
      : pastBound
        ? `passed the blow-up bound ${boundText(bound)} at ${unit} ${pastBound.step} (×${fmt(pastBound.loss / first.loss)} its start)`
        : `grew ×${fmt(lastFinite!.loss / lowest)} and is still rising (diverging, not yet past the blow-up bound ${boundText(bound)})`;

  // Saturated or dead units at the very start: the initialization, before any step could overshoot.
  const deadAtStart = first.inactive?.some((v) => v >= 0.5);
  if (deadAtStart) {
    evidence.push(
      `at ${unit} ${first.step} ${first.inactive!.map((v) => `${fmt(100 * v)}%`).join(" / ")} of the hidden units per layer were already dead or saturated`,
    );
    return {
      cause: "bad-initialization",
      summary: `The loss ${where}, but the network was crippled before the first step: its initial weights saturate or kill most units.`,
      evidence,
      fix: "initialize for the activation (He for ReLU, Glorot for tanh: --init he | glorot) and standardize the inputs; check the output scale at step 0",
    };
  }

  // Float32 overflow: the last finite values sit just under float32's limit.
  const peak = Math.max(...finite.map((r) => Math.abs(r.loss)));
  if (bad >= 0 && peak > 1e36 && peak < FLOAT32_MAX) {
    evidence.push(
      `the largest finite loss was ${fmt(peak)}, within a factor ${fmt(FLOAT32_MAX / peak)} of float32's largest value 3.4e38, and the next step was ${records[bad]!.loss}`,
    );
    const curv = curvatureEvidence(finite);
    if (curv) evidence.push(curv.text);
    return {
      cause: "numeric-overflow",
      summary: `The loss ${where} at float32's range limit (3.4e38); in float64, which reaches 1.8e308, the same values would still be finite${curv ? " — though they were growing because of the curvature overshoot below" : ""}.`,
      evidence,
      fix: curv
        ? `${curv.fix}; float64 (--dtype float64) would only postpone the overflow`
        : "run in float64 (--dtype float64) to see whether the growth is real, or rescale the loss",
    };
  }

  // Preconditioned sharpness of an adaptive optimizer past its bound.
  const pre = finite.filter((r) => r.preconditionedSharpness !== undefined && r.bound !== undefined);
  const preOver = pre.find((r) => r.preconditionedSharpness! > r.bound!);
  if (preOver) {
    evidence.push(
      `at ${unit} ${preOver.step} the preconditioned sharpness was ${fmt(preOver.preconditionedSharpness!)}, above the optimizer's bound ${fmt(preOver.bound!)} (×${fmt(preOver.preconditionedSharpness! / preOver.bound!)})`,
    );
    return {
      cause: "adaptive-optimizer",
      summary: `The loss ${where} after the adaptive optimizer's preconditioned step outgrew its stability bound.`,
      evidence,
      fix: "lower the learning rate so the preconditioned sharpness stays under the bound, or raise ε (it bounds how far a tiny √v̂ can scale a step)",
    };
  }

  // Minibatch noise: the full batch is stable at this rate, some minibatches are not.
  const noise = problem.noise;
  if (noise?.noiseDriven) {
    evidence.push(...noiseEvidence(noise));
    const batchFix =
      noise.noiseScale !== null && noise.noiseScale > noise.batchSize
        ? `larger minibatches (the noise scale suggests about ${fmt(Math.ceil(noise.noiseScale))} rows)`
        : "larger minibatches";
    return {
      cause: "minibatch-noise",
      summary: `The loss ${where}, though full-batch steps at this learning rate would be stable: some minibatches are far more curved than the whole data set, and a step on one of them overshoots.`,
      evidence,
      fix: `${batchFix}, or a learning rate below the minibatches' critical rate (${fmt(0.9 * noise.batchCriticalLr)}); --guard rolls back the spikes`,
    };
  }

  // Unscaled inputs: the curvature that made η too large comes from the inputs' scales.
  const scaling = problem.scaling;
  const lr = problem.lr ?? noise?.lr ?? lastLr(finite);
  if (scaling?.unscaled && (lr === undefined || lr > scaling.raw.criticalLr)) {
    evidence.push(...scalingEvidence(scaling, lr));
    const ok = lr !== undefined && lr < scaling.standardized.criticalLr;
    return {
      cause: "unscaled-inputs",
      summary: `The loss ${where} because the inputs' scales make the curvature ${fmt(scaling.gain)}× larger than it needs to be, so the stable learning rates end at ${fmt(scaling.raw.criticalLr)}${lr !== undefined ? ` and ${fmt(lr)} is past it` : ""}.`,
      evidence,
      fix: `standardize the inputs (--standardize: mean 0, standard deviation 1 per feature): the critical learning rate rises from ${fmt(scaling.raw.criticalLr)} to ${fmt(scaling.standardized.criticalLr)}${lr === undefined ? "" : ok ? `, so ${fmt(lr)} becomes stable` : `; ${fmt(lr)} is still above that, so also lower it below ${fmt(scaling.standardized.criticalLr)}`}`,
    };
  }

  // The inputs' scales are not to blame, but the curvature measured at the start on --data says
  // the rate was past its limit from the first step.
  if (scaling && lr !== undefined && lr > scaling.raw.criticalLr) {
    evidence.push(...scalingEvidence(scaling, lr));
    return {
      cause: "curvature-overshoot",
      summary: `The loss ${where}: at the start the curvature along the sharpest direction is λmax = ${fmt(scaling.raw.lambdaMax)}, so steps are stable below ${fmt(scaling.raw.criticalLr)}, and ${fmt(lr)} is ${fmt(lr / scaling.raw.criticalLr)}× that — every step overshot along that direction (for a network a rate a few times past it can still catapult and train; this one did not). The inputs' scales are not the cause (standardizing changes the limit only ${fmt(scaling.gain)}×).`,
      evidence,
      fix: `lower the learning rate: \`overshoot critical-lr\` with the same model and data measures the largest that trains; --guard rolls a run back when it starts to diverge`,
    };
  }

  const curv = curvatureEvidence(finite);
  if (curv) {
    evidence.push(curv.text);
    return {
      cause: "curvature-overshoot",
      summary: `The loss ${where} because each step overshot the minimum along the direction of highest curvature: η·λ > 2 (for plain SGD).`,
      evidence,
      fix: curv.fix,
    };
  }

  // A loss column alone: the shape of the growth, and what it cannot tell.
  const rate = growthRate(finite);
  if (rate)
    evidence.push(
      `from ${unit} ${rate.from} the loss grew ×${fmt(rate.factor)} per ${unit}, steadily (geometric growth)`,
    );
  // With the rate known (the log's lr column, or --lr), the growth says how curved: under plain
  // gradient descent the error along the top eigenvector is multiplied by 1 − ηλ a step, so the
  // loss by (1 − ηλ)² = r; overshooting (ηλ > 2), λ = (1 + √r)/η and the stable rates end at 2/λ.
  const estimate = unit === "step" && rate ? curvatureFromGrowth(finite, rate.from, problem.lr) : null;
  if (estimate)
    evidence.push(
      `with η = ${fmt(estimate.lr)} (${estimate.lrFrom}), a loss growing ×r per step along one direction means |1 − ηλ| = √r, so λ ≈ (1 + √r)/η = ${fmt(estimate.lambda)} (${fmt(estimate.low)} to ${fmt(estimate.high)} over the last ${plural(estimate.steps, "step")}' growth): for plain SGD the stable rates end at 2/λ ≈ ${fmt(2 / estimate.lambda)} (${fmt(2 / estimate.high)} to ${fmt(2 / estimate.low)})`,
    );
  return {
    cause: "undetermined",
    summary: `The loss ${where}${rate ? ", growing geometrically, which is what an overshooting step does: |1 − ηλ|² per step along the top eigenvector" : ""}.`,
    evidence,
    fix: estimate
      ? `a learning rate below 2/λ ≈ ${fmt(2 / estimate.lambda)} (read from the growth; with momentum or Adam the relation differs), or measure the curvature to know why λ is ${fmt(estimate.lambda)}: \`overshoot diagnose LOG --data … --model-onnx …\` measures it at the start and tells unscaled inputs and minibatch noise apart`
      : "measure the curvature: `overshoot train … --sharpness-every 10 --log run.jsonl` (or `overshoot stability`) and diagnose that log; with the model and data (`--data … --model-onnx …`), diagnose measures it for this log",
    unknowable:
      "A loss log alone cannot say why λ is large — unscaled inputs, the initialization or the data — nor separate curvature from minibatch noise; it needs the sharpness (or the points and gradients) beside the loss.",
  };
}

const STEADY_STEPS = 5;
const STEADY_SPREAD = 1.25;

/** λ from a loss-only log's geometric growth at its learning rate (the lr column, or `lr`), or null. */
export function curvatureFromLoss(records: readonly LogRecord[], lr?: number) {
  const rate = growthRate(records);
  return rate ? curvatureFromGrowth(records, rate.from, lr) : null;
}

/**
 * λ from a loss growing geometrically at a known rate η (see above): each step's λ_k = (1 +
 * √r_k)/η with r_k the step's growth factor, over the steady growth from `from` on (its first
 * step dropped: the other directions may still be fading there); the estimate is their median,
 * the range their spread. Null without a single rate over those steps, and unless the growth is
 * steady — at least STEADY_STEPS steps whose λ_k agree within STEADY_SPREAD — as it is along one
 * direction of a locally quadratic loss; a network running away faster than geometrically (its
 * curvature growing as its weights do) has no single λ to read.
 */
function curvatureFromGrowth(
  records: readonly LogRecord[],
  from: number,
  given: number | undefined,
): { lambda: number; low: number; high: number; lr: number; lrFrom: string; steps: number } | null {
  const run = records.filter((r) => r.step >= from);
  const rates = new Set(run.map((r) => r.lr).filter((v) => v !== undefined));
  const lr = given ?? (rates.size === 1 ? [...rates][0] : undefined);
  if (lr === undefined || !(lr > 0) || (given === undefined && run.some((r) => r.lr === undefined)))
    return null;
  const lambdas: number[] = [];
  for (let k = 2; k < run.length; k++) {
    const a = run[k - 1]!;
    const b = run[k]!;
    const r = (b.loss / a.loss) ** (1 / (b.step - a.step));
    if (r > 1 && Number.isFinite(r)) lambdas.push((1 + Math.sqrt(r)) / lr);
  }
  if (lambdas.length < STEADY_STEPS) return null;
  lambdas.sort((x, y) => x - y);
  if (lambdas[lambdas.length - 1]! > STEADY_SPREAD * lambdas[0]!) return null;
  return {
    lambda: median(lambdas),
    low: lambdas[0]!,
    high: lambdas[lambdas.length - 1]!,
    lr,
    lrFrom: given !== undefined ? "given" : "the log's lr column",
    steps: lambdas.length,
  };
}

function curvatureEvidence(records: readonly LogRecord[]): { text: string; fix: string } | null {
  const measured = records.find(
    (r) => r.sharpness !== undefined && r.twoOverLr !== undefined && r.sharpness > r.twoOverLr,
  );
  if (measured) {
    const lr = 2 / measured.twoOverLr!;
    return {
      text: `at step ${measured.step} the sharpness λmax was ${fmt(measured.sharpness!)}, above 2/η = ${fmt(measured.twoOverLr!)} (η·λ = ${fmt(lr * measured.sharpness!)} > 2)`,
      fix: `lower the learning rate below 2/λmax = ${fmt(2 / measured.sharpness!)} (e.g. ${fmt(1.8 / measured.sharpness!)}), or standardize the inputs to lower λmax; --guard does this automatically`,
    };
  }
  const secant = records.find(
    (r) => r.curvature !== undefined && r.curvatureLimit !== undefined && r.curvature > r.curvatureLimit,
  );
  if (secant) {
    const scale = secant.curvatureLimit! / secant.curvature!;
    return {
      text: `at step ${secant.step} the curvature along the step was ${fmt(secant.curvature!)}, above the optimizer's limit ${fmt(secant.curvatureLimit!)} at this learning rate`,
      fix: `lower the learning rate by at least ×${fmt(scale)} (to ${secant.lr !== undefined ? fmt(0.9 * scale * secant.lr) : `0.9×${fmt(scale)} of it`}), or standardize the inputs; --guard does this automatically`,
    };
  }
  return null;
}

function growthRate(records: readonly LogRecord[]): { from: number; factor: number } | null {
  if (records.length < 4) return null;
  let i = records.length - 1;
  while (i > 0 && records[i]!.loss > records[i - 1]!.loss) i--;
  const run = records.slice(i);
  if (run.length < 4) return null;
  const factor =
    (run[run.length - 1]!.loss / run[0]!.loss) ** (1 / (run[run.length - 1]!.step - run[0]!.step));
  return factor > 1 ? { from: run[0]!.step, factor } : null;
}

function lastLr(records: readonly LogRecord[]): number | undefined {
  for (let i = records.length - 1; i >= 0; i--) if (records[i]!.lr !== undefined) return records[i]!.lr;
  return undefined;
}

function curvatureText(c: { lambdaMax: number; condition: number | null; criticalLr: number }): string {
  return `λmax = ${fmt(c.lambdaMax)}${c.condition !== null ? `, condition number ${fmt(c.condition)}` : ""}, critical learning rate ${fmt(c.criticalLr)}`;
}

function noiseEvidence(n: NoiseFinding): string[] {
  return [
    `full batch at the start: ${curvatureText(n.full)}; the run's rate ${fmt(n.lr)} is below it (η·λmax = ${fmt(n.lr * n.full.lambdaMax)}), so full-batch steps would not overshoot`,
    `minibatches of ${n.batchSize}: λmax up to ${fmt(n.batchLambdaMax)} (median ${fmt(n.batchLambdaMedian)}) over ${n.batches} sampled batches${n.batches < n.batchesPlanned ? ` (of ${n.batchesPlanned} planned: stopped)` : ""}; ${fmt(n.lr)} is above the critical rate of ${fmt(100 * n.unstableFraction)}% of them (the smallest is ${fmt(n.batchCriticalLr)})`,
    n.noiseScale === null
      ? "gradient noise scale not measured (stopped before the per-example gradients)"
      : `gradient noise scale tr(Σ)/‖G‖² = ${fmt(n.noiseScale)} (per-example gradients of ${plural(n.noiseRows, "row")}) against a batch of ${n.batchSize}${n.noiseScale > n.batchSize ? ": each minibatch gradient is mostly noise" : ""}`,
  ];
}

function scalingEvidence(s: ScalingFinding, lr: number | undefined): string[] {
  const shown = s.features.slice(0, 6).map((f) => `${f.name} ${fmt(f.mean)} ± ${fmt(f.std)}`);
  const more = s.features.length > 6 ? ` and ${s.features.length - 6} more` : "";
  return [
    `feature scales (mean ± standard deviation): ${shown.join(", ")}${more} — standard deviations ${fmt(s.spread)}× apart, means up to ${fmt(s.offset)} standard deviations from 0`,
    `raw inputs: ${curvatureText(s.raw)}${lr !== undefined ? `; the run's rate ${fmt(lr)} gives η·λmax = ${fmt(lr * s.raw.lambdaMax)}` : ""}`,
    `standardized inputs: ${curvatureText(s.standardized)} — ${fmt(s.gain)}× the raw critical rate`,
  ];
}

/** Units that died or saturated, from the inactive fractions a training log carries (units.ts). */
function unitsFinding(records: readonly LogRecord[], problem: ProblemEvidence, unit: "step" | "epoch") {
  const watch = new UnitsWatch();
  for (const r of records) if (r.inactive && r.inactive.length > 0) watch.observe(r.step, r.inactive);
  const features = problem.scaling?.features;
  const inputScale = features
    ? Math.max(...features.map((f) => Math.max(Math.abs(f.mean), f.std)))
    : undefined;
  const lr = problem.lr ?? lastLr(records);
  return watch.finding({
    unit,
    ...(inputScale !== undefined ? { inputScale } : {}),
    ...(lr !== undefined ? { lr } : {}),
  });
}
