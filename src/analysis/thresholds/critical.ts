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
 * Exact on quadratics (tests bisect real runs against these); elsewhere it is the local answer at
 * the point where λmax was measured.
 */
export interface CriticalRate {
  /** Supremum of stable learning rates; null when no rate is stable, or every rate is. */
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
  if (bottom < 0) {
    return {
      lr: null,
      formula,
      evaluated,
      exactOnQuadratics: true,
      note: `negative curvature (λmin${wd !== 0 ? " + w" : ""} = ${fmt(bottom)} < 0): along that direction the loss falls without bound and the iterates grow at any learning rate`,
    };
  }
  if (top <= 0 || (tau === 1 && !nesterov && beta !== 0)) {
    return {
      lr: null,
      formula,
      evaluated,
      exactOnQuadratics: true,
      note: "no curvature to overshoot: every learning rate is stable",
    };
  }
  const lr = numerator / top;
  return { lr, formula, evaluated: `${evaluated} = ${fmt(lr)}`, exactOnQuadratics: true, note: "" };
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
