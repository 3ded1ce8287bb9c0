import { createHmac, timingSafeEqual } from "node:crypto";
import type { CellResult, CellStatus, SweepCell } from "../../analysis/thresholds/sweep.js";
import type { SweepJob } from "../../analysis/thresholds/sweep-pool.js";
import { plural } from "../../core/format.js";
import { CliError } from "../errors.js";
import { type CellJobData, queuedCells } from "./cell-job.js";
import { CELL_QUEUE, connection, PREFIX, type QueueUrl, stateLines } from "./redis.js";
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
  /** --queue-secret's key: every result must carry its HMAC (see signResult). */
  readonly secret?: Buffer;
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
  const client = await connection(where, stateLines(where, note));
  const queue = new Queue(CELL_QUEUE, { connection: client, prefix: PREFIX });
  // Its connection's errors are the client's, said once a state by connection(): BullMQ would
  // print each retry's stack.
  queue.on("error", () => {});
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
    // The sweep's data beside its jobs (again after a Redis that lost it).
    const putBlobs = async () => {
      for (const [hash, bytes] of q.blobs)
        await client.set(`${PREFIX}:blob:${hash}`, bytes, "EX", BLOB_SECONDS);
    };
    await putBlobs();

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
    const cellOf = (id: string) => job.cells[indexOf.get(id)![0]!]!;
    /** A returned value as its cell's result: its signature and every field checked (throws). */
    const resultOf = (id: string, value: unknown) =>
      resultFrom(openResult(id, value, options.secret), cellOf(id));
    const settle = (id: string, result: CellResult) => {
      pending.delete(id);
      results.set(id, result);
      done += indexOf.get(id)!.length;
      lastDone = Date.now();
      if (started) options.onProgress?.(done, total);
    };
    const finish = (id: string, value: unknown) => {
      if (!pending.has(id)) return;
      let result: CellResult;
      try {
        result = resultOf(id, value);
      } catch (e) {
        failed.set(id, `it came back as ${(e as Error).message}`);
        return;
      }
      settle(id, result);
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
        states[k] === "completed" || states[k] === "failed"
          ? Job.fromId(queue, j.id).catch(() => undefined)
          : undefined,
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
      if ((states[j] === "completed" || states[j] === "failed") && !was) {
        // A job of this id that cannot be read back (its data overwritten): replaced by this cell.
        await queue.remove(id).catch(() => {});
        missing.push(q.jobs[j]!);
        continue;
      }
      if (states[j] === "completed" && was) {
        let result: CellResult;
        try {
          result = resultOf(id, was.returnvalue);
        } catch (e) {
          // A stored result that does not hold is computed again.
          note(
            `the stored result of the cell at lr ${cellOf(id).lr} is ${(e as Error).message}: computing it again`,
          );
          await was.remove();
          missing.push(q.jobs[j]!);
          continue;
        }
        settle(id, result);
        reused += indexOf.get(id)!.length;
        continue;
      }
      if (states[j] === "failed") {
        await was?.retry("failed");
        retried++;
        continue;
      }
      if (states[j] === "unknown") missing.push(q.jobs[j]!);
      else inFlight++;
    }
    const add = async (jobs: readonly { id: string; data: CellJobData }[]) => {
      for (let at = 0; at < jobs.length; at += 500)
        await queue.addBulk(
          jobs.slice(at, at + 500).map((m) => ({
            name: "cell",
            data: m.data,
            // Kept when done: a resubmitted sweep reuses them, and the ids stay taken.
            opts: { jobId: m.id, removeOnComplete: false, removeOnFail: false },
          })),
        );
    };
    await add(missing);
    note(
      `sweep ${name} on ${where.shown}: ${plural(total, "cell")}${reused ? `, ${reused} already done (reused)` : ""}${retried ? `, ${retried} failed before and retried` : ""}${inFlight ? `, ${inFlight} already queued` : ""}, ${missing.length} queued now; reattach with --name ${name}`,
    );
    started = true;
    options.onProgress?.(done, total);

    let warned = false;
    while (pending.size > 0) {
      if (failed.size > 0) {
        const [id, reason] = [...failed][0]!;
        const cell = cellOf(id);
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
      // Jobs the queue no longer has: Redis restarted without its data, or was flushed. They go
      // in again, with the sweep's data and name (a cell a worker was running is run twice, to
      // the same result).
      const lost = ids.filter((_, k) => now[k] === "unknown");
      if (lost.length > 0) {
        note(
          `the queue lost ${plural(lost.length, "cell")} of this sweep (Redis restarted without its data, or was flushed): queued again`,
        );
        await client.set(nameKey, q.sweepHash, "NX");
        await putBlobs();
        const byId = new Map(q.jobs.map((j) => [j.id, j]));
        await add(lost.map((id) => byId.get(id)!));
        lastDone = Date.now();
      }
      for (let k = 0; k < ids.length; k++) {
        if (now[k] !== "completed" && now[k] !== "failed") continue;
        // A job whose data was overwritten with what is not JSON cannot be read back.
        const j = await Job.fromId(queue, ids[k]!).catch(() => undefined);
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

const STATUSES: readonly CellStatus[] = [
  "converged",
  "converging",
  "oscillating",
  "diverging",
  "diverged",
  "nonfinite",
  "stalled",
  "unbounded",
  "trained",
  "failed",
  "catapult",
];

/** A number of a result: finite, or ±Infinity / NaN where a run can end so (a loss past float64). */
const isNumber = (v: unknown): v is number => typeof v === "number";
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/**
 * A worker's returned cell, checked field by field against the cell it answers (its rate,
 * momentum and seed), back in the order and shape a local sweep gives (so the JSON out is the same
 * text). Throws an Error naming the first field that is wrong: anything can write a result into
 * Redis, and a wrong one must fail its cell, not become a silently wrong sweep.
 */
export function resultFrom(value: unknown, cell: SweepCell): CellResult {
  const bad = (what: string): never => {
    throw new Error(`a malformed result (${what}): ${shownValue(value)}`);
  };
  let r: unknown;
  try {
    r = fromWire(value);
  } catch (e) {
    return bad((e as Error).message);
  }
  if (r === null || typeof r !== "object" || Array.isArray(r)) return bad("not an object");
  const o = r as Record<string, unknown>;
  if (!STATUSES.includes(o["status"] as CellStatus)) bad("status");
  if (o["lr"] !== cell.lr) bad(`lr is not the cell's ${cell.lr}`);
  if (o["momentum"] !== cell.momentum) bad(`momentum is not the cell's ${cell.momentum}`);
  if (o["seed"] !== cell.seed) bad(`seed is not the cell's ${cell.seed}`);
  if (!isCount(o["steps"])) bad("steps");
  if (!isNumber(o["finalLoss"])) bad("finalLoss");
  if (!isNumber(o["peakLoss"])) bad("peakLoss");
  if (!isCount(o["peakStep"])) bad("peakStep");
  const c = o["curvature"];
  if (c !== undefined) {
    if (c === null || typeof c !== "object") bad("curvature");
    for (const k of ["first", "atPeak", "last", "max", "min"])
      if (!isNumber((c as Record<string, unknown>)[k])) bad(`curvature.${k}`);
  }
  return {
    lr: cell.lr,
    ...(cell.momentum !== undefined ? { momentum: cell.momentum } : {}),
    ...(cell.seed !== undefined ? { seed: cell.seed } : {}),
    index: 0,
    status: o["status"] as CellStatus,
    steps: o["steps"] as number,
    finalLoss: o["finalLoss"] as number,
    peakLoss: o["peakLoss"] as number,
    peakStep: o["peakStep"] as number,
    ...(c !== undefined ? { curvature: curvatureFrom(c as Record<string, number>) } : {}),
  };
}

function shownValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

function curvatureFrom(c: Record<string, number>): NonNullable<CellResult["curvature"]> {
  return { first: c["first"]!, atPeak: c["atPeak"]!, last: c["last"]!, max: c["max"]!, min: c["min"]! };
}

/**
 * Authenticated results (--queue-secret KEYFILE on the workers and the submitter): a worker
 * returns { r, mac } with mac = HMAC-SHA256(key, job id, newline, r as JSON), and the submitter
 * takes r only when the MAC holds, so a Redis client without the key can neither forge a result
 * nor move one to another cell. Without a key results are taken as they come: every client of
 * the Redis server is then trusted.
 */
export function signResult(id: string, r: unknown, secret: Buffer): { r: unknown; mac: string } {
  return {
    r,
    mac: createHmac("sha256", secret)
      .update(`${id}\n${JSON.stringify(r)}`)
      .digest("hex"),
  };
}

/** A returned value's result: checked against its MAC when there is a key (see signResult). */
export function openResult(id: string, value: unknown, secret: Buffer | undefined): unknown {
  const signed =
    value !== null && typeof value === "object" && !Array.isArray(value) && "mac" in value && "r" in value
      ? (value as { r: unknown; mac: unknown })
      : null;
  if (!secret) return signed ? signed.r : value;
  if (!signed || typeof signed.mac !== "string")
    throw new Error("an unsigned result, not one of a worker with --queue-secret's key");
  const want = Buffer.from(signResult(id, signed.r, secret).mac, "hex");
  const got = Buffer.from(signed.mac, "hex");
  if (got.length !== want.length || !timingSafeEqual(got, want))
    throw new Error("a result whose signature does not hold: not from a worker with --queue-secret's key");
  return signed.r;
}
