import type { SweepCell } from "../../analysis/thresholds/sweep.js";
import { type SweepJob, startOf } from "../../analysis/thresholds/sweep-pool.js";
import type { ThresholdCriteria } from "../../analysis/thresholds/threshold.js";
import { plural } from "../../core/format.js";
import { GRAPH_LOSSES } from "../../nn/loss.js";
import { ACTIVATIONS, LOSSES } from "../../nn/mlp/mlp.js";
import { expansions, PRIMITIVES } from "../../nn/ops/index.js";
import type { ObjectiveSource } from "../../objectives/source.js";
import { OPTIMIZER_NAMES, type OptimizerBase } from "../../optim/index.js";
import { mlpBytes } from "../budget.js";
import { blobRefs, fromWire, sha256, toWire, type Wire } from "./wire.js";

/**
 * One sweep cell as a queue job. Its data is plain JSON: the overshoot version that made it and
 * the cell's full specification (objective source, start, optimizer, rate and momentum, criteria)
 * in wire form, large arrays by content hash. Its id is a hash of both, so the same cell submitted
 * again (by the same sweep restarted, or by another sweep that shares it) is the same job.
 */
export interface CellJobData {
  readonly version: string;
  /** Hash of the objective's source: a worker keeps the objective it built for the next cell of the same source. */
  readonly source: string;
  readonly cell: Wire;
}

export interface CellJob {
  readonly source: ObjectiveSource;
  readonly x0: readonly number[];
  readonly optimizer: OptimizerBase;
  readonly cell: SweepCell;
  readonly criteria: ThresholdCriteria;
}

export interface QueuedCells {
  /** One entry per distinct cell: its job id and data. */
  readonly jobs: { readonly id: string; readonly data: CellJobData }[];
  /** For each cell of the sweep, in grid order, the index of its job in `jobs`. */
  readonly jobOf: readonly number[];
  /** Large arrays by content hash, to be stored once beside the jobs. */
  readonly blobs: ReadonlyMap<string, Buffer>;
  /** A hash of the whole sweep (every job id, in order): what a --name is bound to. */
  readonly sweepHash: string;
}

/** The sweep's cells as queue jobs (see CellJobData). */
export function queuedCells(job: SweepJob, version: string): QueuedCells {
  const blobs = new Map<string, Buffer>();
  const source = toWire(job.source, blobs);
  const sourceHash = sha256(JSON.stringify(source));
  const common = { optimizer: toWire(job.optimizer), criteria: toWire(job.criteria) };
  const jobs: { id: string; data: CellJobData }[] = [];
  const byId = new Map<string, number>();
  const jobOf = job.cells.map((cell) => {
    const wire: Wire = { ...common, x0: toWire(startOf(job, cell)), cell: toWire(cell), source };
    const data: CellJobData = { version, source: sourceHash, cell: wire };
    const id = cellJobId(data);
    let at = byId.get(id);
    if (at === undefined) {
      at = jobs.length;
      byId.set(id, at);
      jobs.push({ id, data });
    }
    return at;
  });
  return { jobs, jobOf, blobs, sweepHash: sha256(jobOf.map((i) => jobs[i]!.id).join(",")) };
}

/** A job's id from its data (not all digits and no ':', BullMQ's rules); a worker recomputes it to check a job is what its id says. */
export function cellJobId(data: CellJobData): string {
  return `c${sha256(JSON.stringify({ version: data.version, source: data.source, cell: data.cell })).slice(0, 40)}`;
}

/** The content hashes a job's data refers to (the worker fetches and checks each). */
export function cellBlobs(data: CellJobData): Set<string> {
  return blobRefs(data.cell);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Float64Array);
const isInt = (v: unknown, lo: number, hi: number): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
const isNumbers = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isFinite(x));
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/**
 * A job's data, checked field by field before anything is built from it: the shape of every
 * part, the names against their lists, array lengths against the sizes they claim. An
 * expression stays text here; the worker compiles it through the same whitelist as the CLI.
 * Throws an Error naming the first field that is wrong.
 */
