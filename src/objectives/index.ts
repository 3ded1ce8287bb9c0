export { type BuiltinObjective, beale, booth, himmelblau, rastrigin, rosenbrock } from "./builtins.js";
export {
  type CompileOptions,
  compileExpression,
  EXPRESSION_FUNCTIONS,
  ExpressionError,
  type ExpressionObjective,
  MAX_EXPRESSION_DEPTH,
  MAX_EXPRESSION_LENGTH,
} from "./expression.js";
export { type QuadraticObjective, quadratic, quadraticFromEigenvalues } from "./quadratic.js";
export {
  BUILTIN_NAMES,
  type BuiltinName,
  createObjective,
  isBuiltinName,
  type ObjectiveSpec,
} from "./registry.js";
export type { Objective, ObjectiveDescription } from "./types.js";
