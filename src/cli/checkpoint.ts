import type { SamplerState } from "../analysis/training/minibatches.js";
import type { TrainCheckpoint } from "../analysis/training/train.js";
import { plural } from "../core/format.js";
import type { GraphSpec } from "../nn/graph.js";
import { type MlpData, type MlpSpec, parameterCount } from "../nn/mlp/mlp.js";
import { createOptimizer, type OptimizerConfig, type OptimizerSnapshot } from "../optim/index.js";
import { jsonNumber } from "../report/json.js";
import { CliError } from "./errors.js";
import { readTextInput, writeFileAtomic } from "./files.js";

/**
 * Training checkpoints on disk: JSON holding, beside the step, the flat weights, the optimizer's
 * state, the guard's rate cap and the minibatch sampler's state, everything that makes the run
 * this run — the model (sizes, activation, loss, dtype), a fingerprint of the training data, the
 * optimizer with every hyper-parameter, the batch size, seed and schedule. `--resume` refuses a
 * checkpoint that differs in any of them, naming what differs, so a resumed run is the
 * uninterrupted one, bit for bit. Written atomically (temporary file, fsync, rename): a process
 * killed mid-write leaves the previous checkpoint whole.
 */
/** An MLP by its architecture; a graph network by a fingerprint of its graph (operators, attributes, parameter shapes). */
export type ModelIdentity =
  | (Pick<MlpSpec, "sizes" | "activation" | "loss"> & { readonly dtype: string })
  | { readonly graph: string; readonly parameters: number; readonly loss: string; readonly dtype: string };

export interface RunIdentity {
  readonly model: ModelIdentity;
  /** rows and a 64-bit hash of the training inputs and targets. */
  readonly data: { readonly rows: number; readonly fingerprint: string };
  readonly optimizer: OptimizerConfig;
  readonly batchSize: number | null;
  readonly seed: number;
  readonly schedule: string | null;
}

interface CheckpointFile extends RunIdentity {
  readonly overshootCheckpoint: 2;
  readonly step: number;
  readonly theta: number[];
  readonly state: { stepCount: number; buffers: Record<string, number[] | null> };
  readonly lrCap: number | null;
  readonly sampler: SamplerState | null;
}

export function runIdentity(
  spec: MlpSpec | ModelIdentity,
  train: MlpData,
  optimizer: OptimizerConfig,
  batchSize: number | null,
  seed: number,
  schedule: string | null,
): RunIdentity {
  return {
    model:
      "graph" in spec
        ? spec
        : {
            sizes: [...spec.sizes],
            activation: spec.activation,
            ...("activations" in spec && spec.activations ? { activations: [...spec.activations] } : {}),
            loss: spec.loss,
            dtype: ("dtype" in spec ? spec.dtype : undefined) ?? "float64",
          },
    data: { rows: train.rows, fingerprint: fingerprint(train.x, train.y) },
    optimizer,
    batchSize,
    seed,
    schedule,
  };
}

/**
 * Two 32-bit FNV-1a hashes (different offsets) over the float64 words of the arrays: a change to
 * any value, or to the order of the rows, changes it. Not cryptographic; it tells data sets apart.
 */
export function fingerprint(...arrays: Float64Array[]): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (const x of arrays) {
    const words = new Uint32Array(x.buffer, x.byteOffset, x.length * 2);
    for (let i = 0; i < words.length; i++) {
      a = Math.imul(a ^ words[i]!, 0x01000193);
      b = Math.imul(b ^ words[i]!, 0x01000193) ^ (b >>> 13);
    }
    a = Math.imul(a ^ x.length, 0x01000193);
  }
  return `${(a >>> 0).toString(16).padStart(8, "0")}${(b >>> 0).toString(16).padStart(8, "0")}`;
}

