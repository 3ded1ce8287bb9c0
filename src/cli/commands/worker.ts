import { availableParallelism, hostname } from "node:os";
import { cellOptimizer } from "../../analysis/thresholds/sweep.js";
import { fmt } from "../../core/format.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { commandFlags, type FlagSpecs, flagHelp } from "../args.js";
import { CliError } from "../errors.js";
import { HELP_FLAG } from "../flag-tables.js";
import type { Io } from "../io.js";
import { type CellJobData, cellBlobs, cellJobId, JOB_LIMITS, validateCellJob } from "../queue/cell-job.js";
import { CellThreads } from "../queue/cell-threads.js";
import {
  CELL_QUEUE,
  connection,
  PREFIX,
  parseQueueUrl,
  preflight,
  QUEUE_SECRET_FLAG,
  queueSecret,
  stateLines,
} from "../queue/redis.js";
import { signResult } from "../queue/submit.js";
import { sha256, toWire } from "../queue/wire.js";
import { overshootVersion } from "../version.js";

/**
 * How a worker holds its jobs. A job's lock lives LOCK_MS and is renewed every LOCK_MS/2 from the
 * main thread (the cells compute on threads, so renewal never waits); a worker killed mid-cell
 * stops renewing, and a live worker's stalled check (every STALLED_MS, queue-wide) moves its job
 * back to the queue: within about LOCK_MS + 2·STALLED_MS another worker has it.
 */
export const LOCK_MS = 6000;
export const STALLED_MS = 3000;
/** A job whose workers died this many times fails instead of going round again. */
const MAX_STALLED = 3;
/** A worker of another version hands a job back for this long before anyone looks at it again. */
const REFUSED_DELAY_MS = 10_000;
/** How often the active jobs are searched for data BullMQ cannot read. */
const UNREADABLE_MS = 5000;
/** A job no worker here can run (another version's) is handed back this often, then failed. */
const MAX_HANDBACKS = 30;

/** Data fetched by hash and kept for the next cells (bytes). */
const BLOB_CACHE_BYTES = 512 * 2 ** 20;

export const WORKER_FLAGS: FlagSpecs = {
  queue: {
    type: "string",
    value: "URL",
    help: "the Redis holding the sweeps: redis://[user:password@]host:port[/db], rediss:// for TLS",
  },
  concurrency: {
    type: "number",
    value: "N",
    help: `cells at a time, each on its own thread (default ${availableParallelism()} here: the cores)`,
  },
  ...QUEUE_SECRET_FLAG,
  ...HELP_FLAG,
};

export const WORKER_HELP = `overshoot worker — run sweep cells from a queue, on this machine, until stopped

Start as many as you like, on any machines that reach the Redis; \`overshoot sweep … --queue URL\`
submits the cells and collects the results. Each cell runs on a thread with the same code as a local
sweep; the job's data is checked field by field and an expression is compiled through the same
whitelist as on the command line. A worker killed mid-cell loses nothing: its job goes back to the
queue within about ${(LOCK_MS + 2 * STALLED_MS) / 1000} s. A job made by another overshoot version is handed back, and the
worker says why. Ctrl-C stops after the running cells (twice: at once).

Usage: overshoot worker --queue URL [--concurrency N]

${flagHelp(WORKER_FLAGS)}`;

