import {
  lrRangeTestSteps,
  type RangeTest,
  type RangeTestOptions,
} from "../../analysis/thresholds/find-lr.js";
import { RECOMMEND_TRIALS, type Recommendation, recommendLr } from "../../analysis/thresholds/recommend.js";
import { minibatches } from "../../analysis/training/minibatches.js";
import { finalTrainingLoss } from "../../analysis/training/train.js";
import { fmt, plural } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { runStoppable } from "../../core/stoppable.js";
import { createOptimizer, type OptimizerBase, type OptimizerOptions } from "../../optim/index.js";
import { rangeTestChart } from "../../report/charts.js";
import { describeObjective, describePoint } from "../../report/describe.js";
import { JSON_VERSION, objectiveJson } from "../../report/json.js";
import { specToSvg, svgToPng } from "../../report/render.js";
import { boundText, objectiveBound } from "../../run/divergence.js";
import { commandFlags, type FlagSpecs, flagHelp } from "../args.js";
import { CliError } from "../errors.js";
import { checkFigurePath, writeFileAtomic } from "../files.js";
import {
  BLOW_UP_FLAG,
  flagMessage,
  HELP_FLAG,
  OBJECTIVE_FLAGS,
  OPTIMIZER_FLAGS,
  outputFlags,
  START_FLAG,
} from "../flag-tables.js";
import {
  blowUpFromFlags,
  networkOf,
  objectiveFromFlags,
  optimizerFromFlags,
  requireStart,
} from "../flags.js";
import type { Io } from "../io.js";
import { LongWork } from "../progress.js";

const { lr: _lr, ...OPTIMIZER_FLAGS_WITHOUT_LR } = OPTIMIZER_FLAGS;

export const FIND_LR_FLAGS: FlagSpecs = {
  ...OBJECTIVE_FLAGS,
  ...START_FLAG,
  ...OPTIMIZER_FLAGS_WITHOUT_LR,
  start: { type: "number", value: "LR", help: "first learning rate of the ramp (default 1e-7)" },
  end: { type: "number", value: "LR", help: "last learning rate of the ramp (default 10)" },
  steps: { type: "number", value: "N", help: "steps of the ramp, fastai's num_it (default 100)" },
  ramp: { type: "string", value: "exp|linear", help: "exp (fastai, default) or linear (torch-lr-finder)" },
  beta: { type: "number", value: "B", help: "smoothing of the loss, a debiased EMA (default 0.98)" },
  "stop-factor": {
    type: "number",
    value: "F",
    help: "stop once the smoothed loss passes F× its best (default 4)",
  },
  "skip-start": {
    type: "number",
    value: "N",
    help: "points dropped before the suggestions at the start (default steps/10)",
  },
  "skip-end": { type: "number", value: "N", help: "… and at the end (default 5)" },
  "batch-size": {
    type: "number",
    value: "B",
    help: "networks: ramp and trial runs on minibatches of B rows",
  },
  "validation-loss": {
    type: "boolean",
    help: "networks: record the validation loss after each step (torch-lr-finder's val_loader)",
  },
  recommend: {
    type: "boolean",
    help: "one recommended rate: the ramp brackets it, real runs of --train-steps choose it",
  },
  ...BLOW_UP_FLAG,
  "train-steps": {
    type: "number",
    value: "N",
    help: "--recommend: steps of each trial run (default 300; with --batch-size one epoch)",
  },
  ...outputFlags({
    json: "the test",
    plot: "the loss against lr with every suggestion and the curvature bound",
  }),
  ...HELP_FLAG,
};

export const FIND_LR_HELP = `overshoot find-lr — the learning-rate range test, beside the curvature's answer

Runs once from --x0 with the learning rate growing each step as fastai's lr_find does (1e-7 →
10 over 100 steps, η_k = start·(end/start)^(k/N)), the loss smoothed by a debiased EMA (β =
0.98), until the smoothed loss passes 4× its best. fastai's suggestions — valley, slide,
minimum/10, steep — read from the smoothed losses with the first N/10 and last 5 points
dropped, beside the critical rate 2/λmax from the curvature at the start. Your start point is not
changed.

--recommend adds one rate you can use: the ramp's lowest point U brackets it, and real runs of
your protocol (the optimizer, --batch-size, --train-steps) at U/100 … U and around the best pick
it, a step back from a cliff when the next rate up did not train.

Usage: overshoot find-lr --f EXPR --x0 X [optimizer flags] [--start A --end B --steps N] [--plot F]
       overshoot find-lr --data mnist --model mlp --hidden 128,64 --activation relu --batch-size 128 --recommend

${flagHelp(FIND_LR_FLAGS)}`;