export function validateCellJob(data: unknown, blobs: ReadonlyMap<string, Buffer>): CellJob {
  const bad = (what: string): never => {
    throw new Error(`invalid job: ${what}`);
  };
  if (!isObject(data) || typeof data["version"] !== "string" || typeof data["source"] !== "string")
    bad("not a sweep cell (expected version, source and cell)");
  const d = data as unknown as CellJobData;
  let decoded: unknown;
  try {
    decoded = fromWire(d.cell, blobs);
  } catch (e) {
    bad((e as Error).message);
  }
  if (!isObject(decoded)) return bad("cell is not an object");
  const { source, x0, optimizer, cell, criteria } = decoded;
  if (!isObject(source)) return bad("source is not an object");
  if (sha256(JSON.stringify((d.cell as { source: Wire }).source)) !== d.source)
    bad("its source does not match the source hash it names");
  checkSource(source, bad);
  if (!isNumbers(x0) || x0.length === 0) bad("x0 must be a list of finite numbers");
  if (!isObject(optimizer) || !(OPTIMIZER_NAMES as readonly string[]).includes(optimizer["name"] as string))
    bad(`optimizer.name must be one of ${OPTIMIZER_NAMES.join(", ")}`);
  for (const [k, v] of Object.entries(optimizer as Record<string, unknown>))
    if (k !== "name" && typeof v !== "number" && typeof v !== "boolean")
      bad(`optimizer.${k} must be a number or a flag`);
  if (!isObject(cell) || typeof cell["lr"] !== "number" || !(cell["lr"] > 0) || !Number.isFinite(cell["lr"]))
    bad("cell.lr must be a finite number > 0");
  const c = cell as Record<string, unknown>;
  if (c["momentum"] !== undefined && !(typeof c["momentum"] === "number" && Number.isFinite(c["momentum"])))
    bad("cell.momentum must be a finite number");
  if (c["seed"] !== undefined && !isInt(c["seed"], -(2 ** 31), 2 ** 31)) bad("cell.seed must be an integer");
  for (const k of Object.keys(c))
    if (k !== "lr" && k !== "momentum" && k !== "seed") bad(`cell.${k} is not a cell parameter`);
  if (!isObject(criteria)) return bad("criteria is not an object");
  if (criteria["horizon"] !== undefined && !isInt(criteria["horizon"], 1, 1e9))
    bad("criteria.horizon must be a whole number from 1 to 1e9");
  if (
    criteria["blowUp"] !== undefined &&
    !(typeof criteria["blowUp"] === "number" && criteria["blowUp"] > 1 && Number.isFinite(criteria["blowUp"]))
  )
    bad("criteria.blowUp must be a finite number > 1");
  if (
    criteria["gradientTolerance"] !== undefined &&
    !(typeof criteria["gradientTolerance"] === "number" && criteria["gradientTolerance"] >= 0)
  )
    bad("criteria.gradientTolerance must be a number ≥ 0");
  if (criteria["trackCurvature"] !== undefined && typeof criteria["trackCurvature"] !== "boolean")
    bad("criteria.trackCurvature must be true or false");
  return decoded as unknown as CellJob;
}

