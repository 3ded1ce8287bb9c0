import { spectrumAt } from "../../../src/analysis/curvature/spectrum.js";
import { type NetworkSpec, networkProblem } from "./model.js";
import { VIEW_PROBES, VIEW_STEPS } from "./view-sizes.js";

/**
 * The network panel's curvature view, off the page's thread: at the weights it is sent, the
 * Hessian's eigenvalue density (stochastic Lanczos quadrature on exact HVPs), its extremes and
 * each layer's block — the library's spectrumAt, as `overshoot spectrum` computes them, with fewer
 * probes so a view keeps up with training. The network is rebuilt from its settings (objects with
 * functions cannot cross to a worker) and kept while they stay the same.
 */
export interface CurvatureRequest {
  readonly job: number;
  readonly step: number;
  readonly spec: NetworkSpec;
  readonly theta: Float64Array;
}

export interface CurvatureView {
  readonly step: number;
  readonly curve: { readonly x: number[]; readonly density: number[]; readonly sigma: number };
  readonly lambdaMax: number;
  readonly lambdaMin: number;
  readonly layers: { readonly name: string; readonly lambdaMax: number; readonly share: number | null }[];
}

export type CurvatureReply =
  | { readonly job: number; readonly view: CurvatureView }
  | { readonly job: number; readonly error: string };

let built: { key: string; problem: ReturnType<typeof networkProblem> } | null = null;

self.onmessage = (event: MessageEvent<CurvatureRequest>) => {
  const { job, step, spec, theta } = event.data;
  try {
    const key = JSON.stringify(spec);
    if (built?.key !== key) built = { key, problem: networkProblem(spec) };
    const report = spectrumAt(built.problem.objective, theta, {
      k: 1,
      probes: VIEW_PROBES,
      // At most the dimension: the Krylov space of a small model closes sooner.
      steps: Math.min(VIEW_STEPS, built.problem.objective.dim),
      seed: 0,
    });
    const view: CurvatureView = {
      step,
      curve: {
        x: Array.from(report.curve.x),
        density: Array.from(report.curve.density),
        sigma: report.curve.sigma,
      },
      lambdaMax: report.extremes.top[0]!.value,
      lambdaMin: report.extremes.bottom!.value,
      layers: (report.blocks ?? []).map((b) => ({
        name: b.block.name,
        lambdaMax: b.top.value,
        share: b.share,
      })),
    };
    (self as unknown as Worker).postMessage({ job, view } satisfies CurvatureReply);
  } catch (e) {
    (self as unknown as Worker).postMessage({ job, error: (e as Error).message } satisfies CurvatureReply);
  }
};
