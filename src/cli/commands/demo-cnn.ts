import { blockCurvature } from "../../analysis/curvature/blocks.js";
import { hessianOperator } from "../../analysis/curvature/hvp.js";
import { lanczos } from "../../analysis/curvature/lanczos.js";
import { objectiveBlocks } from "../../analysis/curvature/spectrum.js";
import { defaultWorkers, SweepPool } from "../../analysis/thresholds/sweep-pool.js";
import {
  searchRunsLeft,
  type TrainingSearch,
  trainingCriteria,
  trainingLrSearch,
} from "../../analysis/thresholds/training-search.js";
import { type TrainRecord, type TrainResult, trainToEnd } from "../../analysis/training/train.js";
import { fmt, plural } from "../../core/format.js";
import type { NetworkObjective } from "../../core/objective.js";
import { createRng } from "../../core/rng.js";
import { Graph } from "../../nn/graph.js";
import type { MlpData } from "../../nn/mlp/mlp.js";
import { graphObjective } from "../../nn/objective.js";
import { type Layer, type Sequential, sequential } from "../../nn/sequential.js";
import { oneHot } from "../../objectives/synthetic.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { layerCurvatureChart } from "../../report/charts/spectrum.js";
import { recordedLossChart, recordedSharpnessChart, stacked } from "../../report/charts.js";
import { layerLines } from "../../report/curvature-text.js";
import { atBaseline } from "../../run/verdict.js";
import type { ParsedFlags } from "../args.js";
import { loadMnist } from "../datasets.js";
import { CliError } from "../errors.js";
import type { Io } from "../io.js";
import { outputDir, writeOutputs } from "../output-dir.js";
import { figureFiles, figureNames } from "../plot.js";
import { LongWork } from "../progress.js";
import { trainingText } from "./critical-lr.js";

/** MNIST digits the demo trains on (the first of each digit in turn: balanced), full batch. */
const ROWS = 64;

/**
 * The CNN: two stride-2 convolutions and a linear read-out, small enough that every run of the
 * search is a few seconds in float64; with BatchNorm after each convolution (which then has no
 * bias, as in torchvision), in training mode: statistics over the batch.
 */
function layers(batchNorm: boolean): Layer[] {
  const norm = (name: string): Layer[] => (batchNorm ? [{ kind: "batchnorm", name }] : []);
  return [
    { kind: "conv", name: "conv1", out: 4, kernel: 5, stride: 2, bias: !batchNorm },
    ...norm("bn1"),
    { kind: "relu" },
    { kind: "conv", name: "conv2", out: 8, kernel: 3, stride: 2, bias: !batchNorm },
    ...norm("bn2"),
    { kind: "relu" },
    { kind: "flatten" },
    { kind: "linear", name: "fc", out: 10 },
  ];
}

interface Network {
  readonly name: string;
  readonly net: Sequential;
  readonly objective: NetworkObjective;
  readonly search: TrainingSearch;
  readonly seconds: number;
  readonly workers: number;
}

interface DemoRun {
  readonly label: string;
  readonly lr: number;
  readonly records: TrainRecord[];
  readonly status: TrainResult["status"];
}

