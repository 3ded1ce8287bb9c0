import { fmt, fmtFactor, plural } from "../core/format.js";
import type { Objective } from "../core/objective.js";
import { allFinite, dot } from "../core/vec.js";
import type { OptimizerConfig } from "../optim/index.js";
import { type BlowUpBound, boundText, objectiveBound } from "./divergence.js";
import { type TraceView, viewOf } from "./summary.js";
import type { StepRecord, Verdict } from "./types.js";

export interface JudgeContext {
  readonly objective: Objective;
  readonly optimizer: OptimizerConfig;
  readonly tolerance: number;
  /** The blow-up bound (run/divergence.ts); by default 10⁶ × max(|f(x₀)|, the objective's baseline). */
  readonly bound?: BlowUpBound;
}

/**
 * A run on data that ends at or above this fraction of the trivial baseline's loss has learned
 * next to nothing from its inputs (for mse: R² < 0.05): it stalled, it did not train.
 */
export const STALLED_FRACTION = 0.95;

/** A final loss at the trivial baseline (at or above STALLED_FRACTION of it); false without one. */
export const atBaseline = (loss: number, baseline: number | null | undefined): boolean =>
  baseline !== null && baseline !== undefined && loss >= STALLED_FRACTION * baseline;

/**
 * Classifies a finished trace:
 * - `nonfinite`: the last record holds Infinity or NaN (atStep = its step); on an objective with a
 *   constant Hessian a loss of −Infinity is `unbounded` instead (it ran away downhill);
 * - `diverged`: the loss passed the blow-up bound (run/divergence.ts) at some step (atStep = the
 *   first such step), whatever followed;
 * - `converged`: ‖∇f‖ ≤ tolerance at the last record;
 * - a model trained on data (`objective.training`) is judged by where its loss ended against its
 *   start f(x₀): below it `trained` (however the tail moves: an edge-of-stability spike in
 *   progress is not a failure) or `stalled` when it ended at STALLED_FRACTION of the trivial
 *   baseline or above, at or above its start `diverging` when the tail grows as below, else
 *   `failed`;
 * - a function is judged by the tail of the trace (its last quarter, 2 to 50 steps):
 *   `diverging` when the loss ends above everything before it in the tail and ‖g‖ grew
 *   (geometric growth of the loss shows as a per-step factor > 1), `unbounded` when it is still
 *   falling on a constant-Hessian objective along a direction of negative curvature (a quadratic
 *   with λ < 0 falls without limit), `converging` when it is still falling, `oscillating` when it
 *   is bounded but no longer falling (η = 1 on x²).
 * Any run whose loss rose above f(x₀) and ended below it carries `catapult` (the peak and its step).
 * The reason quotes the numbers; for plain gradient descent it adds the factor 1 − η·λ by which a
 * step multiplies the error along the gradient, λ = gᵀHg/gᵀg (exact for a quadratic, where GD is
 * stable iff |1 − η·λ| < 1 for every eigenvalue λ).
 */
export function judge(trace: readonly StepRecord[], context: JudgeContext): Verdict {
  if (trace.length === 0) throw new Error("invalid trace: empty");
  const bound = context.bound ?? objectiveBound(context.objective, trace[0]!.loss);
  return judgeView(viewOf(trace, bound.value), { ...context, bound });
}

