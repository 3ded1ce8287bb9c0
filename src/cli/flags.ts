import { plural } from "../core/format.js";
import type { Objective } from "../core/objective.js";
import { mlpObjective } from "../nn/mlp/mlp.js";
import { ExpressionError } from "../objectives/expression-error.js";
import { type ModelName, modelObjective } from "../objectives/models.js";
import type { Compile, ObjectiveSource } from "../objectives/source.js";
import { BUILTIN_NAMES, createObjectiveWith, isBuiltinName, type ObjectiveSpec } from "../objectives/spec.js";
import { designFromTable, numericTable } from "../objectives/table.js";
import { OPTIMIZER_NAMES, type OptimizerName, type OptimizerOptions } from "../optim/index.js";
import { type ParsedFlags, parseNumber } from "./args.js";
import { CliError } from "./errors.js";
import { readMatrixCsv, readTextInput } from "./files.js";
import { flagMessage, NETWORK_DATA } from "./flag-tables.js";
import { graphNetworkFromFlags } from "./graph-network.js";
import { type DataNetwork, networkFromFlags, onnxModelOf, onnxPathFromFlags } from "./network.js";
import { unknownMessage } from "./suggest.js";

/** The objective named by --f (or --data) and its options; files are read here, at the boundary. */
export function objectiveFromFlags(flags: ParsedFlags): Objective {
  return objectiveWithSourceFromFlags(flags).objective;
}

/** The objective and the plain-data description it was built from (for worker threads). */
export function objectiveWithSourceFromFlags(flags: ParsedFlags): {
  objective: Objective;
  source: ObjectiveSource;
} {
  if (flags["data"] !== undefined) return dataObjectiveFromFlags(flags);
  for (const key of [
    "model",
    "target",
    "features",
    "standardize",
    "hidden",
    "activation",
    "loss",
    "n",
    "noise",
    "validation",
    "seed",
  ]) {
    if (flags[key] !== undefined)
      throw new CliError(`--${key} applies to a model on data: add --data FILE.csv`);
  }
  if (flags["modelOnnx"] !== undefined)
    throw new CliError(
      "--model-onnx needs the rows to measure the loss on: add --data FILE.csv --target COLUMN",
    );
  const f = flags["f"];
  if (typeof f !== "string" || f.trim() === "") {
    throw new CliError(
      'missing --f (an expression such as "x^2", or a built-in: rosenbrock, himmelblau, beale, booth, rastrigin, quadratic)',
    );
  }
  const vars = typeof flags["vars"] === "string" ? flags["vars"].split(",").map((v) => v.trim()) : undefined;
  const dim = flags["dim"] as number | undefined;
  if (dim !== undefined && (!Number.isInteger(dim) || dim < 1))
    throw new CliError(`invalid --dim: ${dim} (a whole number ≥ 1)`);
  const rotate = flags["rotate"] as number | undefined;
  if (rotate !== undefined && !Number.isInteger(rotate))
    throw new CliError(`invalid --rotate: ${rotate} (an integer seed)`);
  if (!isBuiltinName(f) && /^[a-z]+$/i.test(f.trim()) && f.trim().length > 4) {
    // A single long word is far more likely a misspelt built-in than a one-variable expression.
    const message = unknownMessage("objective", f.trim(), BUILTIN_NAMES);
    if (message.includes("did you mean")) throw new CliError(message);
  }
  try {
    const spec: ObjectiveSpec = {
      f,
      ...(vars ? { vars } : {}),
      ...(typeof flags["matrix"] === "string" ? { matrix: readMatrixCsv(flags["matrix"]) } : {}),
      ...(flags["eigenvalues"] ? { eigenvalues: flags["eigenvalues"] as number[] } : {}),
      ...(rotate !== undefined ? { rotate } : {}),
      ...(flags["linear"] ? { linear: flags["linear"] as number[] } : {}),
      ...(dim !== undefined ? { dim } : {}),
    };
    return { objective: createObjectiveWith(spec, compiler), source: { kind: "spec", spec } };
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof ExpressionError && !e.message.startsWith("invalid vars"))
      throw new CliError(`invalid --f: ${e.message}`);
    throw new CliError(flagMessage((e as Error).message));
  }
}

