import type { Objective } from "../core/objective.js";
import { compileExpression } from "./expression.js";
import { createObjectiveWith, type ObjectiveSpec } from "./spec.js";

export { BUILTIN_NAMES, type BuiltinName, isBuiltinName, type ObjectiveSpec } from "./spec.js";

/**
 * The objective a spec names. Options that do not apply to it are refused rather than ignored,
 * so a typo in intent (say, --eigenvalues with an expression) is never a silent wrong answer.
 */
export function createObjective(spec: ObjectiveSpec): Objective {
  return createObjectiveWith(spec, compileExpression);
}