/** The same verdict from a view of the trace: a whole one, or a TraceSummary kept as it ran. */
export function judgeView(view: TraceView, context: JudgeContext): Verdict {
  const { last, first } = view;
  const lastFinite = view.lastFinite;
  // Under a schedule the rate that matters is the latest one used, not the configured base rate.
  const factor = gdFactor(lastFinite, context, view.lastLr);
  const { objective } = context;
  const bound = context.bound ?? objectiveBound(objective, first.loss);
  const past = view.firstPastBound;

  if (!Number.isFinite(last.loss) || !allFinite(last.x) || !allFinite(last.grad)) {
    const what = !allFinite(last.x) ? "x" : !Number.isFinite(last.loss) ? "the loss" : "the gradient";
    const value = !allFinite(last.x)
      ? firstBad(last.x)
      : !Number.isFinite(last.loss)
        ? last.loss
        : firstBad(last.grad);
    if (last.loss === Number.NEGATIVE_INFINITY && objective.constantHessian) {
      return {
        status: "unbounded",
        atStep: last.step,
        reason: sentence(
          [
            `the loss fell from ${fmt(first.loss)} to -Infinity at step ${last.step}: the Hessian is the same everywhere and has negative curvature, so this objective is unbounded below and no learning rate converges`,
          ],
          null,
        ),
      };
    }
    const prev = view.count >= 2 ? view.tail(2)[0] : undefined;
    const growth = prev && view.count >= 3 ? perStep(first.loss, prev.loss, prev.step) : null;
    const parts = [`${what} became ${value} at step ${last.step}`];
    if (past && past.step < last.step)
      parts.push(
        `after the loss passed the blow-up bound ${boundText(bound)} at step ${past.step} (it had diverged there)`,
      );
    else if (growth !== null && growth > 1)
      parts.push(`after the loss grew ×${fmtFactor(growth)} per step from ${fmt(first.loss)}`);
    else if (prev && prev.loss < first.loss && value === Number.NEGATIVE_INFINITY)
      parts.push(`after the loss fell without limit from ${fmt(first.loss)}`);
    return { status: "nonfinite", atStep: last.step, reason: sentence(parts, factor) };
  }
  if (past) {
    const end =
      last.step === past.step
        ? ""
        : `; it ended at ${fmt(last.loss)} at step ${last.step}${last.loss < bound.value ? " (a run past the bound is diverged whatever follows: in float32 it would long have overflowed)" : ""}`;
    return {
      status: "diverged",
      atStep: past.step,
      reason: sentence(
        [
          `the loss passed the blow-up bound ${boundText(bound)} at step ${past.step}, where f = ${fmt(past.loss)}${end}`,
        ],
        factor,
      ),
    };
  }
  const catapult = catapultOf(view);
  const withCatapult = (v: Verdict): Verdict => (catapult ? { ...v, catapult } : v);
  const rose = catapult
    ? ` after rising above its start to ${fmt(catapult.peakLoss)} at step ${catapult.peakStep} (a catapult)`
    : "";
  if (last.gradNorm <= context.tolerance) {
    // A network whose gradient vanished at the trivial baseline has not converged to anything it
    // learned: its output no longer depends on its inputs (every ReLU unit dead, say), and no step
    // will move it.
    const baseline = objective.training ? objective.baseline : null;
    if (baseline && atBaseline(last.loss, baseline.loss))
      return withCatapult({
        status: "stalled",
        atStep: null,
        reason: sentence(
          [
            `‖∇f‖ = ${fmt(last.gradNorm)} ≤ tolerance ${fmt(context.tolerance)} at step ${last.step}${rose}, where f = ${fmt(last.loss)}: at the trivial baseline ${fmt(baseline.loss)} (${baseline.description}) — the output no longer depends on the inputs (dead units), and no step moves it: it stalled at the baseline`,
          ],
          factor,
        ),
      });
    return withCatapult({
      status: "converged",
      atStep: last.step,
      reason: sentence(
        [
          `‖∇f‖ = ${fmt(last.gradNorm)} ≤ tolerance ${fmt(context.tolerance)} at step ${last.step}, where f = ${fmt(last.loss)}${rose}`,
        ],
        factor,
      ),
    });
  }
  if (view.count === 1) {
    return {
      status: objective.training ? "failed" : "converging",
      atStep: null,
      reason: `no step was taken; f = ${fmt(last.loss)} at the start`,
    };
  }

  const n = view.count - 1;
  const m = Math.max(2, Math.min(50, Math.ceil(n / 4), n));
  const tail = view.tail(m + 1);
  const start = tail[0]!;
  const earlierMax = Math.max(...tail.slice(0, -1).map((r) => r.loss));
  const scale = Math.max(Math.abs(start.loss), Math.abs(last.loss), 1e-300);
  const gradGrowth = perStep(start.gradNorm, last.gradNorm, m);
  const growing = last.loss > earlierMax + 1e-12 * scale && (gradGrowth === null || gradGrowth > 1);
  const diverging = (): Verdict => {
    const lossGrowth = perStep(start.loss, last.loss, m);
    const growth = lossGrowth !== null && lossGrowth > 1 ? `, ×${fmtFactor(lossGrowth)} per step` : "";
    return {
      status: "diverging",
      atStep: view.aboveStartFrom ?? last.step,
      reason: sentence(
        [
          `the loss rose from ${fmt(start.loss)} to ${fmt(last.loss)} over the last ${plural(m, "step")}${growth}`,
        ],
        factor,
      ),
    };
  };

  if (objective.training) {
    const f0 = first.loss;
    const baseline = objective.baseline;
    if (last.loss < f0 && baseline && atBaseline(last.loss, baseline.loss)) {
      return withCatapult({
        status: "stalled",
        atStep: null,
        reason: sentence(
          [
            `the loss fell from ${fmt(f0)} to ${fmt(last.loss)} over ${plural(n, "step")}${rose}, but ${last.loss >= baseline.loss ? "not below" : "only to within 5% of"} the trivial baseline ${fmt(baseline.loss)} (${baseline.description}): the model has learned next to nothing from its inputs — it stalled at the baseline`,
          ],
          factor,
        ),
      });
    }
    if (last.loss < f0) {
      const spike = growing
        ? `; it was rising over the last ${plural(m, "step")} (a spike, not yet a failure)`
        : "";
      return withCatapult({
        status: "trained",
        atStep: null,
        reason: sentence(
          [
            `the loss fell from ${fmt(f0)} to ${fmt(last.loss)}${f0 > 0 && last.loss >= 0 ? ` (×${fmt(last.loss / f0)})` : ""} over ${plural(n, "step")}${rose}${spike}`,
          ],
          factor,
        ),
      });
    }
    if (growing) return diverging();
    const peak = view.peak.loss;
    return {
      status: "failed",
      atStep: null,
      reason: sentence(
        [
          `after ${plural(n, "step")} the loss is ${fmt(last.loss)}, not below its start ${fmt(f0)}${peak > last.loss ? ` (it peaked at ${fmt(peak)})` : ""}: the run did not train`,
        ],
        null,
      ),
    };
  }

  if (growing) return diverging();
  if (last.loss < start.loss - 1e-12 * scale) {
    const lossGrowth = perStep(start.loss, last.loss, m);
    const downhill = objective.constantHessian ? negativeCurvatureAlong(tail, objective) : null;
    if (downhill !== null) {
      return {
        status: "unbounded",
        atStep: null,
        reason: sentence(
          [
            `the loss fell from ${fmt(first.loss)} to ${fmt(last.loss)} and keeps falling; the curvature along the steps is ${fmt(downhill)} < 0 and the Hessian is the same everywhere, so this objective is unbounded below: no learning rate converges`,
          ],
          null,
        ),
      };
    }
    const rate = lossGrowth !== null && lossGrowth < 1 ? ` (×${fmtFactor(lossGrowth)} per step)` : "";
    return withCatapult({
      status: "converging",
      atStep: null,
      reason: sentence(
        [
          `after ${plural(n, "step")} the loss is still falling${rate}, f = ${fmt(last.loss)}, ‖∇f‖ = ${fmt(last.gradNorm)} > tolerance ${fmt(context.tolerance)}${rose}${stillAbove(view)}`,
        ],
        factor,
      ),
    });
  }
  const lo = Math.min(...tail.map((r) => r.loss));
  const hi = Math.max(...tail.map((r) => r.loss));
  const range = lo === hi ? `stayed at ${fmt(lo)}` : `stayed between ${fmt(lo)} and ${fmt(hi)}`;
  return {
    status: "oscillating",
    atStep: null,
    reason: sentence(
      [`over the last ${plural(m, "step")} the loss ${range} without falling${stillAbove(view)}`],
      factor,
    ),
  };
}

