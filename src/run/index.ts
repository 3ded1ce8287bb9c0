export { iterateRun, run, validateRun, type RunConfig, type RunResult } from "./runner.js";
export { judge, type JudgeContext } from "./verdict.js";
export type { StepRecord, Verdict, VerdictStatus } from "./types.js";
