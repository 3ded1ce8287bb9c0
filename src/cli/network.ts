import { columnMoments } from "../core/columns.js";
import { fmt, plural } from "../core/format.js";
import type { NetworkObjective } from "../core/objective.js";
import { createRng } from "../core/rng.js";
import {
  fmaAvailable,
  fmaKernelModuleFailure,
  KERNEL_NAMES,
  type KernelChoice,
  kernelModuleFailure,
  wasmAvailable,
} from "../nn/kernels/index.js";
import {
  ACTIVATIONS,
  type Activation,
  initialParameters,
  LOSSES,
  type Loss,
  type MlpData,
  type MlpObjective,
  type MlpSpec,
  mlpObjective,
  parametersFromLayers,
  permuteRows,
  pickRows,
  rowRange,
} from "../nn/mlp/mlp.js";
import { denseNetwork, OnnxError, type OnnxNetwork } from "../nn/onnx/dense.js";
import { classLabels, classWidth } from "../nn/onnx/graph-start.js";
import { OnnxFormatError, type OnnxModel, readOnnxModel, shown } from "../nn/onnx/model.js";
import { SYNTHETIC, type SyntheticName, splitRows, synthetic } from "../objectives/synthetic.js";
import { designFromTable, numericTable } from "../objectives/table.js";
import type { ParsedFlags } from "./args.js";
import { checkMemory, mlpBytes, rowsBytes } from "./budget.js";
import { loadIris, loadMnist } from "./datasets.js";
import { CliError } from "./errors.js";
import { readModelBytes, readTextInput } from "./files.js";
import { flagMessage } from "./flag-tables.js";
import { npyRows } from "./npy-data.js";
import { unknownMessage } from "./suggest.js";

export interface Prepared {
  readonly train: MlpData;
  readonly validation: MlpData | null;
  readonly inputs: number;
  readonly outputs: number;
  readonly classify: boolean;
  readonly describe: string;
  readonly loss: Loss;
}

/** A network on data, MLP or graph: what the commands that measure or train one need of it. */
export interface DataNetwork {
  readonly objective: NetworkObjective;
  readonly data: Prepared;
  readonly theta0: Float64Array;
  readonly seed: number;
}

export interface Network extends DataNetwork {
  readonly objective: MlpObjective;
  readonly spec: MlpSpec;
  readonly data: Prepared;
  readonly theta0: Float64Array;
  readonly seed: number;
}

/** The ONNX file named by --model-onnx, or by an --init that ends in .onnx (train --init model.onnx). */
export function onnxPathFromFlags(flags: ParsedFlags): { path: string; flag: string } | null {
  const model = flags["modelOnnx"] as string | undefined;
  const init = flags["init"] as string | undefined;
  if (model !== undefined && init !== undefined)
    throw new CliError(`give --model-onnx or --init, not both: the weights come from ${model}`);
  if (model !== undefined) return { path: model, flag: "model-onnx" };
  if (init?.toLowerCase().endsWith(".onnx")) return { path: init, flag: "init" };
  return null;
}

/** The ONNX file of --model-onnx (or --init), read once: a command passes it on to what builds the network. */
export function onnxModelOf(onnx: { path: string; flag: string }): OnnxModel {
  try {
    return readOnnxModel(readModelBytes(onnx.path, onnx.flag), onnx.path);
  } catch (e) {
    if (e instanceof OnnxFormatError) throw new CliError(e.message);
    throw e;
  }
}

