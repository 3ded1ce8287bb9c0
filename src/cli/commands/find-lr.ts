import { extname } from "node:path";
import { lrRangeTest, type RangeTest } from "../../analysis/thresholds/find-lr.js";
import { fmt } from "../../core/format.js";
import type { OptimizerBase } from "../../optim/index.js";
import { rangeTestChart } from "../../report/charts.js";
import { describeObjective, describePoint } from "../../report/describe.js";
import { JSON_VERSION, objectiveJson } from "../../report/json.js";
import { specToSvg, svgToPng } from "../../report/render.js";
import { type FlagSpecs, flagHelp, parseFlags } from "../args.js";
import { CliError } from "../errors.js";
import { checkWritable, writeFileAtomic } from "../files.js";
import {
  flagMessage,
  OBJECTIVE_FLAGS,
  OPTIMIZER_FLAGS,
  objectiveFromFlags,
  optimizerFromFlags,
  requireStart,
} from "../flags.js";
import type { Io } from "../io.js";

const { lr: _lr, ...OPTIMIZER_FLAGS_WITHOUT_LR } = OPTIMIZER_FLAGS;

export const FIND_LR_FLAGS: FlagSpecs = {
  ...OBJECTIVE_FLAGS,
  x0: { type: "numbers", value: "X", help: "start point (models: their initial weights)" },
  ...OPTIMIZER_FLAGS_WITHOUT_LR,
  start: { type: "number", value: "LR", help: "first learning rate of the ramp (default 1e-7)" },
  end: { type: "number", value: "LR", help: "last learning rate of the ramp (default 10)" },
  steps: { type: "number", value: "N", help: "steps of the ramp (default 100)" },
  plot: {
    type: "string",
    value: "FILE.svg|FILE.png",
    help: "the loss against lr with every suggestion and the curvature bound",
  },
  json: { type: "boolean", help: "print the test as JSON" },
  help: { type: "boolean", help: "show this help" },
};

export const FIND_LR_HELP = `overshoot find-lr — the learning-rate range test, beside the curvature's answer

Runs once from --x0 with the learning rate growing exponentially each step (1e-7 → 10 over 100
steps), the loss smoothed by a debiased EMA (β = 0.98), until the smoothed loss passes 4× its best.
Suggests the valley, the minimum's lr/10 and the steepest descent, and prints them beside the
critical rate 2/λmax-style from the curvature at the start, with which to trust and why. Your start
point is not changed.

Usage: overshoot find-lr --f EXPR --x0 X [optimizer flags] [--start A --end B --steps N] [--plot F]

${flagHelp(FIND_LR_FLAGS)}`;

export async function findLrCommand(argv: readonly string[], io: Io): Promise<number> {
  if (argv.includes("--lr") || argv.some((a) => a.startsWith("--lr="))) {
    throw new CliError(
      "find-lr ramps the learning rate itself: drop --lr, or set the ramp with --start and --end",
    );
  }
  const { flags, positionals } = parseFlags(argv, FIND_LR_FLAGS, "find-lr");
  if (flags["help"]) {
    io.out(`${FIND_LR_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(`unexpected argument '${positionals[0]}' (see overshoot find-lr --help)`);
  const objective = objectiveFromFlags(flags);
  const base = optimizerFromFlags(flags, { requireLr: false }) as OptimizerBase;
  const x0 = requireStart(flags, objective);
  const plot = flags["plot"] as string | undefined;
  if (plot !== undefined) {
    const ext = extname(plot).toLowerCase();
    if (ext !== ".svg" && ext !== ".png")
      throw new CliError(`invalid --plot: ${plot} (the file name must end in .svg or .png)`);
    checkWritable(plot, "--plot");
  }
  let test: RangeTest;
  try {
    test = lrRangeTest(objective, x0, base, {
      ...(flags["start"] !== undefined ? { start: flags["start"] as number } : {}),
      ...(flags["end"] !== undefined ? { end: flags["end"] as number } : {}),
      ...(flags["steps"] !== undefined ? { steps: flags["steps"] as number } : {}),
    });
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message).replace(/^invalid range/, "invalid --start/--end"));
  }
  const critical = test.curvature?.critical.lr ?? null;
  if (plot !== undefined) {
    const marks = [
      { label: "valley", lr: test.suggestions.valley ?? Number.NaN },
      { label: "min/10", lr: test.suggestions.minimumOver10 ?? Number.NaN },
      { label: "steepest", lr: test.suggestions.steepest ?? Number.NaN },
      { label: "curvature bound", lr: critical ?? Number.NaN },
    ];
    const svg = await specToSvg(rangeTestChart(test.points, marks));
    writeFileAtomic(plot, extname(plot).toLowerCase() === ".png" ? svgToPng(svg) : svg);
  }
  if (flags["json"]) {
    io.out(
      `${JSON.stringify({ version: JSON_VERSION, objective: objectiveJson(objective), optimizer: base, x0, points: test.points, stoppedAt: test.stoppedAt, stopReason: test.stopReason, suggestions: test.suggestions, critical: critical, criticalFormula: test.curvature?.critical.formula ?? null, advice: test.advice }, null, 2)}\n`,
    );
    return 0;
  }
  const s = test.suggestions;
  const show = (v: number | null) => (v === null ? "—" : fmt(v));
  io.out(
    `Learning-rate range test of ${base.name} on ${describeObjective(objective)} from ${describePoint(x0)}\n`,
  );
  io.out(`${test.points.length} steps; stopped because ${test.stopReason}.\n\n`);
  io.out(
    `  valley        ${show(s.valley)}\n  minimum/10    ${show(s.minimumOver10)}\n  steepest      ${show(s.steepest)}\n`,
  );
  io.out(
    `  curvature     ${critical === null ? "—" : `${fmt(critical)}  (${test.curvature!.critical.formula}, λmax = ${fmt(test.curvature!.lambdaMax)} at the start)`}\n\n`,
  );
  io.out(`${test.advice}\n`);
  if (plot !== undefined) io.out(`wrote ${plot}\n`);
  return 0;
}