/** A graph network's identity: a fingerprint of its nodes (operators, wiring, attributes) and parameter shapes. */
export function graphIdentity(spec: GraphSpec, parameters: number, loss: string): ModelIdentity {
  const text = JSON.stringify({
    nodes: spec.nodes.map((n) => [n.op, n.inputs, n.outputs, n.attrs]),
    parameters: spec.initializers.filter((i) => i.trainable !== false).map((i) => [i.name, i.dims]),
  });
  return {
    graph: fingerprint(Float64Array.from(text, (c) => c.charCodeAt(0))),
    parameters,
    loss,
    dtype: "float64",
  };
}

export function saveCheckpoint(path: string, run: RunIdentity, c: TrainCheckpoint): void {
  const file: CheckpointFile = {
    overshootCheckpoint: 2,
    ...run,
    step: c.step,
    theta: Array.from(c.theta),
    state: {
      stepCount: c.optimizer.stepCount,
      buffers: Object.fromEntries(
        Object.entries(c.optimizer.buffers).map(([k, v]) => [k, v ? Array.from(v) : null]),
      ),
    },
    lrCap: Number.isFinite(c.lrCap) ? c.lrCap : null,
    sampler: c.sampler ?? null,
  };
  writeFileAtomic(path, `${JSON.stringify(file, plain)}\n`);
}

/** JSON has no Infinity or NaN: numbers as jsonNumber writes them (a rate cap, ε = Infinity). */
const plain = (_key: string, v: unknown): unknown => (typeof v === "number" ? jsonNumber(v) : v);

