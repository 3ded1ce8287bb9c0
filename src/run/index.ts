export { iterateRun, type RunConfig, type RunResult, run, Stepper, validateRun } from "./runner.js";
export type { StepRecord, Verdict, VerdictStatus } from "./types.js";
export { type JudgeContext, judge } from "./verdict.js";
