import type { CellResult, SweepCell } from "../../../src/analysis/thresholds/sweep.js";
import type { StabilitySource } from "./objective.js";
import type { SweepReply, SweepRequest } from "./sweep.worker.js";

/**
 * Runs a sweep's cells in web workers (interleaved, so every worker gets a share of the slow,
 * undecided cells near the threshold) and reports each result as it arrives. A new sweep cancels
 * the one before it by terminating its workers.
 */
export class SweepPool {
  private workers: Worker[] = [];
  private job = 0;

  run(
    source: StabilitySource,
    x0: readonly number[],
    horizon: number,
    cells: readonly SweepCell[],
    onResult: (result: CellResult, done: number) => void,
  ): Promise<CellResult[]> {
    this.cancel();
    const job = ++this.job;
    const count = Math.max(1, Math.min(4, (navigator.hardwareConcurrency || 2) - 1, cells.length));
    const results: CellResult[] = new Array(cells.length);
    let done = 0;
    return new Promise((resolve, reject) => {
      for (let w = 0; w < count; w++) {
        const worker = new Worker(new URL("./sweep.worker.ts", import.meta.url), { type: "module" });
        this.workers.push(worker);
        worker.onmessage = (event: MessageEvent<SweepReply>) => {
          const reply = event.data;
          if (reply.job !== job) return;
          if ("error" in reply) {
            this.cancel();
            reject(new Error(reply.error));
            return;
          }
          results[reply.result.index] = reply.result;
          done++;
          onResult(reply.result, done);
          if (done === cells.length) {
            this.cancel();
            resolve(results);
          }
        };
        worker.onerror = (event) => {
          this.cancel();
          reject(new Error(event.message || "a sweep worker failed"));
        };
        const share = cells.map((c, index) => ({ ...c, index })).filter((_, i) => i % count === w);
        worker.postMessage({ job, source, x0, horizon, cells: share } satisfies SweepRequest);
      }
    });
  }

  cancel(): void {
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }
}