/** Optimizer options from the flags that were given; PyTorch's defaults fill the rest later. */
export function optimizerFromFlags(
  flags: ParsedFlags,
  options_: { requireLr?: boolean } = {},
): OptimizerOptions {
  const name = (flags["optimizer"] as string | undefined) ?? "sgd";
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(name))
    throw new CliError(unknownMessage("optimizer", name, OPTIMIZER_NAMES));
  const options: Record<string, unknown> = { name: name as OptimizerName };
  for (const key of [
    "lr",
    "momentum",
    "dampening",
    "nesterov",
    "weightDecay",
    "eps",
    "amsgrad",
    "alpha",
    "centered",
    "lrDecay",
    "initialAccumulatorValue",
  ]) {
    if (flags[key] !== undefined) options[key] = flags[key];
  }
  const lr = flags["lr"];
  if (lr !== undefined && (typeof lr !== "number" || !(lr > 0) || !Number.isFinite(lr))) {
    throw new CliError(`invalid --lr: ${lr} (a finite number > 0)`);
  }
  if (lr === undefined && name === "sgd" && options_.requireLr !== false)
    throw new CliError("missing --lr (sgd has no default learning rate; e.g. --lr 0.1)");
  if (flags["betas"] !== undefined) {
    const b = flags["betas"] as number[];
    if (b.length !== 2) throw new CliError(`invalid --betas: ${b.join(",")} (two numbers, e.g. 0.9,0.999)`);
    options["betas"] = [b[0], b[1]];
  }
  return options as OptimizerOptions;
}

const MODELS = ["linear", "logistic", "mlp"] as const;

/**
 * The expression compiler, loaded by `loadExpressionCompiler` only when a command is given an
 * expression: it brings mathjs, about 0.3 s of start-up that a built-in or a model never needs.
 */
let loaded: Compile | null = null;
const compiler: Compile = (text, options) => {
  if (!loaded) throw new Error("internal: the expression compiler was not loaded (loadExpressionCompiler)");
  return loaded(text, options);
};

/** Loads the expression compiler when the arguments hold an --f that is not a built-in's name. */
export async function loadExpressionCompiler(argv: readonly string[]): Promise<void> {
  if (loaded) return;
  const i = argv.findIndex((a) => a === "--f" || a.startsWith("--f="));
  if (i < 0) return;
  const value = argv[i]!.startsWith("--f=") ? argv[i]!.slice(4) : argv[i + 1];
  if (value === undefined || isBuiltinName(value)) return;
  const { compileExpression } = await import("../objectives/expression.js");
  loaded = compileExpression;
}

/** Start points that come with an objective (a network's initial weights), for startFromFlags. */
const defaultStarts = new WeakMap<Objective, Float64Array>();
/** The network (its data split and spec) behind an objective built from --model mlp. */
const networks = new WeakMap<Objective, DataNetwork>();

/** The network an objective from --data … --model mlp was built from: its validation rows, its spec. */
export function networkOf(objective: Objective): DataNetwork | undefined {
  return networks.get(objective);
}

