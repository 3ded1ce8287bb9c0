import { fmt } from "../../core/format.js";
import type { OptimizerConfig } from "../../optim/index.js";

/**
 * The largest stable learning rate of the SGD family on a quadratic with Hessian eigenvalues in
 * [λmin, λmax], derived from PyTorch's update rules (src/optim/sgd.ts) by the Jury test on each
 * eigen-direction's linear recurrence. With a = η·λ:
 *
 * - plain:     x' = (1 − a)·x, stable iff 0 < a < 2.
 * - momentum β, dampening τ (b' = β·b + (1−τ)·g, x' = x − η·b'): x'' = (1 + β − a(1−τ))·x' − β·x,
 *   stable iff 0 < a(1−τ) < 2(1 + β).
 * - Nesterov (b' = β·b + g, x' = x − η·(g + β·b')): z² − (1+β)(1−a)·z + β(1−a) = 0, and the root
 *   at z = −1 gives 1 + (1 + 2β)(1 − a) = 0, so stable iff 0 < a < 2(1 + β)/(1 + 2β).
 * - weight decay w adds w·I to the Hessian: λ becomes λ + w.
 *
 * Exact on positive-definite quadratics (tests bisect real runs against these); elsewhere it is
 * the local limit of the directions of positive curvature at the point where λmax was measured.
 * A direction with λ < 0 is not a limit on η: the recurrence x' = (1 − ηλ)·x grows there at any
 * η > 0, but that growth is the loss falling, which only an objective unbounded below turns into
 * a failure (stability.ts says when that is known).
 */
export interface CriticalRate {
  /**
   * Supremum of the learning rates under which every direction of positive curvature contracts
   * (2/λmax for plain GD); null when no direction has positive curvature or the optimizer never
   * contracts (momentum ≥ 1). Negative curvature does not change it: see `note`.
   */
  readonly lr: number | null;
  /** The formula with the optimizer's own symbols. */
  readonly formula: string;
  /** The formula with the numbers put in. */
  readonly evaluated: string;
  /** Whether the formula is exact for a quadratic (true for the SGD family). */
  readonly exactOnQuadratics: boolean;
  readonly note: string;
}

export function criticalLearningRate(
  config: OptimizerConfig,
  lambdaMax: number,
  lambdaMin = lambdaMax,
): CriticalRate {
  if (!Number.isFinite(lambdaMax) || !Number.isFinite(lambdaMin))
    throw new Error("invalid curvature: λ is not finite");
  if (config.name !== "sgd") {
    return {
      lr: null,
      formula: "—",
      evaluated: "—",
      exactOnQuadratics: false,
      note: `${config.name} rescales each coordinate by its gradient history, so no fixed learning rate follows from λmax alone; use the preconditioned sharpness along a run`,
    };
  }
  const { momentum: beta, dampening: tau, nesterov, weightDecay: wd } = config;
  const top = lambdaMax + wd;
  const bottom = Math.min(lambdaMin, lambdaMax) + wd;
  const lam = wd !== 0 ? "(λmax + w)" : "λmax";
  const lamValue = wd !== 0 ? `(${fmt(lambdaMax)} + ${fmt(wd)})` : fmt(lambdaMax);
  let formula: string;
  let numerator: number;
  let evaluated: string;
  if (beta === 0) {
    formula = `2/${lam}`;
    numerator = 2;
    evaluated = `2/${lamValue}`;
  } else if (nesterov) {
    formula = `2(1 + β)/((1 + 2β)·${lam})`;
    numerator = (2 * (1 + beta)) / (1 + 2 * beta);
    evaluated = `2(1 + ${fmt(beta)})/((1 + 2·${fmt(beta)})·${lamValue})`;
  } else if (tau !== 0) {
    formula = `2(1 + β)/((1 − τ)·${lam})`;
    numerator = (2 * (1 + beta)) / (1 - tau);
    evaluated = `2(1 + ${fmt(beta)})/((1 − ${fmt(tau)})·${lamValue})`;
  } else {
    formula = `2(1 + β)/${lam}`;
    numerator = 2 * (1 + beta);
    evaluated = `2(1 + ${fmt(beta)})/${lamValue}`;
  }
  if (beta >= 1) {
    return {
      lr: null,
      formula,
      evaluated,
      exactOnQuadratics: true,
      note: `momentum β = ${fmt(beta)} ≥ 1 keeps every past gradient at full weight or more, so the iterates never contract: no learning rate is stable`,
    };
  }
  if (top <= 0 || (tau === 1 && !nesterov && beta !== 0)) {
    return {
      lr: null,
      formula,
      evaluated,
      exactOnQuadratics: true,
      note:
        top <= 0
          ? `no positive curvature (λmax${wd !== 0 ? " + w" : ""} = ${fmt(top)} ≤ 0): no direction here overshoots, so curvature limits no learning rate at this point`
          : "dampening τ = 1 ignores the gradient: no step is taken, so no rate overshoots",
    };
  }
  const lr = numerator / top;
  // Negative curvature (λmin < 0, every network at its initial weights) is a direction in which the
  // loss falls from here; it bounds no step size, so it never withholds the limit set by λmax.
  const note =
    bottom < 0
      ? `λmin${wd !== 0 ? " + w" : ""} = ${fmt(bottom)} < 0: along its eigenvector the loss decreases from this point (it is not a minimum); that direction limits no learning rate`
      : "";
  return { lr, formula, evaluated: `${evaluated} = ${fmt(lr)}`, exactOnQuadratics: true, note };
}

/** The fixed step that minimizes the worst contraction of GD: η* = 2/(λmin + λmax), rate (κ − 1)/(κ + 1). */
export function optimalGdStep(lambdaMin: number, lambdaMax: number): { lr: number; rate: number } {
  if (!(lambdaMin > 0 && lambdaMax >= lambdaMin))
    throw new Error(`invalid curvature: needs 0 < λmin ≤ λmax, got ${lambdaMin}, ${lambdaMax}`);
  const kappa = lambdaMax / lambdaMin;
  return { lr: 2 / (lambdaMin + lambdaMax), rate: (kappa - 1) / (kappa + 1) };
}

/**
 * Polyak's optimal heavy ball, in PyTorch's form (dampening 0, the same η and β):
 * η* = 4/(√λmax + √λmin)², β* = ((√κ − 1)/(√κ + 1))², rate √β*.
 */
export function optimalHeavyBall(
  lambdaMin: number,
  lambdaMax: number,
): { lr: number; momentum: number; rate: number } {
  if (!(lambdaMin > 0 && lambdaMax >= lambdaMin))
    throw new Error(`invalid curvature: needs 0 < λmin ≤ λmax, got ${lambdaMin}, ${lambdaMax}`);
  const sk = Math.sqrt(lambdaMax / lambdaMin);
  const momentum = ((sk - 1) / (sk + 1)) ** 2;
  return { lr: 4 / (Math.sqrt(lambdaMax) + Math.sqrt(lambdaMin)) ** 2, momentum, rate: Math.sqrt(momentum) };
}
