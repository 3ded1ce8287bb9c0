import type { Objective } from "../../core/objective.js";
import {
  type BlockCurvature,
  blockCurvature,
  blocksByDefault,
  type LayersLeftOut,
  layerBlocks,
  layersLeftOut,
  type ParameterBlock,
} from "./blocks.js";
import {
  type DensityCurve,
  type DensityOptions,
  defaultProbes,
  densityCurve,
  quadratureOf,
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
  /**
   * The layers left out by default (SpectrumOptions.layers), with what they would have cost and the
   * share of λmax's eigenvector in each, which costs nothing; null when measured or not a network.
   */
  readonly layersLeftOut: LayersLeftOut | null;
}

export interface SpectrumOptions {
  readonly k?: number;
  readonly probes?: number;
  readonly steps?: number;
  readonly sigma?: number;
  readonly seed?: number;
  readonly tolerance?: number;
  readonly maxHvps?: number;
  /**
   * Per-layer blocks: true, false, or by default whenever the objective has layers and their HVPs
   * are within the budget of blocks.ts blocksByDefault (the extremes' and density's, or 1,050).
   */
  readonly layers?: boolean;
  readonly finiteDifference?: boolean;
  /**
   * The extremes' Lanczos run as the density's first probe (default: past 2,000 parameters, where
   * the probes are few and each is a pass of HVPs over the data). Its start is a Gaussian vector,
   * orthogonal to an eigenvector with probability 0, where a Rademacher one can be orthogonal to
   * one of a structured Hessian ((1, −1) on [[2, 1], [1, 2]]); as a probe it is unbiased too, but its trace sample spreads
   * more than a Rademacher one's (2‖H‖²_F against 2Σ_{i≠j}Hᵢⱼ²: on a diagonal H, against 0).
   */
  readonly reuseExtremes?: boolean;
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
  // The extremes' Lanczos run, taken to at least the density's M steps, can also be the density's
  // first probe (its start is uniform on the unit sphere: density.ts quadratureOf): M HVPs fewer.
  const steps = options.steps ?? Math.min(n, 50);
  const reuse = options.reuseExtremes ?? n > 2000;
  const maxIterations = options.maxHvps ?? Math.min(n, 300);
  // The blocks by default within their budget (blocks.ts blocksByDefault); the share of λmax's
  // eigenvector per block is free either way.
  const all = options.layers === false ? null : objectiveBlocks(objective);
  const rest = Math.min(maxIterations, n) + ((options.probes ?? defaultProbes(n)) - (reuse ? 1 : 0)) * steps;
  const blocks = all && (options.layers === true || blocksByDefault(all, rest)) ? all : null;
  const extremes = lanczos(op, {
    k: options.k ?? Math.min(3, n),
    tolerance: options.tolerance ?? 1e-10,
    maxIterations,
    seed,
    vectors: all !== null,
    ...(reuse ? { minIterations: steps, tridiagonal: true } : {}),
  });
  const t = extremes.tridiagonal;
  const density: DensityOptions = {
    ...(options.probes !== undefined ? { probes: options.probes } : {}),
    steps,
    seed: seed + 1,
    ...(options.onProbe ? { onProbe: options.onProbe } : {}),
    ...(t ? { first: quadratureOf(t.alpha, t.beta, n) } : {}),
  };
  const finish = (d: SpectralDensity): SpectrumReport => {
    const curve = densityCurve(d, options.sigma !== undefined ? { sigma: options.sigma } : {});
    const perLayer = blocks
      ? blockCurvature(op, blocks, extremes.vectors!.top[0]!, {
          ...(options.tolerance !== undefined ? { tolerance: options.tolerance } : {}),
          seed: seed + 2,
        })
      : null;
    const top = extremes.vectors?.top[0];
    const leftOut = all && !blocks && top ? layersLeftOut(all, top, rest) : null;
    return { extremes, density: d, curve, blocks: perLayer, hvps: op.count, layersLeftOut: leftOut };
  };
  return { op, density, finish };
}
