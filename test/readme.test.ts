import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../src/cli/lab-site.js";
import { type RedisServer, startRedis } from "./queue/redis-server.js";

/**
 * Every `npx overshoot …` command in the README's shell blocks, run as a user would from a clone:
 * in order, in one scratch folder holding a copy of examples/ (a later command may read what an
 * earlier one wrote: diagnose run.jsonl), each to exit 0 without a stack trace. `lab` is stopped
 * once it has printed its URL.
 */
const root = packageRoot();
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The README's shell commands, continuation lines joined, comments dropped. */
function commands(): string[] {
  const out: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = block[1]!.replace(/\\\n\s*/g, "").split("\n");
    for (const line of lines) {
      const m = /^npx overshoot(?: (.*?))?(?:\s+#.*)?$/.exec(line.trim());
      if (m) out.push((m[1] ?? "").trim());
    }
  }
  return out;
}

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

describe("every command in the README runs as written", () => {
  const list = commands();
  it("finds the commands (the tour, the demos, the lab)", () => {
    expect(list.length).toBeGreaterThanOrEqual(25);
  });
  it.each(list.map((c) => [c]))(
    "npx overshoot %s",
    async (command) => {
      // The lab's default port may be taken on a shared machine: any free one.
      if (command.includes("redis://localhost:6379")) redis ??= await startRedis();
      const queueUrl = redis?.url ?? "";
      const args = words(command.replace(/ &$/, ""))
        .map((w, _i, all) => (all[0] === "lab" && w === "5173" ? "0" : w))
        .map((w) => (w === "redis://localhost:6379" ? queueUrl : w));
      if (command.endsWith(" &")) {
        const child = spawn(process.execPath, [join(root, "bin", "overshoot.js"), ...args], {
          cwd: scratch,
          stdio: ["ignore", "pipe", "pipe"],
        });
        background.push(child);
        const first = await new Promise<string>((resolve) => {
          let out = "";
          child.stdout.on("data", (d) => {
            out += d;
            if (out.includes("\n")) resolve(out);
          });
          child.on("close", () => resolve(out));
        });
        expect(child.exitCode, first).toBeNull();
        return;
      }
      if (args[0] === "lab" && !args.includes("--port")) args.push("--port", "0");
      const r = await run(args);
      expect(r.err, r.err).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
      expect(r.code, `${r.err}\n${r.out.slice(-400)}`).toBe(0);
    },
    // The longest, demo cnn, takes about two minutes on two busy cores.
    300_000,
  );
});
