import { closeSync, openSync, readFileSync, writeSync } from "node:fs";
import { type TrainRecord, type TrainResult, train } from "../../analysis/train.js";
import { fmt } from "../../core/format.js";
import { createRng } from "../../core/rng.js";
import {
  ACTIVATIONS,
  type Activation,
  initialParameters,
  LOSSES,
  type Loss,
  layersFromParameters,
  type MlpData,
  mlpObjective,
  parametersFromLayers,
} from "../../objectives/mlp.js";
import { SYNTHETIC, type SyntheticName, splitRows, synthetic } from "../../objectives/synthetic.js";
import { designFromTable, numericTable } from "../../objectives/table.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { type FlagSpecs, flagHelp, type ParsedFlags, parseFlags } from "../args.js";
import { loadIris, loadMnist } from "../datasets.js";
import { CliError } from "../errors.js";
import { checkWritable, writeFileAtomic } from "../files.js";
import { flagMessage, OPTIMIZER_FLAGS, optimizerFromFlags } from "../flags.js";
import type { Io } from "../io.js";
import { unknownMessage } from "../suggest.js";

export const TRAIN_FLAGS: FlagSpecs = {
  data: {
    type: "string",
    value: "NAME|FILE.csv",
    help: `${SYNTHETIC.join("|")} (seeded 2-D sets), or a CSV with --target`,
  },
  target: {
    type: "string",
    value: "COLUMN",
    help: "CSV: the column to predict (class 0…K−1 for cross-entropy)",
  },
  features: { type: "string", value: "a,b", help: "CSV: feature columns (default: all but the target)" },
  standardize: { type: "boolean", help: "CSV: scale every feature to mean 0, standard deviation 1" },
  n: { type: "number", value: "N", help: "synthetic: number of points (default 400)" },
  noise: { type: "number", value: "S", help: "synthetic: standard deviation of the jitter (default 0.05)" },
  seed: {
    type: "number",
    value: "SEED",
    help: "data, initial weights, split and minibatch order (default 0)",
  },
  validation: { type: "number", value: "F", help: "fraction of rows held out for validation (default 0.2)" },
  model: { type: "string", value: "mlp", help: "the model (mlp)" },
  hidden: { type: "string", value: "16,16", help: "hidden layer widths (default 16,16)" },
  activation: { type: "string", value: "NAME", help: `${ACTIVATIONS.join("|")} (default tanh)` },
  loss: {
    type: "string",
    value: "NAME",
    help: `${LOSSES.join("|")} (default cross-entropy for classes, mse for a CSV target)`,
  },
  init: {
    type: "string",
    value: "SCHEME|FILE.json",
    help: "pytorch (default), glorot, he, or weights { layers: [{ W, b }] }",
  },
  "save-weights": {
    type: "string",
    value: "FILE.json",
    help: "write the final weights in the --init format",
  },
  ...OPTIMIZER_FLAGS,
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
    help: "measure the top Hessian eigenvalues every K steps (Lanczos, exact HVPs)",
  },
  log: { type: "string", value: "FILE.jsonl", help: "one JSON record per logged step, written as it goes" },
  json: { type: "boolean", help: "print every record and the result as JSON" },
  help: { type: "boolean", help: "show this help" },
};

export const TRAIN_HELP = `overshoot train — train a float64 MLP and watch what the learning rate does to it

Usage: overshoot train --data NAME|FILE.csv [--hidden 16,16] [--activation tanh] [--loss …]
                       [optimizer flags] [--steps N | --epochs E] [--batch-size B] [--sharpness-every K]

Example: overshoot train --data spiral --hidden 16,16 --lr 0.5 --steps 2000 --sharpness-every 100

${flagHelp(TRAIN_FLAGS)}`;

interface Prepared {
  train: MlpData;
  validation: MlpData | null;
  inputs: number;
  outputs: number;
  classify: boolean;
  describe: string;
}

