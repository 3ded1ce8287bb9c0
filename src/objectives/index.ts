export type { Objective, ObjectiveDescription, TrivialBaseline } from "../core/objective.js";
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
export { type ModelName, type ModelObjective, modelObjective } from "./models.js";
export { type QuadraticObjective, quadratic, quadraticFromEigenvalues } from "./quadratic.js";
export {
  BUILTIN_NAMES,
  type BuiltinName,
  createObjective,
  isBuiltinName,
  type ObjectiveSpec,
} from "./registry.js";
export { type Compile, needsCompiler, type ObjectiveSource, objectiveFromSource } from "./source.js";
export { createObjectiveWith } from "./spec.js";
export { type LabelledSet, SYNTHETIC, type SyntheticName, splitRows, synthetic } from "./synthetic.js";
export { type Design, designFromTable, numericTable, parseCsv, type Table } from "./table.js";
