import { spectrumAt } from "../../../src/analysis/curvature/spectrum.js";
import type { Objective } from "../../../src/core/objective.js";

/**
 * The lab's curvature view of a model at some weights, as its workers compute it: λmax and λmin
 * (Lanczos on exact HVPs), the eigenvalue density (stochastic Lanczos quadrature) and each layer's
 * block — the library's spectrumAt, as `overshoot spectrum` computes them, with fewer probes (the
 * CLI's defaults are 16 × 50) so a view keeps up with training. Plain arrays: it crosses from a
 * worker to the page.
 */
export const VIEW_PROBES = 8;
export const VIEW_STEPS = 30;

export interface CurvatureMeasure {
  readonly lambdaMax: number;
  readonly lambdaMin: number;
  readonly curve: { readonly x: number[]; readonly density: number[]; readonly sigma: number };
  readonly layers: { readonly name: string; readonly lambdaMax: number; readonly share: number | null }[];
}

export function curvatureMeasure(objective: Objective, theta: ArrayLike<number>): CurvatureMeasure {
  const report = spectrumAt(objective, theta, {
    k: 1,
    probes: VIEW_PROBES,
    // At most the dimension: the Krylov space of a small model closes sooner.
    steps: Math.min(VIEW_STEPS, objective.dim),
    seed: 0,
    // The view always shows the layers (the CLI's default leaves them out where they would more
    // than double the HVPs); and its probes are its own, each a Rademacher probe.
    layers: true,
    reuseExtremes: false,
  });
  return {
    lambdaMax: report.extremes.top[0]!.value,
    lambdaMin: report.extremes.bottom!.value,
    curve: {
      x: Array.from(report.curve.x),
      density: Array.from(report.curve.density),
      sigma: report.curve.sigma,
    },
    layers: (report.blocks ?? []).map((b) => ({
      name: b.block.name,
      lambdaMax: b.top.value,
      share: b.share,
    })),
  };
}
