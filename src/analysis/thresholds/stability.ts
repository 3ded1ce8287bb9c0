import { fmt } from "../../core/format.js";
import type { Objective } from "../../objectives/types.js";
import type { OptimizerConfig } from "../../optim/index.js";
import { hessianOperator } from "../curvature/hvp.js";
import { lanczos, type SpectrumEstimate } from "../curvature/lanczos.js";
import { type CriticalRate, criticalLearningRate, optimalGdStep, optimalHeavyBall } from "./critical.js";

export interface StabilityOptions {
  /** How many of the largest eigenvalues (default min(3, n)). */
  readonly k?: number;
  /** Relative residual tolerance of Lanczos (default 1e-10). */
  readonly tolerance?: number;
  /** HVP budget (default min(n, 300)). */
  readonly maxHvps?: number;
  /** Central differences of gradients instead of exact HVPs. */
  readonly finiteDifference?: boolean;
  readonly seed?: number;
}

export interface StabilityReport {
  readonly at: Float64Array;
  readonly spectrum: SpectrumEstimate;
  readonly lambdaMax: number;
  readonly lambdaMin: number;
  /** λmax/λmin when λmin > 0, else null (indefinite or singular). */
  readonly conditionNumber: number | null;
  /** For the optimizer asked about. */
  readonly critical: CriticalRate;
  /** For plain gradient descent, the reference every other answer is compared with. */
  readonly criticalGd: CriticalRate;
  readonly optimal: {
    readonly gd: { lr: number; rate: number };
    readonly heavyBall: { lr: number; momentum: number; rate: number };
  } | null;
  readonly warnings: readonly string[];
}

/** Curvature at a point and what it implies for the learning rate (Lanczos on exact HVPs). */
export function stabilityAt(
  objective: Objective,
  at: ArrayLike<number>,
  optimizer: OptimizerConfig,
  options: StabilityOptions = {},
): StabilityReport {
  const n = objective.dim;
  const op = hessianOperator(objective, at, options.finiteDifference ? { finiteDifference: true } : {});
  const spectrum = lanczos(op, {
    k: options.k ?? Math.min(3, n),
    tolerance: options.tolerance ?? 1e-10,
    maxIterations: options.maxHvps ?? Math.min(n, 300),
    seed: options.seed ?? 0,
  });
  const lambdaMax = spectrum.top[0]!.value;
  const lambdaMin = spectrum.bottom!.value;
  // Eigenvalues within rounding of zero count as zero, not as curvature of either sign.
  const noise = 1e-12 * Math.max(Math.abs(lambdaMax), Math.abs(lambdaMin));
  const warnings: string[] = [];
  if (!spectrum.exactHvp)
    warnings.push(
      "Hessian-vector products are central differences of gradients: eigenvalues are approximate (about 7 significant digits)",
    );
  if (lambdaMin < -noise) {
    warnings.push(
      `negative curvature: λmin = ${fmt(lambdaMin)} < 0, so this point is not a minimum and no learning rate makes every direction contract`,
    );
  }
  if (lambdaMax <= noise)
    warnings.push("no positive curvature at this point: the learning rate is not limited by curvature here");
  const positive = lambdaMin > noise;
  return {
    at: Float64Array.from(at),
    spectrum,
    lambdaMax,
    lambdaMin,
    conditionNumber: positive ? lambdaMax / lambdaMin : null,
    critical: criticalLearningRate(
      optimizer,
      lambdaMax,
      lambdaMin < -noise ? lambdaMin : Math.max(lambdaMin, 0),
    ),
    criticalGd: criticalLearningRate(
      { name: "sgd", lr: 1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
      lambdaMax,
      lambdaMin < -noise ? lambdaMin : Math.max(lambdaMin, 0),
    ),
    optimal: positive
      ? { gd: optimalGdStep(lambdaMin, lambdaMax), heavyBall: optimalHeavyBall(lambdaMin, lambdaMax) }
      : null,
    warnings,
  };
}
