export {
  iterateRun,
  type RunConfig,
  type RunResult,
  run,
  runSummarized,
  Stepper,
  type StepperState,
  type SummarizedRun,
  validateRun,
} from "./runner.js";
export { TraceSummary, type TraceView, viewOf } from "./summary.js";
export type { StepRecord, Verdict, VerdictStatus } from "./types.js";
export { type JudgeContext, judge, judgeView } from "./verdict.js";