/** The network, its data split and its initial weights, from the flags (and the ONNX file, if already read). */
export function networkFromFlags(flags: ParsedFlags, model?: OnnxModel): Network {
  const seed = (flags["seed"] as number | undefined) ?? 0;
  if (!Number.isInteger(seed)) throw new CliError(`invalid --seed: ${seed} (an integer)`);
  const onnx = onnxPathFromFlags(flags);
  if (onnx) return onnxNetwork(flags, onnx, seed, model);
  if (batchNormFlag(flags))
    throw new CliError(
      "--batch-norm applies to a network with BatchNormalization from --model-onnx; drop it",
    );
  const activation = ((flags["activation"] as string | undefined) ?? "tanh") as Activation;
  if (!(ACTIVATIONS as readonly string[]).includes(activation))
    throw new CliError(unknownMessage("activation", activation, ACTIVATIONS));
  const lossFlag = lossFromFlags(flags);
  const hiddenText = (flags["hidden"] as string | undefined) ?? "16,16";
  if (hiddenText.trim() === "")
    throw new CliError(
      "invalid --hidden: empty (hidden layer widths separated by commas, e.g. 16,16; or none for no hidden layer)",
    );
  // "none": no hidden layer, the inputs straight to the outputs (a linear model under the loss).
  const hidden = hiddenText.trim() === "none" ? [] : hiddenText.split(",").map((h) => Number(h.trim()));
  if (hidden.some((h) => !Number.isInteger(h) || h < 1))
    throw new CliError(`invalid --hidden: ${hiddenText} (layer widths, whole numbers ≥ 1, e.g. 128,64)`);
  const data = prepareData(flags, lossFlag, seed);
  const sizes = [data.inputs, ...hidden, data.outputs];
  checkMemory(
    mlpBytes(sizes, data.train.rows),
    `--hidden ${hiddenText} (an MLP ${sizes.join("-")} on ${plural(data.train.rows, "row")})`,
    "narrower or fewer layers",
  );
  const kernels = kernelsFromFlags(flags);
  const dtype = (flags["dtype"] as string | undefined) ?? "float64";
  if (dtype !== "float64" && dtype !== "float32")
    throw new CliError(unknownMessage("dtype", dtype, ["float64", "float32"]));
  const spec: MlpSpec = {
    sizes: [data.inputs, ...hidden, data.outputs],
    activation,
    loss: data.loss,
    dtype,
    ...(kernels === undefined ? {} : { kernels }),
  };
  return {
    objective: mlpObjective(spec, data.train),
    spec,
    data,
    theta0: initialWeights(flags, spec.sizes, seed),
    seed,
  };
}

/** --loss, checked against the losses there are. */
export function lossFromFlags(flags: ParsedFlags): Loss | undefined {
  const loss = flags["loss"] as string | undefined;
  if (loss !== undefined && !(LOSSES as readonly string[]).includes(loss))
    throw new CliError(unknownMessage("loss", loss, LOSSES));
  return loss as Loss | undefined;
}

/** --kernels, checked: a known name, and wasm only where its module loads. */
function kernelsFromFlags(flags: ParsedFlags): KernelChoice | undefined {
  const kernels = flags["kernels"] as string | undefined;
  if (kernels === undefined) return undefined;
  if (kernels !== "auto" && !(KERNEL_NAMES as readonly string[]).includes(kernels))
    throw new CliError(unknownMessage("kernels", kernels, ["auto", ...KERNEL_NAMES]));
  if (kernels === "wasm" && !wasmAvailable())
    throw new CliError(
      `invalid kernels: wasm is not available here (${kernelModuleFailure()}); use --kernels js`,
    );
  if (kernels === "wasm-fma" && !fmaAvailable())
    throw new CliError(
      `invalid kernels: wasm-fma is not available here (${fmaKernelModuleFailure()}); use --kernels wasm`,
    );
  return kernels as KernelChoice;
}

/**
 * A network exported to ONNX (torch.onnx.export, tf2onnx): its layers, activations and weights
 * from the file, its data from --data; the loss follows the model's last node (Softmax:
 * cross-entropy, Sigmoid: bce) or --loss (default mse).
 */
