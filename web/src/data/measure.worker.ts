import { spectrumAt } from "../../../src/analysis/curvature/spectrum.js";
import { VIEW_PROBES, VIEW_STEPS } from "../network/view-sizes.js";
import { type DataSpec, dataProblem, readTable } from "./model.js";

/**
 * Measures the curvature of the user's model on the user's data at its start, off the page's
 * thread: λmax and λmin (Lanczos on exact HVPs), the eigenvalue density (stochastic Lanczos
 * quadrature) and, for a network, each layer's block — the library's spectrumAt.
 */
export interface MeasureRequest {
  readonly job: number;
  readonly text: string;
  readonly name: string;
  readonly spec: DataSpec;
}

export interface Measured {
  readonly rows: number;
  readonly features: readonly string[];
  readonly parameters: number;
  readonly constantHessian: boolean;
  readonly lambdaMax: number;
  readonly lambdaMin: number;
  readonly curve: { readonly x: number[]; readonly density: number[]; readonly sigma: number };
  readonly layers: { readonly name: string; readonly lambdaMax: number; readonly share: number | null }[];
}

export type MeasureReply =
  | { readonly job: number; readonly measured: Measured }
  | { readonly job: number; readonly error: string };

self.onmessage = (event: MessageEvent<MeasureRequest>) => {
  const { job, text, name, spec } = event.data;
  try {
    const problem = dataProblem(readTable(text, name), name, spec);
    const report = spectrumAt(problem.objective, problem.start, {
      k: 1,
      probes: VIEW_PROBES,
      // At most the dimension: the Krylov space of a small model closes sooner.
      steps: Math.min(VIEW_STEPS, problem.objective.dim),
      seed: 0,
    });
    const measured: Measured = {
      rows: problem.rows,
      features: problem.features,
      parameters: problem.objective.dim,
      constantHessian: problem.objective.constantHessian === true,
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
    (self as unknown as Worker).postMessage({ job, measured } satisfies MeasureReply);
  } catch (e) {
    (self as unknown as Worker).postMessage({ job, error: (e as Error).message } satisfies MeasureReply);
  }
};
