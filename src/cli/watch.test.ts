import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli, runProcess as run } from "../../test/cli-harness.js";

const dir = () => mkdtempSync(join(tmpdir(), "overshoot-watch-"));
const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Appends `pieces` to `path` one every `ms`, as a trainer writes its log. */
async function writeSlowly(
  path: string,
  pieces: readonly (string | Uint8Array)[],
  ms: number,
): Promise<void> {
  for (const p of pieces) {
    appendFileSync(path, p);
    await sleep(ms);
  }
}

/** JSON lines of a run that falls for `turn` steps, then grows ×g a step (inf once past 1e300). */
function overshootingLines(steps: number, turn: number, g: number): string[] {
  const lines: string[] = [];
  let loss = 2;
  for (let k = 0; k < steps; k++) {
    lines.push(`${JSON.stringify({ step: k, loss: loss > 1e300 ? "Infinity" : loss, lr: 0.1 })}\n`);
    loss *= k < turn ? 0.9 : g;
  }
  return lines;
}

/**
 * Runs watch in this process; `onWaiting` is called when it says it is waiting for the log (the
 * test's writer starts then, so the waiting is seen whatever the machine's load).
 */
const watchWith = (args: string[], onWaiting: () => void) =>
  cli(args, process.cwd(), (t) => {
    if (t.startsWith("waiting: ")) onWaiting();
  });

