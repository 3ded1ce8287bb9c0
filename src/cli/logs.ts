import type { LogRecord } from "../analysis/diagnosis/diagnose.js";
import { criticalLearningRate } from "../analysis/thresholds/critical.js";
import { plural } from "../core/format.js";
import { parseCsv } from "../objectives/table.js";
import { type OptimizerConfig, resolveOptimizerConfig } from "../optim/index.js";
import { CliError } from "./errors.js";
import { InputRefusal, inputCap, MAX_TEXT_INPUT, readCapped } from "./files.js";
import { readTensorBoard, type TagChoice, tensorBoardFiles } from "./tensorboard.js";

/**
 * Reads what `diagnose` is given: an `overshoot run --json` result, an `overshoot train --log`
 * JSONL file, or a CSV training log with a loss column — Keras' CSVLogger (`epoch,loss,…`, one row
 * an epoch) or PyTorch Lightning's CSVLogger `metrics.csv` (training and validation rows
 * interleaved, each leaving the other's cells empty).
 *
 * What a careful reader does with a log it did not write: an empty cell is a missing value (that
 * row carries no loss), a cell that is not a number is refused with its row and column, a last
 * line cut off by an interrupted write is dropped and reported, a log continued from an earlier
 * step (a resumed or restarted run appending to it) keeps the newest records of each step, and a
 * file past MAX_LOG_BYTES, or one that is not text, is refused as it is read, not after.
 */
export interface Log {
  readonly records: LogRecord[];
  readonly format: string;
  /** What one record is: Keras logs an epoch a row. */
  readonly unit: "step" | "epoch";
  /** What was skipped or repaired while reading, one sentence each. */
  readonly notes: string[];
}

export const MAX_LOG_BYTES = MAX_TEXT_INPUT;

export function readLog(path: string, maxBytes = inputCap("text"), tags: TagChoice = {}): Log {
  // TensorBoard: an event file, or a folder of runs (tensorboard.ts).
  const events = tensorBoardFiles(path);
  if (events) return { ...readTensorBoard(path, tags, events), unit: "step" };
  if (tags.loss !== undefined || tags.lr !== undefined || tags.gradNorm !== undefined)
    throw new CliError(
      `--loss-tag, --lr-tag and --grad-norm-tag choose a TensorBoard log's scalars; ${path} is not one`,
    );
  const text = readText(path, maxBytes);
  const trimmed = text.trim();
  if (trimmed === "") throw new CliError(`invalid log: ${path} is empty`);
  if (trimmed.startsWith("{")) {
    let whole: unknown = null;
    try {
      whole = JSON.parse(trimmed);
    } catch {
      // not one JSON document: JSON lines below
    }
    if (whole && typeof whole === "object" && !Array.isArray(whole) && "trace" in whole)
      return {
        records: fromRunJson(whole as Record<string, unknown>, path),
        format: "overshoot run --json",
        unit: "step",
        notes: [],
      };
    return fromJsonLines(text, path);
  }
  return fromCsv(text, path);
}

