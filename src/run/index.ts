export {
  type BlowUpBound,
  blowUpBound,
  boundJson,
  boundText,
  DEFAULT_BLOW_UP_FACTOR,
  divergence,
  objectiveBound,
} from "./divergence.js";
export {
  iterateRun,
  type RunConfig,
  type RunResult,
  run,
  runSummarized,
  runSummarizedAsync,
  Stepper,
  type StepperState,
  type SummarizedRun,
  validateRun,
} from "./runner.js";
export { TraceSummary, type TraceView, viewOf } from "./summary.js";
export type { StepRecord, Verdict, VerdictStatus } from "./types.js";
export { atBaseline, type JudgeContext, judge, judgeView, STALLED_FRACTION } from "./verdict.js";
