import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { type ObjectiveSource, objectiveFromSource } from "../objectives/source.js";
import type { OptimizerBase } from "../optim/index.js";
import { type CellResult, type SweepCell, sweepCell } from "./sweep.js";
import type { ThresholdCriteria } from "./threshold.js";

/** Everything a worker needs, as plain data. */
export interface SweepJob {
  readonly source: ObjectiveSource;
  readonly x0: readonly number[];
  readonly optimizer: OptimizerBase;
  readonly cells: readonly SweepCell[];
  readonly criteria: ThresholdCriteria;
}

export type WorkerRequest = { type: "job"; job: SweepJob } | { type: "cells"; cells: number[] };
export type WorkerReply =
  | { type: "result"; result: CellResult }
  | { type: "idle" }
  | { type: "error"; message: string };

export interface SweepRunOptions {
  /** Worker threads (default: min(4, available cores)); 1 runs in this thread. */
  readonly workers?: number;
  /** Called after every finished cell. */
  readonly onProgress?: (done: number, total: number) => void;
}

export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * Runs every cell of a sweep, in worker threads when more than one is asked for. Cells are handed
 * out a few at a time, so a slow corner of the grid (long converging runs) does not leave the
 * other workers idle. Results come back in grid order.
 */
export async function runSweep(job: SweepJob, options: SweepRunOptions = {}): Promise<CellResult[]> {
  const total = job.cells.length;
  const workers = Math.min(options.workers ?? defaultWorkers(), total);
  const results: CellResult[] = new Array(total);
  let done = 0;
  if (workers <= 1) {
    const objective = objectiveFromSource(job.source);
    for (let i = 0; i < total; i++) {
      results[i] = sweepCell(objective, job.x0, job.optimizer, job.cells[i]!, i, job.criteria);
      options.onProgress?.(++done, total);
      // Let a progress bar draw between cells.
      if (i % 16 === 15) await new Promise((r) => setImmediate(r));
    }
    return results;
  }
  const chunk = Math.max(1, Math.min(8, Math.floor(total / (workers * 8))));
  let next = 0;
  const take = (): number[] => {
    const cells: number[] = [];
    while (cells.length < chunk && next < total) cells.push(next++);
    return cells;
  };
  const pool = Array.from({ length: workers }, () => spawn());
  try {
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.on("message", (reply: WorkerReply) => {
              if (reply.type === "result") {
                results[reply.result.index] = reply.result;
                options.onProgress?.(++done, total);
              } else if (reply.type === "idle") {
                const cells = take();
                if (cells.length === 0) resolve();
                else worker.postMessage({ type: "cells", cells } satisfies WorkerRequest);
              } else reject(new Error(reply.message));
            });
            worker.on("error", reject);
            worker.on("exit", (code) => {
              if (code !== 0) reject(new Error(`sweep worker stopped with exit code ${code}`));
            });
            worker.postMessage({ type: "job", job } satisfies WorkerRequest);
            const cells = take();
            if (cells.length === 0) resolve();
            else worker.postMessage({ type: "cells", cells } satisfies WorkerRequest);
          }),
      ),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results;
}

/**
 * The worker script beside this module: compiled .js when built; in development (sources run as
 * .ts through tsx or vitest) the worker first loads tsx's loader, then the .ts entry.
 */
function spawn(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./sweep-worker.js", import.meta.url));
  // tsx's ESM API (its "import" export; require.resolve would find the CommonJS one).
  const manifest = createRequire(import.meta.url).resolve("tsx/package.json");
  const exports = (
    JSON.parse(readFileSync(manifest, "utf8")) as { exports: Record<string, { import: { default: string } }> }
  ).exports;
  const tsx = pathToFileURL(join(dirname(manifest), exports["./esm/api"]!.import.default)).href;
  const entry = new URL("./sweep-worker.ts", import.meta.url).href;
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`,
    {
      eval: true,
    },
  );
}
