import { type TrainingSearch, trainingLrSearch } from "../../../src/analysis/thresholds/training-search.js";
import { numericTable } from "../../../src/objectives/table.js";
import { type DataSpec, dataProblem } from "./model.js";

/**
 * The catapult window of the user's model on the user's data, off the page's thread: the library's
 * training search (what `overshoot critical-lr --workers 1` runs) — full-batch SGD runs from the
 * same start at rates scanned up from 2/λ0 and bisected, each judged by the one definition of
 * diverged — giving the largest rate that trains, the one that trains well, the catapult window
 * 2/λ0 … η_max and η_max. Each finished round is posted so the page can say how far it is.
 */
export interface CatapultRequest {
  readonly job: number;
  readonly text: string;
  readonly name: string;
  readonly spec: DataSpec;
  readonly steps: number;
  readonly tolerance: number;
}

/** The search as posted: its result without the start point (a Float64Array the page does not need). */
export type CatapultFound = Omit<TrainingSearch, "x0">;

export type CatapultReply =
  | { readonly job: number; readonly runs: number }
  | { readonly job: number; readonly found: CatapultFound }
  | { readonly job: number; readonly error: string };

self.onmessage = async (event: MessageEvent<CatapultRequest>) => {
  const { job, text, name, spec, steps, tolerance } = event.data;
  const post = (reply: CatapultReply) => (self as unknown as Worker).postMessage(reply);
  try {
    const problem = dataProblem(numericTable(text, name), name, spec);
    const { x0: _start, ...found } = await trainingLrSearch(
      problem.objective,
      problem.start,
      { name: "sgd" },
      {
        horizon: steps,
        relativeTolerance: tolerance,
        parallel: 1,
        onRound: (runs) => post({ job, runs: runs.length }),
      },
    );
    post({ job, found });
  } catch (e) {
    post({ job, error: (e as Error).message });
  }
};
