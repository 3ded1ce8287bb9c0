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
