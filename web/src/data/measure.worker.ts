import { numericTable } from "../../../src/objectives/table.js";
import { type CurvatureMeasure, curvatureMeasure } from "../network/view.js";
import { type DataProblem, type DataSpec, dataProblem } from "./model.js";

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

export interface Measured extends CurvatureMeasure {
  readonly rows: number;
  readonly features: readonly string[];
  readonly parameters: number;
  readonly constantHessian: boolean;
  /** The loss measured, whether the model implies it, and what was read. */
  readonly loss: DataProblem["loss"];
  readonly impliedLoss: boolean;
  readonly describe: string;
}

export type MeasureReply =
  | { readonly job: number; readonly measured: Measured }
  | { readonly job: number; readonly error: string };

self.onmessage = (event: MessageEvent<MeasureRequest>) => {
  const { job, text, name, spec } = event.data;
  try {
    const problem = dataProblem(numericTable(text, name), name, spec);
    const measured: Measured = {
      rows: problem.rows,
      features: problem.features,
      parameters: problem.objective.dim,
      constantHessian: problem.objective.constantHessian === true,
      loss: problem.loss,
      impliedLoss: problem.impliedLoss,
      describe: problem.describe,
      ...curvatureMeasure(problem.objective, problem.start),
    };
    (self as unknown as Worker).postMessage({ job, measured } satisfies MeasureReply);
  } catch (e) {
    (self as unknown as Worker).postMessage({ job, error: (e as Error).message } satisfies MeasureReply);
  }
};
