// Curvature: Hessian-vector products, Lanczos / power / Hutchinson, the density by stochastic
// Lanczos quadrature, per-layer blocks, minibatch sharpness, preconditioned sharpness.

export {
  type BlockCurvature,
  blockCurvature,
  blockOperator,
  layerBlocks,
  type ParameterBlock,
  type Trace,
  traceOf,
} from "./blocks.js";
export {
  type DensityCurve,
  type DensityOptions,
  densityCurve,
  densityMeasure,
  type Measure,
  type QuadratureProbe,
  quadrature,
  type SpectralDensity,
  spectralDensity,
  wasserstein1,
} from "./density.js";
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
export { type MinibatchCurvature, minibatchCurvature } from "./minibatch.js";
export {
  type Preconditioning,
  preconditionedOperator,
  preconditioning,
  type SharpnessRecord,
  sharpnessAlongRun,
} from "./preconditioned.js";
export { objectiveBlocks, type SpectrumOptions, type SpectrumReport, spectrumAt } from "./spectrum.js";