export async function demoCnn(flags: ParsedFlags, io: Io): Promise<number> {
  const steps = (flags["steps"] as number | undefined) ?? 100;
  if (!Number.isInteger(steps) || steps < 20 || steps > 10_000)
    throw new CliError(`invalid --steps: ${steps} (a whole number from 20 to 10000)`);
  const outDir = outputDir(io, flags["out"] as string | undefined, "overshoot-demo-cnn", figureNames("cnn"));
  const o = (t = "") => io.out(`${t}\n`);
  const mnist = loadMnist(ROWS);
  const data: MlpData = { x: mnist.x, y: oneHot(mnist.labels, 10), rows: mnist.rows };
  o(
    `The seed's story on a CNN: full-batch gradient descent on ${ROWS} MNIST digits (1×28×28, pixels in [0, 1]), mean squared error on one-hot labels, float64, PyTorch's default initial weights.`,
  );

  const networks: Network[] = [];
  for (const batchNorm of [false, true]) {
    const name = batchNorm ? "the CNN with BatchNorm" : "the CNN";
    const net = sequential({ input: [1, 28, 28], layers: layers(batchNorm) }, createRng(1));
    const description = batchNorm
      ? "conv 4@5×5/2 → BatchNorm → ReLU → conv 8@3×3/2 → BatchNorm → ReLU → linear 10 (BatchNorm in training mode: batch statistics)"
      : "conv 4@5×5/2 → ReLU → conv 8@3×3/2 → ReLU → linear 10";
    const objective = graphObjective(new Graph(net.graph), data, {
      loss: "mse",
      inputShape: [1, 28, 28],
      description,
    });
    const workers = Math.min(2, defaultWorkers());
    const pool = workers > 1 ? new SweepPool(workers) : null;
    const started = performance.now();
    let search: TrainingSearch;
    // Each search says about how long once it has taken 2 s (Ctrl-C ends the demo: it writes its
    // figure only at the end).
    const work = new LongWork(
      searchRunsLeft([], 0.1, workers),
      `${batchNorm ? "BatchNorm CNN" : "CNN"} search run`,
      io.err,
      io.isTTY && Boolean(process.stderr.isTTY),
      { approximate: true, display: io.progress !== false, interruptible: false },
    );
    try {
      search = await trainingLrSearch(
        objective,
        net.theta0,
        { name: "sgd" },
        {
          horizon: steps,
          relativeTolerance: 0.1,
          parallel: workers,
          onRound: (runs) => work.tick(runs.length, runs.length + searchRunsLeft(runs, 0.1, workers)),
          ...(pool
            ? {
                evaluate: pool.evaluator({
                  source: {
                    kind: "graph",
                    graph: net.graph,
                    inputShape: [1, 28, 28],
                    loss: "mse",
                    data,
                    description,
                  },
                  x0: Array.from(net.theta0),
                  optimizer: { name: "sgd" },
                  criteria: trainingCriteria(steps),
                }),
              }
            : {}),
        },
      );
    } finally {
      work.finish();
      await pool?.close();
    }
    networks.push({ name, net, objective, search, seconds: (performance.now() - started) / 1000, workers });
  }

  const config = resolveOptimizerConfig({ name: "sgd", lr: 1 });
  const layerSpecs = [];
  for (const n of networks) {
    const s = n.search;
    o("");
    o(`━━ ${n.name} (${n.objective.dim.toLocaleString("en-US")} parameters) ━━`);
    o(trainingText(n.objective, s, n.seconds, n.workers).trimEnd());
    if (!s.atStart) continue;
    // Which layer limits the rate: the Hessian's diagonal block per module, and how much of λ0's
    // eigenvector lies in each.
    const op = hessianOperator(n.objective, n.net.theta0);
    const top = lanczos(op, { k: 1, bottom: false, tolerance: 1e-8, vectors: true }).vectors!.top[0]!;
    // The shares and each block's λmax are the point here; the traces get a few probes only.
    const blocks = blockCurvature(op, objectiveBlocks(n.objective)!, top, {
      seed: 2,
      traceProbes: 2,
      maxIterations: 25,
    });
    o("");
    o("At the initial weights:");
    for (const line of layerLines(blocks, config, s.atStart.lambdaMax)) o(line);
    layerSpecs.push(
      layerCurvatureChart(
        blocks.map((b) => ({ name: b.block.name, lambdaMax: b.top.value, share: b.share })),
        { title: `${n.name}: each layer's block at the initial weights`, lambdaMax: s.atStart.lambdaMax },
      ),
    );
  }

  const [plain, norm] = networks as [Network, Network];
  o("");
  o(bnSummary(plain.search, norm.search));

  // Each network trained at rates below and past its limits, with the sharpness measured.
  // The sharpness where it moves: every early step, then at doubling intervals.
  const measured = (k: number) => k <= 2 || (k & (k - 1)) === 0 || k === steps;
  const figures = [];
  // The six runs say how long (a line every 5 s once they have taken 2 s), in steps.
  const trainWork = new LongWork(
    6 * (steps + 1),
    "demo training step",
    io.err,
    io.isTTY && Boolean(process.stderr.isTTY),
    { cap: true, display: io.progress !== false, interruptible: false },
  );
  let stepsDone = 0;
  for (const n of networks) {
    const lambda0 = n.search.atStart?.lambdaMax;
    if (lambda0 === undefined) continue;
    const crit = 2 / lambda0;
    const etaMax = n.search.etaMax && n.search.etaMax.below > 0 ? n.search.etaMax.estimate : null;
    // Below the limit; where the search measured a catapult (its highest peak); past η_max.
    const rates = [{ label: "0.5 × 2/λ0", lr: 0.5 * crit }];
    const cat = n.search.catapult;
    if (cat)
      rates.push({
        label: `${fmt(cat.peak.lr / crit, 3)} × 2/λ0, the catapult's highest peak`,
        lr: cat.peak.lr,
      });
    if (etaMax !== null)
      rates.push({ label: `${fmt(1.1 * (etaMax / crit), 3)} × 2/λ0, past η_max`, lr: 1.1 * etaMax });
    const runs: DemoRun[] = rates.map(({ label, lr }) => {
      const { records, result } = trainToEnd(
        {
          objective: n.objective,
          train: data,
          validation: null,
          theta0: n.net.theta0,
          optimizer: { name: "sgd", lr },
          steps,
          batchSize: null,
          seed: 0,
          logEvery: 1,
          sharpnessEvery: steps,
          sharpnessAt: measured,
          sharpnessK: 1,
        },
        () => trainWork.tick(++stepsDone),
      );
      return { label, lr, records, status: result.status };
    });
    const recorded = runs.map((r) => ({ ...r, label: `η = ${fmt(r.lr, 3)}: ${r.label}` }));
    figures.push(
      recordedLossChart(
        recorded,
        n.search.bound.value,
        `${n.name}: training loss at rates below 2/λ0, past it, and past η_max`,
      ),
      recordedSharpnessChart(recorded, `${n.name}: sharpness λmax against each run's 2/η (dashed)`),
    );
    o("");
    o(`${n.name}, trained for ${plural(steps, "step")}:`);
    for (const r of runs) o(`  η = ${fmt(r.lr)} (${r.label}): ${runSentence(r, n.objective.baseline?.loss)}`);
  }
  trainWork.finish();
  writeOutputs(io, outDir, await figureFiles("cnn", stacked([...layerSpecs, ...figures])));
  return 0;
}

