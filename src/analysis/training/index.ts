// Training: the train loop, the divergence detector, the guard.
export {
  type Detection,
  type DetectionState,
  type DetectorOptions,
  DivergenceDetector,
  detectInTrace,
  type Observation,
} from "./detector.js";
export { type GuardedResult, type GuardOptions, guardedRun, type Intervention } from "./guard.js";
export {
  finalTrainingLoss,
  isPause,
  type TrainConfig,
  type TrainPause,
  type TrainRecord,
  type TrainResult,
  train,
  trainToEnd,
} from "./train.js";