function dataObjectiveFromFlags(flags: ParsedFlags): { objective: Objective; source: ObjectiveSource } {
  if (flags["f"] !== undefined) throw new CliError("give --f or --data, not both");
  const path = flags["data"] as string;
  const onnx = onnxPathFromFlags(flags);
  const model = (flags["model"] as string | undefined) ?? (onnx ? "mlp" : "linear");
  if (!(MODELS as readonly string[]).includes(model))
    throw new CliError(unknownMessage("model", model, MODELS));
  if (onnx && model !== "mlp")
    throw new CliError(`--${onnx.flag} ${onnx.path} is a network: drop --model ${model}`);
  // The ONNX file, read once for both the graph engine and the dense path.
  const file = model === "mlp" && onnx ? onnxModelOf(onnx) : undefined;
  if (file) {
    const seed = (flags["seed"] as number | undefined) ?? 0;
    const g = graphNetworkFromFlags(flags, onnx!, seed, file);
    if (g) {
      const description = `graph network on ${g.describe}`;
      defaultStarts.set(g.objective, g.theta0);
      networks.set(g.objective, { objective: g.objective, data: g.data, theta0: g.theta0, seed });
      return {
        objective: g.objective,
        source: {
          kind: "graph",
          graph: g.spec,
          inputShape: g.inputShape,
          loss: g.data.loss,
          data: g.data.train,
          description,
          ...(g.statsRows === undefined ? {} : { statsRows: g.statsRows }),
        },
      };
    }
  }
  if (model === "mlp") {
    const network = networkFromFlags(flags, file);
    const description = `mlp ${network.spec.sizes.join("-")} on ${network.data.describe}`;
    const objective = mlpObjective(network.spec, network.data.train, description);
    defaultStarts.set(objective, network.theta0);
    networks.set(objective, network);
    return { objective, source: { kind: "mlp", spec: network.spec, data: network.data.train, description } };
  }
  let text: string;
  try {
    text = readTextInput(path, "--data");
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && (NETWORK_DATA as readonly string[]).includes(path))
      throw new CliError(
        `--data ${path} is a data set for a network: add --model mlp (linear and logistic models read a CSV)`,
      );
    throw new CliError(`cannot read --data ${path}: ${code ?? (e as Error).message}`);
  }
  try {
    const table = numericTable(text, path);
    const target = flags["target"] as string | undefined;
    if (target === undefined)
      throw new CliError(`missing --target (the column to predict; columns: ${table.columns.join(", ")})`);
    const features =
      typeof flags["features"] === "string" ? flags["features"].split(",").map((c) => c.trim()) : undefined;
    const design = designFromTable(table, target, features, Boolean(flags["standardize"]));
    return {
      objective: modelObjective(model as ModelName, design, path),
      source: { kind: "model", model: model as ModelName, design, source: path },
    };
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(flagMessage((e as Error).message));
  }
}

/**
 * The start point: --x0 (or --init) as given; a model on data starts from zeros when neither is.
 * Null when the objective has no natural start and none was given.
 */
export function startFromFlags(flags: ParsedFlags, objective: Objective): number[] | null {
  const x0 = flags["x0"] as number[] | undefined;
  if (x0) return x0;
  const network = defaultStarts.get(objective);
  if (network) return Array.from(network);
  const init = flags["init"] as string | undefined;
  if (init !== undefined) return init.split(",").map((v) => parseNumber("init", v));
  if (flags["data"] !== undefined) return new Array<number>(objective.dim).fill(0);
  return null;
}

/**
 * A start point that must be there, of the objective's length and finite — the one check every
 * command that starts somewhere makes. `given` overrides the flags (stability's --at).
 */
export function requireStart(
  flags: ParsedFlags,
  objective: Objective,
  flag = "x0",
  given?: number[] | null,
): number[] {
  const x = given ?? startFromFlags(flags, objective);
  const n = objective.dim;
  if (!x) {
    throw new CliError(
      flag === "at"
        ? `missing --at (the point to measure, ${plural(n, "value")}: ${objective.names.join(", ")})`
        : `missing --${flag} (a start point with ${plural(n, "value")}: ${objective.names.join(", ")})`,
    );
  }
  if (x.length !== n) {
    throw new CliError(
      `invalid --${flag}: ${plural(x.length, "value")} for ${plural(n, "variable")} (${objective.names.join(", ")})`,
    );
  }
  x.forEach((v, i) => {
    if (!Number.isFinite(v))
      throw new CliError(`invalid --${flag}: ${objective.names[i]} = ${v} is not finite`);
  });
  // A start outside the function's domain (sqrt at −1, log at 0) or where it overflows would
  // only give a run that is non-finite at step 0: refuse it, naming the value.
  const at = Float64Array.from(x);
  const g = new Float64Array(n);
  const f = objective.gradient(at, g);
  const point = objective.names
    .slice(0, 4)
    .map((name, i) => `${name} = ${x[i]}`)
    .join(", ");
  const where = n > 4 ? `${point}, …` : point;
  if (!Number.isFinite(f))
    throw new CliError(
      `invalid --${flag}: f is ${f} at ${where} (outside the function's domain, or past the float64 range): start where f is finite`,
    );
  const bad = g.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0)
    throw new CliError(
      `invalid --${flag}: ∂f/∂${objective.names[bad]} is ${g[bad]} at ${where}: start where the gradient is finite`,
    );
  return x;
}

