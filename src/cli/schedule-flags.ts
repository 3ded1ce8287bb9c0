import { type HyperChange, parseHyperChanges } from "../optim/hyper.js";
import { parseRateChanges, parseSchedule, type Schedule, scheduleWithChanges } from "../optim/schedule.js";
import {
  checkChangesAgainstSwitches,
  type OptimizerSwitch,
  parseOptimizerSwitches,
} from "../optim/switches.js";
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

/** --optimizer-changes (run, train): another optimizer, fresh, from given steps on; [] when absent. */
export function switchesFromFlags(flags: ParsedFlags): OptimizerSwitch[] {
  try {
    return parseOptimizerSwitches((flags["optimizerChanges"] as string | undefined) ?? "");
  } catch (e) {
    throw new CliError(`invalid --optimizer-changes: ${(e as Error).message}`);
  }
}

/**
 * --hyper-changes (run, train): momentum, a beta or alpha set at given steps, each checked against
 * the optimizer in use at its step (the first, or the latest --optimizer-changes); [] when absent.
 */
export function hyperChangesFromFlags(
  flags: ParsedFlags,
  optimizer: OptimizerConfig["name"],
  switches: readonly OptimizerSwitch[] = [],
): HyperChange[] {
  try {
    const changes = parseHyperChanges((flags["hyperChanges"] as string | undefined) ?? "");
    checkChangesAgainstSwitches(optimizer, switches, changes);
    return changes;
  } catch (e) {
    throw new CliError(`invalid --hyper-changes: ${(e as Error).message}`);
  }
}
