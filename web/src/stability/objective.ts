import type { Objective } from "../../../src/core/objective.js";
import { ExpressionError } from "../../../src/objectives/expression.js";
import { createObjective } from "../../../src/objectives/registry.js";
import { numericTable } from "../../../src/objectives/table.js";
import { type DataSpec, dataProblem } from "../data/model.js";

/**
 * What the stability panel sweeps: a function typed or named, or the user's CSV with a model on it
 * (the "your data" panel's problem: the file's text travels to the workers, never further).
 */
export type StabilitySource =
  | { readonly f: string }
  | { readonly data: { readonly text: string; readonly name: string; readonly spec: DataSpec } };

/** The stability panel's functions: any expression or built-in; "quadratic" is the bowl with λ = 1 and 20. */
export function stabilityObjective(text: string): Objective {
  const t = text.trim();
  if (t === "quadratic") return createObjective({ f: "quadratic", eigenvalues: [1, 20], rotate: 7 });
  try {
    return createObjective({ f: t });
  } catch (e) {
    if (e instanceof ExpressionError) throw e;
    throw new Error((e as Error).message);
  }
}

/** The objective of a source, and for a model on data its start (the model's initial weights). */
export function sourceObjective(source: StabilitySource): {
  objective: Objective;
  start: Float64Array | null;
} {
  if ("f" in source) return { objective: stabilityObjective(source.f), start: null };
  const { text, name, spec } = source.data;
  const problem = dataProblem(numericTable(text, name), name, spec);
  return { objective: problem.objective, start: problem.start };
}
