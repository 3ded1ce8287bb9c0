export {
  iterateRun,
  type RunConfig,
  type RunResult,
  run,
  Stepper,
  type StepperState,
  validateRun,
} from "./runner.js";
export type { StepRecord, Verdict, VerdictStatus } from "./types.js";
export { type JudgeContext, judge } from "./verdict.js";