function checkSource(source: Record<string, unknown>, bad: (what: string) => never): void {
  const f64 = (v: unknown, what: string, length: number) => {
    if (!(v instanceof Float64Array)) bad(`${what} must be a float64 array`);
    if ((v as Float64Array).length !== length)
      bad(`${what} has ${(v as Float64Array).length} values, ${length} expected`);
  };
  switch (source["kind"]) {
    case "spec": {
      const spec = source["spec"];
      if (!isObject(spec) || typeof spec["f"] !== "string" || spec["f"].length > JOB_LIMITS.expression)
        bad(
          `source.spec.f must be an expression of at most ${JOB_LIMITS.expression} characters or a built-in name`,
        );
      const s = spec as Record<string, unknown>;
      if (s["vars"] !== undefined && !isStrings(s["vars"])) bad("source.spec.vars must be a list of names");
      if (
        s["eigenvalues"] !== undefined &&
        !(isNumbers(s["eigenvalues"]) && s["eigenvalues"].length <= JOB_LIMITS.denseDim)
      )
        bad(
          `source.spec.eigenvalues must be at most ${JOB_LIMITS.denseDim} numbers (a dense ${JOB_LIMITS.denseDim}² matrix)`,
        );
      if (s["linear"] !== undefined && !(isNumbers(s["linear"]) && s["linear"].length <= JOB_LIMITS.denseDim))
        bad(`source.spec.linear must be at most ${JOB_LIMITS.denseDim} numbers`);
      if (s["rotate"] !== undefined && !isInt(s["rotate"], -(2 ** 31), 2 ** 31))
        bad("source.spec.rotate must be an integer");
      if (s["dim"] !== undefined && !isInt(s["dim"], 1, JOB_LIMITS.dim))
        bad(`source.spec.dim must be a whole number from 1 to ${JOB_LIMITS.dim}`);
      if (s["matrix"] !== undefined) {
        const m = s["matrix"];
        if (!isObject(m) || !isInt(m["n"], 1, JOB_LIMITS.denseDim))
          bad(`source.spec.matrix.n must be a whole number from 1 to ${JOB_LIMITS.denseDim}`);
        f64(m["values"], "source.spec.matrix.values", (m["n"] as number) ** 2);
      }
      return;
    }
    case "model": {
      if (source["model"] !== "linear" && source["model"] !== "logistic")
        bad("source.model must be linear or logistic");
      const design = source["design"];
      if (!isObject(design) || !isInt(design["rows"], 1, 1e8) || !isStrings(design["features"]))
        bad("source.design must have rows and features");
      const rows = design["rows"] as number;
      if (rows * ((design["features"] as string[]).length + 1) > JOB_LIMITS.values)
        bad(`source.design holds more than ${JOB_LIMITS.values} values`);
      f64(design["x"], "source.design.x", rows * (design["features"] as string[]).length);
      f64(design["y"], "source.design.y", rows);
      if (typeof design["target"] !== "string") bad("source.design.target must be a column name");
      if (typeof source["source"] !== "string") bad("source.source must be a description");
      return;
    }
    case "mlp": {
      const spec = source["spec"];
      const data = source["data"];
      if (!isObject(spec) || !Array.isArray(spec["sizes"]) || spec["sizes"].length < 2)
        bad("source.spec.sizes must list at least two layer widths");
      const sizes = spec["sizes"] as unknown[];
      if (!sizes.every((n) => isInt(n, 1, 100_000)))
        bad("source.spec.sizes must be whole numbers from 1 to 100000");
      if (!(ACTIVATIONS as readonly unknown[]).includes(spec["activation"]))
        bad(`source.spec.activation must be one of ${ACTIVATIONS.join(", ")}`);
      if (!(LOSSES as readonly unknown[]).includes(spec["loss"]))
        bad(`source.spec.loss must be one of ${LOSSES.join(", ")}`);
      if (spec["dtype"] !== undefined && spec["dtype"] !== "float64" && spec["dtype"] !== "float32")
        bad("source.spec.dtype must be float64 or float32");
      if (
        spec["kernels"] !== undefined &&
        !["auto", "wasm", "wasm-fma", "js"].includes(spec["kernels"] as string)
      )
        bad("source.spec.kernels must be auto, wasm, wasm-fma or js");
      if (!isObject(data) || !isInt(data["rows"], 1, 1e8)) bad("source.data.rows must be a whole number");
      const rows = data["rows"] as number;
      if (rows * ((sizes[0] as number) + (sizes[sizes.length - 1] as number)) > JOB_LIMITS.values)
        bad(`source.data holds more than ${JOB_LIMITS.values} values`);
      if (mlpBytes(sizes as number[], rows) > JOB_LIMITS.bytes)
        bad(
          `source.spec.sizes ${sizes.join("-")} on ${rows} rows need more than ${JOB_LIMITS.bytes / 2 ** 30} GiB`,
        );
      f64(data["x"], "source.data.x", rows * (sizes[0] as number));
      f64(data["y"], "source.data.y", rows * (sizes[sizes.length - 1] as number));
      if (typeof source["description"] !== "string") bad("source.description must be text");
      return;
    }
    case "graph":
      checkGraphSource(source, bad, f64);
      return;
    default:
      bad("source.kind must be spec, model, mlp or graph");
  }
}

/**
 * What a job may ask of a worker, checked before anything is built: an expression's length, a
 * dense objective's size (a quadratic's eigenvalues or matrix: n² doubles, n³ to rotate), a
 * dimension, the numbers of data a job carries, and an MLP's working memory (cli/budget.ts).
 * Anyone who can write to the Redis server can queue a job: these keep one from taking a worker's
 * memory or its minutes.
 */
export const JOB_LIMITS = {
  expression: 10_000,
  denseDim: 2_000,
  dim: 10_000,
  values: 5e7,
  bytes: 2 ** 31,
  blobBytes: 2 ** 28,
} as const;

/** Caps on a graph a job may carry: what the ONNX reader allows a file (nn/onnx/model.ts). */
const GRAPH_NODES = 100_000;
const GRAPH_VALUES = 5e7;

/**
 * A graph network's source: every part's shape, every array's length against the sizes it claims,
 * the operators against the engine's list, within caps — before the worker builds anything.
 */