function onnxNetwork(
  flags: ParsedFlags,
  onnx: { path: string; flag: string },
  seed: number,
  model: OnnxModel | undefined,
): Network {
  for (const key of ["hidden", "activation", "dtype"]) {
    if (flags[key] !== undefined)
      throw new CliError(`--${key} comes from the model in ${onnx.path}: drop it`);
  }
  let net: OnnxNetwork;
  try {
    net = denseNetwork(model ?? onnxModelOf(onnx), onnx.path);
  } catch (e) {
    if (e instanceof OnnxError) throw new CliError(e.message);
    throw e;
  }
  const lossFlag = lossFromFlags(flags);
  const implied: Loss | undefined =
    net.output === "softmax" ? "cross-entropy" : net.output === "sigmoid" ? "bce" : undefined;
  if (implied && lossFlag !== undefined && lossFlag !== implied)
    throw new CliError(
      `invalid --loss: ${lossFlag}, but ${onnx.path} ends in ${net.output === "softmax" ? "Softmax" : "Sigmoid"}, which overshoot takes as ${implied} on the logits before it (drop --loss)`,
    );
  // Without a final Softmax or Sigmoid, the loss is --loss or the data's default (cross-entropy
  // on the logits for classes, mse for a target column).
  const data = prepareData(flags, implied ?? lossFlag, seed);
  const sizes = net.sizes;
  if (data.inputs !== sizes[0])
    throw new CliError(
      `${onnx.path} takes ${sizes[0]} inputs${net.inputShape.length > 1 ? ` (${net.inputShape.join("×")}, flattened)` : ""}; --data ${flags["data"]} gives ${data.inputs}${/\.csv$/i.test(String(flags["data"])) ? " (choose the columns with --features)" : ""}`,
    );
  const outputs = sizes[sizes.length - 1]!;
  if (data.outputs !== outputs)
    throw new CliError(
      `${onnx.path} has ${outputs} output${outputs === 1 ? "" : "s"}; --data ${flags["data"]} with ${data.loss} needs ${data.outputs}${data.classify && outputs === 1 && data.loss !== "bce" ? " (one per class; one output fits --loss bce on 0/1 labels)" : ""}`,
    );
  const kernels = kernelsFromFlags(flags);
  const spec: MlpSpec = {
    sizes,
    activation: net.activations[0] ?? "identity",
    activations: net.activations,
    loss: data.loss,
    ...(kernels === undefined ? {} : { kernels }),
  };
  const widened = net.dtype === "float32" ? "float32 weights widened to float64" : "float64 weights";
  return {
    objective: mlpObjective(spec, data.train),
    spec,
    data: {
      ...data,
      describe: `${data.describe}, model ${onnx.path} (${sizes.join("-")}, ${net.activations.join("/") || "no hidden layer"}${net.output === "none" ? "" : `, ${net.output} taken into ${data.loss}`}; ${widened}; ONNX opset ${net.opset} from ${net.producer})`,
    },
    theta0: Float64Array.from(net.theta),
    seed,
  };
}

