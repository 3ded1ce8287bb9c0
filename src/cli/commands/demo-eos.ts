import { type TrainRecord, trainToEnd } from "../../analysis/training/train.js";
import { fmt, plural } from "../../core/format.js";
import { createRng } from "../../core/rng.js";
import { initialParameters, type MlpData, mlpObjective } from "../../nn/mlp/mlp.js";
import { oneHot, synthetic } from "../../objectives/synthetic.js";
import { lossChart, lossTrace, sharpnessChart, stacked } from "../../report/charts.js";
import type { ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import type { Io } from "../io.js";
import { outputDir, writeOutputs } from "../output-dir.js";
import { figureFiles, figureNames } from "../plot.js";

/** Two step sizes of full-batch GD on the same network: one settles at the edge of stability, one blows up. */
export const EOS_RATES = [0.2, 1] as const;
const SIZES = [2, 16, 16, 2];

export async function demoEos(flags: ParsedFlags, io: Io): Promise<number> {
  const steps = (flags["steps"] as number | undefined) ?? 4000;
  if (!Number.isInteger(steps) || steps < 10 || steps > 1_000_000)
    throw new CliError(`invalid --steps: ${steps} (a whole number from 10 to 1000000)`);
  const outDir = outputDir(io, flags["out"] as string | undefined, "overshoot-demo-eos", figureNames("eos"));
  const set = synthetic("spiral", 400, 0.05, createRng(0));
  // One-hot targets with the squared error, the setting of Cohen et al.'s edge-of-stability experiments.
  const y = oneHot(set.labels, 2);
  const data: MlpData = { x: set.x, y, rows: set.rows };
  const objective = mlpObjective({ sizes: SIZES, activation: "tanh", loss: "mse" }, data);
  const theta0 = initialParameters(SIZES, "pytorch", createRng(2));
  const every = Math.max(1, Math.floor(steps / 100));
  const o = (t: string) => io.out(`${t}\n`);
  o(
    "Edge of stability: full-batch gradient descent on a 2-16-16-2 tanh network (mean squared error on one-hot labels, 400 spiral points, float64).",
  );
  o(
    `Classical theory says GD is stable while the sharpness λmax(H) < 2/η. Measured every ${plural(every, "step")} by Lanczos on exact Hessian-vector products:`,
  );
  const runs: { lr: number; records: TrainRecord[]; status: string; atStep: number | null }[] = [];
  for (const lr of EOS_RATES) {
    const { records, result } = trainToEnd({
      // The story runs on past the blow-up bound to the overflow.
      runPastBound: true,
      objective,
      train: data,
      validation: null,
      theta0,
      optimizer: { name: "sgd", lr },
      steps,
      batchSize: null,
      seed: 0,
      logEvery: 1,
      sharpnessEvery: every,
      sharpnessK: 1,
    });
    runs.push({ lr, records, status: result.status, atStep: result.atStep });
  }
  for (const r of runs) {
    const sharp = r.records.filter((x) => x.sharpness !== undefined);
    const limit = 2 / r.lr;
    o("");
    o(`── η = ${r.lr}  (2/η = ${fmt(limit)})`);
    const show = sharp.filter(
      (_, i) => i % Math.max(1, Math.floor(sharp.length / 8)) === 0 || i === sharp.length - 1,
    );
    for (const x of show)
      o(
        `  step ${String(x.step).padStart(6)}   loss ${fmt(x.loss).padStart(10)}   λmax ${fmt(x.sharpness!).padStart(9)}   λmax·η/2 = ${fmt((x.sharpness! * r.lr) / 2)}`,
      );
    if (r.status === "nonfinite") {
      o(
        `  λmax at the start is ${fmt(sharp[0]!.sharpness!)} > 2/η = ${fmt(limit)}: every step overshoots, and the loss reaches Infinity at step ${r.atStep}.`,
      );
      continue;
    }
    const first = sharp.findIndex((x) => x.sharpness! >= 0.95 * limit);
    const after = first >= 0 ? sharp.slice(first) : [];
    const rises = countRises(r.records.slice(first >= 0 ? sharp[first]!.step : 0));
    const lossStart = r.records[0]!.loss;
    const lossEnd = r.records[r.records.length - 1]!.loss;
    if (first >= 0) {
      const lo = Math.min(...after.map((x) => x.sharpness!));
      const hi = Math.max(...after.map((x) => x.sharpness!));
      o(
        `  The sharpness climbs from ${fmt(sharp[0]!.sharpness!)} to 2/η by step ${sharp[first]!.step} (progressive sharpening), then hovers between ${fmt(lo)} and ${fmt(hi)} (${fmt(lo / limit)}–${fmt(hi / limit)} × 2/η) instead of crossing it for good.`,
      );
      o(
        `  Meanwhile the loss keeps falling overall, ${fmt(lossStart)} → ${fmt(lossEnd)}, but not monotonically: it rose on ${rises} of the ${plural(r.records.length - 1 - sharp[first]!.step, "step")} after that.`,
      );
    } else {
      o(
        `  The sharpness stays below 2/η (at most ${fmt(Math.max(...sharp.map((x) => x.sharpness!)))}), and the loss falls ${fmt(lossStart)} → ${fmt(lossEnd)}.`,
      );
    }
  }
  o("");
  o(
    "Why: above 2/η a step overshoots along the top eigenvector and the loss rises; at the edge the overshoot itself pushes the weights to flatter ground, so λmax is held near 2/η (Cohen et al., 2021). Far above it from the start, nothing can catch it.",
  );

  const sharpSpec = sharpnessChart(
    runs.map((r) => ({
      label: `η = ${r.lr}`,
      lr: r.lr,
      points: r.records
        .filter((x) => x.sharpness !== undefined)
        .map((x) => ({ step: x.step, sharpness: x.sharpness! })),
    })),
    { title: "Sharpness λmax against 2/η (dashed)" },
  );
  // Both runs; the blow-up leaves the chart at ten times the start (its marker says where it
  // went), so beside a climb to 1e300 the wiggles of the run that trains stay visible.
  const stable = runs.filter((r) => r.status !== "nonfinite");
  const lossSpec = lossChart(
    runs.map((r) => ({
      label: `η = ${r.lr}`,
      trace: lossTrace(r.records),
    })),
    {
      title: [
        `Training loss: ${stable.map((r) => `η = ${r.lr}`).join(", ")} falls, but not monotonically`,
        ...runs.filter((r) => r.status === "nonfinite").map((r) => `η = ${r.lr} overflows`),
      ].join("; "),
      clipAbove: 10 * runs[0]!.records[0]!.loss,
    },
  );
  writeOutputs(io, outDir, await figureFiles("eos", stacked([sharpSpec, lossSpec])));
  return 0;
}

function countRises(records: readonly TrainRecord[]): number {
  let n = 0;
  for (let i = 1; i < records.length; i++) if (records[i]!.loss > records[i - 1]!.loss) n++;
  return n;
}
