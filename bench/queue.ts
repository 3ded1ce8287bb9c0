// Sweeps on many machines (issue 16), measured on this one: a redis-server of the bench's own (no
// persistence, 127.0.0.1), `overshoot worker` processes (dist/, concurrency 1 each) and the
// submitter in this process (runQueuedSweep, the code `sweep --queue` runs).
//
// 1. Per-job overhead: a sweep of trivial cells (x² for one step, ~0.01 ms of work) on one worker:
//    the wall time per cell is what the queue costs a job (add, fetch, lock, complete, event,
//    the submitter's bookkeeping), beside the same cells on one local thread.
// 2. Cells per second on cells of real work (a 2-16-2 network on xor, 1,000 steps, ~10 ms), on 1,
//    2 and 4 worker processes and on 1, 2 and 4 local worker threads (runSweep), interleaved
//    rounds; each queued round uses fresh cells (its own x₀ digits), so nothing is reused.
// 3. What Redis did per job (INFO commandstats, stats, cpu, over the overhead runs): commands,
//    bytes and CPU seconds; from these and the figures above, the projection for 100 and 1,000
//    workers on cells of 10 ms, 1 s and 60 s.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import { runSweep, type SweepJob } from "../src/analysis/thresholds/sweep-pool.js";
import { parseFlags } from "../src/cli/args.js";
import { LOCK_MS, STALLED_MS } from "../src/cli/commands/worker.js";
import { NETWORK_FLAGS, OBJECTIVE_FLAGS } from "../src/cli/flag-tables.js";
import { networkFromFlags } from "../src/cli/network.js";
import { parseQueueUrl } from "../src/cli/queue/redis.js";
import { runQueuedSweep } from "../src/cli/queue/submit.js";
import { overshootVersion } from "../src/cli/version.js";
import { startRedis } from "../test/queue/redis-server.js";
import { fmtSpread, interleave, spread } from "./ab.js";

const ROUNDS = 5;
const redis = await startRedis();
const where = parseQueueUrl(redis.url);
const admin = new Redis(redis.url);
const bin = join(import.meta.dirname, "..", "bin", "overshoot.js");

async function startWorkers(n: number): Promise<ChildProcess[]> {
  const procs = Array.from({ length: n }, () =>
    spawn(process.execPath, [bin, "worker", "--queue", redis.url, "--concurrency", "1"], {
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          let out = "";
          p.stdout!.on("data", (d) => {
            out += d;
            if (out.includes("overshoot worker ")) resolve();
          });
        }),
    ),
  );
  return procs;
}
async function stopWorkers(procs: ChildProcess[]): Promise<void> {
  await Promise.all(
    procs.map((p) => {
      const done = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      return done;
    }),
  );
}

let round = 0;
/** Fresh cells each call: the start's last digits differ, so no job id repeats. */
function trivialJob(cells: number): SweepJob {
  round++;
  return {
    source: { kind: "spec", spec: { f: "quadratic", eigenvalues: [1, 10] } },
    x0: [1 + round * 1e-12, 1],
    optimizer: { name: "sgd" },
    cells: Array.from({ length: cells }, (_, i) => ({ lr: 1e-3 * (1 + i) })),
    criteria: { horizon: 1 },
  };
}
const flags = parseFlags(
  ["--data", "xor", "--model", "mlp", "--hidden", "16", "--n", "80", "--loss", "mse"],
  { ...OBJECTIVE_FLAGS, ...NETWORK_FLAGS },
  "bench",
).flags;
const network = networkFromFlags(flags);
function networkJob(cells: number): SweepJob {
  round++;
  const x0 = Array.from(network.theta0);
  x0[0] = x0[0]! + round * 1e-12;
  return {
    source: {
      kind: "mlp",
      spec: network.spec,
      data: network.data.train,
      description: "mlp 2-16-2 on xor",
    },
    x0,
    optimizer: { name: "sgd" },
    // Every cell its own rate: identical cells would be one job on the queue (and 96 runs locally).
    cells: Array.from({ length: cells }, (_, i) => ({ lr: 0.05 * (1 + i / cells) })),
    criteria: { horizon: 1000 },
  };
}
const queued = (job: SweepJob) => runQueuedSweep(job, { where, version: overshootVersion(), note: () => {} });

