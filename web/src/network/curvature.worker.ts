import { type NetworkSpec, networkProblem } from "./model.js";
import { type CurvatureMeasure, curvatureMeasure } from "./view.js";

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

export interface CurvatureView extends CurvatureMeasure {
  readonly step: number;
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
    const view: CurvatureView = { step, ...curvatureMeasure(built.problem.objective, theta) };
    (self as unknown as Worker).postMessage({ job, view } satisfies CurvatureReply);
  } catch (e) {
    (self as unknown as Worker).postMessage({ job, error: (e as Error).message } satisfies CurvatureReply);
  }
};
