import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { FlagSpecs } from "../../src/cli/args.js";
import { CRITICAL_FLAGS } from "../../src/cli/commands/critical-lr.js";
import { DIAGNOSE_FLAGS } from "../../src/cli/commands/diagnose.js";
import { FIND_LR_FLAGS } from "../../src/cli/commands/find-lr.js";
import { RUN_FLAGS } from "../../src/cli/commands/run.js";
import { SPECTRUM_FLAGS } from "../../src/cli/commands/spectrum.js";
import { STABILITY_FLAGS } from "../../src/cli/commands/stability.js";
import { SWEEP_FLAGS } from "../../src/cli/commands/sweep.js";
import { TRAIN_FLAGS } from "../../src/cli/commands/train.js";
import { packageRoot } from "../../src/cli/lab-site.js";
import { createRng } from "../../src/core/rng.js";

/**
 * The hostile flag sweep, kept: every flag of every command that computes, against values a
 * careless or hostile user types (overflows, non-numbers, hex, empty list items, devices, paths
 * out of the tree, control and bidirectional characters, 400 digits). The full product is some
 * 16,000 commands; a run samples 96 of them (the seed printed, so a failure can be repeated). Each must end with exit 0 or 2 and no internal error
 * or stack trace, or — if it is still working after 12 s — have said how long it would take.
 */
const VALUES = [
  "0",
  "-0",
  "-1",
  "1e-320",
  "1e308",
  "1e309",
  "-1e309",
  "Infinity",
  "-Infinity",
  "NaN",
  "1e9",
  "1e15",
  "0x10",
  "0b1",
  "1_000",
  " 1",
  "",
  ",",
  "1,,2",
  "1e",
  ".",
  "-",
  "abc",
  "é",
  "\u202e1",
  "\u001b[2J",
  "9".repeat(400),
  "1/0",
  "true",
  "[]",
  "{}",
  "../../../../etc/passwd",
  "/dev/zero",
  "/dev/full",
  "/",
  "-1.5",
  "2.5",
  "0.1:1:0",
  "1:0:5",
  "1:1e9:1e9",
  "constructor",
  "__proto__",
];

const BASES: [string, FlagSpecs, string[]][] = [
  ["run", RUN_FLAGS, ["--f", "x^2", "--x0", "-1", "--lr", "0.1", "--steps", "20"]],
  ["train", TRAIN_FLAGS, ["--data", "xor", "--n", "40", "--hidden", "4", "--lr", "0.1", "--steps", "5"]],
  ["stability", STABILITY_FLAGS, ["--f", "rosenbrock", "--x0", "-1.2,1"]],
  ["spectrum", SPECTRUM_FLAGS, ["--f", "rosenbrock", "--x0", "-1.2,1"]],
  ["critical-lr", CRITICAL_FLAGS, ["--f", "x^2", "--x0", "-1", "--steps", "20"]],
  ["find-lr", FIND_LR_FLAGS, ["--f", "x^2", "--x0", "-1", "--steps", "10"]],
  ["sweep", SWEEP_FLAGS, ["--f", "x^2", "--x0", "-1", "--lr", "0.1,1.5", "--steps", "20", "--workers", "1"]],
  ["diagnose", DIAGNOSE_FLAGS, [join(packageRoot(), "examples", "cars.csv")]],
];

/** Flags that would leave the machine (a queue) or serve (a lab) are not computing: left out. */
const SKIP = new Set(["help", "queue", "name", "queue-secret"]);

const combos: string[][] = [];
for (const [command, flags, base] of BASES)
  for (const flag of Object.keys(flags))
    if (!SKIP.has(flag))
      for (const value of VALUES) {
        // The flag replaces the base's own value, if it has one.
        const at = base.indexOf(`--${flag}`);
        const args = at >= 0 ? [...base.slice(0, at), ...base.slice(at + 2)] : [...base];
        combos.push([command, ...args, `--${flag}=${value}`]);
      }

// A fixed sample by default (CI must not turn red on a new day); OVERSHOOT_FUZZ_SEED and
// OVERSHOOT_FUZZ_N draw others (1,200 of seed 11 passed when this was written).
const seed = Number(process.env["OVERSHOOT_FUZZ_SEED"] ?? 2026);
const rng = createRng(seed);
const size = Number(process.env["OVERSHOOT_FUZZ_N"] ?? 96);
const sample = Array.from({ length: size }, () => combos[Math.floor(rng.uniform() * combos.length)]!);

function attempt(
  args: string[],
  cwd: string,
): Promise<{ code: number | null; out: string; err: string; late: boolean }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(packageRoot(), "bin", "overshoot.js"), ...args], {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let late = false;
    child.stdout.on("data", (d) => {
      if (out.length < 1e6) out += d;
    });
    child.stderr.on("data", (d) => {
      if (err.length < 1e6) err += d;
    });
    const timer = setTimeout(() => {
      late = true;
      child.kill("SIGKILL");
    }, 12_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, out, err, late });
    });
  });
}

describe(`the hostile flag sweep (${combos.length} commands; ${size} sampled with seed ${seed})`, () => {
  it("has the product it claims", () => {
    expect(combos.length).toBeGreaterThan(10_000);
  });

  it("no internal error, no stack trace, exit 0 or 2, and no long run without its estimate", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "overshoot-flagfuzz-"));
    const failures: string[] = [];
    // Four at a time.
    for (let at = 0; at < sample.length; at += 4) {
      const batch = sample.slice(at, at + 4);
      const results = await Promise.all(batch.map((args) => attempt(args, cwd)));
      results.forEach((r, k) => {
        const shown = JSON.stringify(batch[k]);
        if (/internal error/.test(r.err)) failures.push(`${shown}: ${r.err.trim()}`);
        else if (/\n\s+at .*:\d+:\d+/.test(r.err)) failures.push(`${shown}: a stack trace`);
        else if (r.late) {
          if (!/about .* left/.test(r.err))
            failures.push(`${shown}: still running after 12 s with no estimate`);
        } else if (r.code !== 0 && r.code !== 2)
          failures.push(`${shown}: exit ${r.code}: ${r.err.trim().slice(0, 200)}`);
        else if (r.code === 2 && r.err.trim().split("\n").length !== 1)
          failures.push(`${shown}: refused in ${r.err.trim().split("\n").length} lines`);
      });
    }
    expect(failures, `seed ${seed}`).toEqual([]);
  }, 600_000);
});
