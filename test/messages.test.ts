import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "./cli-harness.js";

/**
 * Messages are for people: numbers as fmt writes them (×6.1e17, not ×609700000000000000), "1 step"
 * not "1 steps", and never a bare "null" or "undefined" where a value should be. Runs the commands
 * whose messages once broke these rules, and many that print counts of one, and scans every line
 * of their text (JSON output is scanned for the same, outside its strings' own JSON "null").
 */
const dir = mkdtempSync(join(tmpdir(), "overshoot-messages-"));
const log = join(dir, "run.jsonl");
writeFileSync(
  log,
  [1, 3, 40, 9e3, 6.097e17, 1e300].map((loss, step) => JSON.stringify({ step, loss, lr: 0.1 })).join("\n"),
);
const tiny = join(dir, "tiny.csv");
writeFileSync(tiny, "x,y\n1,2\n2,3.5\n3,5.5\n4,8\n");

const COMMANDS: string[][] = [
  ["run", "--f", "x^2", "--x0", "-1", "--lr", "1.125", "--steps", "100"],
  ["run", "--f", "x^2", "--x0", "-1", "--lr", "5", "--steps", "60"],
  ["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--steps", "1"],
  ["run", "--f", "x^4", "--x0", "-1", "--lr", "0.1", "--steps", "1"],
  ["run", "--f", "x^2", "--x0", "-1", "--lr", "100", "--steps", "200"],
  ["run", "--f", "x^2", "--x0", "-1", "--lr", "1", "--steps", "1", "--guard"],
  ["train", "--data", "spiral", "--loss", "mse", "--lr", "1", "--steps", "50"],
  ["train", "--data", "xor", "--lr", "0.1", "--steps", "1", "--log-every", "1", "--sharpness-every", "1"],
  ["train", "--data", "xor", "--lr", "50", "--steps", "30"],
  [
    "train",
    "--data",
    tiny,
    "--target",
    "y",
    "--hidden",
    "2",
    "--lr",
    "0.01",
    "--steps",
    "1",
    "--validation",
    "0",
  ],
  ["diagnose", log],
  ["find-lr", "--f", "x^2", "--x0", "-1", "--steps", "10"],
  ["sweep", "--f", "x^2", "--x0", "-1", "--lr", "0.1,1.5,3", "--steps", "1"],
  ["sweep", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--steps", "5"],
  ["critical-lr", "--f", "x^2", "--x0", "-1", "--steps", "1"],
  ["critical-lr", "--f", "x^2", "--x0", "-1", "--steps", "5"],
  ["stability", "--data", tiny, "--target", "y", "--model", "linear", "--validation", "0"],
  ["spectrum", "--data", tiny, "--target", "y", "--model", "linear", "--validation", "0", "--probes", "1"],
  ["run", "--data", "cars", "--model", "linear", "--lr", "1e-3", "--steps", "30"],
  ["run", "--data", "cars", "--model", "linear", "--lr", "1e-3", "--steps", "1"],
];

/** Long digit runs (a number fmt would have shortened), a lone null/undefined/NaN× in prose, "1 steps". */
function offences(text: string): string[] {
  const found: string[] = [];
  for (const line of text.split("\n")) {
    const prose = line.replace(/\/[\w./-]*overshoot-messages-\w+[\w./-]*/g, "FILE");
    if (/\d{9,}/.test(prose)) found.push(`long digits: ${line}`);
    if (/(?<![\w"])(undefined|\[object Object\])(?![\w"])/.test(prose)) found.push(`undefined: ${line}`);
    // JSON lines may hold null; prose may not.
    if (!/^\s*[[{}"\]]/.test(prose) && /\bnull\b/.test(prose)) found.push(`null: ${line}`);
    if (
      /(?<![\d.,])1 (steps|rows|runs|records|epochs|cells|probes|batches|layers|seeds|parameters|values|points)\b/.test(
        prose,
      )
    )
      found.push(`plural of one: ${line}`);
  }
  return found;
}

describe("messages format numbers for people", () => {
  it("the scan itself catches each rule", () => {
    expect(offences("the loss rose ×609700000000000000 its start")).toHaveLength(1);
    expect(offences("after 1 steps the loss")).toHaveLength(1);
    expect(offences("the loss null with a linear output")).toHaveLength(1);
    expect(offences("lr undefined")).toHaveLength(1);
    expect(offences('  "peak": null,\nafter 1 step, ×6.1e17, 2 steps, 0.1 steps, 1,000,000 rows')).toEqual(
      [],
    );
  });

  it.each(COMMANDS.map((c) => [c.join(" "), c]))(
    "%s",
    async (_, args) => {
      const r = await cli(args as string[]);
      expect(r.err).not.toMatch(/invalid|missing|unknown|internal error/);
      expect(offences(r.out + r.err)).toEqual([]);
    },
    60_000,
  );
});