/** The file's text (readCapped): refused past the cap or as soon as it shows itself binary. */
function readText(path: string, maxBytes: number): string {
  try {
    return readCapped(path, "text", maxBytes).toString("utf8");
  } catch (e) {
    if (e instanceof InputRefusal) {
      if (e.kind === "not-text")
        throw new CliError(`invalid log: ${path} is ${e.detail}; give a JSON lines or CSV log`);
      if (e.kind === "too-big")
        throw new CliError(
          `invalid log: ${path} is larger than ${fmtBytes(maxBytes)}; diagnose its last part (tail -n 100000 ${path} > last.log, with the CSV header line first), or raise the limit with --max-input MiB`,
        );
      throw new CliError(`cannot read ${path}: ${e.detail}`);
    }
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

const fmtBytes = (n: number) => (n >= 2 ** 20 ? `${n / 2 ** 20} MiB` : `${n} bytes`);

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A logged number: a JSON number, or text in decimal notation or NaN / ±inf / ±Infinity (how
 * Python, Keras and our JSON write non-finite values); anything else — "abc", 0x10, 0b11 — is
 * undefined, for the caller to refuse with its place. An empty cell is null: missing.
 */
function logNumber(v: unknown): number | null | undefined {
  if (typeof v === "number") return v;
  if (v === null) return null;
  if (typeof v !== "string") return undefined;
  const t = v.trim();
  if (t === "") return null;
  if (DECIMAL.test(t)) return Number(t);
  const name = t.toLowerCase();
  if (name === "nan" || name === "+nan" || name === "-nan") return Number.NaN;
  if (["inf", "+inf", "infinity", "+infinity"].includes(name)) return Number.POSITIVE_INFINITY;
  if (name === "-inf" || name === "-infinity") return Number.NEGATIVE_INFINITY;
  return undefined;
}

/**
 * A JSON line as Python's json module writes it (allow_nan, its default): the bare tokens NaN,
 * Infinity and -Infinity outside strings become the strings "NaN", "Infinity", "-Infinity", which
 * logNumber reads. Anything else is left for JSON.parse to judge.
 */
export function pythonJsonTokens(line: string): string {
  if (!/NaN|Infinity/.test(line)) return line;
  let out = "";
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inString) {
      out += c;
      if (c === "\\") out += line[++i] ?? "";
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    const token = /^(-?Infinity|NaN)(?![\w$])/.exec(line.slice(i, i + 10));
    if (token && !/[\w$.]/.test(line[i - 1] ?? "")) {
      out += `"${token[1]}"`;
      i += token[1]!.length - 1;
      continue;
    }
    out += c;
  }
  return out;
}

function fromJsonLines(text: string, path: string): Log {
  const lines = text.split(/\r?\n/);
  let last = lines.length - 1;
  while (last >= 0 && lines[last]!.trim() === "") last--;
  const notes: string[] = [];
  const records: LogRecord[] = [];
  for (let i = 0; i <= last; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    let o: unknown;
    try {
      o = JSON.parse(pythonJsonTokens(line));
    } catch (e) {
      // Only a last line without its newline is a cut write; any other bad line is refused.
      if (i === last && !/\n\s*$/.test(text)) {
        notes.push(
          `the last line (line ${i + 1}, ${JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line)}) is cut off, as an interrupted write leaves it: read the ${plural(records.length, "record")} before it`,
        );
        break;
      }
      throw new CliError(
        `invalid log: ${path} line ${i + 1} is not JSON (${(e as Error).message}); each line must be one record`,
      );
    }
    if (!o || typeof o !== "object" || Array.isArray(o))
      throw new CliError(`invalid log: ${path} line ${i + 1} is not a JSON object (one record a line)`);
    records.push(normalize(o as Record<string, unknown>, records.length, `${path} line ${i + 1}`));
  }
  return { records: supersede(records, notes), format: "JSON lines", unit: "step", notes };
}

/**
 * A log appended to by a resumed or restarted run goes back to an earlier step: the records from
 * that step on were superseded by the new ones (a restart from 0 supersedes all of them). A guard's
 * rollback goes back too, by design: its intervention record is kept and the rolled-back records
 * are dropped without a note.
 */
function supersede(records: LogRecord[], notes: string[]): LogRecord[] {
  let out: LogRecord[] = [];
  let dropped = 0;
  let restarts = 0;
  let rollback = false;
  for (const r of records) {
    if (r.intervention) {
      out.push(r);
      rollback = true;
      continue;
    }
    let k = out.length;
    while (k > 0 && (out[k - 1]!.intervention || out[k - 1]!.step >= r.step)) k--;
    const gone = out.slice(k).filter((o) => !o.intervention);
    if (gone.length > 0) {
      out = [...out.slice(0, k), ...out.slice(k).filter((o) => o.intervention)];
      if (!rollback) {
        restarts++;
        dropped += gone.length;
      }
    }
    rollback = false;
    out.push(r);
  }
  if (restarts > 0)
    notes.push(
      `the log goes back to an earlier step ${restarts} time${restarts === 1 ? "" : "s"} (a resumed or restarted run appended to it): the newest record of each step is used, ${dropped} earlier one${dropped === 1 ? "" : "s"} dropped`,
    );
  return out;
}

function normalize(o: Record<string, unknown>, index: number, where: string): LogRecord {
  if (!("loss" in o))
    throw new CliError(`invalid log: ${where} has no "loss" (fields: ${Object.keys(o).join(", ")})`);
  // JavaScript's JSON.stringify (TF.js, a Node trainer) writes NaN and ±Infinity as null: a loss
  // of null is a loss that was not finite.
  if (o["loss"] === null) o = { ...o, loss: Number.NaN };
  const num = (k: string): number => {
    const v = logNumber(o[k]);
    if (v === undefined || v === null)
      throw new CliError(`invalid log: ${where}: "${k}" is ${JSON.stringify(o[k])}, not a number`);
    return v;
  };
  const opt = (k: string) => (o[k] === undefined || o[k] === null ? {} : { [k]: num(k) });
  return {
    step: o["step"] !== undefined ? num("step") : index,
    loss: num("loss"),
    ...opt("trainLoss"),
    ...opt("lr"),
    ...opt("gradNorm"),
    ...opt("sharpness"),
    ...opt("twoOverLr"),
    ...opt("preconditionedSharpness"),
    ...opt("bound"),
    ...(Array.isArray(o["inactive"])
      ? { inactive: (o["inactive"] as unknown[]).map((v) => logNumber(v) ?? Number.NaN) }
      : {}),
    ...(o["intervention"] && typeof o["intervention"] === "object"
      ? { intervention: o["intervention"] as NonNullable<LogRecord["intervention"]> }
      : {}),
  };
}

interface RunStep {
  step: number;
  x: unknown[];
  loss: unknown;
  grad: unknown[];
  lr?: number;
}

/** A run's trace, with the secant curvature of each step beside the optimizer's limit r₁/η. */
function fromRunJson(run: Record<string, unknown>, path: string): LogRecord[] {
  const trace = run["trace"];
  const isStep = (t: unknown): t is RunStep =>
    !!t &&
    typeof t === "object" &&
    typeof (t as RunStep).step === "number" &&
    Array.isArray((t as RunStep).x) &&
    Array.isArray((t as RunStep).grad) &&
    (t as RunStep).x.length === (t as RunStep).grad.length;
  if (!Array.isArray(trace) || !trace.every(isStep))
    throw new CliError(
      `invalid log: ${path} has a "trace" that is not a list of steps ({step, x, loss, grad} each, as overshoot run --json writes)`,
    );
  let config: OptimizerConfig;
  try {
    config = resolveOptimizerConfig(run["optimizer"] as never);
  } catch (e) {
    throw new CliError(
      `invalid log: ${path} has an optimizer overshoot does not know (${(e as Error).message})`,
    );
  }
  const r1 = config.name === "sgd" ? criticalLearningRate({ ...config, lr: 1, weightDecay: 0 }, 1).lr : null;
  const value = (v: unknown, what: string, step: number): number => {
    const n = logNumber(v);
    if (n === undefined || n === null)
      throw new CliError(`invalid log: ${path}, step ${step}: ${what} is ${JSON.stringify(v)}, not a number`);
    return n;
  };
  return trace.map((t, k) => {
    const next = trace[k + 1] as RunStep | undefined;
    const lr = t.lr ?? config.lr;
    const base: LogRecord = { step: t.step, loss: value(t.loss, "the loss", t.step), lr };
    if (!next || r1 === null || next.x.length !== t.x.length) return base;
    let num = 0;
    let den = 0;
    for (let i = 0; i < t.x.length; i++) {
      const dx = value(next.x[i], "x", next.step) - value(t.x[i], "x", t.step);
      num += (value(next.grad[i], "the gradient", next.step) - value(t.grad[i], "the gradient", t.step)) * dx;
      den += dx * dx;
    }
    return den > 0 && Number.isFinite(num)
      ? { ...base, curvature: num / den, curvatureLimit: r1 / lr }
      : base;
  });
}

/** The first header name matching one of the tests, in the order of the tests. */
function column(header: readonly string[], ...tests: ((h: string) => boolean)[]): number {
  for (const test of tests) {
    const j = header.findIndex((h) => test(h.toLowerCase()));
    if (j >= 0) return j;
  }
  return -1;
}

function fromCsv(text: string, path: string): Log {
  let rows: string[][];
  try {
    rows = parseCsv(text, path);
  } catch (e) {
    throw new CliError((e as Error).message.replace(/^invalid data:/, "invalid log:"));
  }
  const header = rows[0]!.map((h) => h.trim());
  const validation = (h: string) => /^(val|valid|validation|test)[_/-]/.test(h);
  // The training loss: Keras' `loss`, Lightning's `train_loss` (`train_loss_step` when logged per
  // step and per epoch), else any other *_loss that is not a validation or test loss.
  const lossCol = column(
    header,
    (h) => h === "loss",
    (h) => h === "train_loss" || h === "train/loss",
    (h) => /^train[_/]loss_step$/.test(h),
    (h) => /(^|[_/])loss(_step)?$/.test(h) && !validation(h),
    (h) => /(^|[_/])loss_epoch$/.test(h) && !validation(h),
  );
  if (lossCol < 0)
    throw new CliError(`invalid log: ${path} has no loss column (columns: ${header.join(", ")})`);
  // Lightning writes both `epoch` and `step`: the step is the finer clock.
  const stepCol = column(
    header,
    (h) => h === "step" || h === "global_step",
    (h) => h === "iteration" || h === "iter",
    (h) => h === "epoch",
  );
  const unit = stepCol >= 0 && header[stepCol]!.toLowerCase() === "epoch" ? "epoch" : "step";
  // Keras' `lr`, `learning_rate`; Lightning's LearningRateMonitor writes `lr-SGD`, `lr-Adam`, …
  const lrCol = column(
    header,
    (h) => h === "lr" || h === "learning_rate",
    (h) => /^lr[-_]/.test(h),
  );
  // The gradient's norm: grad_norm, gradient_norm, Lightning's grad_2.0_norm_total, …
  const gradCol = column(
    header,
    (h) => h === "grad_norm" || h === "gradient_norm" || h === "gradnorm",
    (h) => /^grad_2(\.0)?_norm_total$/.test(h),
    (h) => /(^|[_/])(total_)?grad(ient)?_norm(_total)?$/.test(h) && !validation(h),
  );
  const notes: string[] = [];
  const records: LogRecord[] = [];
  let lr: number | undefined;
  let noLoss = 0;
  const cell = (r: readonly string[], j: number, row: number): number | null => {
    const v = logNumber(r[j]!);
    if (v === undefined)
      throw new CliError(
        `invalid log: ${path} row ${row}, column ${header[j]}: '${r[j]!.trim()}' is not a number (write numbers in decimal, NaN or inf; leave a cell empty when there is no value)`,
      );
    return v;
  };
  for (let i = 1; i < rows.length; i++) {
    const r = rows[i]!;
    const row = i + 1; // as a spreadsheet numbers it, the header being row 1
    if (r.length !== header.length) {
      if (i === rows.length - 1 && r.length < header.length && !/\n$/.test(text)) {
        notes.push(
          `the last row (row ${row}) is cut off (${r.length} of ${plural(header.length, "cell")}), as an interrupted write leaves it: read the rows before it`,
        );
        break;
      }
      throw new CliError(
        `invalid log: ${path} row ${row} has ${r.length} cell${r.length === 1 ? "" : "s"} but the header has ${header.length}`,
      );
    }
    const rowLr = lrCol >= 0 ? cell(r, lrCol, row) : null;
    if (rowLr !== null) lr = rowLr;
    const loss = cell(r, lossCol, row);
    if (loss === null) {
      noLoss++;
      continue;
    }
    const step = stepCol >= 0 ? cell(r, stepCol, row) : null;
    const g = gradCol >= 0 ? cell(r, gradCol, row) : null;
    records.push({
      step: step ?? records.length,
      loss,
      ...(lr !== undefined ? { lr } : {}),
      ...(g !== null ? { gradNorm: g } : {}),
    });
  }
  if (noLoss > 0)
    notes.push(
      `${noLoss} row${noLoss === 1 ? "" : "s"} without a ${header[lossCol]} (validation or learning-rate rows of an interleaved log) skipped`,
    );
  const format =
    header.some((h) => validation(h.toLowerCase())) && noLoss > 0
      ? "CSV, training and validation rows"
      : "CSV";
  return { records: supersede(records, notes), format, unit, notes };
}
