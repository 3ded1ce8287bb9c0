import type { CellResult } from "../../analysis/thresholds/sweep.js";
import type { SweepJob } from "../../analysis/thresholds/sweep-pool.js";
import { plural } from "../../core/format.js";
import { CliError } from "../errors.js";
import { type CellJobData, queuedCells } from "./cell-job.js";
import { CELL_QUEUE, connection, PREFIX, type QueueUrl } from "./redis.js";
import { fromWire } from "./wire.js";

/** Blobs (a sweep's data) are kept a week after the last sweep that used them. */
const BLOB_SECONDS = 7 * 24 * 3600;
/** How often the submitter looks at what it has heard. */
const POLL_MS = 500;
/**
 * After this long with no cell finished (or near the end, under 16 cells left) it asks for each
 * pending cell's state, beside the events (which a slow link can miss).
 */
const RECONCILE_MS = 5000;
/** Without any finished cell for this long, it says that no worker seems to be running. */
const QUIET_MS = 15_000;

export interface QueuedSweepOptions {
  readonly where: QueueUrl;
  /** The sweep's name (default: a hash of its cells); a restarted submitter reattaches by it. */
  readonly name?: string;
  readonly version: string;
  readonly onProgress?: (done: number, total: number) => void;
  /** One line for the user (stderr). */
  readonly note: (line: string) => void;
}

/**
 * Runs a sweep's cells as jobs on the queue and returns their results in grid order, as
 * runSweep does. A cell already finished on the queue (by this sweep before it was interrupted,
 * or by another sweep with the same cell) is reused; a cell that failed before is retried.
 */
