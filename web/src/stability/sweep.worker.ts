import { type CellResult, type SweepCell, sweepCell } from "../../../src/analysis/thresholds/sweep.js";
import { type StabilitySource, sourceObjective } from "./objective.js";

/**
 * One worker of the stability panel: builds the objective from its source, text or a CSV's text
 * (functions cannot cross to a worker), runs its share of the cells and posts each result as it is done, so the page shows
 * progress and its own thread stays free.
 */
export interface SweepRequest {
  readonly job: number;
  readonly source: StabilitySource;
  readonly x0: readonly number[];
  readonly horizon: number;
  readonly cells: readonly (SweepCell & { readonly index: number })[];
}
export type SweepReply =
  | { readonly job: number; readonly result: CellResult }
  | { readonly job: number; readonly error: string };

self.onmessage = (event: MessageEvent<SweepRequest>) => {
  const { job, source, x0, horizon, cells } = event.data;
  try {
    const { objective } = sourceObjective(source);
    for (const cell of cells) {
      const { index, ...grid } = cell;
      const result = sweepCell(objective, x0, { name: "sgd" }, grid, index, { horizon });
      (self as unknown as Worker).postMessage({ job, result } satisfies SweepReply);
    }
  } catch (e) {
    (self as unknown as Worker).postMessage({ job, error: (e as Error).message } satisfies SweepReply);
  }
};
