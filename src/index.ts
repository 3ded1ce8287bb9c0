// The library's public surface: each layer's index lists its exports by name.
export * from "./core/index.js";
export type { Objective, ObjectiveDescription } from "./objectives/types.js";
export type { StepRecord, Verdict, VerdictStatus } from "./run/types.js";
