import type { Objective } from "../../../src/core/objective.js";
import { ExpressionError } from "../../../src/objectives/expression.js";
import { createObjective } from "../../../src/objectives/registry.js";

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
