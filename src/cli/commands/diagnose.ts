import {
  type DataProblem,
  graphProblem,
  measureSteps,
  mlpProblem,
  modelProblem,
} from "../../analysis/diagnosis/data-causes.js";
import { type Diagnosis, diagnose, type ProblemEvidence } from "../../analysis/diagnosis/diagnose.js";
import { fmt } from "../../core/format.js";
import { runStoppable } from "../../core/stoppable.js";
import type { GraphObjective } from "../../nn/objective.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { commandFlags, type FlagSpecs, flagHelp, type ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import {
  BLOW_UP_FLAG,
  flagMessage,
  HELP_FLAG,
  LOG_TAG_FLAGS,
  OBJECTIVE_FLAGS,
  OPTIMIZER_FLAGS,
  outputFlags,
} from "../flag-tables.js";
import {
  blowUpFromFlags,
  objectiveWithSourceFromFlags,
  optimizerFromFlags,
  requireStart,
  wholeFlag,
} from "../flags.js";
import type { Io } from "../io.js";
import { type Log, readLog } from "../logs.js";
import { LongWork } from "../progress.js";

const {
  f: _f,
  vars: _v,
  matrix: _m,
  eigenvalues: _e,
  rotate: _r,
  linear: _l,
  dim: _d,
  ...DATA_FLAGS
} = OBJECTIVE_FLAGS;

export const DIAGNOSE_FLAGS: FlagSpecs = {
  ...DATA_FLAGS,
  ...OPTIMIZER_FLAGS,
  "batch-size": {
    type: "number",
    value: "B",
    help: "with --data: the run's minibatch size, to measure minibatch noise (omit for full batch)",
  },
  "noise-batches": {
    type: "number",
    value: "N",
    help: "with --batch-size: the minibatches sampled for their curvature (default 256; fewer is faster and coarser)",
  },
  ...LOG_TAG_FLAGS,
  ...BLOW_UP_FLAG,
  ...outputFlags({ json: "the diagnosis" }),
  ...HELP_FLAG,
};

export const DIAGNOSE_HELP = `overshoot diagnose — why did this run blow up?

Reads an 'overshoot run --json' result, an 'overshoot train --log' JSONL file (Python's json and
JavaScript's JSON.stringify too), a CSV training log with a loss column (Keras' CSVLogger, a row an
epoch; PyTorch Lightning's metrics.csv, its training, validation and lr rows interleaved), or a
TensorBoard log (an events.out.tfevents.* file, or a folder of runs: PyTorch's SummaryWriter,
Lightning's TensorBoardLogger, Keras' TensorBoard callback), and names the cause with the numbers that show
it and the fix: curvature overshoot, an adaptive optimizer past its bound, a bad initialization,
float32 overflow, hidden units that died or saturated (from the inactive fractions train logs) —
or, from a loss column alone, what can and cannot be known. A run diverged when a loss is not
finite or passes the blow-up bound 1e6 × the log's first loss (--blow-up to change it).

Given the run's data and model too (--data …, the same flags as run/train), it also measures the
two causes a log cannot show, at the run's start point: unscaled inputs (each feature's scale, the
condition number and the critical learning rate before and after standardizing) and, with
--batch-size, minibatch gradient noise (full-batch against minibatch curvature at the run's rate,
and the gradient noise scale tr(Σ)/‖G‖²).

Usage: overshoot diagnose FILE [--json]
       overshoot diagnose FILE --data DATA [--target COL --model linear|logistic|mlp …] --lr η [--batch-size B]

Examples:
  overshoot diagnose run.jsonl
  overshoot diagnose cars-run.json --data cars.csv --target mpg --features year,acceleration --lr 1e-3

${flagHelp(DIAGNOSE_FLAGS)}`;

