/**
 * One record per iterate k = 0 … N (DESIGN.md, "Contracts that must not drift"):
 * x, loss and grad all belong to the same point x_k. The change fields describe the step
 * from x_k to x_{k+1} and are absent on the last record (and on a non-finite one).
 */
export interface StepRecord {
  /** Iterate index k (0 is the start point). */
  readonly step: number;
  /** The point x_k. */
  readonly x: Float64Array;
  /** f(x_k). */
  readonly loss: number;
  /** ∇f(x_k). */
  readonly grad: Float64Array;
  /** ‖∇f(x_k)‖₂. */
  readonly gradNorm: number;
  /** Actual change ΔC_k = f(x_{k+1}) − f(x_k). */
  readonly deltaLoss?: number;
  /** First-order prediction ∇f(x_k)ᵀ(x_{k+1} − x_k); for plain GD, −η‖g‖². */
  readonly firstOrder?: number;
  /** Second-order prediction firstOrder + ½ ΔxᵀH(x_k)Δx; exact on a quadratic. */
  readonly secondOrder?: number;
  /** The learning rate of the step from x_k, when a schedule changes it (absent for a constant rate). */
  readonly lr?: number;
}

/**
 * How a run ended. For every objective: `converged` (‖∇f‖ ≤ tolerance), `diverged` (the loss
 * passed the blow-up bound of run/divergence.ts and stayed finite), `nonfinite` (a non-finite
 * value: diverged too), `diverging` (below the bound, but the loss grows step over step at the
 * end). For a function: `converging` (still falling), `oscillating` (bounded, not falling),
 * `unbounded` (falling without limit on an objective known to be unbounded below). For a model
 * trained on data (`Objective.training`): `trained` (the horizon ended with the loss below its
 * start and clear of the trivial baseline), `stalled` (below its start, but within 5% of the
 * baseline or above it: it learned next to nothing) and `failed` (it ended at or above its start).
 */
export type VerdictStatus =
  | "converged"
  | "converging"
  | "oscillating"
  | "diverging"
  | "diverged"
  | "nonfinite"
  | "stalled"
  | "unbounded"
  | "trained"
  | "failed";

export interface Verdict {
  readonly status: VerdictStatus;
  /** converged: first step with ‖g‖ ≤ tolerance; nonfinite: first non-finite step; diverged: the first step past the blow-up bound; diverging: the step growth was established from. Otherwise null. */
  readonly atStep: number | null;
  /** One plain sentence with the numbers. */
  readonly reason: string;
  /**
   * A catapult (Lewkowycz et al. 2020): the loss rose above its start, to `peakLoss` at
   * `peakStep`, and the run still ended below its start. Present only then.
   */
  readonly catapult?: { readonly peakLoss: number; readonly peakStep: number };
}
