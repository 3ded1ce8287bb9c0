import type { Worker } from "node:worker_threads";
import type { CellResult } from "../../analysis/thresholds/sweep.js";
import {
  spawnSweepThread,
  type WorkerReply,
  type WorkerRequest,
} from "../../analysis/thresholds/sweep-pool.js";
import type { CellJob } from "./cell-job.js";

/**
 * The queue worker's cells run on the same sweep threads as a local sweep (sweep-worker.ts and
 * its sweepCell), one cell at a time per thread: the main thread stays free to renew the jobs'
 * locks however long a cell computes, so a long cell is never taken for a stalled one.
 */
export class CellThreads {
  private readonly idle: Worker[];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly all: Worker[];

  constructor(size: number) {
    this.all = Array.from({ length: size }, () => spawnSweepThread());
    this.idle = [...this.all];
  }

  /** Runs one cell (sourceKey: a thread that built this source's objective for its last cell keeps it). */
  async run(job: CellJob, sourceKey: string): Promise<CellResult> {
    let worker = this.idle.pop() ?? (await new Promise<Worker>((r) => this.waiting.push(r)));
    let dead = false;
    try {
      return await new Promise<CellResult>((resolve, reject) => {
        let result: CellResult | null = null;
        const onMessage = (reply: WorkerReply) => {
          if (reply.type === "result") result = reply.result;
          else if (reply.type === "error") done(() => reject(new Error(reply.message)));
          else
            done(() =>
              result
                ? resolve(job.cell.seed !== undefined ? { ...result, seed: job.cell.seed } : result)
                : reject(new Error("the sweep thread returned no result")),
            );
        };
        const onError = (e: Error) => done(() => reject(e));
        const onExit = (code: number) => {
          dead = true;
          done(() => reject(new Error(`the sweep thread stopped (exit code ${code})`)));
        };
        const done = (then: () => void) => {
          worker.off("message", onMessage);
          worker.off("error", onError);
          worker.off("exit", onExit);
          then();
        };
        worker.on("message", onMessage);
        worker.on("error", onError);
        worker.on("exit", onExit);
        // The cell's own start stands in for x0 (a seeded cell's start is in its job already).
        const { cell, ...rest } = job;
        const plain = { lr: cell.lr, ...(cell.momentum !== undefined ? { momentum: cell.momentum } : {}) };
        worker.postMessage({
          type: "job",
          job: { ...rest, cells: [plain] },
          key: sourceKey,
        } satisfies WorkerRequest);
        worker.postMessage({ type: "cells", cells: [0] } satisfies WorkerRequest);
      });
    } finally {
      if (dead) {
        // A thread that died is replaced, so the worker keeps its concurrency.
        const fresh = spawnSweepThread();
        this.all[this.all.indexOf(worker)] = fresh;
        worker = fresh;
      }
      const next = this.waiting.shift();
      if (next) next(worker);
      else this.idle.push(worker);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
