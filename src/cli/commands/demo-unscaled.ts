import { stabilityAt } from "../../analysis/thresholds/stability.js";
import { nonFiniteSteps } from "../../analysis/thresholds/threshold.js";
import { fmt, plural } from "../../core/format.js";
import { modelObjective } from "../../objectives/models.js";
import { designFromTable } from "../../objectives/table.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { lossChart, rateLimitChart, stacked } from "../../report/charts.js";
import { traceTable } from "../../report/table.js";
import { run } from "../../run/index.js";
import type { ParsedFlags } from "../args.js";
import { loadCars } from "../datasets.js";
import { CliError } from "../errors.js";
import type { Io } from "../io.js";
import { outputDir, writeOutputs } from "../output-dir.js";
import { figureFiles, figureNames } from "../plot.js";

export const UNSCALED_RATES = [1e-4, 1e-3] as const;
const FEATURES = ["year", "acceleration"] as const;

export async function demoUnscaled(flags: ParsedFlags, io: Io): Promise<number> {
  const steps = (flags["steps"] as number | undefined) ?? 3000;
  if (!Number.isInteger(steps) || steps < 1 || steps > 1_000_000)
    throw new CliError(`invalid --steps: ${steps} (a whole number from 1 to 1000000)`);
  const outDir = outputDir(
    io,
    flags["out"] as string | undefined,
    "overshoot-demo-unscaled",
    figureNames("loss"),
  );
  const cars = loadCars();
  const raw = modelObjective("linear", designFromTable(cars.table, "mpg", FEATURES), cars.source);
  const scaled = modelObjective("linear", designFromTable(cars.table, "mpg", FEATURES, true), cars.source);
  const sgd = resolveOptimizerConfig({ name: "sgd", lr: 1 });
  const zeros = new Float64Array(raw.dim);
  const before = stabilityAt(raw, zeros, sgd);
  const after = stabilityAt(scaled, zeros, sgd);
  const critical = before.critical.lr!;
  const yearColumn = cars.table.columns.indexOf("year");
  let meanYear = 0;
  for (let r = 0; r < cars.table.rows; r++)
    meanYear += cars.table.values[r * cars.table.columns.length + yearColumn]! / cars.table.rows;
  const lambda = before.lambdaMax;

  const o = (t: string) => io.out(`${t}\n`);
  o(`The seed question: the loss goes "from thousands to a trillion to NaN" at lr 1e-3 and is fine at 1e-4.`);
  o("");
  const names = cars.dropped.map((d) => d.name);
  o(
    `Data: ${cars.table.rows} cars from ${cars.source} (${plural(cars.dropped.length, "row")} with a missing value dropped: ${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""}).`,
  );
  o(
    `Model: linear regression of mpg on model year (70–82) and acceleration (seconds, 0–60 mph) in raw units;`,
  );
  o(`       loss = mean squared error, full-batch SGD from zeros.`);
  o("");
  o(
    `Before any training, the curvature at the start (Lanczos, ${before.spectrum.hvps} Hessian-vector products):`,
  );
  o(
    `  λmax = ${fmt(lambda)}, λmin = ${fmt(before.lambdaMin)} (condition number ${fmt(before.conditionNumber ?? Number.NaN)})`,
  );
  o(
    `  critical learning rate 2/λmax = ${fmt(critical)} — the loss is a quadratic in the weights, so this is exact.`,
  );
  for (const lr of UNSCALED_RATES) {
    const factor = Math.abs(1 - lr * lambda);
    o(
      lr < critical
        ? `  lr ${fmt(lr)} = ${fmt(lr / critical)}× critical: predicted to converge (|1 − η·λmax| = ${fmt(factor)} < 1).`
        : `  lr ${fmt(lr)} = ${fmt(lr / critical)}× critical: predicted to blow up — each step multiplies the error along the top eigenvector by ${fmt(factor)}, the loss by ×${fmt(factor * factor)}.`,
    );
  }

  const runs = UNSCALED_RATES.map((lr) => ({
    lr,
    label: `lr ${fmt(lr)}`,
    result: run({ objective: raw, optimizer: { name: "sgd", lr }, x0: zeros, steps }),
  }));
  for (const r of runs) {
    o("");
    o(`── ${r.label}`);
    o(traceTable(raw, r.result.trace, 4, 3));
    o(
      `verdict: ${r.result.verdict.status}${r.result.verdict.atStep !== null ? ` at step ${r.result.verdict.atStep}` : ""} — ${r.result.verdict.reason}`,
    );
  }
  const blow = nonFiniteSteps(raw, new Float64Array(raw.dim), { name: "sgd", lr: UNSCALED_RATES[1] });
  const losses = runs[1]!.result.trace.map((s) => s.loss);
  const trillion = losses.findIndex((l) => l >= 1e12);
  o("");
  o(
    `At lr ${fmt(UNSCALED_RATES[1])} the loss goes from ${fmt(losses[0]!)} to ${fmt(losses[1]!)} after one step, past a trillion at step ${trillion}, to Infinity at step ${blow.infinity} and NaN at step ${blow.nan} (∞ − ∞ once the weights themselves overflow).`,
  );
  o("");
  o(`Standardizing the features (mean 0, standard deviation 1) changes the curvature, not the problem:`);
  o(
    `  λmax = ${fmt(after.lambdaMax)}, critical learning rate 2/λmax = ${fmt(after.critical.lr!)} — ${fmt(after.critical.lr! / critical)}× larger, condition number ${fmt(after.conditionNumber ?? Number.NaN)} instead of ${fmt(before.conditionNumber ?? Number.NaN)}.`,
  );
  const scaledRun = run({ objective: scaled, optimizer: { name: "sgd", lr: 0.5 }, x0: zeros, steps: 200 });
  o(
    `  lr 0.5 on standardized features: ${scaledRun.verdict.status}, loss ${fmt(scaledRun.trace[scaledRun.trace.length - 1]!.loss)} after ${plural(scaledRun.trace.length - 1, "step")} (raw features at lr 1e-4: ${fmt(runs[0]!.result.trace[runs[0]!.result.trace.length - 1]!.loss)} after ${steps}).`,
  );
  const heavy = modelObjective(
    "linear",
    designFromTable(cars.table, "mpg", ["weight", "horsepower", "displacement"]),
    cars.source,
  );
  const heavyAt = stabilityAt(heavy, new Float64Array(heavy.dim), sgd);
  o(
    `  With weight (lb), horsepower and displacement in raw units instead, λmax = ${fmt(heavyAt.lambdaMax)} and the critical rate is ${fmt(heavyAt.critical.lr!)}.`,
  );
  o("");
  o(
    `Why one order of magnitude matters: the gradient of the squared error grows with the size of the features (model years average ${fmt(meanYear)}), so the curvature λmax ≈ 2·mean(year²) is large and the stable range of η ends at 2/λmax. Just below it a step shrinks the error; ten times larger, it overshoots the minimum by more than it started with, every step, and the loss multiplies until it overflows.`,
  );

  // Every step the text speaks of: the whole of each run (a symlog step axis keeps the first
  // steps, where everything is decided, readable beside the last).
  const chart = lossChart(
    [
      ...runs.map((r) => ({ label: `raw, ${r.label}`, trace: r.result.trace })),
      { label: "standardized, lr 0.5", trace: scaledRun.trace },
    ],
    {
      title: `Linear regression on cars: loss over ${plural(steps, "step")}`,
      // The diverging run leaves the chart (its marker says where) a thousand times above the
      // start, so the runs that train are not squashed flat against a 1e0–1e300 axis.
      clipAbove: 1e3 * runs[0]!.result.trace[0]!.loss,
      // The first steps decide everything here: spread them out.
      stepScale: "symlog",
    },
  );
  // The explanation itself: each run's rate against its model's 2/λmax (exact here: the loss is a
  // quadratic in the weights, so its Hessian is the same everywhere).
  const limits = rateLimitChart(
    [
      ...runs.map((r) => ({ label: `raw, ${r.label}`, lr: r.lr, limit: critical })),
      { label: "standardized, lr 0.5", lr: 0.5, limit: after.critical.lr! },
    ],
    { title: "Each run's learning rate against its model's 2/λmax" },
  );
  writeOutputs(io, outDir, await figureFiles("loss", stacked([chart, limits])));
  return 0;
}