/**
 * --guard's options, or null without --guard; --guard-every and --max-retries checked, and
 * refused without --guard (they would do nothing).
 */
export function guardFromFlags(flags: ParsedFlags): { keepEvery?: number; maxRetries?: number } | null {
  const keepEvery = flags["guardEvery"] as number | undefined;
  const maxRetries = flags["maxRetries"] as number | undefined;
  if (!flags["guard"]) {
    const stray =
      keepEvery !== undefined ? "--guard-every" : maxRetries !== undefined ? "--max-retries" : null;
    if (stray) throw new CliError(`${stray} sets the guard: add --guard`);
    return null;
  }
  if (keepEvery !== undefined && (!Number.isInteger(keepEvery) || keepEvery < 1))
    throw new CliError(`invalid --guard-every: ${keepEvery} (a whole number ≥ 1)`);
  if (maxRetries !== undefined && (!Number.isInteger(maxRetries) || maxRetries < 0))
    throw new CliError(`invalid --max-retries: ${maxRetries} (a whole number ≥ 0)`);
  return {
    ...(keepEvery !== undefined ? { keepEvery } : {}),
    ...(maxRetries !== undefined ? { maxRetries } : {}),
  };
}

/**
 * "--at init" (or "--x0 init") names the default for models, their initial weights: dropped
 * before the flags are parsed as numbers (stability, spectrum).
 */
export function withoutAtInit(argv: readonly string[]): readonly string[] {
  const i = argv.findIndex((a, j) => (a === "--at" || a === "--x0") && argv[j + 1] === "init");
  return i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
}

/** The point a curvature command measures at: --at or --x0 (the same flag), else the model's start. */
export function measurePointFromFlags(
  flags: ParsedFlags,
  objective: Objective,
  /** Where the point is checked (its loss and gradient finite): the rows measured (--curvature-rows). */
  checkOn: Objective = objective,
): number[] {
  if (flags["at"] !== undefined && flags["x0"] !== undefined)
    throw new CliError("give the point once: --x0 or --at (the same flag)");
  const flag = flags["at"] !== undefined ? "at" : "x0";
  return requireStart(
    flags,
    checkOn,
    flag,
    (flags["at"] as number[] | undefined) ?? startFromFlags(flags, objective),
  );
}

/**
 * The rows a curvature measurement on data uses, in words: every training row (the HVPs and
 * gradients run over them in blocks, in bounded memory), and what is held out.
 */
export function rowsUsed(objective: Objective): { rows: number; text: string } | null {
  const network = networkOf(objective);
  if (network) {
    const train = network.data.train.rows;
    const held = network.data.validation?.rows ?? 0;
    return {
      rows: train,
      text:
        held > 0
          ? `on all ${train} training rows (${held} held out for validation; --validation 0 measures on all ${train + held})`
          : `on all ${plural(train, "row")}`,
    };
  }
  const rows =
    objective.description.kind === "builtin" ? objective.description.parameters?.["rows"] : undefined;
  return typeof rows === "number" ? { rows, text: `on all ${plural(rows, "row")}` } : null;
}

/** The words for a seeded sample of the training rows (--curvature-rows), the same in every command. */
export function sampledRowsText(rows: number, of: number, seed: number): string {
  return `on ${rows} of the ${of} training rows, a seeded sample drawn once (--seed ${seed})`;
}

/** A whole-number flag within [min, max], or undefined when not given; the error names the range. */
export function wholeFlag(flags: ParsedFlags, key: string, min: number, max: number): number | undefined {
  const v = flags[key] as number | undefined;
  const name = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max))
    throw new CliError(
      `invalid --${name}: ${v} (a whole number ${max === Number.POSITIVE_INFINITY ? `≥ ${min}` : `from ${min} to ${max}`})`,
    );
  return v;
}

/** --blow-up F: the blow-up bound's factor (run/divergence.ts), > 1; undefined for the default. */
export function blowUpFromFlags(flags: Record<string, unknown>): number | undefined {
  const f = flags["blowUp"] as number | undefined;
  if (f === undefined) return undefined;
  if (!(f > 1) || !Number.isFinite(f))
    throw new CliError(`invalid --blow-up: ${f} (a finite factor > 1, such as 1e6; default 1e6)`);
  return f;
}
