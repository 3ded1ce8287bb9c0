import type { Objective } from "../../core/objective.js";
import type { Stoppable } from "../../core/stoppable.js";
import type { OptimizerConfig } from "../../optim/index.js";
import { hessianOperator } from "../curvature/hvp.js";
import {
  type LanczosOptions,
  lanczos,
  lanczosAsync,
  lanczosSteps,
  type SpectrumEstimate,
} from "../curvature/lanczos.js";
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
  /** Also the Ritz vectors (spectrum.vectors), e.g. for where λmax's direction lies. */
  readonly vectors?: boolean;
  /** After each Lanczos step: the steps taken and the cap (for progress). */
  readonly onStep?: (steps: number, cap: number) => void;
}

export interface StabilityReport {
  readonly at: Float64Array;
  readonly spectrum: SpectrumEstimate;
  readonly lambdaMax: number;
  readonly lambdaMin: number;
  /** λmax/λmin when λmin > 0, else null (indefinite or singular). */
  readonly conditionNumber: number | null;
  /**
   * Present when λmin < 0: directions in which the loss decreases from this point. They limit no
   * learning rate. `unboundedBelow` is true only where that is known: the Hessian is the same
   * everywhere (a quadratic), so the loss falls without limit along that eigenvector.
   */
  readonly negativeCurvature: { readonly lambdaMin: number; readonly unboundedBelow: boolean } | null;
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

/**
 * Curvature at a point and what it implies for the learning rate (Lanczos on exact HVPs): the
 * stability limit of the directions of positive curvature, 2/λmax for plain GD (critical.ts), at
 * any point — a minimum, a saddle or a network's initial weights alike — with negative curvature
 * reported beside it.
 */
export function stabilityAt(
  objective: Objective,
  at: ArrayLike<number>,
  optimizer: OptimizerConfig,
  options: StabilityOptions = {},
): StabilityReport {
  const { op, lanczosOptions } = stabilityLanczos(objective, at, options);
  return stabilityFrom(objective, at, optimizer, lanczos(op, lanczosOptions));
}

/** stabilityAt one Lanczos step at a time (core/stoppable.ts): stopped, the estimates of the steps taken. */
export function* stabilityAtSteps(
  objective: Objective,
  at: ArrayLike<number>,
  optimizer: OptimizerConfig,
  options: StabilityOptions = {},
): Stoppable<StabilityReport> {
  const { op, lanczosOptions } = stabilityLanczos(objective, at, options);
  const spectrum = yield* lanczosSteps(op, lanczosOptions);
  return stabilityFrom(objective, at, optimizer, spectrum);
}

/**
 * stabilityAt that gives the event loop a turn after each Lanczos step and, once `stop()` says so,
 * ends with the estimates of the steps taken (`spectrum.converged` false unless they met the
 * tolerance; each residual a bound) and `stopped` set.
 */
export async function stabilityAtAsync(
  objective: Objective,
  at: ArrayLike<number>,
  optimizer: OptimizerConfig,
  options: StabilityOptions & { readonly stop: () => boolean },
): Promise<StabilityReport & { readonly stopped: boolean }> {
  const { op, lanczosOptions } = stabilityLanczos(objective, at, options);
  const spectrum = await lanczosAsync(op, { ...lanczosOptions, stop: options.stop });
  return { ...stabilityFrom(objective, at, optimizer, spectrum), stopped: spectrum.stopped };
}

function stabilityLanczos(objective: Objective, at: ArrayLike<number>, options: StabilityOptions) {
  const n = objective.dim;
  const op = hessianOperator(objective, at, options.finiteDifference ? { finiteDifference: true } : {});
  const lanczosOptions: LanczosOptions = {
    k: options.k ?? Math.min(3, n),
    tolerance: options.tolerance ?? 1e-10,
    maxIterations: options.maxHvps ?? Math.min(n, 300),
    seed: options.seed ?? 0,
    ...(options.vectors ? { vectors: true } : {}),
    ...(options.onStep ? { onStep: options.onStep } : {}),
  };
  return { op, lanczosOptions };
}

/** What the extreme eigenvalues imply for the learning rate. */
function stabilityFrom(
  objective: Objective,
  at: ArrayLike<number>,
  optimizer: OptimizerConfig,
  spectrum: SpectrumEstimate,
): StabilityReport {
  const lambdaMax = spectrum.top[0]!.value;
  const lambdaMin = spectrum.bottom!.value;
  // Eigenvalues within rounding of zero count as zero, not as curvature of either sign.
  const noise = 1e-12 * Math.max(Math.abs(lambdaMax), Math.abs(lambdaMin));
  const warnings: string[] = [];
  if (!spectrum.exactHvp)
    warnings.push(
      "Hessian-vector products are central differences of gradients: eigenvalues are approximate (about 7 significant digits)",
    );
  if (lambdaMax <= noise)
    warnings.push("no positive curvature at this point: the learning rate is not limited by curvature here");
  const negative = lambdaMin < -noise;
  const positive = lambdaMin > noise;
  return {
    at: Float64Array.from(at),
    spectrum,
    lambdaMax,
    lambdaMin,
    conditionNumber: positive ? lambdaMax / lambdaMin : null,
    negativeCurvature: negative ? { lambdaMin, unboundedBelow: objective.constantHessian === true } : null,
    critical: criticalLearningRate(optimizer, lambdaMax, negative ? lambdaMin : Math.max(lambdaMin, 0)),
    criticalGd: criticalLearningRate(
      { name: "sgd", lr: 1, momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
      lambdaMax,
      negative ? lambdaMin : Math.max(lambdaMin, 0),
    ),
    optimal: positive
      ? { gd: optimalGdStep(lambdaMin, lambdaMax), heavyBall: optimalHeavyBall(lambdaMin, lambdaMax) }
      : null,
    warnings,
  };
}
