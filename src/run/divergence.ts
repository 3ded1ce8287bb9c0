import { fmt } from "../core/format.js";
import type { Objective } from "../core/objective.js";

/**
 * The one meaning of "diverged" (DESIGN.md): a run has diverged at the first step where its loss
 * or gradient is not finite, or where its loss passes the blow-up bound
 *
 *   B = factor · max(|f(x₀)|, baseline)        (factor 10⁶ by default),
 *
 * the baseline being the loss of the best constant prediction for a model on data (the targets'
 * variance for mse, the class-prior entropy for cross-entropy and bce; none for a function). A loss
 * a million times the start's and the trivial model's is not a spike a run comes back from in any
 * precision people train in: float32 overflows at 3.4e38, and a run at 1e189 has long been inf
 * there. When both scales are 0 (a function that starts at f = 0 with no baseline), 1 stands in.
 *
 * Every command (run, train, critical-lr, sweep, find-lr, the guard, diagnose, the lab) takes its
 * bound from here, and prints it with `boundText`.
 */
export const DEFAULT_BLOW_UP_FACTOR = 1e6;

export interface BlowUpBound {
  /** The multiple of the reference scale (default 10⁶). */
  readonly factor: number;
  /** f(x₀). */
  readonly startLoss: number;
  /** The trivial baseline's loss, or null for an objective without one (a function). */
  readonly baseline: number | null;
  /** B = factor · max(|f(x₀)|, baseline), or factor · 1 when both are 0. */
  readonly value: number;
}

/** The bound of a run from f(x₀): `factor` (default 10⁶) times the larger of |f(x₀)| and the baseline. */
export function blowUpBound(
  startLoss: number,
  baseline: number | null | undefined,
  factor: number = DEFAULT_BLOW_UP_FACTOR,
): BlowUpBound {
  if (!(factor > 1) || !Number.isFinite(factor))
    throw new Error(`invalid blow-up: ${factor} (a factor > 1, such as 1e6)`);
  const base = baseline !== undefined && baseline !== null && Number.isFinite(baseline) ? baseline : null;
  const scale = Math.max(Number.isFinite(startLoss) ? Math.abs(startLoss) : 0, base ?? 0);
  return { factor, startLoss, baseline: base, value: factor * (scale > 0 ? scale : 1) };
}

/** The bound of a run of `objective` from a start whose loss is `startLoss`. */
export function objectiveBound(
  objective: Pick<Objective, "baseline">,
  startLoss: number,
  factor?: number,
): BlowUpBound {
  return blowUpBound(startLoss, objective.baseline?.loss, factor);
}

/**
 * Whether the iterate has diverged: `nonfinite` when the loss or the gradient's norm is not finite
 * (−Infinity included: the caller decides whether a constant-Hessian objective ran away downhill),
 * `bound` when the loss is past B, else null.
 */
export function divergence(loss: number, gradNorm: number, bound: BlowUpBound): "nonfinite" | "bound" | null {
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) return "nonfinite";
  return loss > bound.value ? "bound" : null;
}

/** "10⁶ × max(|f(x₀)| 0.6931, baseline 0.6931) = 6.931e5": the criterion line's words for B. */
export function boundText(b: BlowUpBound): string {
  const factor = factorText(b.factor);
  const start = `|f(x₀)| ${fmt(Math.abs(b.startLoss))}`;
  if (b.value === b.factor && !(Math.abs(b.startLoss) > 0) && !((b.baseline ?? 0) > 0))
    return `${factor} × 1 (f(x₀) = 0) = ${fmt(b.value)}`;
  const scale = b.baseline !== null ? `max(${start}, baseline ${fmt(b.baseline)})` : start;
  return `${factor} × ${scale} = ${fmt(b.value)}`;
}

/** 1e6 → "10⁶", 2.5e7 → "2.5e7". */
export function factorText(factor: number): string {
  const e = Math.log10(factor);
  if (Number.isInteger(e) && e > 0 && e < 100) {
    const sup = "⁰¹²³⁴⁵⁶⁷⁸⁹";
    return `10${String(e)
      .split("")
      .map((d) => sup[Number(d)])
      .join("")}`;
  }
  return fmt(factor);
}

/** The bound as the JSON outputs carry it. */
export function boundJson(b: BlowUpBound) {
  return { factor: b.factor, startLoss: b.startLoss, baseline: b.baseline, value: b.value };
}

/** Whether a verdict or cell status says the run diverged: past the bound, or past float64. */
export const divergedStatus = (status: string): boolean => status === "diverged" || status === "nonfinite";
