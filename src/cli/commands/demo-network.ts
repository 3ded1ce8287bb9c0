import { hessianOperator } from "../../analysis/curvature/hvp.js";
import { lanczos } from "../../analysis/curvature/lanczos.js";
import { nonFiniteSteps } from "../../analysis/thresholds/threshold.js";
import { type TrainRecord, type TrainResult, trainToEnd } from "../../analysis/training/train.js";
import { fmt, plural } from "../../core/format.js";
import { createRng } from "../../core/rng.js";
import {
  type Activation,
  initialParameters,
  type MlpData,
  type MlpObjective,
  mlpObjective,
} from "../../nn/mlp/mlp.js";
import { designFromTable } from "../../objectives/table.js";
import type { OptimizerOptions } from "../../optim/index.js";
import { RUN_COLORS } from "../../report/charts/style.js";
import { lossChart, rateLimitChart, stacked } from "../../report/charts.js";
import type { ParsedFlags } from "../args.js";
import { loadCars } from "../datasets.js";
import { CliError } from "../errors.js";
import type { Io } from "../io.js";
import { outputDir, writeOutputs } from "../output-dir.js";
import { figureFiles, figureNames } from "../plot.js";

const FEATURES = ["year", "acceleration"] as const;
const HIDDEN = 8;

interface Outcome {
  readonly label: string;
  /** The run's colour, the same in every panel it appears in. */
  readonly color: string;
  readonly records: TrainRecord[];
  readonly status: TrainResult["status"];
  readonly atStep: number | null;
}