/** "; it rose above its start f(x₀) = −1 to 8 at step 1 and is still above it" when it did, else "". */
function stillAbove(view: TraceView): string {
  const { first, last, peak } = view;
  if (!(peak.loss > first.loss) || last.loss < first.loss) return "";
  return `; it rose above its start f(x₀) = ${fmt(first.loss)} to ${fmt(peak.loss)} at step ${peak.step} and is still above it`;
}

/** The loss rose above f(x₀) somewhere and the run ended below it: the peak and its step. */
function catapultOf(view: TraceView): Verdict["catapult"] | undefined {
  if (!(view.last.loss < view.first.loss) || !(view.peak.loss > view.first.loss)) return undefined;
  return { peakLoss: view.peak.loss, peakStep: view.peak.step };
}

/** The curvature ΔxᵀHΔx/‖Δx‖² of the last step of the tail when it is negative, else null. */
function negativeCurvatureAlong(
  tail: readonly StepRecord[],
  objective: JudgeContext["objective"],
): number | null {
  const a = tail[tail.length - 2];
  const b = tail[tail.length - 1];
  if (!a || !b) return null;
  const dx = new Float64Array(a.x.length);
  for (let i = 0; i < dx.length; i++) dx[i] = b.x[i]! - a.x[i]!;
  const dd = dot(dx, dx);
  if (!(dd > 0)) return null;
  const hdx = new Float64Array(dx.length);
  objective.hessianVector(a.x, dx, hdx);
  const c = dot(dx, hdx) / dd;
  return c < 0 ? c : null;
}

