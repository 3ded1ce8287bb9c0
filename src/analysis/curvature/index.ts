// Curvature: Hessian-vector products, Lanczos / power / Hutchinson, preconditioned sharpness.
export { type HessianOperator, type HessianOperatorOptions, hessianOperator, matrixOperator } from "./hvp.js";
export {
  type EigenEstimate,
  hutchinsonTrace,
  type LanczosOptions,
  lanczos,
  type PowerOptions,
  powerIteration,
  type SpectrumEstimate,
  type TraceEstimate,
} from "./lanczos.js";
export {
  type Preconditioning,
  preconditionedOperator,
  preconditioning,
  type SharpnessRecord,
  sharpnessAlongRun,
} from "./preconditioned.js";