function checkGraphSource(
  source: Record<string, unknown>,
  bad: (what: string) => never,
  f64: (v: unknown, what: string, length: number) => void,
): void {
  const graph = source["graph"];
  if (!isObject(graph)) bad("source.graph must be a graph");
  const g = graph as Record<string, unknown>;
  if (!isInt(g["opset"], 1, 1000)) bad("source.graph.opset must be a whole number");
  const dims = (v: unknown, what: string, lo: number): number => {
    if (!Array.isArray(v) || v.length > 64 || !v.every((d) => isInt(d, lo, 2 ** 31)))
      bad(`${what} must be at most 64 whole numbers`);
    return (v as number[]).reduce((a, b) => a * b, 1);
  };
  let values = 0;
  const tensorLike = (v: unknown, what: string): void => {
    if (!isObject(v) || (v["dtype"] !== "float" && v["dtype"] !== "int")) bad(`${what} must be a tensor`);
    const n = dims((v as Record<string, unknown>)["shape"], `${what}.shape`, 0);
    values += n;
    if (values > GRAPH_VALUES) bad(`source.graph holds more than ${plural(GRAPH_VALUES, "value")}`);
    f64((v as Record<string, unknown>)["data"], `${what}.data`, n);
  };
  const names = (v: unknown, what: string, max: number): void => {
    if (!Array.isArray(v) || v.length > max || !v.every((x) => typeof x === "string" && x.length <= 1000))
      bad(`${what} must be a list of at most ${max} names`);
  };
  const inputs = g["inputs"];
  if (
    !Array.isArray(inputs) ||
    inputs.length !== 1 ||
    !isObject(inputs[0]) ||
    typeof inputs[0]["name"] !== "string"
  )
    bad("source.graph.inputs must name one input");
  const shape = (inputs as Record<string, unknown>[])[0]!["shape"];
  if (
    !Array.isArray(shape) ||
    shape.length > 64 ||
    !shape.every((d) => typeof d === "string" || isInt(d, 0, 2 ** 31))
  )
    bad("source.graph.inputs[0].shape must be at most 64 dimensions");
  const outputs = g["outputs"];
  if (
    !Array.isArray(outputs) ||
    outputs.length < 1 ||
    outputs.length > GRAPH_NODES ||
    !outputs.every((o) => isObject(o) && typeof o["name"] === "string")
  )
    bad("source.graph.outputs must name the outputs");
  const initializers = g["initializers"];
  if (!Array.isArray(initializers) || initializers.length > GRAPH_NODES)
    bad(`source.graph.initializers must be a list of at most ${GRAPH_NODES}`);
  (initializers as unknown[]).forEach((init, i) => {
    const what = `source.graph.initializers[${i}]`;
    if (
      !isObject(init) ||
      typeof init["name"] !== "string" ||
      typeof init["dtype"] !== "string" ||
      init["dtype"].length > 16
    )
      bad(`${what} must have a name and a dtype`);
    if (init["trainable"] !== undefined && typeof init["trainable"] !== "boolean")
      bad(`${what}.trainable must be true or false`);
    const n = dims(init["dims"], `${what}.dims`, 0);
    values += n;
    if (values > GRAPH_VALUES) bad(`source.graph holds more than ${plural(GRAPH_VALUES, "value")}`);
    f64(init["values"], `${what}.values`, n);
  });
  const nodes = g["nodes"];
  if (!Array.isArray(nodes) || nodes.length < 1 || nodes.length > GRAPH_NODES)
    bad(`source.graph.nodes must be a list of 1 to ${GRAPH_NODES} nodes`);
  const known = new Set([...PRIMITIVES.keys(), ...expansions("as-exported").keys()]);
  (nodes as unknown[]).forEach((node, i) => {
    const what = `source.graph.nodes[${i}]`;
    if (
      !isObject(node) ||
      typeof node["op"] !== "string" ||
      !known.has(node["op"]) ||
      typeof node["name"] !== "string"
    )
      bad(`${what} must be an operator the engine runs, with a name`);
    names(node["inputs"], `${what}.inputs`, 1000);
    names(node["outputs"], `${what}.outputs`, 1000);
    const attrs = node["attrs"];
    if (!isObject(attrs) || Object.keys(attrs).length > 1000) bad(`${what}.attrs must be an object`);
    for (const [key, v] of Object.entries(attrs as Record<string, unknown>)) {
      const where = `${what}.attrs.${key.slice(0, 40)}`;
      if (typeof v === "number") continue;
      if (typeof v === "string") {
        if (v.length > 1000) bad(`${where} is too long`);
        continue;
      }
      if (Array.isArray(v)) {
        if (v.length > 10_000 || !v.every((x) => typeof x === "number"))
          bad(`${where} must be a list of numbers`);
        continue;
      }
      tensorLike(v, where);
    }
  });
  const width = dims(source["inputShape"], "source.inputShape", 1);
  if (!(GRAPH_LOSSES as readonly unknown[]).includes(source["loss"]))
    bad(`source.loss must be one of ${GRAPH_LOSSES.join(", ")}`);
  const data = source["data"];
  if (!isObject(data) || !isInt(data["rows"], 1, 1e8)) bad("source.data.rows must be a whole number");
  const rows = (data as Record<string, unknown>)["rows"] as number;
  f64((data as Record<string, unknown>)["x"], "source.data.x", rows * width);
  const y = (data as Record<string, unknown>)["y"];
  if (!(y instanceof Float64Array) || y.length % rows !== 0 || y.length === 0)
    bad("source.data.y must be a float64 array of whole rows");
  if (typeof source["description"] !== "string") bad("source.description must be text");
}
