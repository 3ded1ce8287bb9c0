import { checkHyperChanges, type HyperChange, parseHyperChanges } from "../optim/hyper.js";
import { parseRateChanges, parseSchedule, type Schedule, scheduleWithChanges } from "../optim/schedule.js";
import type { OptimizerConfig } from "../optim/types.js";
import type { ParsedFlags } from "./args.js";
import { CliError } from "./errors.js";
import { flagMessage } from "./flag-tables.js";

/**
 * The rate of each step from --schedule and --lr-changes (run and train), or undefined for a
 * constant rate: the schedule's shape on the base rate `lr`, which moves at each change's step.
 * Errors are one line naming the flag and the form it takes.
 */
export function scheduleFromFlags(flags: ParsedFlags, lr: number): Schedule | undefined {
  const text = flags["schedule"] as string | undefined;
  const changesText = flags["lrChanges"] as string | undefined;
  let spec = null;
  try {
    spec = text === undefined ? null : parseSchedule(text);
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
  let changes: ReturnType<typeof parseRateChanges> = [];
  try {
    changes = parseRateChanges(changesText ?? "");
  } catch (e) {
    throw new CliError(`invalid --lr-changes: ${(e as Error).message}`);
  }
  return spec === null && changes.length === 0 ? undefined : scheduleWithChanges(spec, lr, changes);
}

/** --hyper-changes (run): momentum, a beta or alpha set at given steps, checked against the optimizer; [] when absent. */
export function hyperChangesFromFlags(flags: ParsedFlags, optimizer: OptimizerConfig["name"]): HyperChange[] {
  try {
    const changes = parseHyperChanges((flags["hyperChanges"] as string | undefined) ?? "");
    checkHyperChanges(optimizer, changes);
    return changes;
  } catch (e) {
    throw new CliError(`invalid --hyper-changes: ${(e as Error).message}`);
  }
}