export async function diagnoseCommand(argv: readonly string[], io: Io): Promise<number> {
  const parsed = commandFlags(
    argv,
    { name: "diagnose", flags: DIAGNOSE_FLAGS, help: DIAGNOSE_HELP, takes: 1 },
    io,
  );
  if (!parsed) return 0;
  const { flags, positionals } = parsed;
  if (positionals.length !== 1)
    throw new CliError("give one log file: overshoot diagnose FILE (see overshoot diagnose --help)");
  const tags = {
    ...(flags["lossTag"] !== undefined ? { loss: flags["lossTag"] as string } : {}),
    ...(flags["lrTag"] !== undefined ? { lr: flags["lrTag"] as string } : {}),
    ...(flags["gradNormTag"] !== undefined ? { gradNorm: flags["gradNormTag"] as string } : {}),
  };
  const { records, format, unit, notes } = readLog(positionals[0]!, undefined, tags);
  const blowUp = blowUpFromFlags(flags);
  const { stopped, ...measured } =
    flags["data"] !== undefined ? await measureProblem(flags, records, io) : { stopped: false };
  const problem = { ...measured, ...(blowUp !== undefined ? { blowUp } : {}) };
  if (flags["data"] === undefined) {
    const stray = ["batchSize", "noiseBatches", "target", "model", "lr"].find((k) => flags[k] !== undefined);
    if (stray !== undefined)
      throw new CliError(
        `--${stray.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} describes the run's problem: add --data (see overshoot diagnose --help)`,
      );
  }
  let d: Diagnosis;
  try {
    d = diagnose(records, problem, unit);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (flags["json"]) {
    io.out(
      `${JSON.stringify({ format, unit, records: records.length, notes, ...d, measured: { ...problem, stopped } }, null, 2)}\n`,
    );
    return stoppedExit(stopped, io);
  }
  io.out(`${positionals[0]} (${format}, ${records.length} ${unit}s)\n`);
  for (const n of notes) io.out(`note: ${n}\n`);
  io.out("\n");
  io.out(`cause: ${d.cause}\n${d.summary}\n`);
  for (const e of d.evidence) io.out(`  · ${e}\n`);
  io.out(`fix: ${d.fix}\n`);
  if (d.unknowable) io.out(`cannot tell: ${d.unknowable}\n`);
  return stoppedExit(stopped, io);
}

function stoppedExit(stopped: boolean, io: Io): number {
  if (!stopped) return 0;
  io.err(
    "overshoot: the measurements were stopped by Ctrl-C: the diagnosis uses those finished (the log, and the findings it names)\n",
  );
  return 130;
}

/**
 * The problem the flags rebuild must be the one the log is of: where the log carries the loss on
 * every training row at step 0 (train --log does), this model on these data from this start must
 * give it (to 1e-6 relative: the same float64 computation, a float32 run's rounding within it).
 * Otherwise the measurements would describe another run, silently.
 */
function sameRun(records: Log["records"], startLoss: number, data: string): void {
  const first = records.find((r) => !r.intervention && r.step === 0);
  const logged = first?.trainLoss;
  if (logged === undefined || !Number.isFinite(logged)) return;
  if (Math.abs(logged - startLoss) <= 1e-6 * Math.max(Math.abs(logged), Math.abs(startLoss))) return;
  throw new CliError(
    `--data ${data} is not the log's run: the log's loss on every training row at step 0 is ${fmt(logged)}, this model on these data from its start gives ${fmt(startLoss)} — give the flags of the run that wrote the log (its data, model, --seed or --init), or drop --data to read the log alone`,
  );
}

/**
 * The run's problem rebuilt from the flags, and what it shows about scaling and minibatch noise:
 * minutes on a large net (hundreds of Lanczos runs), so with its estimate, progress and Ctrl-C.
 */
async function measureProblem(
  flags: ParsedFlags,
  records: Log["records"],
  io: Io,
): Promise<ProblemEvidence & { readonly stopped: boolean }> {
  const { objective, source } = objectiveWithSourceFromFlags(flags);
  if (source.kind === "spec")
    throw new CliError("diagnose --data needs a model on data (linear, logistic or mlp), not an expression");
  const start = Float64Array.from(requireStart(flags, objective, "init"));
  const logged = records.find((r) => r.lr !== undefined)?.lr;
  const lr = (flags["lr"] as number | undefined) ?? logged;
  if (lr === undefined)
    throw new CliError("missing --lr (the run's learning rate; the log does not carry it)");
  let optimizer: ReturnType<typeof resolveOptimizerConfig>;
  try {
    optimizer = resolveOptimizerConfig({ ...optimizerFromFlags({ ...flags, lr }), lr });
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
  const problem: DataProblem =
    source.kind === "model"
      ? modelProblem(source.model, source.design, source.source, start)
      : source.kind === "graph"
        ? graphProblem(objective as GraphObjective, source.data, source.inputShape, start)
        : mlpProblem(source.spec, source.data, start);
  const batch = flags["batchSize"] as number | undefined;
  if (batch !== undefined && source.kind === "graph" && (objective as GraphObjective).graph.couplesRows)
    throw new CliError(
      "diagnose --batch-size on a model with BatchNorm in training mode: the gradient noise needs each row's own gradient, which batch statistics do not define; drop --batch-size, or measure with --batch-norm eval",
    );
  if (batch !== undefined && (!Number.isInteger(batch) || batch < 1 || batch > problem.rows))
    throw new CliError(
      `invalid --batch-size: ${batch} (a whole number from 1 to the ${problem.rows} training rows)`,
    );
  const batches = wholeFlag(flags, "noiseBatches", 1, 100_000);
  if (batches !== undefined && batch === undefined)
    throw new CliError("--noise-batches sets how many minibatches measure the noise: add --batch-size");
  // The flags checked, then the data against the log, before anything is measured.
  sameRun(records, objective.value(start), flags["data"] as string);
  const noise =
    batch !== undefined && batch < problem.rows
      ? { batchSize: batch, ...(batches !== undefined ? { batches } : {}) }
      : undefined;
  // A line per phase: the full-batch curvature in Lanczos steps, then the minibatches.
  const tty = io.isTTY && Boolean(process.stderr.isTTY);
  const phaseWork = (unit: string, total: number, approximate: boolean) =>
    new LongWork(total, unit, io.err, tty, {
      approximate,
      display: io.progress !== false,
      stopping: "after the Hessian-vector product under way",
    });
  let phase: "curvature" | "minibatches" = "curvature";
  let work = phaseWork("Lanczos step", 600, true);
  let stop = false;
  try {
    const steps = measureSteps(problem, optimizer, noise, (now, done, total) => {
      if (now !== phase) {
        stop ||= work.stopRequested;
        work.finish();
        phase = now;
        work = phaseWork("minibatch", total, false);
      }
      work.tick(done, total);
    });
    const { value } = await runStoppable(steps, () => stop || work.stopRequested);
    return { lr, ...value };
  } finally {
    work.finish();
  }
}
