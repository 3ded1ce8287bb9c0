import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { packageRoot } from "../../src/cli/lab-site.js";
import { runProcess } from "../cli-harness.js";
import { crossedLabels, labelsOutside, normalizeSvg, outline, overlaps, textBoxes } from "./svg-text.js";

/**
 * Every chart the CLI writes, rendered as a user gets it, against its golden outline
 * (test/charts/__golden__/NAME.txt: texts and their places, mark counts, colours; see outline())
 * and its whole normalised SVG (NAME.svg, see normalizeSvg()), with no two texts overlapping and
 * no line or rule of the data running through a label in the plot (crossedLabels()). `UPDATE_GOLDEN=1 npx vitest run test/charts` writes the
 * outlines anew; the diff is the review.
 */
const root = packageRoot();
const golden = join(root, "test", "charts", "__golden__");
const scratch = mkdtempSync(join(tmpdir(), "overshoot-golden-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the CLI in a child process (awaited: runProcess). */
async function cli(...args: string[]): Promise<void> {
  const r = await runProcess(process.execPath, [join(root, "bin", "overshoot.js"), ...args], scratch);
  if (r.code !== 0) throw new Error(`overshoot ${args.join(" ")}: ${r.err}`);
}

/** NAME → the SVG file the CLI wrote. */
const charts: [string, () => Promise<string>][] = [
  ...["path", "loss", "delta"].map((n): [string, () => Promise<string>] => [
    `demo-${n}`,
    () => demoFile("", `${n}.svg`),
  ]),
  ["demo-unscaled", () => demoFile("unscaled", "loss.svg")],
  ["demo-eos", () => demoFile("eos", "eos.svg")],
  ["demo-network", () => demoFile("network", "loss.svg")],
  ["demo-catapult", () => demoFile("catapult", "catapult.svg")],
  ["run-1d", () => plot("run-1d.svg", "run", "--f", "x^2", "--x0", "-1", "--lr", "1.125", "--steps", "20")],
  [
    "run-2d",
    () =>
      plot(
        "run-2d.svg",
        "run",
        "--f",
        "rosenbrock",
        "--x0",
        "-1.2,1",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--steps",
        "200",
      ),
  ],
  [
    "run-3d",
    () =>
      plot(
        "run-3d.svg",
        "run",
        "--f",
        "quadratic",
        "--eigenvalues",
        "1,5,10",
        "--x0",
        "1,1,1",
        "--lr",
        "0.15",
        "--steps",
        "60",
      ),
  ],
  ["sweep", () => plot("sweep.svg", "sweep", "--f", "x^2", "--x0", "-1", "--lr", "1e-2:10:40")],
  [
    "sweep-map",
    () =>
      plot(
        "map.svg",
        "sweep",
        "--f",
        "quadratic",
        "--eigenvalues",
        "1,10",
        "--x0",
        "1,1",
        "--lr",
        "1e-3:1:30",
        "--momentum",
        "0:0.98:12",
      ),
  ],
  [
    "find-lr",
    () => plot("find-lr.svg", "find-lr", "--f", "rosenbrock", "--x0", "-1.2,1", "--momentum", "0.9"),
  ],
  // train --report: a guarded run at a diverging rate, with sharpness, the rate's rollback and update ratios.
  ...[1, 2, 3, 4].map((k): [string, () => Promise<string>] => [`train-report-${k}`, () => reportFigure(k)]),
];
let report: string[] | null = null;
async function reportFigure(k: number): Promise<string> {
  if (!report) {
    const file = join(scratch, "report.html");
    await cli(
      "train",
      "--data",
      "spiral",
      "--loss",
      "mse",
      "--lr",
      "1",
      "--steps",
      "300",
      "--guard",
      "--sharpness-every",
      "20",
      "--report",
      file,
    );
    report = [...readFileSync(file, "utf8").matchAll(/<svg[\s\S]*?<\/svg>/g)].map((m) => m[0]);
  }
  if (report.length !== 4) throw new Error(`the report has ${report.length} figures, the goldens 4`);
  return report[k - 1]!;
}
const demos = new Map<string, string>();
async function demoFile(name: string, file: string): Promise<string> {
  if (!demos.has(name)) {
    const out = join(scratch, `demo-${name || "x2"}`);
    await cli("demo", ...(name ? [name] : []), "--out", out);
    demos.set(name, out);
  }
  return readFileSync(join(demos.get(name)!, file), "utf8");
}
async function plot(file: string, ...args: string[]): Promise<string> {
  await cli(...args, "--plot", join(scratch, file));
  return readFileSync(join(scratch, file), "utf8");
}

describe("every chart the CLI writes", () => {
  it.each(charts)(
    "%s matches its golden outline and normalised SVG; no two texts overlap, no line crosses a label, none leaves its plot",
    async (name, render) => {
      const svg = await render();
      const clash = overlaps(textBoxes(svg)).map(([a, b]) => `"${a.text}" × "${b.text}"`);
      expect(clash).toEqual([]);
      expect(crossedLabels(svg).map((c) => `"${c.text}" crossed by ${c.by} segments`)).toEqual([]);
      expect(labelsOutside(svg)).toEqual([]);
      // The outline is the review (a diff of texts, places and colours); the normalised SVG is
      // the whole picture, so that nothing else changes unseen.
      for (const [ext, text] of [
        ["txt", outline(svg)],
        ["svg", normalizeSvg(svg)],
      ] as const) {
        const path = join(golden, `${name}.${ext}`);
        if (process.env["UPDATE_GOLDEN"]) {
          mkdirSync(golden, { recursive: true });
          writeFileSync(path, text);
        }
        expect(existsSync(path), `${path}: run UPDATE_GOLDEN=1 npx vitest run test/charts`).toBe(true);
        expect(text, `${name}.${ext}`).toBe(readFileSync(path, "utf8"));
      }
    },
    120_000,
  );

  it("has a golden outline and SVG for each chart and no stale ones", () => {
    expect(readdirSync(golden).sort()).toEqual(charts.flatMap(([n]) => [`${n}.svg`, `${n}.txt`]).sort());
  });
});

describe("the overlap check itself", () => {
  it("finds a line drawn through a label, and not one that passes beside it", () => {
    const svg = (y: number) =>
      `<svg width="200" height="100"><g transform="translate(10,10)"><g class="mark-line role-mark"><path d="M0,${y}L150,${y}"/></g><g class="mark-text role-mark"><text transform="translate(20,40)" font-size="11px">label</text></g></g></svg>`;
    expect(crossedLabels(svg(36))).toEqual([{ text: "label", by: 1 }]);
    expect(crossedLabels(svg(60))).toEqual([]);
  });

  it("finds a label that sticks out of its plot, and not one inside it", () => {
    const svg = (x: number) =>
      `<svg width="300" height="100"><g transform="translate(10,10)"><path class="background" d="M0.5,0.5h100v50h-100Z"/><g class="mark-text role-mark"><text transform="translate(${x},30)" font-size="11px">a label</text></g></g></svg>`;
    expect(labelsOutside(svg(80))).toEqual(["a label"]);
    expect(labelsOutside(svg(20))).toEqual([]);
  });

  it("finds two texts drawn over each other, and not two apart", () => {
    const svg = (b: number) =>
      `<svg width="100" height="50"><g transform="translate(10,10)"><text transform="translate(0,10)" font-size="10px">20</text><text transform="translate(${b},10)" font-size="10px">0</text></g></svg>`;
    expect(overlaps(textBoxes(svg(6)))).toHaveLength(1);
    expect(overlaps(textBoxes(svg(20)))).toHaveLength(0);
  });
});
