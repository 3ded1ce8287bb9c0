import { parseRateChanges, parseSchedule, type Schedule, scheduleWithChanges } from "../optim/schedule.js";
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
