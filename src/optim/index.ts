import { Adagrad } from "./adagrad.js";
import { Adam } from "./adam.js";
import { resolveOptimizerConfig } from "./config.js";
import { Rmsprop } from "./rmsprop.js";
import { Sgd } from "./sgd.js";
import type { Optimizer, OptimizerConfig, OptimizerOptions } from "./types.js";

export { OPTIMIZER_PARAMETERS, resolveOptimizerConfig } from "./config.js";
export * from "./types.js";

/** A fresh optimizer for `dim` parameters; options are resolved against PyTorch's defaults first. */
export function createOptimizer(options: OptimizerOptions | OptimizerConfig, dim: number): Optimizer {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`invalid dim: ${dim} (a whole number ≥ 1)`);
  const config = resolveOptimizerConfig(options);
  switch (config.name) {
    case "sgd":
      return new Sgd(config, dim);
    case "adam":
    case "adamw":
      return new Adam(config, dim);
    case "rmsprop":
      return new Rmsprop(config, dim);
    case "adagrad":
      return new Adagrad(config, dim);
  }
}
export { parseSchedule, SCHEDULE_NAMES, type Schedule, type ScheduleSpec, schedule } from "./schedule.js";