export async function runQueuedSweep(job: SweepJob, options: QueuedSweepOptions): Promise<CellResult[]> {
  const { Job, Queue, QueueEvents } = await import("bullmq");
  const { where, note } = options;
  const q = queuedCells(job, options.version);
  const name = options.name ?? q.sweepHash.slice(0, 12);
  const total = job.cells.length;
  const client = await connection(where, note);
  const queue = new Queue(CELL_QUEUE, { connection: client, prefix: PREFIX });
  let events: InstanceType<typeof QueueEvents> | null = null;
  try {
    // The name is bound to the sweep's cells: the same name with another grid is refused.
    const nameKey = `${PREFIX}:sweep:${name}`;
    if ((await client.set(nameKey, q.sweepHash, "NX")) === null) {
      const bound = await client.get(nameKey);
      if (bound !== q.sweepHash)
        throw new CliError(
          `--name ${name} is another sweep on ${where.shown} (other cells): repeat that sweep's flags to reattach, or pick another --name`,
        );
      note(`sweep ${name}: reattaching`);
    }
    for (const [hash, bytes] of q.blobs)
      await client.set(`${PREFIX}:blob:${hash}`, bytes, "EX", BLOB_SECONDS);

    // Events from a second before now: the completions of cells queued below cannot be missed.
    const [seconds, micros] = await client.time();
    const since = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1000;
    events = new QueueEvents(CELL_QUEUE, { connection: client, prefix: PREFIX, lastEventId: `${since}-0` });

    const results = new Map<string, CellResult>();
    const failed = new Map<string, string>();
    const pending = new Set<string>();
    const indexOf = new Map<string, number[]>();
    q.jobOf.forEach((j, i) => {
      const id = q.jobs[j]!.id;
      indexOf.set(id, [...(indexOf.get(id) ?? []), i]);
    });
    let done = 0;
    let lastDone = Date.now();
    let started = false;
    const finish = (id: string, value: unknown) => {
      if (!pending.delete(id)) return;
      results.set(id, resultFrom(value));
      done += indexOf.get(id)!.length;
      lastDone = Date.now();
      if (started) options.onProgress?.(done, total);
    };
    const refusals = new Set<string>();
    events.on("completed", ({ jobId, returnvalue }) => {
      if (pending.has(jobId))
        finish(jobId, typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue);
    });
    events.on("failed", ({ jobId, failedReason }) => {
      if (pending.has(jobId)) failed.set(jobId, failedReason);
    });
    events.on("progress", ({ jobId, data }) => {
      const refused = (data as { refused?: unknown } | null)?.refused;
      if (pending.has(jobId) && typeof refused === "string" && !refusals.has(refused)) {
        refusals.add(refused);
        note(`a worker refused a cell: ${refused}`);
      }
    });
    events.on("error", () => {});
    await events.waitUntilReady();

    // What the queue already has: finished cells are reused, failed ones retried, the rest added.
    const states = await Promise.all(q.jobs.map((j) => queue.getJobState(j.id)));
    // The finished and failed ones' jobs, fetched together (not one round trip after another).
    const old = await Promise.all(
      q.jobs.map((j, k) =>
        states[k] === "completed" || states[k] === "failed" ? Job.fromId(queue, j.id) : undefined,
      ),
    );
    let reused = 0;
    let retried = 0;
    let inFlight = 0;
    const missing: { id: string; data: CellJobData }[] = [];
    for (let j = 0; j < q.jobs.length; j++) {
      const { id } = q.jobs[j]!;
      pending.add(id);
      const was = old[j];
      if (states[j] === "completed") {
        if (was && was.returnvalue !== null && was.returnvalue !== undefined) {
          finish(id, was.returnvalue);
          reused += indexOf.get(id)!.length;
          continue;
        }
      }
      if (states[j] === "failed") {
        await was?.retry("failed");
        retried++;
        continue;
      }
      if (states[j] === "unknown") missing.push(q.jobs[j]!);
      else inFlight++;
    }
    for (let at = 0; at < missing.length; at += 500)
      await queue.addBulk(
        missing.slice(at, at + 500).map((m) => ({
          name: "cell",
          data: m.data,
          // Kept when done: a resubmitted sweep reuses them, and the ids stay taken.
          opts: { jobId: m.id, removeOnComplete: false, removeOnFail: false },
        })),
      );
    note(
      `sweep ${name} on ${where.shown}: ${plural(total, "cell")}${reused ? `, ${reused} already done (reused)` : ""}${retried ? `, ${retried} failed before and retried` : ""}${inFlight ? `, ${inFlight} already queued` : ""}, ${missing.length} queued now; reattach with --name ${name}`,
    );
    started = true;
    options.onProgress?.(done, total);

    let warned = false;
    while (pending.size > 0) {
      if (failed.size > 0) {
        const [id, reason] = [...failed][0]!;
        const cell = job.cells[indexOf.get(id)![0]!]!;
        throw new CliError(
          `${failed.size} cell${failed.size === 1 ? "" : "s"} failed on a worker (the first, lr ${cell.lr}${cell.momentum !== undefined ? ` momentum ${cell.momentum}` : ""}: ${reason}); run the sweep again to retry them`,
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (Date.now() - lastDone > QUIET_MS && !warned) {
        warned = true;
        note(
          `no cell finished in ${QUIET_MS / 1000} s: is a worker running? (overshoot worker --queue ${where.shown})`,
        );
      }
      if (Date.now() - lastDone > RECONCILE_MS || pending.size < 16) await reconcile();
    }
    return job.cells.map((_, i) => ({ ...results.get(q.jobs[q.jobOf[i]!]!.id)!, index: i }));

    async function reconcile(): Promise<void> {
      const ids = [...pending];
      const now = await Promise.all(ids.map((id) => queue.getJobState(id)));
      for (let k = 0; k < ids.length; k++) {
        if (now[k] !== "completed" && now[k] !== "failed") continue;
        const j = await Job.fromId(queue, ids[k]!);
        if (now[k] === "completed" && j) finish(ids[k]!, j.returnvalue);
        else if (now[k] === "failed") failed.set(ids[k]!, j?.failedReason ?? "failed");
      }
    }
  } finally {
    await events?.close().catch(() => {});
    await queue.close().catch(() => {});
    await client.quit().catch(() => client.disconnect());
  }
}

/** A worker's returned cell back in the order and shape a local sweep gives (so the JSON out is the same text). */
function resultFrom(value: unknown): CellResult {
  const r = fromWire(value) as Record<string, unknown>;
  const status = r["status"];
  if (typeof status !== "string" || typeof r["lr"] !== "number")
    throw new CliError(
      `a worker returned something that is not a cell result: ${JSON.stringify(value).slice(0, 80)}`,
    );
  return {
    lr: r["lr"] as number,
    ...(r["momentum"] !== undefined ? { momentum: r["momentum"] as number } : {}),
    ...(r["seed"] !== undefined ? { seed: r["seed"] as number } : {}),
    index: 0,
    status: status as CellResult["status"],
    steps: r["steps"] as number,
    finalLoss: r["finalLoss"] as number,
    peakLoss: r["peakLoss"] as number,
    peakStep: r["peakStep"] as number,
    ...(r["curvature"] !== undefined
      ? { curvature: curvatureFrom(r["curvature"] as Record<string, number>) }
      : {}),
  };
}

function curvatureFrom(c: Record<string, number>): NonNullable<CellResult["curvature"]> {
  return { first: c["first"]!, atPeak: c["atPeak"]!, last: c["last"]!, max: c["max"]!, min: c["min"]! };
}