/** The checkpoint at `path`, checked whole and against this run; `steps` is this run's last step. */
export function loadCheckpoint(path: string, run: RunIdentity, steps: number): TrainCheckpoint {
  const refuse = (why: string) => new CliError(`cannot resume from ${path}: ${why}`);
  let file: Partial<CheckpointFile> & { overshootCheckpoint?: unknown };
  try {
    file = JSON.parse(readTextInput(path, "--resume"));
  } catch (e) {
    if (e instanceof CliError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CliError(`cannot resume: ${path} does not exist`);
    throw refuse(code ?? `not JSON (${(e as Error).message})`);
  }
  if (!file || typeof file !== "object" || file.overshootCheckpoint === undefined)
    throw refuse("not an overshoot checkpoint");
  if (file.overshootCheckpoint !== 2)
    throw refuse(
      "it was written by an earlier overshoot, before checkpoints recorded the whole run; start the run again with --checkpoint",
    );
  for (const key of ["model", "data", "optimizer", "step", "theta", "state"] as const)
    if (file[key] === undefined || file[key] === null)
      throw refuse(
        `it records no ${key === "state" ? "optimizer state" : key} (a damaged or hand-made file)`,
      );
  const same = (a: unknown, b: unknown) => JSON.stringify(a, plain) === JSON.stringify(b, plain);
  const show = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const model = file.model as Record<string, unknown> | undefined;
  const wanted = run.model as Record<string, unknown>;
  if ("graph" in wanted !== (model !== undefined && "graph" in model))
    throw refuse(
      `it holds ${"graph" in wanted ? "an MLP" : "a graph network"}, this run trains ${"graph" in wanted ? "a graph network" : "an MLP"}`,
    );
  for (const key of "graph" in wanted
    ? (["graph", "parameters", "loss", "dtype"] as const)
    : (["sizes", "activation", "loss", "dtype"] as const)) {
    const saved = model?.[key];
    const want = wanted[key];
    if (!same(saved, want))
      throw refuse(
        key === "sizes"
          ? `it holds a ${Array.isArray(saved) ? saved.join("-") : "?"} network, this model is ${want === undefined ? "?" : (want as number[]).join("-")}`
          : key === "graph"
            ? `it holds another graph (fingerprint ${show(saved)}; this model's is ${show(want)})`
            : `it was saved with ${key} ${show(saved)}, this run has ${show(want)}`,
      );
  }
  if (!same(file.data, run.data))
    throw refuse(
      `it was saved on other training data (${show(file.data?.rows)} rows, fingerprint ${show(file.data?.fingerprint)}; this run: ${plural(run.data.rows, "row")}, ${run.data.fingerprint}): the same --data, --target, --features, --n, --noise, --seed and --standardize are needed`,
    );
  const saved = (file.optimizer ?? {}) as Record<string, unknown>;
  const want = run.optimizer as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(saved), ...Object.keys(want)]))
    if (!same(saved[key], want[key]))
      throw refuse(
        key === "name"
          ? `it was saved by ${show(saved[key])}, this run uses ${show(want[key])}`
          : `it was saved with ${run.optimizer.name} ${key} ${show(saved[key])}, this run has ${show(want[key])}`,
      );
  for (const key of ["batchSize", "seed", "schedule"] as const)
    if (!same(file[key], run[key]))
      throw refuse(
        `it was saved with ${{ batchSize: "--batch-size", seed: "--seed", schedule: "--schedule" }[key]} ${show(file[key] ?? "none")}, this run has ${show(run[key] ?? "none")}`,
      );

  const dim = "graph" in run.model ? run.model.parameters : parameterCount(run.model.sizes);
  const numbers = (v: unknown, what: string, length: number): Float64Array => {
    if (
      !Array.isArray(v) ||
      v.length !== length ||
      !v.every((x) => typeof x === "number" && Number.isFinite(x))
    )
      throw refuse(
        `${what} must be ${length} finite numbers${Array.isArray(v) ? ` (it has ${v.length}${v.every((x) => typeof x === "number") ? "" : `, among them ${JSON.stringify(v.find((x) => typeof x !== "number"))}`})` : ""}`,
      );
    return Float64Array.from(v as number[]);
  };
  const step = file.step;
  if (typeof step !== "number" || !Number.isInteger(step) || step < 0)
    throw refuse(`its step is ${show(step)}, not a whole number ≥ 0`);
  if (step >= steps)
    throw refuse(
      `it is at step ${step}, and this run ends at step ${steps}: give --steps (or --epochs) past ${step}`,
    );
  const theta = numbers(file.theta, "the weights", dim);
  // The optimizer's buffers: the names a fresh one of this kind has, each null or one value per weight.
  const expected = Object.keys(createOptimizer(run.optimizer, dim).snapshot().buffers).sort();
  const state = file.state;
  const names =
    state && typeof state.buffers === "object" && state.buffers ? Object.keys(state.buffers).sort() : [];
  if (
    !state ||
    typeof state.stepCount !== "number" ||
    !Number.isInteger(state.stepCount) ||
    !same(names, expected)
  )
    throw refuse(
      `its optimizer state is not ${run.optimizer.name}'s (buffers ${expected.join(", ") || "none"} and a step count)`,
    );
  const buffers: OptimizerSnapshot["buffers"] = Object.fromEntries(
    names.map((k) => {
      const v = state.buffers[k];
      return [k, v === null ? null : numbers(v, `the optimizer's ${k}`, dim)];
    }),
  );
  const lrCap = file.lrCap;
  if (lrCap !== null && lrCap !== undefined && !(typeof lrCap === "number" && lrCap > 0))
    throw refuse(`its rate cap is ${show(lrCap)}, not a number > 0`);
  const sampler = file.sampler ?? null;
  if ((sampler === null) !== (run.batchSize === null))
    throw refuse("its minibatch state does not match the batch size");
  if (
    sampler !== null &&
    (!Array.isArray(sampler.order) ||
      sampler.order.length !== run.data.rows ||
      typeof sampler.cursor !== "number" ||
      typeof sampler.rng?.state !== "number")
  )
    throw refuse("its minibatch state is not one of this data's");
  return {
    step,
    theta,
    optimizer: { name: run.optimizer.name, stepCount: state.stepCount, buffers },
    lrCap: lrCap ?? Number.POSITIVE_INFINITY,
    ...(sampler ? { sampler } : {}),
  };
}