describe("overshoot watch: refusals, before anything is followed", () => {
  it("bad flags and a signal file that is not ours are one line and exit 2; the file is left as it was", async () => {
    const d = dir();
    const log = join(d, "run.jsonl");
    for (const [args, message] of [
      [["watch"], "give one log to follow"],
      [["watch", log, "--interval", "0"], "invalid --interval: 0"],
      [["watch", log, "--act-on", "soon"], "invalid --act-on: soon"],
      [["watch", log, "--optimizer", "adamm"], "invalid --optimizer: adamm"],
      [["watch", log, "--optimizer", "adam", "--momentum", "0.9"], "--momentum is sgd's"],
      [["watch", log, "--on-diverge", " "], "invalid --on-diverge"],
      [["watch", log, "--signal-file", join(d, "no", "stop.json")], "does not exist (create it first)"],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toContain(message);
      expect(r.err.trim().split("\n")).toHaveLength(1);
    }
    const mine = join(d, "notes.json");
    writeFileSync(mine, '{"mine": true}\n');
    const r = await cli(["watch", log, "--signal-file", mine, "--idle", "0.2"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("is not a signal an overshoot watch wrote");
    expect(readFileSync(mine, "utf8")).toBe('{"mine": true}\n');
  });

  it("a log that is bad (not a cut last line) is refused with its line once the bytes stop changing", async () => {
    const d = dir();
    const log = join(d, "run.jsonl");
    writeFileSync(log, '{"step": 0, "loss": 1}\n{"step": 1, loss: 2}\n{"step": 2, "loss": 3}\n');
    const r = await cli(["watch", log, "--interval", "0.05"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("line 2 is not JSON");
  });
});

describe("overshoot watch: following a growing log", () => {
  it("JSON lines written a piece at a time (a line cut mid-write): warns before the bound, writes the signal, runs the hook, exit 3", async () => {
    const d = dir();
    const log = join(d, "run.jsonl");
    const signal = join(d, "stop.json");
    // A signal an earlier watch left is replaced, not refused.
    writeFileSync(signal, JSON.stringify({ overshoot: "watch", step: 1 }));
    const pieces = overshootingLines(80, 20, 3).flatMap((l) => [l.slice(0, 9), l.slice(9)]);
    const hook = join(d, "hook.txt");
    let writing: Promise<void> | null = null;
    const r = await watchWith(
      [
        "watch",
        log,
        "--interval",
        "0.02",
        "--signal-file",
        signal,
        "--on-diverge",
        `printf '%s %s' "$OVERSHOOT_STEP" "$OVERSHOOT_LOG" > '${hook}'`,
      ],
      () => {
        writing ??= writeSlowly(log, pieces, 3);
      },
    );
    await writing;
    expect(r.err).toContain("removed");
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/^waiting: .* does not exist yet\nfollowing /);
    expect(r.out).toContain("following");
    const warning = /step (\d+) {2}loss (\S+) {2}lr 0\.1 {2}diverging: (.*)/.exec(r.out)!;
    expect(warning).not.toBeNull();
    const step = Number(warning[1]);
    // The bound is 10⁶ × 2; the loss passes it at the first step with 2·0.9²⁰·3^(k−20) > 2e6.
    const past = 20 + Math.ceil(Math.log(1e6 / 0.9 ** 20) / Math.log(3) - 1e-9);
    expect(step).toBeLessThan(past);
    const s = JSON.parse(readFileSync(signal, "utf8"));
    expect(s).toMatchObject({ overshoot: "watch", state: "diverging", step, log });
    expect(s.reason).toBe(warning[3]);
    expect(readFileSync(hook, "utf8")).toBe(`${step} ${log}`);
    expect(r.out).toContain("ran --on-diverge: exit 0");
    expect(r.out.trim().split("\n").at(-1)).toBe("the run is diverging: exit 3");
  });

  it("a calm Lightning metrics.csv (validation rows interleaved): no event, exit 0 once idle; --act-on diverged waits for the bound", async () => {
    const d = dir();
    const log = join(d, "metrics.csv");
    const rows = ["epoch,step,train_loss,val_loss\n"];
    for (let k = 0; k < 60; k++) {
      rows.push(`0,${k},${(2 * Math.exp(-k / 30) * (1 + 0.2 * Math.sin(k))).toPrecision(6)},\n`);
      if (k % 20 === 19) rows.push(`0,${k},,${(2 * Math.exp(-k / 30)).toPrecision(6)}\n`);
    }
    const [r] = await Promise.all([
      cli(["watch", log, "--interval", "0.02", "--idle", "0.5"]),
      writeSlowly(log, rows, 2),
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toContain("following");
    expect(r.out, r.out).not.toMatch(/diverging|catapult|edge/);
    expect(r.out).toMatch(/no new record in 0\.5 s: stopped following \(60 records read, state \w+\)/);

    const run = join(d, "run.jsonl");
    const [a] = await Promise.all([
      cli(["watch", run, "--interval", "0.02", "--act-on", "diverged", "--json"]),
      writeSlowly(run, overshootingLines(80, 20, 3), 2),
    ]);
    expect(a.code).toBe(3);
    const events = a.out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const warned = events.find((e) => e.event === "state" && e.state === "diverging");
    const diverged = events.find((e) => e.event === "diverged");
    expect(warned.step).toBeLessThan(diverged.step);
    expect(events.at(-1)).toMatchObject({ event: "end", reason: "diverging" });
    expect(events.at(-1).records).toBeGreaterThanOrEqual(diverged.step + 1);
  });

  it("a TensorBoard folder written a few bytes at a time (PyTorch's SummaryWriter's records, from the independent writer): the warning before the inf", async () => {
    const golden = JSON.parse(
      readFileSync(new URL("./__golden__/tensorboard.json", import.meta.url), "utf8"),
    ) as {
      files: {
        path: string;
        base64: string;
        scalars: { tag: string; step: number; value: number | string }[];
      }[];
    };
    const file = golden.files.find((f) => f.path.startsWith("pytorch/"))!;
    const bytes = Buffer.from(file.base64, "base64");
    const d = dir();
    const runs = join(d, "runs");
    mkdirSync(join(runs, "exp1"), { recursive: true });
    const events = join(runs, "exp1", file.path.split("/").at(-1)!);
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < bytes.length; at += 37) pieces.push(bytes.subarray(at, at + 37));
    let writing: Promise<void> | null = null;
    const r = await watchWith(["watch", runs, "--interval", "0.02", "--keep-going", "--idle", "0.5"], () => {
      writing ??= writeSlowly(events, pieces, 2);
    });
    await writing;
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^waiting: no TensorBoard event files/);
    expect(r.out).toContain("following");
    expect(r.out).toContain("tag Loss/train and lr");
    const infStep = file.scalars.find((s) => s.tag === "Loss/train" && s.value === "Infinity")!.step;
    const warning = Number(/step (\d+) .* diverging: /.exec(r.out)![1]);
    expect(warning).toBeLessThan(infStep);
    expect(r.out).toMatch(/24 records read, state diverging, first warning at step \d+/);
  });
});

describe("overshoot watch: Ctrl-C", () => {
  it("ends the watch with what it read, exit 130", async () => {
    const d = dir();
    writeFileSync(join(d, "run.jsonl"), '{"step": 0, "loss": 1}\n{"step": 1, "loss": 0.5}\n');
    const child = spawn(
      process.execPath,
      [join(process.cwd(), "bin", "overshoot.js"), "watch", "run.jsonl"],
      {
        cwd: d,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b;
      if (out.includes("following") && !child.killed) child.kill("SIGINT");
    });
    const code = await new Promise<number | null>((done) => child.on("close", done));
    expect(code).toBe(130);
    expect(out.trim().split("\n").at(-1)).toBe("stopped (Ctrl-C or SIGTERM; 2 records read, state stable)");
  });
});

/** Debian's python3 with torch (python3-torch), as .ci/run installs it. */
const PYTHON = "/usr/bin/python3";
function requireTorch(): void {
  const r = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(
      `these tests run a PyTorch trainer: install Debian's python3-torch (apt-get install python3-torch python3-protobuf protobuf-compiler); ${PYTHON}: ${r.stderr || r.error}`,
    );
}

describe("overshoot watch beside a real PyTorch trainer (examples/watch/train_torch.py)", () => {
  const bin = join(process.cwd(), "bin", "overshoot.js");
  const trainer = join(process.cwd(), "examples", "watch", "train_torch.py");

  it("lr 1e-3 on raw car data: watch warns, the trainer stops on the signal file within a few steps; lr 1e-4 trains and watch ends idle", async () => {
    requireTorch();
    const d = dir();
    const [w, t] = await Promise.all([
      run(
        process.execPath,
        [bin, "watch", "run.jsonl", "--signal-file", "stop.json", "--interval", "0.1"],
        d,
      ),
      run(PYTHON, [trainer, "--lr", "1e-3", "--log", "run.jsonl", "--signal", "stop.json"], d),
    ]);
    expect(w.err).toBe("");
    expect(w.code).toBe(3);
    const step = Number(/step (\d+) .* diverging: /.exec(w.out)![1]);
    // The log as the trainer wrote it: Python's json, NaN tokens and all, after float32 overflowed.
    const losses = readFileSync(join(d, "run.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => Number(JSON.parse(l.replace(/\bNaN\b/g, '"NaN"').replace(/-?Infinity\b/g, '"$&"')).loss));
    // Warned before the first non-finite loss (the trainer may have stopped before it had one).
    const firstBad = losses.findIndex((v) => !Number.isFinite(v));
    expect(step).toBeLessThan(firstBad < 0 ? losses.length : firstBad);
    expect(losses[step]! > 1e6 * losses[0]!).toBe(true); // the seed's run: past the bound at step 2
    expect(t.code).toBe(0);
    const stopped = Number(/^stopped at step (\d+): /m.exec(t.out)![1]);
    expect(stopped).toBeGreaterThanOrEqual(step);
    expect(stopped).toBeLessThan(150); // of the 400 it would have run
    const s = JSON.parse(readFileSync(join(d, "stop.json"), "utf8"));
    expect(s.step).toBe(step);

    const calm = dir();
    const [w2, t2] = await Promise.all([
      run(
        process.execPath,
        [bin, "watch", "run.jsonl", "--signal-file", "stop.json", "--idle", "2", "--interval", "0.1"],
        calm,
      ),
      run(
        PYTHON,
        [trainer, "--lr", "1e-4", "--steps", "60", "--log", "run.jsonl", "--signal", "stop.json"],
        calm,
      ),
    ]);
    expect(t2.out).toMatch(/^finished 60 steps/m);
    expect(w2.code).toBe(0);
    expect(w2.out).toContain("no new record in 2 s: stopped following (60 records read");
    expect(existsSync(join(calm, "stop.json"))).toBe(false);
  }, 90_000);

  it("the trainer writing TensorBoard events (Python's protobuf, protoc, the TFRecord framing): the warning of its JSON lines, at the same step", async () => {
    requireTorch();
    const d = dir();
    const [w, t] = await Promise.all([
      run(process.execPath, [bin, "watch", "tb", "--signal-file", "stop.json", "--interval", "0.1"], d),
      run(
        PYTHON,
        [trainer, "--lr", "1e-3", "--tensorboard", "tb", "--log", "run.jsonl", "--signal", "stop.json"],
        d,
      ),
    ]);
    expect(w.err).toBe("");
    expect(w.code).toBe(3);
    expect(w.out).toContain("TensorBoard, tag Loss/train, lr and grad_norm");
    // The gradient's norm, found by its tag, beside the loss in each event.
    expect(w.out).toMatch(/step \d+ {2}loss \S+ {2}lr 0\.001 {2}‖g‖ \S+ {2}diverging: /);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/^stopped at step \d+: /m);
    // The same losses through the other format (float32 values: simple_value holds them exactly).
    const jsonl = await cli(["watch", join(d, "run.jsonl"), "--interval", "0.01", "--idle", "0.1"]);
    expect(jsonl.code).toBe(3);
    const warning = (out: string) => /step (\d+) .* diverging: (.*)/.exec(out)!.slice(1);
    expect(warning(w.out)).toEqual(warning(jsonl.out));
  }, 60_000);
});
