import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageRoot } from "../src/cli/lab-site.js";
import { checkCnnDemo, demoOutput } from "./demo-claims.js";
import { type RedisServer, startRedis } from "./queue/redis-server.js";

/**
 * Every `npx overshoot …` command in the README's shell blocks, run as a user would from a clone:
 * in order, in one scratch folder holding a copy of examples/ (a later command may read what an
 * earlier one wrote: diagnose run.jsonl), each to exit 0 without a stack trace. `lab` is stopped
 * once it has printed its URL.
 */
const root = packageRoot();
const readme = readFileSync(join(root, "README.md"), "utf8");

/**
 * The README's shell commands, continuation lines joined, comments dropped: each `npx overshoot …`
 * (as its arguments), and each `python3 examples/…` (a trainer beside `watch`, kept whole). A
 * comment that says "exits N" states the command's exit code (watch's 3 on divergence); else 0.
 */
const expectedCodes = new Map<string, number>();
function commands(): string[] {
  const out: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = block[1]!.replace(/\\\n\s*/g, "").split("\n");
    for (const line of lines) {
      const m = /^npx overshoot(?: (.*?))?(?:\s+#(.*))?$/.exec(line.trim());
      const py = /^(python3 examples\/\S+\.py .*?)(?:\s+#.*)?$/.exec(line.trim());
      if (m) {
        const command = (m[1] ?? "").trim();
        const code = /\bexits (\d+)/.exec(m[2] ?? "");
        if (code) expectedCodes.set(command, Number(code[1]));
        out.push(command);
      } else if (py) out.push(py[1]!.trim());
    }
  }
  return out;
}

/** A trainer the README runs beside `watch`: Debian's python3 (with python3-torch), in the scratch folder. */
const isPython = (command: string) => command.startsWith("python3 ");

/** Shell words: spaces split, double quotes group (the README uses nothing more). */
function words(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"([^"]*)"|(\S+)/g)) out.push(m[1] ?? m[2]!);
  return out;
}

const scratch = mkdtempSync(join(tmpdir(), "overshoot-readme-"));
cpSync(join(root, "examples"), join(scratch, "examples"), { recursive: true });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(root, "bin", "overshoot.js"), ...args], {
      cwd: scratch,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
      // The lab serves until stopped: once it has said where, that is the command working.
      if (args[0] === "lab" && /overshoot lab: http:\/\/127\.0\.0\.1:\d+\//.test(out)) child.kill("SIGINT");
    });
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) =>
      done({ code: args[0] === "lab" && /overshoot lab: http/.test(out) ? 0 : code, out, err }),
    );
  });
}

/**
 * The section on many machines talks to redis://localhost:6379: here a redis-server of the test's
 * own stands in for it (its URL substituted), and a command ending in "&" (a worker) runs in the
 * background until the end.
 */
let redis: RedisServer | null = null;
const background: ChildProcess[] = [];
afterAll(async () => {
  for (const b of background) b.kill("SIGKILL");
  await redis?.stop();
});

/**
 * The arguments a command is run with: the lab on any free port, the queue's URL replaced by the
 * test's own server's.
 */
function argsOf(command: string): string[] {
  const queueUrl = redis?.url ?? "";
  const args = words(command.replace(/ &$/, ""))
    .map((w, _i, all) => (all[0] === "lab" && w === "5173" ? "0" : w))
    .map((w) => (w === "redis://localhost:6379" ? queueUrl : w));
  if (args[0] === "lab" && !args.includes("--port")) args.push("--port", "0");
  return args;
}

type Outcome = { code: number | null; out: string; err: string; background?: boolean };

/** A background command (ending in "&", a worker) is done once it has printed its first line. */
async function start(command: string): Promise<Outcome> {
  if (command.includes("redis://localhost:6379")) redis ??= await startRedis();
  const args = argsOf(command);
  if (isPython(command) && !command.endsWith(" &"))
    throw new Error(
      `the README's trainer runs beside watch, in the background: end it with " &" (${command})`,
    );
  if (!command.endsWith(" &")) return run(args);
  const child = isPython(command)
    ? spawn("/usr/bin/python3", args.slice(1), { cwd: scratch, stdio: ["ignore", "pipe", "pipe"] })
    : spawn(process.execPath, [join(root, "bin", "overshoot.js"), ...args], {
        cwd: scratch,
        stdio: ["ignore", "pipe", "pipe"],
      });
  background.push(child);
  const out = await new Promise<string>((resolve) => {
    let text = "";
    child.stdout.on("data", (d) => {
      text += d;
      if (text.includes("\n")) resolve(text);
    });
    child.on("close", () => resolve(text));
  });
  return { code: child.exitCode, out, err: "", background: true };
}

/**
 * What a command shares with another: the files it names that are not examples/ (one writes
 * run.jsonl, a later one diagnoses it) and the queue's URL (a worker, then a sweep on it).
 */
const shared = (command: string): string[] =>
  words(command).filter(
    (w) => !w.startsWith("-") && !w.startsWith("examples/") && /[./:]/.test(w) && !/^[\d.:e-]+$/.test(w),
  );

/**
 * The commands, two at a time (the machine's two cores), each started once every earlier command
 * it shares a file or the queue with has finished; the tests below take their outcomes in order.
 */
function schedule(list: string[], width = 2): Promise<Outcome>[] {
  const done: Promise<Outcome>[] = [];
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async () => {
    while (running >= width) await new Promise<void>((ok) => waiting.push(ok));
    running++;
  };
  const free = () => {
    running--;
    waiting.shift()?.();
  };
  list.forEach((command, i) => {
    const mine = shared(command);
    const before = list
      .slice(0, i)
      .map((c, j) => (shared(c).some((w) => mine.includes(w)) ? done[j]! : null))
      .filter((p) => p !== null);
    done.push(
      (async () => {
        await Promise.all(before);
        // In the order of the README: a command starts after every earlier one has started.
        if (i > 0) await started[i - 1];
        const begin = slot();
        startedResolvers[i]!();
        await begin;
        try {
          return await start(command);
        } finally {
          free();
        }
      })(),
    );
  });
  return done;
}
const startedResolvers: (() => void)[] = [];
const started: Promise<void>[] = [];

describe("every command in the README runs as written", () => {
  const list = commands();
  for (let i = 0; i < list.length; i++) started.push(new Promise<void>((ok) => startedResolvers.push(ok)));
  let outcomes: Promise<Outcome>[] = [];
  beforeAll(() => {
    outcomes = schedule(list);
    // Each is awaited by its test; none may go unhandled meanwhile.
    for (const o of outcomes) o.catch(() => {});
  });
  it("finds the commands (the tour, the demos, the lab)", () => {
    expect(list.length).toBeGreaterThanOrEqual(25);
  });
  it.each(list.map((c, i) => [isPython(c) ? c : `npx overshoot ${c}`, i] as const))(
    "%s",
    async (command, i) => {
      const r = await outcomes[i]!;
      if (r.background) {
        expect(r.code, r.out).toBeNull();
        return;
      }
      expect(r.err, r.err).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
      expect(r.code, `${r.err}\n${r.out.slice(-400)}`).toBe(expectedCodes.get(list[i]!) ?? 0);
      // The slowest demo's claims are checked on this run rather than on a second one of its own.
      if (command === "demo cnn") checkCnnDemo(demoOutput(join(scratch, "overshoot-demo-cnn"), r.out), 100);
    },
    // A test waits for its command, which may wait for a slot: demo cnn takes about two minutes on
    // two busy cores.
    400_000,
  );
});
