import { extname } from "node:path";
import { detectInTrace } from "../../analysis/training/detector.js";
import { type GuardedResult, guardedRun } from "../../analysis/training/guard.js";
import { parseSchedule, resolveOptimizerConfig, schedule } from "../../optim/index.js";
import { describeObjective, describePoint } from "../../report/describe.js";
import { runToCsv, runToJson } from "../../report/json.js";
import { traceTable } from "../../report/table.js";
import { type RunResult, run } from "../../run/index.js";
import { type FlagSpecs, flagHelp, parseFlags } from "../args.js";
import { CliError } from "../errors.js";
import { checkWritable, writeFileAtomic } from "../files.js";
import {
  flagMessage,
  OBJECTIVE_FLAGS,
  OPTIMIZER_FLAGS,
  objectiveFromFlags,
  optimizerFromFlags,
  requireStart,
} from "../flags.js";
import type { Io } from "../io.js";
import { renderRunFigure } from "../plot.js";

export const RUN_FLAGS: FlagSpecs = {
  ...OBJECTIVE_FLAGS,
  x0: { type: "numbers", value: "X", help: "start point, e.g. -1 or -1.2,1 (in variable order)" },
  ...OPTIMIZER_FLAGS,
  steps: { type: "number", value: "N", help: "step budget (default 50)" },
  tolerance: { type: "number", value: "T", help: "converged when ‖∇f‖ ≤ T (default 1e-10)" },
  json: { type: "boolean", help: "print the run as JSON (see README, 'JSON output')" },
  csv: { type: "string", value: "FILE", help: "write the trace as CSV" },
  detect: { type: "boolean", help: "early divergence warning (on; --detect=false to turn off)" },
  guard: {
    type: "boolean",
    help: "roll back to the last good state and lower the rate when divergence is detected",
  },
  "guard-every": {
    type: "number",
    value: "N",
    help: "guard: steps between good-state snapshots (default 10)",
  },
  "max-retries": { type: "number", value: "N", help: "guard: rollbacks before giving up (default 5)" },
  schedule: {
    type: "string",
    value: "NAME:ARGS",
    help: "learning-rate schedule: step:S,G exp:G cosine:T[,MIN] warmup:W onecycle:T[,PCT] (default constant)",
  },
  plot: {
    type: "string",
    value: "FILE.svg|FILE.png",
    help: "chart: loss per step, and the path for 1-D/2-D objectives",
  },
  help: { type: "boolean", help: "show this help" },
};

export const RUN_HELP = `overshoot run — iterate an optimizer on a function and say what happened

Usage: overshoot run --f EXPR --x0 X --lr η [options]

Example: overshoot run --f "x^2" --x0 -1 --lr 1.125 --steps 20 --plot run.svg

${flagHelp(RUN_FLAGS)}`;

export async function runCommand(argv: readonly string[], io: Io): Promise<number> {
  const { flags, positionals } = parseFlags(argv, RUN_FLAGS, "run");
  if (flags["help"]) {
    io.out(`${RUN_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(
      `unexpected argument '${positionals[0]}' (options start with --; see overshoot run --help)`,
    );
  const objective = objectiveFromFlags(flags);
  const optimizer = optimizerFromFlags(flags);
  const x0 = requireStart(flags, objective);
  const steps = (flags["steps"] as number | undefined) ?? 50;
  const plot = flags["plot"] as string | undefined;
  const csv = flags["csv"] as string | undefined;
  if (plot !== undefined) {
    const ext = extname(plot).toLowerCase();
    if (ext !== ".svg" && ext !== ".png")
      throw new CliError(`invalid --plot: ${plot} (the file name must end in .svg or .png)`);
    checkWritable(plot, "--plot");
  }
  if (csv !== undefined) checkWritable(csv, "--csv");

  let result: RunResult;
  let guarded: GuardedResult | null = null;
  try {
    const scheduleText = flags["schedule"] as string | undefined;
    const lrSchedule =
      scheduleText === undefined
        ? undefined
        : schedule(parseSchedule(scheduleText), resolveOptimizerConfig(optimizer).lr);
    const runConfig = {
      objective,
      optimizer,
      x0,
      steps,
      ...(lrSchedule ? { schedule: lrSchedule } : {}),
      ...(flags["tolerance"] !== undefined ? { tolerance: flags["tolerance"] as number } : {}),
    };
    if (flags["guard"]) {
      const keepEvery = flags["guardEvery"] as number | undefined;
      const maxRetries = flags["maxRetries"] as number | undefined;
      if (keepEvery !== undefined && (!Number.isInteger(keepEvery) || keepEvery < 1))
        throw new CliError(`invalid --guard-every: ${keepEvery} (a whole number ≥ 1)`);
      if (maxRetries !== undefined && (!Number.isInteger(maxRetries) || maxRetries < 0))
        throw new CliError(`invalid --max-retries: ${maxRetries} (a whole number ≥ 0)`);
      guarded = guardedRun(runConfig, {
        ...(keepEvery !== undefined ? { keepEvery } : {}),
        ...(maxRetries !== undefined ? { maxRetries } : {}),
      });
      result = guarded;
    } else result = run(runConfig);
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }

  if (csv !== undefined) writeFileAtomic(csv, runToCsv(objective, result));
  if (plot !== undefined) {
    const bytes = await renderRunFigure(
      objective,
      [{ label: `η = ${result.optimizer.lr}`, result }],
      extname(plot).toLowerCase() === ".png" ? "png" : "svg",
    );
    writeFileAtomic(plot, bytes);
  }

  // Early warning, on by default: when would the detector have fired, before the verdict's end?
  const detection = guarded
    ? guarded.detection
    : flags["detect"] === false
      ? null
      : detectInTrace(result.trace, result.optimizer);
  const guardJson = guarded
    ? { guard: { status: guarded.guardStatus, interventions: guarded.interventions } }
    : {};
  if (flags["json"]) {
    const json = runToJson(objective, result);
    io.out(`${JSON.stringify({ ...json, ...(detection ? { detection } : {}), ...guardJson }, null, 2)}\n`);
  } else {
    const what = describeObjective(objective);
    io.out(
      `${what}, ${result.optimizer.name} with lr ${result.optimizer.lr}, from ${describePoint(result.x0)}\n\n`,
    );
    io.out(`${traceTable(objective, result.trace)}\n\n`);
    for (const i of guarded?.interventions ?? []) {
      io.out(
        `guard: at step ${i.atStep}, rolled back to step ${i.rolledBackTo} — ${i.reason}; lr ${i.oldLr} → ${Number(i.newLr.toPrecision(4))} (${i.how})\n`,
      );
    }
    if (guarded?.guardStatus === "gave-up")
      io.out(
        `guard: gave up after ${guarded.interventions.length} rollbacks (--max-retries); the run stops here.\n`,
      );
    if (guarded && guarded.interventions.length > 0) io.out("\n");
    if (!guarded && detection?.firstWarningStep != null)
      io.out(`warning at step ${detection.firstWarningStep}: diverging — ${detection.reason}\n\n`);
    else if (detection?.state === "edge-of-stability")
      io.out(`note: edge of stability — ${detection.reason}\n\n`);
    io.out(
      `verdict: ${result.verdict.status}${result.verdict.atStep === null ? "" : ` at step ${result.verdict.atStep}`}\n${result.verdict.reason}\n`,
    );
    if (csv !== undefined) io.out(`wrote ${csv}\n`);
    if (plot !== undefined) io.out(`wrote ${plot}\n`);
  }
  return 0;
}