export async function workerCommand(argv: readonly string[], io: Io): Promise<number> {
  const parsed = commandFlags(argv, { name: "worker", flags: WORKER_FLAGS, help: WORKER_HELP }, io);
  if (!parsed) return 0;
  const { flags } = parsed;
  const text = flags["queue"] as string | undefined;
  if (text === undefined) throw new CliError("missing --queue (the Redis URL, e.g. redis://localhost:6379)");
  const where = parseQueueUrl(text);
  const concurrency = (flags["concurrency"] as number | undefined) ?? availableParallelism();
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
    throw new CliError(`invalid --concurrency: ${concurrency} (a whole number from 1 to 256)`);
  const secret = queueSecret(flags["queueSecret"] as string | undefined);
  await preflight(where);

  const version = overshootVersion();
  const { Worker, DelayedError, UnrecoverableError } = await import("bullmq");
  const line = (t: string) => io.out(`${t}\n`);
  const lines = stateLines(where, (t) => io.err(`overshoot worker: ${t}\n`));
  const client = await connection(where, lines);
  const threads = new CellThreads(concurrency);
  const blobs = new Map<string, Buffer>();
  let blobBytes = 0;

  /** The job's data by hash: from this worker's cache or from Redis, checked against its name. */
  const fetchBlobs = async (data: CellJobData) => {
    for (const hash of cellBlobs(data)) {
      if (blobs.has(hash)) continue;
      // Its size before its bytes: a job may name any key, of any size.
      const size = await client.strlen(`${PREFIX}:blob:${hash}`);
      if (size > JOB_LIMITS.blobBytes)
        throw new UnrecoverableError(
          `its data ${hash.slice(0, 12)}… is ${size} bytes, past the ${JOB_LIMITS.blobBytes / 2 ** 20} MiB a job's data may have`,
        );
      const bytes = await client.getBuffer(`${PREFIX}:blob:${hash}`);
      if (!bytes)
        throw new UnrecoverableError(
          `its data ${hash.slice(0, 12)}… is not on the queue (expired?): submit the sweep again`,
        );
      if (sha256(bytes) !== hash)
        throw new UnrecoverableError(`its data ${hash.slice(0, 12)}… does not match its hash`);
      if (blobBytes + bytes.length > BLOB_CACHE_BYTES) {
        blobs.clear();
        blobBytes = 0;
      }
      blobs.set(hash, bytes);
      blobBytes += bytes.length;
    }
  };

  const worker = new Worker(
    CELL_QUEUE,
    async (job, token) => {
      const data = job.data as CellJobData;
      // Not a cell of any version: failed at once with the reason (no worker could run it).
      if (
        data === null ||
        typeof data !== "object" ||
        Array.isArray(data) ||
        typeof data.version !== "string"
      )
        throw new UnrecoverableError("invalid job: not a sweep cell (expected version, source and cell)");
      if (data.version !== version) {
        // Another version's cell: its numbers could differ from what the submitter's version
        // computes. Handed back (for a worker of that version), and said why, on both sides.
        const reason = `this worker is overshoot ${version} and the cell was made by ${String(data?.version)}: run \`overshoot worker\` of version ${String(data?.version)}`;
        line(`refused ${job.id}: ${reason}`);
        // Handed back a bounded number of times: then failed with its reason, not bounced forever.
        const times = ((job.progress as { times?: unknown } | null)?.times as number | undefined) ?? 0;
        if (!Number.isInteger(times) || times + 1 >= MAX_HANDBACKS)
          throw new UnrecoverableError(
            `${reason} (handed back ${MAX_HANDBACKS} times: no worker of that version took it)`,
          );
        await job.updateProgress({ refused: reason, times: times + 1 });
        await job.moveToDelayed(Date.now() + REFUSED_DELAY_MS, token);
        throw new DelayedError();
      }
      if (cellJobId(data) !== job.id)
        throw new UnrecoverableError(`job ${job.id}'s data is not the cell its id names`);
      await fetchBlobs(data);
      let cell: ReturnType<typeof validateCellJob>;
      try {
        cell = validateCellJob(data, blobs);
        resolveOptimizerConfig(cellOptimizer(cell.optimizer, cell.cell));
      } catch (e) {
        throw new UnrecoverableError((e as Error).message);
      }
      const started = Date.now();
      line(
        `start ${job.id} lr ${fmt(cell.cell.lr)}${cell.cell.momentum !== undefined ? ` momentum ${fmt(cell.cell.momentum)}` : ""}`,
      );
      // The objective is built (an expression through the whitelist) and the start checked
      // against it on the cell's thread: the main thread stays free to renew the jobs' locks.
      let result: Awaited<ReturnType<typeof threads.run>>;
      try {
        result = await threads.run(cell, data.source);
      } catch (e) {
        const message = (e as Error).message;
        throw /^invalid |^unknown |^Unknown /.test(message) ? new UnrecoverableError(message) : e;
      }
      line(`done ${job.id} ${result.status} in ${((Date.now() - started) / 1000).toFixed(2)} s`);
      return secret ? signResult(job.id!, toWire(result), secret) : toWire(result);
    },
    {
      connection: client,
      prefix: PREFIX,
      concurrency,
      lockDuration: LOCK_MS,
      stalledInterval: STALLED_MS,
      maxStalledCount: MAX_STALLED,
      autorun: false,
    },
  );
  // Its blocking connections' errors during an outage are the client's: one line a state.
  worker.on("error", lines.error);
  worker.on("failed", (job, e) => {
    if (job && !(e instanceof DelayedError)) line(`failed ${job.id}: ${e.message}`);
  });

  line(
    `overshoot worker ${version} on ${hostname()} (pid ${process.pid}): cells from ${where.shown}, ${concurrency} at a time; Ctrl-C stops after the running cells`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(130);
    stopping = true;
    line(
      "stopping: finishing the running cells (Ctrl-C again to stop now; their cells go back to the queue)",
    );
    await worker.close();
  };
  // A job whose data is not JSON cannot be read by BullMQ itself: it fails in the worker's fetch
  // and stays "active", with no lock anyone renews, for ever. Such jobs are found here and moved
  // to the failed set with the reason, as BullMQ's own failure would.
  const sweepUnreadable = async () => {
    const active = await client.lrange(`${PREFIX}:${CELL_QUEUE}:active`, 0, 999);
    for (const id of active) {
      const key = `${PREFIX}:${CELL_QUEUE}:${id}`;
      const data = await client.hget(key, "data");
      if (data === null) continue;
      try {
        JSON.parse(data);
        continue;
      } catch {
        // unreadable: failed below
      }
      const now = Date.now();
      await client
        .multi()
        .lrem(`${PREFIX}:${CELL_QUEUE}:active`, 0, id)
        .del(`${key}:lock`)
        .hset(key, "failedReason", "invalid job: its data is not JSON", "finishedOn", String(now))
        .zadd(`${PREFIX}:${CELL_QUEUE}:failed`, now, id)
        .exec();
      line(`failed ${id}: invalid job: its data is not JSON`);
    }
  };
  const unreadable = setInterval(() => void sweepUnreadable().catch(() => {}), UNREADABLE_MS);
  unreadable.unref();
  const onSignal = () => void stop();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  io.signal?.addEventListener("abort", onSignal);
  try {
    await worker.run();
  } finally {
    clearInterval(unreadable);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await threads.close();
    await client.quit().catch(() => client.disconnect());
  }
  line("stopped");
  return 0;
}
