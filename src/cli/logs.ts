import { readFileSync } from "node:fs";
import type { LogRecord } from "../analysis/diagnosis/diagnose.js";
import { criticalLearningRate } from "../analysis/thresholds/critical.js";
import { parseCsv } from "../objectives/table.js";
import { type OptimizerConfig, resolveOptimizerConfig } from "../optim/index.js";
import { CliError } from "./errors.js";

/**
 * Reads what `diagnose` is given: an `overshoot run --json` result, an `overshoot train --log`
 * JSONL file, or a CSV training log with a loss column (Keras' CSVLogger writes `epoch,loss,…`).
 */
export function readLog(path: string): { records: LogRecord[]; format: string } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed === "") throw new CliError(`invalid log: ${path} is empty`);
  if (trimmed.startsWith("{")) {
    const lines = trimmed.split(/\r?\n/).filter((l) => l.trim() !== "");
    let whole: unknown = null;
    try {
      whole = JSON.parse(trimmed);
    } catch {
      // not one JSON document: JSON lines below
    }
    if (whole && typeof whole === "object" && "trace" in whole)
      return { records: fromRunJson(whole as RunJson, path), format: "overshoot run --json" };
    try {
      return {
        records: lines.map((l) => normalize(JSON.parse(l) as Record<string, unknown>)),
        format: "JSON lines",
      };
    } catch (e) {
      if (e instanceof CliError) throw e;
      throw new CliError(
        `invalid log: ${path} is neither a JSON document with a trace nor JSON lines (${(e as Error).message})`,
      );
    }
  }
  return { records: fromCsv(text, path), format: "CSV" };
}

const number = (v: unknown): number => {
  if (typeof v === "number") return v;
  if (typeof v === "string") {
    const t = v.trim().toLowerCase();
    if (t === "nan") return Number.NaN;
    if (t === "inf" || t === "infinity" || t === "+inf") return Number.POSITIVE_INFINITY;
    if (t === "-inf" || t === "-infinity") return Number.NEGATIVE_INFINITY;
    return t === "" ? Number.NaN : Number(t);
  }
  return Number.NaN;
};

function normalize(o: Record<string, unknown>, index = 0): LogRecord {
  if (!("loss" in o))
    throw new CliError(`invalid log: a record has no "loss" (fields: ${Object.keys(o).join(", ")})`);
  const opt = (k: string) => (o[k] === undefined ? {} : { [k]: number(o[k]) });
  return {
    step: o["step"] !== undefined ? number(o["step"]) : index,
    loss: number(o["loss"]),
    ...opt("lr"),
    ...opt("sharpness"),
    ...opt("twoOverLr"),
    ...opt("preconditionedSharpness"),
    ...opt("bound"),
    ...(Array.isArray(o["inactive"]) ? { inactive: (o["inactive"] as unknown[]).map(number) } : {}),
    ...(o["intervention"] && typeof o["intervention"] === "object"
      ? { intervention: o["intervention"] as NonNullable<LogRecord["intervention"]> }
      : {}),
  };
}

interface RunJson {
  optimizer: Record<string, unknown>;
  trace: { step: number; x: unknown[]; loss: unknown; grad: unknown[]; lr?: number }[];
}

/** A run's trace, with the secant curvature of each step beside the optimizer's limit r₁/η. */
function fromRunJson(run: RunJson, path: string): LogRecord[] {
  let config: OptimizerConfig;
  try {
    config = resolveOptimizerConfig(run.optimizer as never);
  } catch (e) {
    throw new CliError(
      `invalid log: ${path} has an optimizer overshoot does not know (${(e as Error).message})`,
    );
  }
  const r1 = config.name === "sgd" ? criticalLearningRate({ ...config, lr: 1, weightDecay: 0 }, 1).lr : null;
  return run.trace.map((t, k) => {
    const next = run.trace[k + 1];
    const lr = t.lr ?? config.lr;
    const base: LogRecord = { step: t.step, loss: number(t.loss), lr };
    if (!next || r1 === null) return base;
    let num = 0;
    let den = 0;
    for (let i = 0; i < t.x.length; i++) {
      const dx = number(next.x[i]) - number(t.x[i]);
      num += (number(next.grad[i]) - number(t.grad[i])) * dx;
      den += dx * dx;
    }
    return den > 0 && Number.isFinite(num)
      ? { ...base, curvature: num / den, curvatureLimit: r1 / lr }
      : base;
  });
}

function fromCsv(text: string, path: string): LogRecord[] {
  const rows = parseCsv(text, path);
  const header = rows[0]!.map((h) => h.trim());
  const lossCol =
    header.findIndex((h) => h.toLowerCase() === "loss") >= 0
      ? header.findIndex((h) => h.toLowerCase() === "loss")
      : header.findIndex((h) => /(^|_)loss$/i.test(h) && !/^val/i.test(h));
  if (lossCol < 0)
    throw new CliError(`invalid log: ${path} has no loss column (columns: ${header.join(", ")})`);
  const stepCol = header.findIndex((h) => ["step", "epoch", "iteration", "iter"].includes(h.toLowerCase()));
  return rows
    .slice(1)
    .map((r, i) => ({ step: stepCol >= 0 ? number(r[stepCol]) : i, loss: number(r[lossCol]) }));
}