export async function findLrCommand(argv: readonly string[], io: Io): Promise<number> {
  if (argv.includes("--lr") || argv.some((a) => a.startsWith("--lr="))) {
    throw new CliError(
      "find-lr ramps the learning rate itself: drop --lr, or set the ramp with --start and --end",
    );
  }
  const parsed = commandFlags(argv, { name: "find-lr", flags: FIND_LR_FLAGS, help: FIND_LR_HELP }, io);
  if (!parsed) return 0;
  const { flags } = parsed;
  const objective = objectiveFromFlags(flags);
  const base = optimizerFromFlags(flags, { requireLr: false }) as OptimizerBase;
  const x0 = requireStart(flags, objective);
  const plot = flags["plot"] as string | undefined;
  const format = plot !== undefined ? checkFigurePath(plot, "--plot") : "svg";
  const network = networkOf(objective);
  const batchSize = flags["batchSize"] as number | undefined;
  const validationLoss = Boolean(flags["validationLoss"]);
  if ((batchSize !== undefined || validationLoss) && !network)
    throw new CliError(
      `--${batchSize !== undefined ? "batch-size" : "validation-loss"} applies to a network: add --data … --model mlp`,
    );
  if (
    batchSize !== undefined &&
    (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > network!.data.train.rows)
  )
    throw new CliError(
      `invalid --batch-size: ${batchSize} (a whole number from 1 to the ${network!.data.train.rows} training rows)`,
    );
  if (validationLoss && !network!.data.validation)
    throw new CliError("--validation-loss needs held-out rows: set --validation to a fraction > 0");
  const ramp = (flags["ramp"] as string | undefined) ?? "exp";
  if (ramp !== "exp" && ramp !== "linear") throw new CliError(`invalid --ramp: ${ramp} (exp or linear)`);
  const trainSteps =
    (flags["trainSteps"] as number | undefined) ??
    (batchSize !== undefined && network ? Math.ceil(network.data.train.rows / batchSize) : 300);
  if (!Number.isInteger(trainSteps) || trainSteps < 1 || trainSteps > 1_000_000)
    throw new CliError(`invalid --train-steps: ${trainSteps} (a whole number from 1 to 1,000,000)`);

  const rampSteps = flags["steps"] as number | undefined;
  // The ramp keeps every step's point (and draws them): fastai's num_it is 100.
  if (rampSteps !== undefined && rampSteps > 1_000_000)
    throw new CliError(
      `invalid --steps: ${fmt(rampSteps)} (the ramp keeps every step's point, about 100 bytes each: at most 1,000,000; fastai's default is 100)`,
    );
  const options: RangeTestOptions = {
    ...(flags["start"] !== undefined ? { start: flags["start"] as number } : {}),
    ...(flags["end"] !== undefined ? { end: flags["end"] as number } : {}),
    ...(flags["steps"] !== undefined ? { steps: flags["steps"] as number } : {}),
    ...(flags["beta"] !== undefined ? { beta: flags["beta"] as number } : {}),
    ...(flags["stopFactor"] !== undefined ? { stopFactor: flags["stopFactor"] as number } : {}),
    ...(flags["skipStart"] !== undefined ? { skipStart: flags["skipStart"] as number } : {}),
    ...(flags["skipEnd"] !== undefined ? { skipEnd: flags["skipEnd"] as number } : {}),
    mode: ramp,
  };
  if (network && batchSize !== undefined) {
    const next = minibatches(network.data.train, batchSize, network.seed);
    Object.assign(options, {
      lossAt: (_k: number, x: Float64Array, g: Float64Array) => network.objective.gradientOn(x, g, next()),
    });
  }
  if (network && validationLoss) {
    const held = network.data.validation!;
    Object.assign(options, { validationLoss: (x: Float64Array) => network.objective.evaluate(x, held).loss });
  }
  let test: RangeTest;
  // The ramp (and the curvature at the start after it) says how long once it has taken 2 s, and
  // Ctrl-C ends it where it is: the suggestions from the points so far, no curvature.
  const work = new LongWork(
    options.steps ?? 100,
    "ramp step",
    io.err,
    io.isTTY && Boolean(process.stderr.isTTY),
    {
      cap: true,
      display: io.progress !== false,
    },
  );
  try {
    test = (
      await runStoppable(
        lrRangeTestSteps(objective, x0, base, { ...options, onStep: (k) => work.tick(k) }),
        () => work.stopRequested,
      )
    ).value;
  } catch (e) {
    throw new CliError(
      flagMessage((e as Error).message)
        .replace(/^invalid range/, "invalid --start/--end")
        .replace(/^invalid stop factor/, "invalid --stop-factor")
        .replace(/^invalid (skip-start|skip-end|beta)/, "invalid --$1"),
    );
  } finally {
    work.finish();
  }
  const blowUp = blowUpFromFlags(flags);
  let recommendation: Recommendation | null = null;
  let recommendStopped = false;
  let trialsRun = 0;
  if (flags["recommend"] && !test.stopped) {
    const startLoss = objective.value(Float64Array.from(x0));
    const trainAt = (lr: number): number => {
      if (!network) {
        // A function or a data model: plain runs of the optimizer from x₀, full batch.
        const x = Float64Array.from(x0);
        return protocolOnObjective(objective, x, { ...base, lr } as OptimizerOptions, trainSteps, blowUp);
      }
      return finalTrainingLoss({
        objective: network.objective,
        train: network.data.train,
        validation: null,
        theta0: Float64Array.from(x0),
        optimizer: { ...base, lr } as OptimizerOptions,
        steps: trainSteps,
        batchSize: batchSize ?? null,
        seed: network.seed,
        logEvery: trainSteps,
        sharpnessEvery: null,
        ...(blowUp !== undefined ? { blowUp } : {}),
      });
    };
    // Seven trial runs (recommend.ts: five a √10 apart below the ramp's lowest point, two a
    // quarter-decade around the best): a line every 5 s once they have taken 2 s. Ctrl-C ends
    // them after the run under way: the ramp's answer is written, without a recommendation.
    const work = new LongWork(
      RECOMMEND_TRIALS,
      "trial run",
      io.err,
      io.isTTY && Boolean(process.stderr.isTTY),
      { stopping: "after the trial run under way", display: io.progress !== false },
    );
    const stopped = new Error("stopped");
    try {
      recommendation = await recommendLr(
        test,
        async (lr) => {
          // A turn of the event loop first, for a Ctrl-C to be heard.
          await new Promise((ok) => setTimeout(ok, 0));
          if (work.stopRequested) throw stopped;
          const loss = trainAt(lr);
          work.tick(++trialsRun);
          return loss;
        },
        startLoss,
      );
    } catch (e) {
      if (e !== stopped) throw new CliError(flagMessage((e as Error).message));
      recommendStopped = true;
    } finally {
      work.finish();
    }
  }
  const stoppedNote = test.stopped
    ? `overshoot: stopped by Ctrl-C ${test.stoppedAt !== null ? `at ramp step ${test.stoppedAt}` : "while measuring the curvature at the start"}: the suggestions are the ramp's points so far${flags["recommend"] ? ", no trial runs" : ""}; the curvature at the start was not measured\n`
    : recommendStopped
      ? `overshoot: stopped by Ctrl-C after ${plural(trialsRun, "trial run")} of ${RECOMMEND_TRIALS}: no recommendation; the ramp's answer is written\n`
      : "";
  const critical = test.curvature?.critical.lr ?? null;
  if (plot !== undefined) {
    const marks = [
      { label: "valley", lr: test.suggestions.valley ?? Number.NaN },
      { label: "slide", lr: test.suggestions.slide ?? Number.NaN },
      { label: "min/10", lr: test.suggestions.minimumOver10 ?? Number.NaN },
      { label: "steep", lr: test.suggestions.steepest ?? Number.NaN },
      { label: "curvature bound", lr: critical ?? Number.NaN },
      ...(recommendation ? [{ label: "recommended", lr: recommendation.lr }] : []),
    ];
    const svg = await specToSvg(rangeTestChart(test.points, marks));
    writeFileAtomic(plot, format === "png" ? svgToPng(svg) : svg);
  }
  if (flags["json"]) {
    io.out(
      `${JSON.stringify(
        {
          version: JSON_VERSION,
          objective: objectiveJson(objective),
          optimizer: base,
          ...(objective.dim <= 20 ? { x0 } : { start: `${plural(objective.dim, "parameter")}` }),
          ramp,
          points: test.points,
          stoppedAt: test.stoppedAt,
          stopReason: test.stopReason,
          used: test.used,
          suggestions: test.suggestions,
          critical,
          criticalFormula: test.curvature?.critical.formula ?? null,
          recommendation: recommendation && {
            ...recommendation,
            trials: recommendation.trials.map((t) => ({
              lr: t.lr,
              finalLoss: Number.isFinite(t.finalLoss) ? t.finalLoss : String(t.finalLoss),
            })),
            trainSteps,
          },
          advice: test.advice,
          ...(test.stopped
            ? { stopped: "by Ctrl-C: the suggestions are the ramp's points so far; no curvature" }
            : {}),
          ...(recommendStopped
            ? {
                recommendationStopped: `by Ctrl-C after ${plural(trialsRun, "trial run")} of ${RECOMMEND_TRIALS}`,
              }
            : {}),
        },
        null,
        2,
      )}\n`,
    );
    io.err(stoppedNote);
    return recommendStopped || test.stopped ? 130 : 0;
  }
  const s = test.suggestions;
  const show = (v: number | null) => (v === null ? "—" : fmt(v));
  io.out(
    `Learning-rate range test of ${base.name} on ${describeObjective(objective)} from ${objective.dim <= 6 ? describePoint(x0) : `its initial weights (${plural(objective.dim, "parameter")})`}${batchSize !== undefined ? `, minibatches of ${batchSize}` : ""}${validationLoss ? ", validation loss" : ""}\n`,
  );
  io.out(
    `${plural(test.points.length, "step")} (${ramp} ramp); stopped because ${test.stopReason}; ${test.used.to > test.used.from ? `suggestions from points ${test.used.from}–${test.used.to - 1}` : "too few points for suggestions"}.\n\n`,
  );
  io.out(
    `  valley        ${show(s.valley)}\n  slide         ${show(s.slide)}${s.slide === null ? "   (needs 16 points)" : ""}\n  minimum/10    ${show(s.minimumOver10)}\n  steep         ${show(s.steepest)}\n`,
  );
  io.out(
    `  curvature     ${critical === null ? "—" : `${fmt(critical)}  (${test.curvature!.critical.formula}, λmax = ${fmt(test.curvature!.lambdaMax)} at the start)`}\n\n`,
  );
  io.out(`${test.advice}\n`);
  if (recommendation) {
    io.out(`\nRecommended: lr ${fmt(recommendation.lr)} — ${recommendation.reason}.\n`);
    io.out(
      `  Trial runs of ${plural(trainSteps, "step")}${batchSize !== undefined ? ` on minibatches of ${batchSize}` : ""} (diverged = a non-finite value, or the loss past the blow-up bound ${boundText(objectiveBound(network?.objective ?? objective, recommendation.startLoss, blowUp))}):\n`,
    );
    for (const t of recommendation.trials)
      io.out(
        `    lr ${fmt(t.lr).padEnd(10)} final loss ${Number.isFinite(t.finalLoss) ? fmt(t.finalLoss) : "diverged"}${t.finalLoss >= recommendation.startLoss ? "  (did not train)" : ""}${t.lr === recommendation.lr ? "   ← recommended" : ""}\n`,
      );
    io.out(
      `  The cliff: the largest rate tried that trained is ${fmt(recommendation.cliff.trained)}${recommendation.cliff.failed !== null ? `; ${fmt(recommendation.cliff.failed)}, above the best, did not` : ""}.\n`,
    );
  }
  if (plot !== undefined) io.out(`wrote ${plot}\n`);
  io.err(stoppedNote);
  return recommendStopped || test.stopped ? 130 : 0;
}

/**
 * The final loss of `steps` plain optimizer steps on an objective; Infinity when the run diverged
 * (a non-finite value, or past the blow-up bound of run/divergence.ts), where it stops.
 */
function protocolOnObjective(
  objective: Objective,
  x: Float64Array,
  options: OptimizerOptions,
  steps: number,
  blowUp: number | undefined,
): number {
  const opt = createOptimizer(options, objective.dim);
  const g = new Float64Array(objective.dim);
  let loss = objective.gradient(x, g);
  const bound = objectiveBound(objective, loss, blowUp).value;
  for (let k = 0; k < steps && Number.isFinite(loss) && loss <= bound; k++) {
    opt.step(x, g);
    loss = objective.gradient(x, g);
  }
  return Number.isFinite(loss) && loss <= bound ? loss : Number.POSITIVE_INFINITY;
}
