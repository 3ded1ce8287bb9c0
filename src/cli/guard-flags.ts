import { GUARD_ACTIONS, type GuardAction } from "../analysis/training/guard.js";
import type { ParsedFlags } from "./args.js";
import { CliError } from "./errors.js";

// Its own module, not flags.ts: flags.ts is loaded at start-up by every command, the guard only
// by run and train.

/**
 * --guard-action and --rollback-steps (run, train): what the guard does, checked against --guard
 * and each other. Empty when neither is given.
 */
export function guardActionFromFlags(
  flags: ParsedFlags,
  guarded: boolean,
): { action?: GuardAction; rollbackSteps?: number } {
  const actionName = flags["guardAction"] as string | undefined;
  const rollbackSteps = flags["rollbackSteps"] as number | undefined;
  if ((actionName !== undefined || rollbackSteps !== undefined) && !guarded)
    throw new CliError(
      `--${actionName !== undefined ? "guard-action" : "rollback-steps"} sets the guard: add --guard`,
    );
  if (actionName !== undefined && !(GUARD_ACTIONS as readonly string[]).includes(actionName))
    throw new CliError(`invalid --guard-action: ${actionName} (${GUARD_ACTIONS.join(", ")})`);
  if (rollbackSteps !== undefined && actionName !== "rollback-skip")
    throw new CliError("--rollback-steps is rollback-skip's: add --guard-action rollback-skip");
  if (rollbackSteps !== undefined && (!Number.isInteger(rollbackSteps) || rollbackSteps < 1))
    throw new CliError(`invalid --rollback-steps: ${rollbackSteps} (a whole number ≥ 1)`);
  return {
    ...(actionName !== undefined ? { action: actionName as GuardAction } : {}),
    ...(rollbackSteps !== undefined ? { rollbackSteps } : {}),
  };
}
