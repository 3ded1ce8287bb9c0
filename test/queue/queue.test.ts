import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/cli/lab-site.js";
import { type CellJobData, cellJobId, queuedCells } from "../../src/cli/queue/cell-job.js";
import { CELL_QUEUE, CONNECT_TIMEOUT_MS, PREFIX } from "../../src/cli/queue/redis.js";
import { overshootVersion } from "../../src/cli/version.js";
import { freePort, type RedisServer, startRedis } from "./redis-server.js";

/**
 * Sweeps on a real Redis (Debian's redis-server, started here on a free port with no
 * persistence) with `overshoot worker` processes: the results equal the local sweep's to the
 * bit, a worker killed mid-cell loses nothing, resubmission reuses every cell, and bad jobs and
 * bad connections are refused in one line.
 */
const bin = join(packageRoot(), "bin", "overshoot.js");
const net = [
  "--data",
  "xor",
  "--model",
  "mlp",
  "--hidden",
  "16",
  "--n",
  "80",
  "--loss",
  "mse",
  "--steps",
  "3000",
];
// 12 × 12 cells: enough for a worker to be killed mid-cell with others still to run (20 × 20 took
// 73 s of a CI pass for the same check).
const grid = ["--lr", "0.01:30:12", "--momentum", "0:0.95:12"];

interface Proc {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  out: string;
  err: string;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  const p: Proc = {
    child,
    lines: [],
    out: "",
    err: "",
    exited: new Promise((r) => child.once("exit", (code) => r(code))),
  };
  let partial = "";
  child.stdout!.on("data", (d: Buffer) => {
    p.out += d;
    partial += d;
    const parts = partial.split("\n");
    partial = parts.pop()!;
    p.lines.push(...parts);
  });
  child.stderr!.on("data", (d: Buffer) => {
    p.err += d;
  });
  return p;
}

