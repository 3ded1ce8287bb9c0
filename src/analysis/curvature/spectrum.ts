import type { Objective } from "../../core/objective.js";
import { type BlockCurvature, blockCurvature, layerBlocks, type ParameterBlock } from "./blocks.js";
import {
  type DensityCurve,
  type DensityOptions,
  densityCurve,
  type SpectralDensity,
  spectralDensity,
  spectralDensityAsync,
} from "./density.js";
import { hessianOperator } from "./hvp.js";
import { lanczos, type SpectrumEstimate } from "./lanczos.js";

/**
 * The whole curvature picture at a point, on the objective's own rows: the extreme eigenvalues
 * with their Ritz residuals (Lanczos), the eigenvalue density and the trace (stochastic Lanczos
 * quadrature), and for a network each layer's block of the Hessian beside the share of λmax's
 * eigenvector in that layer.
 */
export interface SpectrumReport {
  readonly extremes: SpectrumEstimate;
  readonly density: SpectralDensity;
  readonly curve: DensityCurve;
  /** Per layer, for objectives with a layer layout (networks); null otherwise. */
  readonly blocks: readonly BlockCurvature[] | null;
  /** Every HVP: extremes + density + blocks. */
  readonly hvps: number;
}

export interface SpectrumOptions {
  readonly k?: number;
  readonly probes?: number;
  readonly steps?: number;
  readonly sigma?: number;
  readonly seed?: number;
  readonly tolerance?: number;
  readonly maxHvps?: number;
  /** Per-layer blocks (default: whenever the objective has layers). */
  readonly layers?: boolean;
  readonly finiteDifference?: boolean;
  /** Called after each quadrature probe (for a progress bar). */
  readonly onProbe?: (done: number, of: number) => void;
}

/** The layers of an objective that has them (a graph's parameter groups, an MLP's layout), else null. */
export function objectiveBlocks(objective: Objective): ParameterBlock[] | null {
  const groups = (objective as { groups?: readonly ParameterBlock[] }).groups;
  if (Array.isArray(groups) && groups.length > 0) return [...groups];
  const layout = (objective as { layout?: readonly { w: number; b: number; out: number }[] }).layout;
  return Array.isArray(layout) && layout.length > 0 ? layerBlocks(layout) : null;
}

export function spectrumAt(
  objective: Objective,
  at: ArrayLike<number>,
  options: SpectrumOptions = {},
): SpectrumReport {
  const parts = spectrumParts(objective, at, options);
  return parts.finish(spectralDensity(parts.op, parts.density));
}

/**
 * spectrumAt that gives the event loop a turn after each quadrature probe and, once `stop()` says
 * so, ends the density at the probes done (`stopped`); the extremes and the layers are whole.
 */
export async function spectrumAtAsync(
  objective: Objective,
  at: ArrayLike<number>,
  options: SpectrumOptions & { readonly stop: () => boolean },
): Promise<SpectrumReport & { readonly stopped: boolean }> {
  const parts = spectrumParts(objective, at, options);
  const density = await spectralDensityAsync(parts.op, { ...parts.density, stop: options.stop });
  return { ...parts.finish(density), stopped: density.stopped };
}

/** The extremes (Lanczos), then what the density needs and what follows it (curve, layers). */
function spectrumParts(objective: Objective, at: ArrayLike<number>, options: SpectrumOptions) {
  const n = objective.dim;
  const op = hessianOperator(objective, at, options.finiteDifference ? { finiteDifference: true } : {});
  const seed = options.seed ?? 0;
  const blocks = options.layers === false ? null : objectiveBlocks(objective);
  const extremes = lanczos(op, {
    k: options.k ?? Math.min(3, n),
    tolerance: options.tolerance ?? 1e-10,
    maxIterations: options.maxHvps ?? Math.min(n, 300),
    seed,
    vectors: blocks !== null,
  });
  const density: DensityOptions = {
    ...(options.probes !== undefined ? { probes: options.probes } : {}),
    ...(options.steps !== undefined ? { steps: options.steps } : {}),
    seed: seed + 1,
    ...(options.onProbe ? { onProbe: options.onProbe } : {}),
  };
  const finish = (d: SpectralDensity): SpectrumReport => {
    const curve = densityCurve(d, options.sigma !== undefined ? { sigma: options.sigma } : {});
    const perLayer = blocks
      ? blockCurvature(op, blocks, extremes.vectors!.top[0]!, {
          ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}),
          seed: seed + 2,
        })
      : null;
    return { extremes, density: d, curve, blocks: perLayer, hvps: op.count };
  };
  return { op, density, finish };
}