/** What BatchNorm did to the limits, in the numbers the two searches measured. */
function bnSummary(plain: TrainingSearch, norm: TrainingSearch): string {
  const l0 = plain.atStart?.lambdaMax;
  const l1 = norm.atStart?.lambdaMax;
  if (l0 === undefined || l1 === undefined) return "";
  const eta = (s: TrainingSearch) => (s.etaMax && s.etaMax.below > 0 ? s.etaMax.estimate : null);
  const e0 = eta(plain);
  const e1 = eta(norm);
  const parts = [
    `What BatchNorm does to the limit, measured: λ0 goes from ${fmt(l0)} to ${fmt(l1)} (×${fmt(l1 / l0)}), so 2/λ0 goes from ${fmt(2 / l0)} to ${fmt(2 / l1)}.`,
  ];
  if (e0 !== null && e1 !== null)
    parts.push(
      `η_max goes from ${fmt(e0)} (${fmt((e0 * l0) / 2)} × its 2/λ0) to ${fmt(e1)} (${fmt((e1 * l1) / 2)} × its 2/λ0): in absolute terms the largest rate that does not diverge is ${e1 > e0 ? "larger" : "smaller"} with BatchNorm (×${fmt(e1 / e0)}), and measured in units of its own 2/λ0 the window above the classical limit is ${(e1 * l1) / 2 > (e0 * l0) / 2 ? "wider" : "narrower"}.`,
    );
  const t0 = plain.trains?.estimate;
  const t1 = norm.trains?.estimate;
  if (t0 !== undefined && t1 !== undefined)
    parts.push(
      `The largest rate that trains: ${fmt(t0)} without BatchNorm, ${fmt(t1)} with it. Rates for one network do not carry over to the other: measure each (overshoot critical-lr --model-onnx your.onnx).`,
    );
  return parts.join(" ");
}

/** What one demo run did, from its records. */
function runSentence(r: DemoRun, baseline: number | undefined): string {
  const f0 = r.records[0]!.loss;
  const end = r.records[r.records.length - 1]!;
  if (r.status === "nonfinite" || r.status === "diverged")
    return `the loss runs away: ${fmt(end.loss)} at step ${end.step}, diverged`;
  let peak = r.records[0]!;
  for (const x of r.records) if (x.loss > peak.loss) peak = x;
  const sharp = r.records.filter((x) => x.sharpness !== undefined).map((x) => x.sharpness!);
  const rise =
    peak.loss > f0
      ? `, rising first to ${fmt(peak.loss)} at step ${peak.step} (×${fmt(peak.loss / f0)})`
      : "";
  const curvature = `λmax ${fmt(sharp[0]!)} → ${fmt(sharp[sharp.length - 1]!)} against 2/η = ${fmt(2 / r.lr)}`;
  const accuracy =
    typeof end["trainAccuracy"] === "number"
      ? `, train accuracy ${(100 * end["trainAccuracy"]).toFixed(1)}%`
      : "";
  const outcome = !(end.loss < f0)
    ? "it did not train"
    : atBaseline(end.loss, baseline)
      ? `stalled at the trivial baseline ${fmt(baseline!)} (each output's mean, whatever the digit): it learned nothing`
      : peak.loss > f0
        ? "trained"
        : "trained, the loss falling";
  return `${fmt(f0)} → ${fmt(end.loss)}${rise}${accuracy}; ${curvature}; ${outcome}`;
}