async function info(): Promise<{ calls: number; cpu: number; bytes: number }> {
  const stats = await admin.info("commandstats");
  const calls = [...stats.matchAll(/calls=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  const cpuInfo = await admin.info("cpu");
  const cpu =
    Number(/used_cpu_sys:([\d.]+)/.exec(cpuInfo)![1]) + Number(/used_cpu_user:([\d.]+)/.exec(cpuInfo)![1]);
  const net = await admin.info("stats");
  const bytes =
    Number(/total_net_input_bytes:(\d+)/.exec(net)![1]) +
    Number(/total_net_output_bytes:(\d+)/.exec(net)![1]);
  return { calls, cpu, bytes };
}

console.log(
  `\nSweeps on a Redis queue: redis-server ${(await admin.info("server")).match(/redis_version:([\d.]+)/)![1]} on 127.0.0.1 (no persistence), overshoot worker processes (concurrency 1 each), the submitter in this process; ${ROUNDS} interleaved rounds, median (min–max)`,
);

// 1. Per-job overhead, and what Redis does per job.
const TRIVIAL = 400;
const one = await startWorkers(1);
const before = await info();
const [queueMs, localMs] = await interleave(ROUNDS, [
  async () => {
    const t = performance.now();
    await queued(trivialJob(TRIVIAL));
    return (performance.now() - t) / TRIVIAL;
  },
  async () => {
    const t = performance.now();
    await runSweep(trivialJob(TRIVIAL), { workers: 1 });
    return (performance.now() - t) / TRIVIAL;
  },
]);
const after = await info();
await stopWorkers(one);
const jobsRun = (ROUNDS + 1) * TRIVIAL;
const perJob = {
  calls: (after.calls - before.calls) / jobsRun,
  cpuMs: ((after.cpu - before.cpu) * 1000) / jobsRun,
  bytes: (after.bytes - before.bytes) / jobsRun,
};
const overhead = spread(queueMs!.map((q, i) => q - localMs![i]!));
console.log(
  `\nPer-job overhead (${TRIVIAL} cells of ~0.01 ms on 1 worker): ${fmtSpread(spread(queueMs!), 3)} ms a cell on the queue vs ${fmtSpread(spread(localMs!), 4)} ms on a local thread → the queue costs ${fmtSpread(overhead, 3)} ms a job`,
);
console.log(
  `Redis per job: ${perJob.calls.toFixed(1)} commands (inside its scripts included), ${(perJob.bytes / 1024).toFixed(2)} KiB in and out, ${(perJob.cpuMs * 1000).toFixed(0)} µs of its CPU → one Redis core saturates near ${Math.round(1000 / perJob.cpuMs)} jobs/s`,
);

// 2. Cells per second on real work.
const CELLS = 96;
const configs: [string, (job: SweepJob) => Promise<unknown>, number][] = [];
for (const n of [1, 2, 4])
  configs.push([`local, ${n} thread${n > 1 ? "s" : ""}`, (job) => runSweep(job, { workers: n }), n]);
for (const n of [1, 2, 4]) configs.push([`queue, ${n} worker${n > 1 ? "s" : ""}`, queued, -n]);
// A cell's own time, on one local thread, for the projection.
const rates = await interleave(
  ROUNDS,
  configs.map(([, go, n]) => async () => {
    const procs = n < 0 ? await startWorkers(-n) : [];
    const t = performance.now();
    await go(networkJob(CELLS));
    const s = (performance.now() - t) / 1000;
    await stopWorkers(procs);
    return CELLS / s;
  }),
);
console.log(
  `\nCells per second, ${CELLS} cells of a 2-16-2 tanh network on xor (80 rows, 1,000 steps), machine of ${(await import("node:os")).availableParallelism()} cores:`,
);
for (const [i, [name]] of configs.entries())
  console.log(`  ${name.padEnd(18)} ${fmtSpread(spread(rates[i]!), 1)} cells/s`);
const cellMs = 1000 / spread(rates[0]!).median;
console.log(`  (one cell alone: ${cellMs.toFixed(1)} ms on one thread)`);

// 3. Projection: each worker (one core) does a cell every (c + overhead); Redis spends perJob.cpu
// on each job, plus a lock renewal per running job every LOCK_MS/2 and a stalled check every STALLED_MS.
const o = overhead.median;
const capacity = 1000 / perJob.cpuMs;
console.log(
  `\nProjection (a worker = one core; the workers scale ideally; a job costs Redis ${perJob.cpuMs.toFixed(3)} ms of CPU and ${perJob.calls.toFixed(0)} commands as measured above, and each running job one lock renewal every ${LOCK_MS / 2000} s, counted in the commands, not in the CPU; over a network each job also waits about two round trips):`,
);
console.log("  workers  cell    demanded jobs/s   Redis commands/s   Redis CPU   limit");
for (const workers of [100, 1000])
  for (const c of [10, 1000, 60_000]) {
    const demand = workers / ((c + o) / 1000);
    const renewals = workers / (LOCK_MS / 2000);
    const got = Math.min(demand, capacity);
    const cpu = (got * perJob.cpuMs) / 1000;
    console.log(
      `  ${String(workers).padStart(7)}  ${(c >= 1000 ? `${c / 1000} s` : `${c} ms`).padEnd(6)}  ${Math.round(demand).toString().padStart(15)}   ${Math.round(
        got * perJob.calls + renewals,
      )
        .toString()
        .padStart(
          16,
        )}   ${(100 * cpu).toFixed(1).padStart(8)}%   ${demand > capacity ? `the queue: Redis tops out near ${Math.round(capacity)} jobs/s` : "the cells"}`,
    );
  }
console.log(
  `  Where the queue is the limit (short cells on many workers), put k cells in a job (the per-job cost is paid once for k), or shard the cells over several queues on several Redis servers; a stalled check runs every ${STALLED_MS / 1000} s a queue whatever the number of workers.`,
);

await admin.quit();
await redis.stop();