/** The per-step factor (b/a)^(1/steps) for positive a, b; null when it has no meaning. */
function perStep(a: number, b: number, steps: number): number | null {
  if (!(a > 0) || !(b > 0) || steps <= 0 || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  return (b / a) ** (1 / steps);
}

function firstBad(v: Float64Array): number {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return v[i]!;
  return Number.NaN;
}

/**
 * For plain gradient descent (no momentum, no weight decay): the factor 1 − η·λ along the gradient
 * at the record, with λ = gᵀHg/gᵀg; null for other optimizers, whose steps are not multiples of g.
 */
function gdFactor(record: StepRecord | null, context: JudgeContext, scheduled?: number): string | null {
  const o = context.optimizer;
  if (!record || o.name !== "sgd" || o.momentum !== 0 || o.weightDecay !== 0) return null;
  const hg = new Float64Array(record.grad.length);
  context.objective.hessianVector(record.x, record.grad, hg);
  const lambda = dot(record.grad, hg) / dot(record.grad, record.grad);
  if (!Number.isFinite(lambda)) return null;
  const lr = record.lr ?? scheduled ?? o.lr;
  // A schedule that reached 0 (cosine:T past T): the steps stand still, whatever the curvature.
  if (lr === 0) return "the schedule's rate is 0 here (η = 0), so the steps no longer move x";
  const f = 1 - lr * lambda;
  const cmp = Math.abs(f) > 1 + 1e-12 ? ">" : Math.abs(f) < 1 - 1e-12 ? "<" : "=";
  const where =
    context.objective.dim === 1 ? "the curvature f''" : "the curvature gᵀHg/‖g‖² along the gradient";
  // On a 1-D quadratic f'' is one number: "at step 12" would suggest it changes.
  const at =
    context.objective.dim === 1 && context.objective.constantHessian
      ? "everywhere: f is quadratic"
      : record.step === 0
        ? "at the start"
        : `at step ${record.step}`;
  let effect = "";
  if (cmp === ">")
    effect = `: each step multiplies the error along the gradient by ${fmtFactor(f)}, so the steps overshoot and grow`;
  else if (cmp === "=")
    effect = `: each step multiplies the error by ${fmtFactor(f)}, so it never shrinks${f < 0 ? " and x bounces across the minimum" : ""}`;
  else effect = `: each step multiplies the error along the gradient by ${fmtFactor(f)}`;
  return `|1 − η·λ| = |1 − ${fmt(lr)}·${fmt(lambda)}| = ${fmtFactor(Math.abs(f))}${cmp === "=" ? " exactly" : ` ${cmp} 1`} (λ = ${fmt(lambda)} is ${where} ${at})${effect}`;
}

function sentence(parts: string[], factor: string | null): string {
  const body = parts.join(" ");
  const text = factor ? `${factor}; ${body}` : body;
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
