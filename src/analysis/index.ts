export { type CriticalRate, criticalLearningRate, optimalGdStep, optimalHeavyBall } from "./critical.js";
export { type CriticalSearch, criticalLrSearch } from "./critical-search.js";
export {
  type Detection,
  type DetectionState,
  type DetectorOptions,
  DivergenceDetector,
  detectInTrace,
  type Observation,
} from "./detector.js";
export { type Cause, type Diagnosis, diagnose, type LogRecord } from "./diagnose.js";
export { lrRangeTest, type RangePoint, type RangeTest, type RangeTestOptions } from "./find-lr.js";
export { type GuardedResult, type GuardOptions, guardedRun, type Intervention } from "./guard.js";
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
export { type StabilityOptions, type StabilityReport, stabilityAt } from "./stability.js";
export {
  type CellResult,
  type CellStatus,
  type Grid,
  parseGrid,
  type SweepCell,
  sweepCell,
} from "./sweep.js";
export { defaultWorkers, runSweep, type SweepJob, SweepPool, type SweepRunOptions } from "./sweep-pool.js";
export {
  divergenceThreshold,
  type ProbeOutcome,
  probe,
  type ThresholdCriteria,
  type ThresholdResult,
} from "./threshold.js";
export { type TrainConfig, type TrainRecord, type TrainResult, train } from "./train.js";