export function initialWeights(flags: ParsedFlags, sizes: readonly number[], seed: number): Float64Array {
  const init = (flags["init"] as string | undefined) ?? "pytorch";
  if (init === "pytorch" || init === "glorot" || init === "he")
    return initialParameters(sizes, init, createRng(seed + 2));
  let json: unknown;
  try {
    json = JSON.parse(readTextInput(init, "--init"));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(
      `cannot read --init ${init}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (give pytorch, glorot, he or a weights file)`,
    );
  }
  try {
    return parametersFromLayers(sizes, json, init);
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
}

export function prepareData(
  flags: ParsedFlags,
  loss: Loss | undefined,
  seed: number,
  /** The model's outputs, when it fixes them: class labels are one-hot over that many. */
  modelOutputs?: number,
): Prepared {
  const name = flags["data"] as string | undefined;
  if (name === undefined)
    throw new CliError(`missing --data (${SYNTHETIC.join(", ")}, or a CSV file with --target)`);
  const validation = (flags["validation"] as number | undefined) ?? 0.2;
  if (!(validation >= 0 && validation < 1))
    throw new CliError(`invalid --validation: ${validation} (a fraction in [0, 1))`);
  let x: Float64Array;
  // x made for this call alone (read from a file): its rows may be reordered in place.
  let owned = false;
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
    describe = `${name} (${plural(rows, "row")} from ${set.source}${flags["standardize"] ? ", standardized" : ""})`;
  } else if ((SYNTHETIC as readonly string[]).includes(name)) {
    const n = (flags["n"] as number | undefined) ?? 400;
    const noise = (flags["noise"] as number | undefined) ?? 0.05;
    checkMemory(rowsBytes(n, 2), `--n ${fmt(n)} (${name})`, "fewer rows");
    try {
      const set = synthetic(name as SyntheticName, n, noise, createRng(seed));
      ({ x, labels, rows, classes } = set);
    } catch (e) {
      throw new CliError(flagMessage((e as Error).message));
    }
    inputs = 2;
    describe = `${name} (${plural(rows, "point")}, noise ${noise}, seed ${seed})`;
  } else if (/\.(npy|npz)$/i.test(name)) {
    const set = npyRows(flags, name, loss);
    ({ x, labels, target, rows, inputs, classes, describe } = set);
    owned = true;
    if (flags["standardize"]) standardizeColumns(x, rows, inputs);
  } else {
    if (!name.toLowerCase().endsWith(".csv") && !/[/\\.]/.test(name)) {
      throw new CliError(unknownMessage("data set", name, ["mnist", "iris", ...SYNTHETIC]));
    }
    let text: string;
    try {
      text = readTextInput(name, "--data");
    } catch (e) {
      if (e instanceof CliError) throw e;
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
      owned = true;
      rows = design.rows;
      inputs = design.features.length;
      if (loss === "cross-entropy" || loss === "bce") {
        try {
          ({ labels, classes } = classLabels(design.y, column, loss));
        } catch (e) {
          throw new CliError(`invalid --target: ${(e as Error).message}`);
        }
      } else target = design.y;
      // A row of image pixels is hundreds of columns: past eight, the first two and the last.
      const f = design.features;
      const from =
        f.length > 8 ? `${f.length} columns (${f[0]}, ${f[1]}, …, ${f[f.length - 1]})` : f.join(", ");
      describe = `${name} (${plural(rows, "row")}, ${column} from ${from}${design.scaling ? ", standardized" : ""})`;
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(flagMessage((e as Error).message));
    }
  }
  const chosen: Loss = loss ?? (labels ? "cross-entropy" : "mse");
  if (!labels && (chosen === "cross-entropy" || chosen === "bce"))
    throw new CliError(`invalid --loss: ${chosen} needs class labels`);
  if (labels && chosen === "bce" && classes > 2)
    throw new CliError(
      `invalid --loss: bce has one output, for two classes; this data has ${classes}: use --loss cross-entropy`,
    );
  if (labels && modelOutputs !== undefined && modelOutputs > 1 && classes > modelOutputs)
    throw new CliError(
      `--data ${name} has ${classes} classes; the model has ${modelOutputs} outputs (one per class)`,
    );
  const outputs = labels ? classWidth(chosen, classes, modelOutputs) : 1;
  const y = new Float64Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    if (!labels) y[r] = target![r]!;
    else if (outputs === 1) y[r] = labels[r]!;
    else y[r * outputs + labels[r]!] = 1;
  }
  const split = splitRows(rows, validation, createRng(seed + 1));
  const all: MlpData = { x, y, rows };
  let train: MlpData;
  let held: MlpData | null = null;
  if (owned) {
    // The training rows, then the validation rows, moved in place: views of one copy of the data
    // (10,000 images of 3×32×32 are 246 MB a copy).
    permuteRows(all, Int32Array.from([...split.train, ...split.validation]));
    train = rowRange(all, 0, split.train.length);
    if (split.validation.length > 0) held = rowRange(all, split.train.length, rows);
  } else {
    train = pickRows(all, split.train);
    if (split.validation.length > 0) held = pickRows(all, split.validation);
  }
  return {
    train,
    validation: held,
    inputs,
    outputs,
    classify: labels !== null,
    describe,
    loss: chosen,
  };
}

/** Column-wise (x − mean)/std in place; constant columns (MNIST's border pixels) are only centred. */
function standardizeColumns(x: Float64Array, rows: number, cols: number): void {
  columnMoments(x, rows, cols).forEach(({ mean, std }, j) => {
    for (let r = 0; r < rows; r++) x[r * cols + j] = std > 0 ? (x[r * cols + j]! - mean) / std : 0;
  });
}

/** The network's loss on some of its training rows (a sampled minibatch), for minibatch curvature. */
export function networkOnRows(network: DataNetwork): (rows: Int32Array) => NetworkObjective {
  return (rows) => network.objective.onRows(pickRows(network.data.train, rows), "minibatch");
}

/** --batch-norm train|eval, or null when absent. */
export function batchNormFlag(flags: ParsedFlags): "train" | "eval" | null {
  const v = flags["batchNorm"] as string | undefined;
  if (v === undefined) return null;
  if (v !== "train" && v !== "eval")
    throw new CliError(
      `invalid --batch-norm: ${shown(v)} (train: the batch's statistics, as model.train(); eval: the running statistics, as model.eval())`,
    );
  return v;
}
