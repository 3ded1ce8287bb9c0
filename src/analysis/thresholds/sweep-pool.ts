import { availableParallelism } from "node:os";
import type { ResourceLimits, Worker } from "node:worker_threads";
import type { Objective } from "../../core/objective.js";
import { spawnWorker } from "../../core/worker.js";
import {
  type Compile,
  needsCompiler,
  type ObjectiveSource,
  objectiveFromSource,
} from "../../objectives/source.js";
import type { OptimizerBase } from "../../optim/index.js";
import { type CellResult, type SweepCell, sweepCell } from "./sweep.js";
import type { ThresholdCriteria } from "./threshold.js";

/** Everything a worker needs, as plain data. */
export interface SweepJob {
  readonly source: ObjectiveSource;
  readonly x0: readonly number[];
  readonly optimizer: OptimizerBase;
  readonly cells: readonly SweepCell[];
  readonly criteria: ThresholdCriteria;
  /** Starts by seed, for cells that name one (sweep --seeds); the others start at x0. */
  readonly starts?: Readonly<Record<string, readonly number[]>>;
}

/** Where a cell starts: its seed's start, or the sweep's x0. */
export function startOf(job: Pick<SweepJob, "x0" | "starts">, cell: SweepCell): readonly number[] {
  if (cell.seed === undefined) return job.x0;
  const start = job.starts?.[String(cell.seed)];
  if (!start) throw new Error(`no start for seed ${cell.seed}`);
  return start;
}

/**
 * `announce`: reply `built` once the objective is built and the first cell's start checked (a
 * queue worker times the build of an untrusted job by it).
 */
export type WorkerRequest =
  | { type: "job"; job: SweepJob; key?: string; announce?: boolean }
  | { type: "cells"; cells: number[] };
export type WorkerReply =
  | { type: "built" }
  | { type: "result"; result: CellResult }
  | { type: "idle" }
  | { type: "error"; message: string };

export interface SweepRunOptions {
  /** Worker threads (default: min(4, available cores)); 1 runs in this thread. */
  readonly workers?: number;
  /** Called after every finished cell. */
  readonly onProgress?: (done: number, total: number) => void;
  /**
   * Asked before each cell is handed out: true ends the sweep once the cells under way finish
   * (Ctrl-C). The result then holds the finished cells only, in grid order, each with its index.
   */
  readonly stop?: () => boolean;
}

/**
 * The objective a source describes, in this thread. The expression compiler (and mathjs with it)
 * is loaded only when the objective is an expression: the serial sweep, the sweep threads and
 * the queue worker build theirs here.
 */
export async function buildObjective(source: ObjectiveSource): Promise<Objective> {
  const compile = needsCompiler(source)
    ? ((await import("../../objectives/expression.js")).compileExpression as Compile)
    : undefined;
  return objectiveFromSource(source, compile);
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
  const workers = Math.min(options.workers ?? defaultWorkers(), job.cells.length);
  if (workers <= 1) return runSerial(job, options.onProgress, options.stop);
  const pool = new SweepPool(workers);
  try {
    return await pool.run(job, options.onProgress, options.stop);
  } finally {
    await pool.close();
  }
}

async function runSerial(
  job: SweepJob,
  onProgress?: (done: number, total: number) => void,
  stop?: () => boolean,
): Promise<CellResult[]> {
  const total = job.cells.length;
  const results: CellResult[] = [];
  // The expression compiler (and mathjs with it) only when the objective is an expression.
  const objective = await buildObjective(job.source);
  let yielded = Date.now();
  for (let i = 0; i < total; i++) {
    if (stop?.()) break;
    results[i] = sweepCell(
      objective,
      startOf(job, job.cells[i]!),
      job.optimizer,
      job.cells[i]!,
      i,
      job.criteria,
    );
    onProgress?.(i + 1, total);
    // Let a progress bar draw, and a Ctrl-C be heard, between cells.
    if (i % 16 === 15 || Date.now() - yielded > 100) {
      await new Promise((r) => setImmediate(r));
      yielded = Date.now();
    }
  }
  return results;
}

/**
 * Worker threads kept for several sweeps: a thread's start-up (loading the expression compiler
 * alone takes ~0.35 s) is paid once, not per sweep.
 */
export class SweepPool {
  private readonly workers: Worker[];

  constructor(size: number) {
    this.workers = Array.from({ length: size }, () => spawnSweepThread());
  }

  async run(
    job: SweepJob,
    onProgress?: (done: number, total: number) => void,
    stop?: () => boolean,
  ): Promise<CellResult[]> {
    const total = job.cells.length;
    const results: CellResult[] = new Array(total);
    let done = 0;
    const chunk = Math.max(1, Math.min(8, Math.floor(total / (this.workers.length * 8))));
    let next = 0;
    const take = (): number[] => {
      const cells: number[] = [];
      if (stop?.()) return cells;
      while (cells.length < chunk && next < total) cells.push(next++);
      return cells;
    };
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const onMessage = (reply: WorkerReply) => {
              if (reply.type === "result") {
                results[reply.result.index] = reply.result;
                onProgress?.(++done, total);
                return;
              }
              if (reply.type === "error") {
                finish();
                reject(new Error(reply.message));
                return;
              }
              const cells = take();
              if (cells.length === 0) {
                finish();
                resolve();
              } else worker.postMessage({ type: "cells", cells } satisfies WorkerRequest);
            };
            const onError = (e: Error) => {
              finish();
              reject(e);
            };
            const onExit = (code: number) => {
              finish();
              reject(new Error(`sweep worker stopped with exit code ${code}`));
            };
            const finish = () => {
              worker.off("message", onMessage);
              worker.off("error", onError);
              worker.off("exit", onExit);
            };
            worker.on("message", onMessage);
            worker.on("error", onError);
            worker.on("exit", onExit);
            worker.postMessage({ type: "job", job } satisfies WorkerRequest);
            const cells = take();
            if (cells.length === 0) {
              finish();
              resolve();
            } else worker.postMessage({ type: "cells", cells } satisfies WorkerRequest);
          }),
      ),
    );
    // Stopped: the cells that finished (filter skips the holes the others left).
    return next < total ? results.filter((r) => r !== undefined) : results;
  }

  /** Runs of one objective at given rates, as the training search asks for them (trainingLrSearch's `evaluate`). */
  evaluator(job: Omit<SweepJob, "cells">): (rates: readonly number[]) => Promise<CellResult[]> {
    return (rates) => this.run({ ...job, cells: rates.map((lr) => ({ lr })) });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** A thread running the worker script beside this module (sweep-worker.ts, or .js when built). */
export function spawnSweepThread(resourceLimits?: ResourceLimits): Worker {
  return spawnWorker(import.meta.url, "sweep-worker", resourceLimits);
}
