import type { Objective } from "../objectives/types.js";
import type { RunResult } from "../run/index.js";

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

/** The documented JSON form of a run (README, "JSON output"); field names are the library's. */
export function runToJson(objective: Objective, result: RunResult): RunJson {
  return {
    version: JSON_VERSION,
    objective: objectiveJson(objective),
    optimizer: { ...result.optimizer },
    x0: jsonVector(result.x0),
    steps: result.steps,
    tolerance: result.tolerance,
    trace: result.trace.map((r) => ({
      step: r.step,
      x: jsonVector(r.x),
      loss: jsonNumber(r.loss),
      grad: jsonVector(r.grad),
      gradNorm: jsonNumber(r.gradNorm),
      ...(r.deltaLoss === undefined ? {} : { deltaLoss: jsonNumber(r.deltaLoss) }),
      ...(r.firstOrder === undefined ? {} : { firstOrder: jsonNumber(r.firstOrder) }),
      ...(r.secondOrder === undefined ? {} : { secondOrder: jsonNumber(r.secondOrder) }),
      ...(r.lr === undefined ? {} : { lr: r.lr }),
    })),
    verdict: { ...result.verdict },
  };
}

/** The trace as CSV: one row per record, one column per coordinate of x and ∇f. */
export function runToCsv(objective: Objective, result: RunResult): string {
  const names = objective.names;
  const header = [
    "step",
    ...names.map((n) => csvName(n)),
    "loss",
    ...names.map((n) => csvName(`grad_${n}`)),
    "gradNorm",
    "deltaLoss",
    "firstOrder",
    "secondOrder",
  ];
  const lines = [header.join(",")];
  for (const r of result.trace) {
    const cell = (v: number | undefined): string => (v === undefined ? "" : String(v));
    lines.push(
      [
        r.step,
        ...Array.from(r.x, cell),
        cell(r.loss),
        ...Array.from(r.grad, cell),
        cell(r.gradNorm),
        cell(r.deltaLoss),
        cell(r.firstOrder),
        cell(r.secondOrder),
      ].join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}

function csvName(name: string): string {
  return /[",\n]/.test(name) ? `"${name.replace(/"/g, '""')}"` : name;
}
