import { DivergenceDetector } from "../../analysis/training/detector.js";
import { type GuardedResult, type GuardOptions, guardedRun } from "../../analysis/training/guard.js";
import type { Objective } from "../../core/objective.js";
import type { HyperChange } from "../../optim/hyper.js";
import { type OptimizerConfig, resolveOptimizerConfig } from "../../optim/index.js";
import { hyperWithSwitches, type OptimizerSwitch } from "../../optim/switches.js";
import { describeObjective, describePoint } from "../../report/describe.js";
import { csvHeader, csvRow, recordJson, runJsonHead, runToCsv, runToJson } from "../../report/json.js";
import { summaryTable, traceTable } from "../../report/table.js";
import { boundJson } from "../../run/divergence.js";
import {
  type RunConfig,
  runSummarizedAsync,
  type SummarizedRun,
  type Verdict,
  validateRun,
} from "../../run/index.js";
import { commandFlags, type FlagSpecs, flagHelp, type ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import {
  checkFigurePath,
  checkWritable,
  isStandardOutput,
  outputSink,
  reportIo,
  writeFileAtomic,
  writeOutput,
} from "../files.js";
import {
  BLOW_UP_FLAG,
  flagMessage,
  GUARD_FLAGS,
  HELP_FLAG,
  OBJECTIVE_FLAGS,
  OPTIMIZER_FLAGS,
  outputFlags,
  START_FLAG,
} from "../flag-tables.js";
import {
  blowUpFromFlags,
  guardFromFlags,
  objectiveFromFlags,
  optimizerFromFlags,
  requireStart,
} from "../flags.js";
import { guardActionFromFlags } from "../guard-flags.js";
import type { Io } from "../io.js";
import { renderRunFigure } from "../plot.js";
import { LongWork } from "../progress.js";
import { hyperChangesFromFlags, scheduleFromFlags, switchesFromFlags } from "../schedule-flags.js";

const MAX_GUARDED_STEPS = 1_000_000;

export const RUN_FLAGS: FlagSpecs = {
  ...OBJECTIVE_FLAGS,
  ...START_FLAG,
  ...OPTIMIZER_FLAGS,
  steps: { type: "number", value: "N", help: "step budget (default 50)" },
  tolerance: { type: "number", value: "T", help: "converged when ‖∇f‖ ≤ T (default 1e-10)" },
  ...outputFlags({ json: "the run", csv: "the trace" }),
  detect: { type: "boolean", help: "early divergence warning (on; --detect=false to turn off)" },
  ...BLOW_UP_FLAG,
  ...GUARD_FLAGS,
  "guard-action": {
    type: "string",
    value: "NAME",
    help: "guard: rollback (to the last good point, the rate capped; default), skip (pass over a step whose loss or ‖g‖ is > 6σ over the last 128, once a point), clip (ZClip: the gradient clipped adaptively), rollback-skip (back 100+ steps at the same rate)",
  },
  "rollback-steps": {
    type: "number",
    value: "N",
    help: "guard-action rollback-skip: how far back a rollback goes, at least (default 100)",
  },
  schedule: {
    type: "string",
    value: "NAME:ARGS",
    help: "learning-rate schedule: step:S,G exp:G cosine:T[,MIN] warmup:W onecycle:T[,PCT] (default constant)",
  },
  "lr-changes": {
    type: "string",
    value: "STEP:η,…",
    help: "the rate moved at those steps (as the lab's η moved while it ran): a new base rate from each step on, under --schedule's shape",
  },
  "hyper-changes": {
    type: "string",
    value: "STEP:KEY=V,…",
    help: "momentum, beta1, beta2 or alpha set to V from that step on, every buffer kept (as PyTorch's param_groups edited between steps; the lab's boxes moved while it ran), e.g. 40:momentum=0.5",
  },
  "optimizer-changes": {
    type: "string",
    value: "STEP:NAME,…",
    help: "another optimizer from that step on, fresh (no momentum or moments carried over), at the rate then in force (the lab's optimizer switched while it ran), e.g. 40:adam or 60:sgd:momentum=0.9; KEY=V sets momentum, beta1, beta2, alpha or nesterov (0/1)",
  },
  ...outputFlags({ plot: "the loss per step, and the path for 1-D/2-D objectives" }),
  ...HELP_FLAG,
};

export const RUN_HELP = `overshoot run — iterate an optimizer on a function and say what happened

Usage: overshoot run --f EXPR --x0 X --lr η [options]

Example: overshoot run --f "x^2" --x0 -1 --lr 1.125 --steps 20 --plot run.svg

${flagHelp(RUN_FLAGS)}`;

export async function runCommand(argv: readonly string[], terminal: Io): Promise<number> {
  let io = terminal;
  const parsed = commandFlags(argv, { name: "run", flags: RUN_FLAGS, help: RUN_HELP }, io);
  if (!parsed) return 0;
  const { flags } = parsed;
  const objective = objectiveFromFlags(flags);
  const optimizer = optimizerFromFlags(flags);
  const x0 = requireStart(flags, objective);
  const steps = (flags["steps"] as number | undefined) ?? 50;
  const plot = flags["plot"] as string | undefined;
  const csv = flags["csv"] as string | undefined;
  const format = plot !== undefined ? checkFigurePath(plot, "--plot") : "svg";
  if (csv !== undefined) checkWritable(csv, "--csv");
  // --csv - : the trace takes standard output, the report standard error.
  const streams = reportIo(io, csv, Boolean(flags["json"]));
  io = streams.report;

  const blowUp = blowUpFromFlags(flags);
  let runConfig: RunConfig;
  let config: OptimizerConfig;
  let hyperChanges: HyperChange[] = [];
  let switches: OptimizerSwitch[] = [];
  try {
    config = resolveOptimizerConfig(optimizer);
    const lrSchedule = scheduleFromFlags(flags, config.lr);
    switches = switchesFromFlags(flags);
    hyperChanges = hyperChangesFromFlags(flags, config.name, switches);
    runConfig = {
      objective,
      optimizer,
      x0,
      steps,
      ...(lrSchedule ? { schedule: lrSchedule } : {}),
      ...(hyperChanges.length > 0 ? { hyperChanges } : {}),
      ...(switches.length > 0 ? { optimizerChanges: switches } : {}),
      ...(flags["tolerance"] !== undefined ? { tolerance: flags["tolerance"] as number } : {}),
      ...(blowUp !== undefined ? { blowUp } : {}),
    };
    validateRun(runConfig);
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
  const guarded = guardFromFlags(flags);
  const actions = guardActionFromFlags(flags, guarded !== null);
  const guard = guarded ? { ...guarded, ...actions } : null;
  // The guard rolls back into its trace, so it keeps all of it (about 1 KB a step): bounded here
  // rather than by the heap, which would end the process with a native trace.
  if (guard && steps > MAX_GUARDED_STEPS)
    throw new CliError(
      `--guard keeps the whole trace in memory: at most ${MAX_GUARDED_STEPS.toLocaleString("en-US")} steps (got ${steps.toLocaleString("en-US")}); without --guard a run of any length streams in constant memory`,
    );
  if (guard) return guardedCommand(flags, io, objective, runConfig, plot, format, csv, streams.data, guard);

  // Everything streams: the trace goes to --json and --csv as it is made and into a summary
  // (head, tail, a thinned sample for --plot), so memory stays flat however many steps.
  const detector =
    flags["detect"] === false
      ? null
      : // Its first observation is f(x₀): the run's own bound, without evaluating f(x₀) again.
        new DivergenceDetector(config, {
          baseline: objective.baseline?.loss ?? null,
          ...(blowUp !== undefined ? { blowUp } : {}),
        });
  const csvFile = csv !== undefined ? outputSink(csv, streams.data) : null;
  const json = Boolean(flags["json"]);
  const tolerance = runConfig.tolerance ?? 1e-10;
  if (json) {
    const head = {
      ...runJsonHead(objective, { optimizer: config, x0, steps, tolerance }),
      ...(hyperChanges.length > 0 ? { hyperChanges } : {}),
      ...(switches.length > 0 ? { optimizerChanges: switches } : {}),
    };
    io.out(
      `{\n${Object.entries(head)
        .map(([k, v]) => jsonField(k, v))
        .join(",\n")},\n  "trace": [`,
    );
  }
  csvFile?.write(`${csvHeader(objective)}\n`);
  let records = 0;
  let result: SummarizedRun & { stopped: boolean };
  // A long run says how long, and Ctrl-C ends it with what was done written.
  const work = new LongWork(steps, "step", io.err, io.isTTY && Boolean(process.stderr.isTTY), {
    display: io.progress !== false,
  });
  try {
    result = await runSummarizedAsync(
      runConfig,
      (r) => {
        detector?.observe({ step: r.step, x: r.x, loss: r.loss, grad: r.grad, lr: r.lr ?? config.lr });
        // The step from this point is the switched optimizer's: read by its rule from here.
        if (switches.some((s) => s.step === r.step))
          detector?.setOptimizer(hyperWithSwitches(config, switches, [], r.step));
        if (json)
          io.out(
            `${records === 0 ? "" : ","}\n    ${JSON.stringify(recordJson(r), null, 2).replace(/\n/g, "\n    ")}`,
          );
        csvFile?.write(`${csvRow(r)}\n`);
        if ((++records & 4095) === 0) work.tick(r.step);
      },
      { stop: () => work.stopRequested },
    );
  } catch (e) {
    csvFile?.abort();
    throw e;
  } finally {
    work.finish();
  }
  csvFile?.commit();
  const stoppedNote = result.stopped
    ? `overshoot: stopped by Ctrl-C at step ${result.summary.last.step.toLocaleString("en-US")} of ${steps.toLocaleString("en-US")}: what is written holds the steps done\n`
    : "";
  if (plot !== undefined) {
    const bytes = await renderRunFigure(
      objective,
      [{ label: `η = ${result.optimizer.lr}`, result: { ...result, trace: result.summary.sample() } }],
      format,
    );
    writeFileAtomic(plot, bytes);
  }
  const detection = detector?.detection ?? null;
  if (json) {
    const tail = {
      verdict: { ...result.verdict },
      bound: boundJson(result.bound),
      ...(detection ? { detection } : {}),
    };
    io.out(
      `\n  ],\n${Object.entries(tail)
        .map(([k, v]) => jsonField(k, v))
        .join(",\n")}\n}\n`,
    );
    io.err(stoppedNote);
    return result.stopped ? 130 : 0;
  }
  io.out(
    `${describeObjective(objective)}, ${optimizerText(runConfig)}, from ${describePoint(result.x0)}\n\n`,
  );
  io.out(`${summaryTable(objective, result.summary)}\n\n`);
  if (detection?.firstWarningStep != null)
    io.out(`warning at step ${detection.firstWarningStep}: diverging — ${detection.reason}\n\n`);
  else if (detection?.state === "edge-of-stability")
    io.out(`note: edge of stability — ${detection.reason}\n\n`);
  io.out(verdictText(result.verdict));
  if (csv !== undefined && !isStandardOutput(csv)) io.out(`wrote ${csv}\n`);
  if (plot !== undefined) io.out(`wrote ${plot}\n`);
  io.err(stoppedNote);
  return result.stopped ? 130 : 0;
}

/** A top-level field of a JSON object as JSON.stringify(…, null, 2) would lay it out. */
function jsonField(key: string, value: unknown): string {
  return `  ${JSON.stringify(key)}: ${JSON.stringify(value, null, 2).replace(/\n/g, "\n  ")}`;
}

function verdictText(v: Verdict): string {
  return `verdict: ${v.status}${v.atStep === null ? "" : ` at step ${v.atStep}`}\n${v.reason}\n`;
}

/** run --guard: the guard keeps the whole trace (it rolls back into it), so it is not streamed. */
async function guardedCommand(
  flags: ParsedFlags,
  io: Io,
  objective: Objective,
  runConfig: RunConfig,
  plot: string | undefined,
  format: "svg" | "png",
  csv: string | undefined,
  data: (text: string) => void,
  guard: GuardOptions,
): Promise<number> {
  let guarded: GuardedResult;
  try {
    guarded = guardedRun(runConfig, guard);
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
  if (csv !== undefined) writeOutput(csv, runToCsv(objective, guarded), data);
  if (plot !== undefined) {
    const bytes = await renderRunFigure(
      objective,
      [{ label: `η = ${guarded.optimizer.lr}`, result: guarded }],
      format,
    );
    writeFileAtomic(plot, bytes);
  }
  const guardJson = {
    guard: {
      status: guarded.guardStatus,
      interventions: guarded.interventions,
      skipped: guarded.skipped,
      clipped: guarded.clipped,
    },
  };
  if (flags["json"]) {
    io.out(
      `${JSON.stringify({ ...runToJson(objective, guarded), bound: boundJson(guarded.bound), detection: guarded.detection, ...guardJson }, null, 2)}\n`,
    );
    return 0;
  }
  io.out(
    `${describeObjective(objective)}, ${optimizerText(runConfig)}, from ${describePoint(guarded.x0)}\n\n`,
  );
  io.out(`${traceTable(objective, guarded.trace)}\n\n`);
  for (const i of guarded.interventions) {
    io.out(
      `guard: at step ${i.atStep}, rolled back to step ${i.rolledBackTo} — ${i.reason}; lr ${i.oldLr} → ${Number(i.newLr.toPrecision(4))} (${i.how})\n`,
    );
  }
  for (const k of guarded.skipped) io.out(`guard: step ${k.step} skipped — ${k.reason}\n`);
  if (guarded.clipped > 0)
    io.out(
      `guard: the gradient was clipped at ${guarded.clipped} step${guarded.clipped === 1 ? "" : "s"} (ZClip)\n`,
    );
  if (guarded.guardStatus === "gave-up")
    io.out(
      `guard: gave up after ${guarded.interventions.length} rollbacks (--max-retries); the run stops here.\n`,
    );
  if (guarded.interventions.length + guarded.skipped.length + guarded.clipped > 0) io.out("\n");
  io.out(verdictText(guarded.verdict));
  if (csv !== undefined && !isStandardOutput(csv)) io.out(`wrote ${csv}\n`);
  if (plot !== undefined) io.out(`wrote ${plot}\n`);
  return 0;
}

/** "sgd with lr 0.001", and the optimizers it switched to: ", then adam from step 40". */
function optimizerText(config: RunConfig): string {
  const first = resolveOptimizerConfig(config.optimizer);
  const then = (config.optimizerChanges ?? []).map((s) => `${s.optimizer.name} from step ${s.step}`);
  return `${first.name} with lr ${first.lr}${then.length > 0 ? `, then ${then.join(", then ")}` : ""}`;
}