async function run(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const t = Date.now();
  const p = start(args, env);
  const code = await p.exited;
  return { code, out: p.out, err: p.err, ms: Date.now() - t };
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("sweeps on a Redis queue with overshoot workers", () => {
  let redis: RedisServer;
  const workers: Proc[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
    await redis?.stop();
  });

  it("a 12×12 map on 3 workers, one killed with kill -9 mid-cell: complete, and equal to the local sweep bit for bit", async () => {
    const local = await run(["sweep", ...net, ...grid, "--json"]);
    expect(local.code, local.err).toBe(0);
    for (let k = 0; k < 3; k++) workers.push(start(["worker", "--queue", redis.url, "--concurrency", "1"]));
    await until(
      "the workers",
      () => workers.every((w) => w.lines.some((l) => l.startsWith("overshoot worker "))),
      15_000,
    );
    const sweep = start(["sweep", ...net, ...grid, "--json", "--queue", redis.url, "--name", "map12"]);
    // A worker mid-cell: it has said "start" for a cell of a small rate (one that trains for the
    // whole horizon, tens of ms) and not yet "done". Its output is a pipe, written synchronously,
    // so a "done" it wrote before the kill still arrives: then the kill was not mid-cell after
    // all, and the next worker is tried.
    const killMidCell = async (victim: Proc): Promise<string | null> => {
      let cut = "";
      const seen = victim.lines.filter((l) => l.startsWith("start ")).length;
      await until(
        "a worker in the middle of a cell",
        () => {
          const starts = victim.lines.filter((l) => l.startsWith("start ")).length;
          const last = victim.lines[victim.lines.length - 1] ?? "";
          const m = /^start (\S+) lr (\S+)/.exec(last);
          if (starts >= seen + 5 && m && Number(m[2]) <= 0.3) cut = m[1]!;
          return cut !== "";
        },
        60_000,
      );
      victim.child.kill("SIGKILL");
      await victim.exited;
      return victim.lines.some((l) => l.startsWith(`done ${cut} `)) ? null : cut;
    };
    let cut = await killMidCell(workers[0]!);
    const killed = [workers[0]!];
    if (cut === null) {
      cut = await killMidCell(workers[1]!);
      killed.push(workers[1]!);
    }
    expect(cut, "two kills both landed between cells").not.toBeNull();
    const code = await sweep.exited;
    expect(code, sweep.err).toBe(0);
    // Every cell, each the same bits as the local run (the JSON prints each float64 exactly).
    expect(sweep.out).toBe(local.out);
    expect(JSON.parse(sweep.out).cells).toHaveLength(144);
    // The killed worker's cell was taken up by another worker (stalled-job recovery) and finished there.
    const others = workers.filter((w) => !killed.includes(w)).flatMap((w) => w.lines);
    expect(
      others.some((l) => l.startsWith(`done ${cut} `)),
      `cell ${cut} was not finished by another worker`,
    ).toBe(true);
    expect(sweep.err).toMatch(/sweep map12 on redis:\/\/127\.0\.0\.1:\d+: 144 cells, 144 queued now/);
  }, 180_000);

  it("resubmitting the same sweep reuses every cell and says so; its --name bound to another grid is refused", async () => {
    const again = await run(["sweep", ...net, ...grid, "--json", "--queue", redis.url, "--name", "map12"]);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toContain("sweep map12: reattaching");
    expect(again.err).toMatch(/144 cells, 144 already done \(reused\), 0 queued now/);
    const local = await run(["sweep", ...net, ...grid, "--json"]);
    expect(again.out).toBe(local.out);
    const other = await run(["sweep", ...net, "--lr", "0.1:1:3", "--queue", redis.url, "--name", "map12"]);
    expect(other.code).toBe(2);
    expect(other.err.trim()).toBe(
      `overshoot: --name map12 is another sweep on ${redis.url} (other cells): repeat that sweep's flags to reattach, or pick another --name`,
    );
  }, 120_000);

  it("expressions, built-ins, a CSV model and a graph network run on the queue as they do locally", async () => {
    const cars = join(packageRoot(), "examples", "cars.csv");
    for (const args of [
      ["--f", "x^2 + 3*y^2 + sin(x*y)", "--x0", "1,-1", "--lr", "1e-3:1:12", "--momentum", "0:0.9:4"],
      ["--f", "rosenbrock", "--x0", "-1.2,1", "--lr", "1e-5:1e-2:10", "--steps", "500"],
      [
        "--data",
        cars,
        "--target",
        "mpg",
        "--features",
        "year,acceleration",
        "--model",
        "linear",
        "--x0",
        "0,0,0",
        "--lr",
        "1e-5:1e-3:8",
      ],
      // A graph network (LayerNorm, from ONNX): its graph and rows travel in the job.
      [
        "--model-onnx",
        join(packageRoot(), "src", "nn", "onnx", "__golden__", "layernorm.onnx"),
        "--data",
        cars,
        "--target",
        "mpg",
        "--features",
        "horsepower,weight,acceleration",
        "--standardize",
        "--lr",
        "1e-3:0.5:6",
        "--steps",
        "200",
      ],
      // A network over the initial weights of five seeds: 6 × 3 × 5 cells, a start each.
      [...net.slice(0, -2), "--steps", "300", "--lr", "0.5:4:6", "--momentum", "0:0.9:3", "--seeds", "0:4"],
    ]) {
      const local = await run(["sweep", ...args, "--json"]);
      const queued = await run(["sweep", ...args, "--json", "--queue", redis.url]);
      expect(queued.code, queued.err).toBe(0);
      expect(queued.out).toBe(local.out);
    }
  }, 120_000);

  it("a submitter killed with kill -9 and started again reattaches to its sweep by --name and finishes it", async () => {
    const args = [
      "sweep",
      ...net.slice(0, -2),
      "--steps",
      "2000",
      "--lr",
      "0.02:20:10",
      "--momentum",
      "0:0.9:10",
      "--json",
    ];
    const first = start([...args, "--queue", redis.url, "--name", "restart"]);
    await until("some progress", () => /sweep: \d+\/100 runs/.test(first.err), 60_000);
    first.child.kill("SIGKILL");
    await first.exited;
    const again = await run([...args, "--queue", redis.url, "--name", "restart"]);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toContain("sweep restart: reattaching");
    const local = await run(args);
    expect(again.out).toBe(local.out);
  }, 120_000);

  it("over TLS (rediss://, its CA in NODE_EXTRA_CA_CERTS) the same; an untrusted certificate is one line", async () => {
    const tls = await startRedis({ tls: true, password: "tls pass" });
    try {
      const env = { NODE_EXTRA_CA_CERTS: tls.ca! };
      const w = start(["worker", "--queue", tls.url, "--concurrency", "1"], env);
      workers.push(w);
      const args = ["sweep", "--f", "x^2 + 3*y^2", "--x0", "1,1", "--lr", "1e-2:1:8", "--json"];
      const r = await run([...args, "--queue", tls.url], env);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toBe((await run(args)).out);
      const untrusted = await run([...args, "--queue", tls.url]);
      expect(untrusted.code).toBe(2);
      expect(untrusted.err.trim()).toMatch(
        /^overshoot: the TLS certificate of rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+ is not trusted \(self-signed certificate\): give its CA in NODE_EXTRA_CA_CERTS=ca\.pem/,
      );
      w.child.kill("SIGTERM");
      expect(await w.exited).toBe(0);
      expect(w.lines[w.lines.length - 1]).toBe("stopped");
    } finally {
      await tls.stop();
    }
  }, 60_000);

  it("a job of another version is handed back with the reason; a job that is not a valid cell fails naming its field", async () => {
    const { Queue, Job } = await import("bullmq");
    const queue = new Queue(CELL_QUEUE, { connection: { url: redis.url }, prefix: PREFIX });
    try {
      const cells = queuedCells;
      const base = cells(
        {
          source: { kind: "spec", spec: { f: "x^2" } },
          x0: [1],
          optimizer: { name: "sgd" },
          cells: [{ lr: 0.1 }],
          criteria: { horizon: 10 },
        },
        "0.0.0-other",
      ).jobs[0]!;
      await queue.add("cell", base.data, { jobId: base.id });
      const live = () => workers.slice(1).flatMap((w) => w.lines);
      await until("the refusal", () => live().some((l) => l.startsWith(`refused ${base.id}`)), 20_000);
      expect(live().find((l) => l.startsWith(`refused ${base.id}`))).toBe(
        `refused ${base.id}: this worker is overshoot ${overshootVersion()} and the cell was made by 0.0.0-other: run \`overshoot worker\` of version 0.0.0-other`,
      );
      // Handed back, not failed: a worker of that version would still take it.
      let state = "";
      for (let t = 0; t < 100 && state !== "delayed"; t++) {
        state = await queue.getJobState(base.id);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(state).toBe("delayed");
      expect((await Job.fromId(queue, base.id))!.progress).toMatchObject({
        refused: `this worker is overshoot ${overshootVersion()} and the cell was made by 0.0.0-other: run \`overshoot worker\` of version 0.0.0-other`,
      });
      // Handed back a bounded number of times, then failed with the reason (not bounced forever).
      const tired = cells(
        {
          source: { kind: "spec", spec: { f: "x^2" } },
          x0: [1],
          optimizer: { name: "sgd" },
          cells: [{ lr: 0.2 }],
          criteria: { horizon: 10 },
        },
        "0.0.0-other",
      ).jobs[0]!;
      const late = await queue.add("cell", tired.data, { jobId: tired.id, delay: 1000 });
      await late.updateProgress({ refused: "earlier", times: 29 });
      for (let t = 0; t < 200 && state !== "failed"; t++) {
        state = await queue.getJobState(tired.id);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(state).toBe("failed");
      expect((await Job.fromId(queue, tired.id))!.failedReason).toMatch(
        /made by 0\.0\.0-other: .* \(handed back 30 times: no worker of that version took it\)$/,
      );

      // Data that is no cell of any version fails at once, with the reason (it was handed back forever).
      for (const [id, data] of [
        ["cnotacell1", 42],
        ["cnotacell2", { version: 7 }],
      ] as const) {
        await queue.add("cell", data as never, { jobId: id });
        let s = "";
        for (let t = 0; t < 200 && s !== "failed"; t++) {
          s = await queue.getJobState(id);
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(s).toBe("failed");
        expect((await Job.fromId(queue, id))!.failedReason).toBe(
          "invalid job: not a sweep cell (expected version, source and cell)",
        );
      }

      // Data that is not JSON (written into the job's hash by another client): BullMQ cannot read
      // it and left it "active" for ever; the workers fail it with the reason.
      const { Redis } = await import("ioredis");
      const raw = new Redis(redis.url);
      await queue.add("cell", { a: 1 }, { jobId: "cnotjson", delay: 1000 });
      await raw.hset(`${PREFIX}:${CELL_QUEUE}:cnotjson`, "data", "{not json");
      let unreadable = "";
      for (let t = 0; t < 400 && unreadable !== "failed"; t++) {
        unreadable = await queue.getJobState("cnotjson");
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(unreadable).toBe("failed");
      expect(await raw.hget(`${PREFIX}:${CELL_QUEUE}:cnotjson`, "failedReason")).toBe(
        "invalid job: its data is not JSON",
      );
      raw.disconnect();

      // The same version, but an activation that does not exist, and an expression that names a
      // property of Object.prototype: each fails at the worker's check, with the reason.
      for (const [spec, reason] of [
        [
          {
            kind: "mlp",
            spec: { sizes: [1, 2, 1], activation: "eval", loss: "mse" },
            data: { x: new Float64Array(1), y: new Float64Array(1), rows: 1 },
            description: "x",
          },
          "invalid job: source.spec.activation must be one of tanh, relu, sigmoid, gelu, identity",
        ],
        [{ kind: "spec", spec: { f: "constructor(x)" } }, /constructor/],
      ] as const) {
        const j = cells(
          {
            source: spec as never,
            x0: [1, 1, 1, 1, 1, 1, 1],
            optimizer: { name: "sgd" },
            cells: [{ lr: 0.1 }],
            criteria: { horizon: 10 },
          },
          overshootVersion(),
        ).jobs[0]!;
        expect(cellJobId(j.data as CellJobData)).toBe(j.id);
        await queue.add("cell", j.data, { jobId: j.id });
        await until(
          "the failure",
          () => workers.slice(1).some((w) => w.lines.some((l) => l.startsWith(`failed ${j.id}`))),
          20_000,
        );
        const failed = await Job.fromId(queue, j.id);
        expect(await failed!.getState()).toBe("failed");
        if (typeof reason === "string") expect(failed!.failedReason).toBe(reason);
        else expect(failed!.failedReason).toMatch(reason);
      }
    } finally {
      await queue.close();
    }
  }, 120_000);

  it("a silent host, a wrong password, no password, nothing listening: one line, exit 2, within the documented timeout", async () => {
    const locked = await startRedis({ password: "s3cret pass" });
    const onExit: (() => void)[] = [];
    try {
      const port = await freePort();
      // A host that takes the connection and never answers (a firewall's black hole, a hung server).
      const silent = createServer(() => {});
      await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
      onExit.push(() => silent.close());
      const silentPort = (silent.address() as { port: number }).port;
      const cases: [string, RegExp][] = [
        [
          `redis://127.0.0.1:${silentPort}`,
          /no answer from redis:\/\/127\.0\.0\.1:\d+ within 5 s: check the host, the port, a firewall/,
        ],
        [
          `redis://:wrong@127.0.0.1:${locked.port}`,
          /refused the password: check the user and password in --queue/,
        ],
        [`redis://127.0.0.1:${locked.port}`, /needs a password: put it in --queue/],
        [
          `redis://127.0.0.1:${port}`,
          /nothing is listening at redis:\/\/127\.0\.0\.1:\d+ \(connection refused\)/,
        ],
        // A database the server does not have (it went on with database 0), and a password whose
        // '%' starts no escape (an internal error).
        [
          `redis://:${encodeURIComponent("s3cret pass")}@127.0.0.1:${locked.port}/16`,
          /has no database 16 \(a server has 16, \/0 to \/15, unless its "databases" setting says more\): pick one it has$/,
        ],
        [
          `redis://:wrong%zz@127.0.0.1:${locked.port}`,
          /^overshoot: invalid --queue: the password in redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ has a '%' that starts no escape: write a '%' of it as %25$/,
        ],
      ];
      for (const [url, message] of cases) {
        for (const args of [
          ["worker", "--queue", url],
          ["sweep", "--f", "x^2", "--x0", "1", "--lr", "0.1:1:3", "--queue", url],
        ]) {
          const r = await run(args);
          expect(r.code, `${args.join(" ")}: ${r.err}`).toBe(2);
          const lines = r.err.trim().split("\n");
          expect(lines, r.err).toHaveLength(1);
          expect(lines[0]).toMatch(message);
          // The password never appears, and the answer comes within the connect timeout.
          expect(r.err).not.toContain("wrong");
          expect(r.ms).toBeLessThan(CONNECT_TIMEOUT_MS + 3000);
        }
      }
      // With the right password (percent-encoded in the URL) the sweep runs on the workers of that Redis.
      const w = start(["worker", "--queue", locked.url, "--concurrency", "1"]);
      workers.push(w);
      const r = await run(["sweep", "--f", "x^2", "--x0", "1", "--lr", "0.1:1:3", "--queue", locked.url]);
      expect(r.code, r.err).toBe(0);
      expect(r.out + r.err).not.toContain("s3cret");
      expect(r.out).toContain(`on the workers of redis://:***@127.0.0.1:${locked.port}`);
    } finally {
      for (const f of onExit) f();
      await locked.stop();
    }
  }, 60_000);
});

describe("a queue that survives Redis and its own clients", () => {
  const small = [
    "--data",
    "xor",
    "--model",
    "mlp",
    "--hidden",
    "8",
    "--n",
    "80",
    "--loss",
    "mse",
    "--steps",
    "2000",
  ];
  const grid6 = ["--lr", "0.05:20:6", "--momentum", "0:0.9:6"];

  it("a sweep across a kill -9 and restart of a non-persistent redis-server ends complete and equal to the local sweep", async () => {
    const local = await run(["sweep", ...small, ...grid6, "--json"]);
    expect(local.code, local.err).toBe(0);
    let redis = await startRedis();
    const port = redis.port;
    const pool = [0, 1].map(() => start(["worker", "--queue", redis.url, "--concurrency", "1"]));
    try {
      await until(
        "the workers",
        () => pool.every((w) => w.lines.some((l) => l.startsWith("overshoot worker "))),
        15_000,
      );
      const sweep = start(["sweep", ...small, ...grid6, "--json", "--queue", redis.url, "--name", "restart"]);
      const done = () => pool.flatMap((w) => w.lines).filter((l) => l.startsWith("done ")).length;
      await until("some cells done", () => done() >= 6, 60_000);
      // Redis dies with every job and result, and comes back empty on the same port.
      await redis.stop();
      await new Promise((r) => setTimeout(r, 1500));
      redis = await startRedis({ port });
      const code = await sweep.exited;
      expect(code, sweep.err).toBe(0);
      expect(sweep.out).toBe(local.out);
      expect(sweep.err).toMatch(
        /the queue lost \d+ cells? of this sweep \(Redis restarted without its data, or was flushed\): queued again/,
      );
      // One line per change of state, never a stack.
      expect(sweep.err, sweep.err).not.toMatch(/\n\s+at |Error:/);
      expect(sweep.err.split("\n").filter((l) => /connection refused/.test(l)).length).toBeLessThanOrEqual(1);
      expect(sweep.err).toContain(`connected to redis://127.0.0.1:${port} again`);
      for (const w of pool) {
        expect(w.err).not.toMatch(/\n\s+at |Error:/);
        expect(w.err.split("\n").filter((l) => /connection refused/.test(l)).length).toBeLessThanOrEqual(1);
      }
    } finally {
      for (const w of pool) w.child.kill("SIGKILL");
      await redis.stop();
    }
  }, 180_000);

  it("a malformed or forged result fails its cell loudly; with --queue-secret only signed results count", async () => {
    const redis = await startRedis();
    const { Worker } = await import("bullmq");
    const { Redis } = await import("ioredis");
    const { signResult } = await import("../../src/cli/queue/submit.js");
    const forged: unknown[] = [];
    const seen: string[] = [];
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    // A rogue client answering every cell with what the test queues up next.
    const rogue = new Worker(
      CELL_QUEUE,
      async (job) => {
        seen.push(job.id!);
        const next = forged.shift();
        return typeof next === "function" ? next(job.id, job.data) : next;
      },
      { connection, prefix: PREFIX },
    );
    const dir = mkdtempSync(join(tmpdir(), "overshoot-secret-"));
    const key = join(dir, "key");
    writeFileSync(key, Buffer.from("0123456789abcdef0123456789abcdef"));
    const sweepOf = (lr: string, ...extra: string[]) =>
      run([
        "sweep",
        "--f",
        "x^2",
        "--x0",
        "-1",
        "--lr",
        lr,
        "--steps",
        "10",
        "--json",
        "--queue",
        redis.url,
        ...extra,
      ]);
    try {
      const good = { finalLoss: 0.1, lr: 0.3, peakLoss: 1, peakStep: 0, status: "converging", steps: 10 };
      for (const [lr, value, why] of [
        ["0.11", null, "not an object"],
        ["0.12", 42, "not an object"],
        ["0.13", { lr: 0.13 }, "status"],
        ["0.14", { status: "trained", lr: "0.14" }, "lr is not the cell's 0.14"],
        ["0.3", { ...good, lr: 0.5 }, "lr is not the cell's 0.3"],
        ["0.31", { ...good, lr: 0.31, steps: -1 }, "steps"],
      ] as const) {
        forged.push(value);
        const r = await sweepOf(lr);
        expect(r.code, r.err).toBe(2);
        expect(r.err).toContain(
          `1 cell failed on a worker (the first, lr ${lr}: it came back as a malformed result (${why})`,
        );
        expect(r.out).toBe("");
      }
      // A stored malformed result is not reused: the cell is computed again (here, well formed).
      forged.push({ ...good, lr: 0.14, status: "trained" });
      const again = await sweepOf("0.14");
      expect(again.code, again.err).toBe(0);
      expect(again.err).toContain(
        "the stored result of the cell at lr 0.14 is a malformed result (lr is not the cell's 0.14)",
      );
      expect(JSON.parse(again.out).cells[0]).toMatchObject({ lr: 0.14, status: "trained", finalLoss: 0.1 });

      // With --queue-secret: a well-formed unsigned result, and a signed one moved from another cell, fail.
      forged.push({ ...good, lr: 0.4 });
      const unsigned = await sweepOf("0.4", "--queue-secret", key);
      expect(unsigned.code).toBe(2);
      expect(unsigned.err).toContain(
        "it came back as an unsigned result, not one of a worker with --queue-secret's key",
      );
      const secret = readFileSync(key);
      forged.push(() => signResult("c-another-cell", { ...good, lr: 0.41 }, secret));
      const moved = await sweepOf("0.41", "--queue-secret", key);
      expect(moved.code).toBe(2);
      expect(moved.err).toContain("a result whose signature does not hold");
      forged.push((id: string) => signResult(id, { ...good, lr: 0.42 }, secret));
      const signed = await sweepOf("0.42", "--queue-secret", key);
      expect(signed.code, signed.err).toBe(0);
      expect(JSON.parse(signed.out).cells[0]).toMatchObject({ lr: 0.42, finalLoss: 0.1 });
    } finally {
      await rogue.close();
      connection.disconnect();
      await redis.stop();
    }
  }, 120_000);

  it("a real worker with --queue-secret signs what the submitter with the key checks: the local sweep's numbers", async () => {
    const redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), "overshoot-secret-"));
    const key = join(dir, "key");
    writeFileSync(key, Buffer.from("fedcba9876543210fedcba9876543210"));
    const w = start(["worker", "--queue", redis.url, "--concurrency", "1", "--queue-secret", key]);
    try {
      const args = ["sweep", "--f", "x^2", "--x0", "-1", "--lr", "0.1:1.5:5", "--steps", "50", "--json"];
      const local = await run(args);
      const queued = await run([...args, "--queue", redis.url, "--queue-secret", key]);
      expect(queued.code, queued.err).toBe(0);
      expect(queued.out).toBe(local.out);
      const short = join(dir, "short");
      writeFileSync(short, "too short");
      const refused = await run([...args, "--queue", redis.url, "--queue-secret", short]);
      expect(refused.err).toBe(
        `overshoot: invalid --queue-secret ${short}: 9 bytes (a key of 16 to 4096 bytes, e.g. head -c 32 /dev/urandom > ${short})\n`,
      );
    } finally {
      w.child.kill("SIGKILL");
      await redis.stop();
    }
  }, 60_000);
});
