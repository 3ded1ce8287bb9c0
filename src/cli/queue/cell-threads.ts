import type { ResourceLimits, Worker } from "node:worker_threads";
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
/**
 * A queued job is untrusted: its cell's thread has a budget. Its JavaScript heap is capped (the
 * limits in cell-job.ts bound the arrays a valid job allocates; this bounds what they do not, a
 * parse tree, a compiled expression): past it the thread dies and the job fails with the reason.
 * Building the objective and checking the start must end within `buildMs`; the run itself is
 * bounded by the cell's own steps, however long that takes.
 */
export const CELL_BUDGET = { heapMb: 2048, buildMs: 120_000 } as const;

export class CellThreads {
  private readonly idle: Worker[];
  private readonly waiting: ((w: Worker) => void)[] = [];
  private readonly all: Worker[];
  private readonly limits: ResourceLimits;
  private readonly buildMs: number;

  constructor(size: number, budget: { readonly heapMb: number; readonly buildMs: number } = CELL_BUDGET) {
    this.limits = { maxOldGenerationSizeMb: budget.heapMb };
    this.buildMs = budget.buildMs;
    this.all = Array.from({ length: size }, () => spawnSweepThread(this.limits));
    this.idle = [...this.all];
  }

  /** Runs one cell (sourceKey: a thread that built this source's objective for its last cell keeps it). */
  async run(job: CellJob, sourceKey: string): Promise<CellResult> {
    let worker = this.idle.pop() ?? (await new Promise<Worker>((r) => this.waiting.push(r)));
    let dead = false;
    try {
      return await new Promise<CellResult>((resolve, reject) => {
        let result: CellResult | null = null;
        // The build's deadline: past it the thread is stopped (and replaced) and the job fails.
        const deadline = setTimeout(() => {
          dead = true;
          done(() =>
            reject(
              new Error(
                `invalid job: building its objective took more than ${this.buildMs / 1000} s, the limit for a queued job`,
              ),
            ),
          );
          void worker.terminate();
        }, this.buildMs);
        const onMessage = (reply: WorkerReply) => {
          if (reply.type === "built") clearTimeout(deadline);
          else if (reply.type === "result") result = reply.result;
          else if (reply.type === "error") done(() => reject(new Error(reply.message)));
          else
            done(() =>
              result
                ? resolve(job.cell.seed !== undefined ? { ...result, seed: job.cell.seed } : result)
                : reject(new Error("the sweep thread returned no result")),
            );
        };
        // An uncaught error ends the thread (a heap past its limit among them): it is replaced.
        const onError = (e: Error & { code?: string }) => {
          dead = true;
          done(() =>
            reject(
              e.code === "ERR_WORKER_OUT_OF_MEMORY"
                ? new Error(
                    `invalid job: its cell ran past the ${this.limits.maxOldGenerationSizeMb} MiB heap a queued job's thread may use`,
                  )
                : e,
            ),
          );
        };
        const onExit = (code: number) => {
          dead = true;
          done(() => reject(new Error(`the sweep thread stopped (exit code ${code})`)));
        };
        const done = (then: () => void) => {
          clearTimeout(deadline);
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
          announce: true,
        } satisfies WorkerRequest);
        worker.postMessage({ type: "cells", cells: [0] } satisfies WorkerRequest);
      });
    } finally {
      if (dead) {
        // A thread that died is replaced, so the worker keeps its concurrency.
        const fresh = spawnSweepThread(this.limits);
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