function prepareData(flags: ParsedFlags, loss: Loss | undefined, seed: number): Prepared & { loss: Loss } {
  const name = flags["data"] as string | undefined;
  if (name === undefined)
    throw new CliError(`missing --data (${SYNTHETIC.join(", ")}, or a CSV file with --target)`);
  const validation = (flags["validation"] as number | undefined) ?? 0.2;
  if (!(validation >= 0 && validation < 1))
    throw new CliError(`invalid --validation: ${validation} (a fraction in [0, 1))`);
  let x: Float64Array;
  let labels: Int32Array | null = null;
  let target: Float64Array | null = null;
  let rows: number;
  let inputs: number;
  let classes = 0;
  let describe: string;
  if (name === "mnist" || name === "iris") {
    const limit = flags["n"] as number | undefined;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 2))
      throw new CliError(`invalid --n: ${limit} (a whole number ≥ 2)`);
    const set = name === "mnist" ? loadMnist(limit) : loadIris();
    if (name === "iris" && limit !== undefined)
      throw new CliError("invalid --n: iris has its 150 rows; --n applies to mnist and the synthetic sets");
    x = set.x;
    labels = set.labels;
    rows = set.rows;
    classes = set.classes;
    inputs = set.features;
    if (flags["standardize"]) standardizeColumns(x, rows, inputs);
    describe = `${name} (${rows} rows from ${set.source}${flags["standardize"] ? ", standardized" : ""})`;
  } else if ((SYNTHETIC as readonly string[]).includes(name)) {
    const n = (flags["n"] as number | undefined) ?? 400;
    const noise = (flags["noise"] as number | undefined) ?? 0.05;
    try {
      const set = synthetic(name as SyntheticName, n, noise, createRng(seed));
      ({ x, labels, rows, classes } = set);
    } catch (e) {
      throw new CliError(flagMessage((e as Error).message));
    }
    inputs = 2;
    describe = `${name} (${rows} points, noise ${noise}, seed ${seed})`;
  } else {
    if (!name.toLowerCase().endsWith(".csv") && !/[/\\.]/.test(name)) {
      throw new CliError(unknownMessage("data set", name, ["mnist", "iris", ...SYNTHETIC]));
    }
    let text: string;
    try {
      text = readFileSync(name, "utf8");
    } catch (e) {
      throw new CliError(
        `cannot read --data ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    const column = flags["target"] as string | undefined;
    try {
      const table = numericTable(text, name);
      if (column === undefined)
        throw new CliError(`missing --target (the column to predict; columns: ${table.columns.join(", ")})`);
      const features =
        typeof flags["features"] === "string" ? flags["features"].split(",").map((c) => c.trim()) : undefined;
      const design = designFromTable(table, column, features, Boolean(flags["standardize"]));
      x = design.x;
      rows = design.rows;
      inputs = design.features.length;
      if (loss === "cross-entropy" || loss === "bce") {
        labels = Int32Array.from(design.y, (v, r) => {
          if (!Number.isInteger(v) || v < 0)
            throw new CliError(
              `invalid --target: '${column}' must hold class numbers 0, 1, 2, … for ${loss}; row ${r + 2} has ${v}`,
            );
          return v;
        });
        classes = Math.max(...labels) + 1;
        if (classes > 1000)
          throw new CliError(`invalid --target: '${column}' has ${classes} classes (at most 1000)`);
        if (loss === "bce" && classes > 2)
          throw new CliError(
            `invalid --target: bce needs 0/1 labels; '${column}' has ${classes} classes (use cross-entropy)`,
          );
      } else target = design.y;
      describe = `${name} (${rows} rows, ${column} from ${design.features.join(", ")}${design.scaling ? ", standardized" : ""})`;
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(flagMessage((e as Error).message));
    }
  }
  const chosen: Loss = loss ?? (labels ? "cross-entropy" : "mse");
  if (!labels && (chosen === "cross-entropy" || chosen === "bce"))
    throw new CliError(`invalid --loss: ${chosen} needs class labels`);
  const outputs = labels ? (chosen === "bce" ? 1 : Math.max(2, classes)) : 1;
  const y = new Float64Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    if (!labels) y[r] = target![r]!;
    else if (outputs === 1) y[r] = labels[r]!;
    else y[r * outputs + labels[r]!] = 1;
  }
  const split = splitRows(rows, validation, createRng(seed + 1));
  const pick = (idx: Int32Array): MlpData => {
    const px = new Float64Array(idx.length * inputs);
    const py = new Float64Array(idx.length * outputs);
    idx.forEach((src, r) => {
      px.set(x.subarray(src * inputs, (src + 1) * inputs), r * inputs);
      py.set(y.subarray(src * outputs, (src + 1) * outputs), r * outputs);
    });
    return { x: px, y: py, rows: idx.length };
  };
  return {
    train: pick(split.train),
    validation: split.validation.length > 0 ? pick(split.validation) : null,
    inputs,
    outputs,
    classify: labels !== null,
    describe,
    loss: chosen,
  };
}

export async function trainCommand(argv: readonly string[], io: Io): Promise<number> {
  const { flags, positionals } = parseFlags(argv, TRAIN_FLAGS, "train");
  if (flags["help"]) {
    io.out(`${TRAIN_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(`unexpected argument '${positionals[0]}' (see overshoot train --help)`);
  const model = (flags["model"] as string | undefined) ?? "mlp";
  if (model !== "mlp") throw new CliError(unknownMessage("model", model, ["mlp"]));
  const seed = (flags["seed"] as number | undefined) ?? 0;
  if (!Number.isInteger(seed)) throw new CliError(`invalid --seed: ${seed} (an integer)`);
  const activation = ((flags["activation"] as string | undefined) ?? "tanh") as Activation;
  if (!(ACTIVATIONS as readonly string[]).includes(activation))
    throw new CliError(unknownMessage("activation", activation, ACTIVATIONS));
  const lossFlag = flags["loss"] as string | undefined;
  if (lossFlag !== undefined && !(LOSSES as readonly string[]).includes(lossFlag))
    throw new CliError(unknownMessage("loss", lossFlag, LOSSES));
  const hiddenText = (flags["hidden"] as string | undefined) ?? "16,16";
  const hidden = hiddenText.trim() === "" ? [] : hiddenText.split(",").map((h) => Number(h.trim()));
  if (hidden.some((h) => !Number.isInteger(h) || h < 1))
    throw new CliError(`invalid --hidden: ${hiddenText} (layer widths, whole numbers ≥ 1, e.g. 128,64)`);
  const data = prepareData(flags, lossFlag as Loss | undefined, seed);
  const sizes = [data.inputs, ...hidden, data.outputs];
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

  const initFlag = (flags["init"] as string | undefined) ?? "pytorch";
  let theta0: Float64Array;
  if (initFlag === "pytorch" || initFlag === "glorot" || initFlag === "he")
    theta0 = initialParameters(sizes, initFlag, createRng(seed + 2));
  else {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(initFlag, "utf8"));
    } catch (e) {
      throw new CliError(
        `cannot read --init ${initFlag}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    try {
      theta0 = parametersFromLayers(sizes, json, initFlag);
    } catch (e) {
      throw new CliError(flagMessage((e as Error).message));
    }
  }
  const saveTo = flags["saveWeights"] as string | undefined;
  if (saveTo !== undefined) checkWritable(saveTo, "--save-weights");
  const logPath = flags["log"] as string | undefined;
  if (logPath !== undefined) checkWritable(logPath, "--log");

  const objective = mlpObjective({ sizes, activation, loss: data.loss }, data.train);
  const config = resolveOptimizerConfig(options);
  const json = Boolean(flags["json"]);
  if (!json) {
    io.out(
      `Training an MLP ${sizes.join("-")} (${activation}, ${data.loss}, ${objective.dim} parameters, float64) on ${data.describe}\n`,
    );
    io.out(
      `${config.name}, lr ${fmt(config.lr)}, ${batchSize ? `minibatches of ${batchSize}` : "full batch"}, ${steps} steps (${fmt(steps / stepsPerEpoch)} epochs)${sharpnessEvery ? `; curvature every ${sharpnessEvery} steps (Lanczos on exact HVPs, ${Math.min(1000, data.train.rows)}-row measurement batch)` : ""}\n\n`,
    );
  }
  const logFd = logPath !== undefined ? openSync(logPath, "w") : null;
  const records: TrainRecord[] = [];
  let result: TrainResult;
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
    });
    for (;;) {
      const next = it.next();
      if (next.done) {
        result = next.value;
        break;
      }
      const r = next.value;
      records.push(r);
      // One line per record, written through at once: a crash keeps everything logged so far.
      if (logFd !== null) writeSync(logFd, `${JSON.stringify(r)}\n`);
      if (!json) io.out(`${recordLine(r, data.classify)}\n`);
    }
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  } finally {
    if (logFd !== null) closeSync(logFd);
  }
  if (saveTo !== undefined)
    writeFileAtomic(saveTo, `${JSON.stringify(layersFromParameters(sizes, result.theta))}\n`);
  const last = records[records.length - 1]!;
  if (json) {
    io.out(
      `${JSON.stringify({ model: { sizes, activation, loss: data.loss, parameters: objective.dim }, data: data.describe, optimizer: config, steps, stepsPerEpoch, records, result: { status: result.status, atStep: result.atStep } }, null, 2)}\n`,
    );
  } else {
    io.out(
      result.status === "nonfinite"
        ? `\nverdict: nonfinite at step ${result.atStep} — the loss or gradient overflowed; lower the learning rate (compare λmax with 2/η: overshoot train … --sharpness-every 10).\n`
        : `\nverdict: finished — loss ${fmt(last.trainLoss ?? last.loss)}${last.trainAccuracy != null ? `, train accuracy ${fmt(100 * last.trainAccuracy)}%` : ""}${last.validationAccuracy != null ? `, validation ${fmt(100 * last.validationAccuracy)}%` : ""}.\n`,
    );
    if (saveTo !== undefined) io.out(`wrote ${saveTo}\n`);
    if (logPath !== undefined) io.out(`wrote ${logPath}\n`);
  }
  return 0;
}

function recordLine(r: TrainRecord, classify: boolean): string {
  const parts = [
    `step ${String(r.step).padStart(6)}`,
    `epoch ${String(r.epoch).padStart(4)}`,
    `loss ${fmt(r.loss).padStart(10)}`,
    `‖g‖ ${fmt(r.gradNorm).padStart(9)}`,
  ];
  if (classify && r.trainAccuracy != null) parts.push(`acc ${fmt(100 * r.trainAccuracy).padStart(5)}%`);
  if (r.validationLoss !== undefined)
    parts.push(
      `val ${fmt(r.validationLoss)}${r.validationAccuracy != null ? ` (${fmt(100 * r.validationAccuracy)}%)` : ""}`,
    );
  if (r.sharpness !== undefined) parts.push(`λmax ${fmt(r.sharpness)} vs 2/η ${fmt(r.twoOverLr!)}`);
  if (r.preconditionedSharpness !== undefined)
    parts.push(`precond. ${fmt(r.preconditionedSharpness)} vs ${fmt(r.bound!)}`);
  if (r.inactive?.some((v) => v > 0))
    parts.push(`inactive ${r.inactive.map((v) => `${fmt(100 * v)}%`).join("/")}`);
  return parts.join("  ");
}

/** Column-wise (x − mean)/std in place; constant columns (MNIST's border pixels) are only centred. */
function standardizeColumns(x: Float64Array, rows: number, cols: number): void {
  for (let j = 0; j < cols; j++) {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += x[r * cols + j]!;
    mean /= rows;
    let v = 0;
    for (let r = 0; r < rows; r++) v += (x[r * cols + j]! - mean) ** 2;
    const std = Math.sqrt(v / rows);
    for (let r = 0; r < rows; r++) x[r * cols + j] = std > 0 ? (x[r * cols + j]! - mean) / std : 0;
  }
}
