import type { Objective } from "../core/objective.js";
import type { OptimizerConfig } from "../optim/index.js";
import { boundJson } from "../run/divergence.js";
import type { RunResult, StepRecord } from "../run/index.js";

/** Version of the JSON layout below; bumped on any change to a field's name or meaning. */
export const JSON_VERSION = 1;

/** A number in JSON: non-finite values become the strings "NaN", "Infinity", "-Infinity". */
export type JsonNumber = number | "NaN" | "Infinity" | "-Infinity";

export function jsonNumber(v: number): JsonNumber {
  if (Number.isFinite(v)) return v;
  return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

function jsonVector(v: ArrayLike<number>): JsonNumber[] {
  return Array.from(v, jsonNumber);
}

export interface RunJson {
  version: number;
  objective: {
    expression?: string;
    name?: string;
    parameters?: Readonly<Record<string, unknown>>;
    dim: number;
    names: string[];
  };
  optimizer: Record<string, unknown>;
  x0: JsonNumber[];
  steps: number;
  tolerance: number;
  trace: {
    step: number;
    x: JsonNumber[];
    loss: JsonNumber;
    grad: JsonNumber[];
    gradNorm: JsonNumber;
    deltaLoss?: JsonNumber;
    firstOrder?: JsonNumber;
    secondOrder?: JsonNumber;
    lr?: number;
  }[];
  verdict: {
    status: string;
    atStep: number | null;
    reason: string;
    catapult?: { peakLoss: number; peakStep: number };
  };
  /** The blow-up bound the verdict used (run/divergence.ts). */
  bound: ReturnType<typeof boundJson>;
}

/** How the objective was given, as every JSON output names it. */
export function objectiveJson(objective: Objective): RunJson["objective"] {
  const d = objective.description;
  return {
    ...(d.kind === "expression"
      ? { expression: d.expression }
      : { name: d.name, ...(d.parameters ? { parameters: d.parameters } : {}) }),
    dim: objective.dim,
    names: [...objective.names],
  };
}

/** One step record in the documented JSON form (README, "JSON output"). */
export function recordJson(r: StepRecord): RunJson["trace"][number] {
  return {
    step: r.step,
    x: jsonVector(r.x),
    loss: jsonNumber(r.loss),
    grad: jsonVector(r.grad),
    gradNorm: jsonNumber(r.gradNorm),
    ...(r.deltaLoss === undefined ? {} : { deltaLoss: jsonNumber(r.deltaLoss) }),
    ...(r.firstOrder === undefined ? {} : { firstOrder: jsonNumber(r.firstOrder) }),
    ...(r.secondOrder === undefined ? {} : { secondOrder: jsonNumber(r.secondOrder) }),
    ...(r.lr === undefined ? {} : { lr: r.lr }),
  };
}

/** The fields of a run's JSON that come before its trace (known before the first step). */
export function runJsonHead(
  objective: Objective,
  run: { optimizer: OptimizerConfig; x0: ArrayLike<number>; steps: number; tolerance: number },
): Omit<RunJson, "trace" | "verdict" | "bound"> {
  return {
    version: JSON_VERSION,
    objective: objectiveJson(objective),
    optimizer: { ...run.optimizer },
    x0: jsonVector(Float64Array.from(run.x0)),
    steps: run.steps,
    tolerance: run.tolerance,
  };
}

/** The documented JSON form of a run (README, "JSON output"); field names are the library's. */
export function runToJson(objective: Objective, result: RunResult): RunJson {
  return {
    ...runJsonHead(objective, result),
    trace: result.trace.map(recordJson),
    verdict: { ...result.verdict },
    bound: boundJson(result.bound),
  };
}

/** The CSV header of a trace: step, one column per coordinate of x and ∇f, then the loss changes. */
export function csvHeader(objective: Objective): string {
  const names = objective.names;
  return [
    "step",
    ...names.map((n) => csvName(n)),
    "loss",
    ...names.map((n) => csvName(`grad_${n}`)),
    "gradNorm",
    "deltaLoss",
    "firstOrder",
    "secondOrder",
  ].join(",");
}

/** One record as a CSV row under csvHeader. */
export function csvRow(r: StepRecord): string {
  const cell = (v: number | undefined): string => (v === undefined ? "" : String(v));
  return [
    r.step,
    ...Array.from(r.x, cell),
    cell(r.loss),
    ...Array.from(r.grad, cell),
    cell(r.gradNorm),
    cell(r.deltaLoss),
    cell(r.firstOrder),
    cell(r.secondOrder),
  ].join(",");
}

/** The trace as CSV: one row per record, one column per coordinate of x and ∇f. */
export function runToCsv(objective: Objective, result: RunResult): string {
  return `${[csvHeader(objective), ...result.trace.map(csvRow)].join("\n")}\n`;
}

function csvName(name: string): string {
  return /[",\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name;
}
