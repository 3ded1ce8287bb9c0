// Thresholds: stability per optimizer, the critical-rate search, the LR range test, sweeps.
export { type CriticalRate, criticalLearningRate, optimalGdStep, optimalHeavyBall } from "./critical.js";
export { type CriticalSearch, criticalLrSearch } from "./critical-search.js";
export {
  fastaiSuggestions,
  lrRangeTest,
  type RangePoint,
  type RangeTest,
  type RangeTestOptions,
} from "./find-lr.js";
export { type Recommendation, recommendLr, type TrialRun } from "./recommend.js";
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
export {
  type Boundary,
  explainTraining,
  type RateOutcome,
  serialEvaluator,
  type TrainingSearch,
  type TrainingSearchOptions,
  trainingCriteria,
  trainingLrSearch,
} from "./training-search.js";