export async function demoNetwork(flags: ParsedFlags, io: Io): Promise<number> {
  const steps = (flags["steps"] as number | undefined) ?? 2000;
  if (!Number.isInteger(steps) || steps < 10 || steps > 1_000_000)
    throw new CliError(`invalid --steps: ${steps} (a whole number from 10 to 1000000)`);
  const outDir = outputDir(
    io,
    flags["out"] as string | undefined,
    "overshoot-demo-network",
    figureNames("loss"),
  );
  const cars = loadCars();
  const dataOf = (standardize: boolean): MlpData => {
    const d = designFromTable(cars.table, "mpg", FEATURES, standardize);
    return { x: d.x, y: d.y, rows: d.rows };
  };
  const raw = dataOf(false);
  const scaled = dataOf(true);
  const net = (activation: Activation, data: MlpData) =>
    mlpObjective({ sizes: [2, HIDDEN, 1], activation, loss: "mse" }, data, `mlp 2-${HIDDEN}-1 ${activation}`);
  const theta0 = initialParameters([2, HIDDEN, 1], "pytorch", createRng(2));
  const o = (t: string) => io.out(`${t}\n`);
  const sharpness = (f: MlpObjective) =>
    lanczos(hessianOperator(f, theta0), { k: 1, bottom: false, tolerance: 1e-8, maxIterations: f.dim })
      .top[0]!.value;
  const run = (label: string, color: string, f: MlpObjective, options: OptimizerOptions): Outcome => {
    const { records, result } = trainToEnd({
      // The story runs on past the blow-up bound to the overflow.
      runPastBound: true,
      objective: f,
      train: f === linearRaw || f === reluRaw ? raw : scaled,
      validation: null,
      theta0,
      optimizer: options,
      steps,
      batchSize: null,
      seed: 0,
      logEvery: 1,
      sharpnessEvery: null,
    });
    return { label, color, records, status: result.status, atStep: result.atStep };
  };

  const linearRaw = net("identity", raw);
  const reluRaw = net("relu", raw);
  const linearScaled = net("identity", scaled);
  o(
    `The seed question on a network: the loss goes "from thousands to a trillion to NaN" at lr 1e-3 and is fine at 1e-4.`,
  );
  o("");
  o(
    `Data: ${raw.rows} cars (vega-datasets), mpg from model year (70–82) and acceleration (s) in raw units; loss = mean squared error; full-batch SGD; PyTorch's default initialisation.`,
  );
  o(`Network: 2-${HIDDEN}-1, first with linear hidden units (a deep linear network), then with ReLU.`);
  const lam = sharpness(linearRaw);
  const critical = 2 / lam;
  o("");
  o(
    `Before training, λmax of the Hessian at the initial weights (Lanczos on exact HVPs) = ${fmt(lam)}: the critical step 2/λmax = ${fmt(critical)}.`,
  );
  for (const lr of [1e-4, 1e-3]) {
    const ratio = lr / critical;
    o(
      ratio < 1
        ? `  lr ${fmt(lr)} is ${fmt(ratio)}× that: predicted to train.`
        : `  lr ${fmt(lr)} is ${fmt(ratio)}× that: predicted to overshoot — each step multiplies the error along the top eigenvector by about ${fmt(lr * lam - 1)}.`,
    );
  }

  // One colour per configuration, in every panel: raw inputs at 1e-4 is the same run in both.
  const [slow, fast, reluColor, standardized, adam] = RUN_COLORS as [string, string, string, string, string];
  const outcomes: Outcome[] = [
    run("linear, lr 1e-4", slow, linearRaw, { name: "sgd", lr: 1e-4 }),
    run("linear, lr 1e-3", fast, linearRaw, { name: "sgd", lr: 1e-3 }),
  ];
  const explode = nonFiniteSteps(linearRaw, theta0, { name: "sgd", lr: 1e-3 });
  const bad = outcomes[1]!.records.map((r) => r.loss);
  const trillion = bad.findIndex((l) => l >= 1e12);
  o("");
  o(
    `lr 1e-4: loss ${fmt(outcomes[0]!.records[0]!.loss)} → ${fmt(outcomes[0]!.records[outcomes[0]!.records.length - 1]!.loss)} after ${plural(steps, "step")}.`,
  );
  // Where the run stops (the chart's marker) and where plain iteration past it reaches NaN.
  const stop = outcomes[1]!.records[outcomes[1]!.records.length - 1]!;
  const stopped =
    outcomes[1]!.status !== "nonfinite"
      ? ""
      : Number.isFinite(stop.loss)
        ? `${fmt(stop.loss)} at step ${stop.step}, where the gradient's norm overflows (the run stops there), `
        : "";
  const end =
    explode.infinity !== null
      ? `${stopped}Infinity at step ${explode.infinity}, NaN at step ${explode.nan}`
      : `${stopped}NaN at step ${explode.nan} (the weights overflowed inside the step, so ∞ − ∞ came before any infinite loss)`;
  o(
    `lr 1e-3: loss ${fmt(bad[0]!)} → ${fmt(bad[1]!)} after one step, past a trillion at step ${trillion}, ${end}.`,
  );

  const relu = run("ReLU, lr 1e-3", reluColor, reluRaw, { name: "sgd", lr: 1e-3 });
  const reluLast = relu.records[relu.records.length - 1]!;
  let variance = 0;
  const mean = raw.y.reduce((a, b) => a + b, 0) / raw.rows;
  for (const v of raw.y) variance += (v - mean) ** 2 / raw.rows;
  o("");
  // "Sticks" is a claim about the drawn run: over its last fifth the loss moves by under 1%, and
  // it ends within 5% of the variance (predicting the mean). The words follow what was measured.
  const tail = relu.records.filter((r) => r.step >= 0.8 * steps).map((r) => r.loss);
  const tailChange = (Math.max(...tail) - Math.min(...tail)) / Math.min(...tail);
  const atVariance = Math.abs(reluLast.loss / variance - 1) < 0.05;
  const sticks = tailChange < 0.01 && atVariance;
  const dead = `${fmt(100 * (reluLast.inactive?.[0] ?? 0))}% of the hidden units end dead`;
  o(
    `With ReLU hidden units the same overshoot looks different: at lr 1e-3 the first steps push every unit's input negative, ${dead}, and ${
      sticks
        ? `the loss sticks at ${fmt(reluLast.loss)} (it moves by ${fmt(100 * tailChange, 2)}% over the last ${fmt(0.2 * steps)} steps) — the variance of mpg (${fmt(variance)}), i.e. the net predicts the mean. No NaN, and no learning either.`
        : atVariance
          ? `with only the output's bias left to learn the loss can fall no lower than the variance of mpg, ${fmt(variance)} (predicting the mean): it ends at ${fmt(reluLast.loss)}. No NaN, and nothing learnt beyond the mean.`
          : `the loss ends at ${fmt(reluLast.loss)} (the variance of mpg is ${fmt(variance)}).`
    }`,
  );
  outcomes.push(relu);

  o("");
  o("Three fixes, side by side (linear hidden units, lr 1e-3 unless said):");
  const lamScaled = sharpness(linearScaled);
  const fixes = [
    run("standardized inputs, lr 1e-3", standardized, linearScaled, { name: "sgd", lr: 1e-3 }),
    run("linear, lr 1e-4", slow, linearRaw, { name: "sgd", lr: 1e-4 }),
    run("linear, Adam lr 1e-3", adam, linearRaw, { name: "adam", lr: 1e-3 }),
  ];
  o(
    `  standardized inputs: λmax = ${fmt(lamScaled)}, so 2/λmax = ${fmt(2 / lamScaled)} (${fmt(2 / lamScaled / critical)}× larger); lr 1e-3 now trains.`,
  );
  for (const f of fixes) {
    const last = f.records[f.records.length - 1]!;
    o(
      `  ${f.label.padEnd(30)} ${f.status === "nonfinite" ? `non-finite at step ${f.atStep}` : `loss ${fmt(f.records[0]!.loss)} → ${fmt(last.loss)} after ${plural(steps, "step")}`}`,
    );
  }
  o(
    "  Adam divides each step by √v̂, so its step is about lr in every coordinate whatever the gradient's size: it cannot overshoot by a factor the way SGD does here.",
  );

  // Two panels, every step on a symlog axis (the first steps spread out, the plateau visible to
  // the end); the blow-up leaves its panel at a trillion, so the run that trains is not flattened.
  const toTrace = (r: Outcome) =>
    r.records.map((x) => ({
      step: x.step,
      x: new Float64Array(0),
      loss: x.loss,
      grad: Float64Array.of(x.gradNorm),
      gradNorm: x.gradNorm,
    }));
  const chart = stacked([
    lossChart(
      outcomes.slice(0, 2).map((r) => ({ label: r.label, color: r.color, trace: toTrace(r) })),
      {
        title: "Linear hidden units on raw inputs: lr 1e-4 trains, lr 1e-3 blows up",
        stepScale: "symlog",
        // Three decades over the trillion line, so the marker's label sits clear of its label.
        clipAbove: 1e15,
        references: [{ loss: 1e12, label: "a trillion" }],
      },
    ),
    lossChart(
      [outcomes[2]!, ...fixes].map((r) => ({ label: r.label, color: r.color, trace: toTrace(r) })),
      {
        title: `ReLU at lr 1e-3 ${sticks ? "stalls at the variance" : atVariance ? "ends at the variance (the mean)" : "trains slowly"}; the three fixes train`,
        stepScale: "symlog",
        references: [{ loss: variance, label: "the variance of mpg: predicting the mean" }],
      },
    ),
    // The explanation: each SGD run's rate against 2/λmax of its own model at the start (Adam
    // rescales every step, so it has no such limit).
    rateLimitChart(
      [
        { label: "linear, lr 1e-4", lr: 1e-4, limit: critical },
        { label: "linear, lr 1e-3", lr: 1e-3, limit: critical },
        { label: "ReLU, lr 1e-3", lr: 1e-3, limit: 2 / sharpness(reluRaw) },
        { label: "standardized inputs, lr 1e-3", lr: 1e-3, limit: 2 / lamScaled },
      ],
      { title: "Each SGD run's learning rate against 2/λmax of its network at the start" },
    ),
  ]);
  writeOutputs(io, outDir, await figureFiles("loss", chart));
  return 0;
}
