import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync, unlinkSync } from "node:fs";
import type { LogRecord } from "../../analysis/diagnosis/diagnose.js";
import { LogWatch, type WatchEvent } from "../../analysis/diagnosis/watch.js";
import { fmt } from "../../core/format.js";
import { OPTIMIZER_NAMES, type OptimizerConfig, resolveOptimizerConfig } from "../../optim/index.js";
import { commandFlags, type FlagSpecs, flagHelp } from "../args.js";
import { CliError } from "../errors.js";
import { checkWritable, writeFileAtomic } from "../files.js";
import { BLOW_UP_FLAG, HELP_FLAG, LOG_TAG_FLAGS } from "../flag-tables.js";
import { blowUpFromFlags } from "../flags.js";
import type { Io } from "../io.js";
import { readLog } from "../logs.js";
import { tensorBoardFiles } from "../tensorboard.js";

/** The exit code of a watch that saw the run diverging (or diverged). */
export const DIVERGING_EXIT = 3;

export const WATCH_FLAGS: FlagSpecs = {
  interval: { type: "number", value: "S", help: "seconds between reads of the log (default 1)" },
  idle: {
    type: "number",
    value: "S",
    help: "stop following, exit 0, after S seconds without a new record once the log has one (default: follow until the run diverges or Ctrl-C)",
  },
  "signal-file": {
    type: "string",
    value: "FILE",
    help: "on divergence write FILE (JSON: step, loss, reason), atomically, for the training loop to poll",
  },
  "on-diverge": {
    type: "string",
    value: "CMD",
    help: "on divergence run CMD in the shell, with OVERSHOOT_STEP, OVERSHOOT_LOSS, OVERSHOOT_REASON and OVERSHOOT_LOG set",
  },
  "act-on": {
    type: "string",
    value: "WHEN",
    help: "warning: act on the detector's warning, before the loss gets there (default); diverged: only once the loss is past the bound or not finite",
  },
  "keep-going": {
    type: "boolean",
    help: "do not exit on divergence: report it (and act on it) and follow on, through a recovery or a restart",
  },
  optimizer: {
    type: "string",
    value: "NAME",
    help: `the run's optimizer, ${OPTIMIZER_NAMES.join("|")} (default sgd): an adaptive one's loss cannot grow geometrically step to step, and is read so`,
  },
  momentum: { type: "number", value: "β", help: "sgd: the run's momentum (default 0)" },
  ...LOG_TAG_FLAGS,
  ...BLOW_UP_FLAG,
  json: { type: "boolean", help: "print each event as a line of JSON" },
  ...HELP_FLAG,
};

export const WATCH_HELP = `overshoot watch — follow a training log as it grows and say when the run starts to diverge

Reads the log every --interval seconds, as diagnose reads it — a JSON lines log (one record a
step, {"step": …, "loss": …, "lr": …}: what a three-line PyTorch loop or Keras callback writes;
Python's NaN and Infinity tokens too), a CSV log (Keras' CSVLogger, Lightning's metrics.csv) or a
TensorBoard log (an event file, or a folder of runs) — and runs the divergence detector on each
new record: the loss alone projected to the blow-up bound, 1e6 × the first loss (--blow-up to
change it). It prints a line for each event: the edge of stability, a catapult that came back,
a restart, and a run diverging, each with its reason. The log need not exist yet.

When the run starts to diverge — the detector's warning, or a loss past the bound or not finite
(--act-on diverged waits for that) — watch writes --signal-file, runs --on-diverge, and exits with
code ${DIVERGING_EXIT} (--keep-going follows on).
Otherwise it follows until --idle seconds pass without a new record (exit 0; counted from the
first record) or Ctrl-C (exit 130).
A bad log or flag is one line and exit 2.

Usage: overshoot watch LOG [--signal-file FILE] [--on-diverge CMD] [--idle S] [--optimizer adam]

Examples:
  overshoot watch train.jsonl --signal-file stop.json   # the loop stops when stop.json appears
  overshoot watch lightning_logs/ --on-diverge 'kill -INT $TRAINER_PID'
  overshoot watch metrics.csv --idle 600 --json

${flagHelp(WATCH_FLAGS)}`;

/** What the signal file holds; `overshoot: "watch"` marks it as ours, to be replaced by the next watch. */
interface Signal {
  readonly overshoot: "watch";
  readonly log: string;
  readonly state: string;
  readonly step: number;
  readonly loss: number | string;
  readonly reason: string;
  readonly time: string;
}

export async function watchCommand(argv: readonly string[], io: Io): Promise<number> {
  const parsed = commandFlags(argv, { name: "watch", flags: WATCH_FLAGS, help: WATCH_HELP, takes: 1 }, io);
  if (!parsed) return 0;
  const { flags, positionals } = parsed;
  if (positionals.length !== 1)
    throw new CliError("give one log to follow: overshoot watch LOG (see overshoot watch --help)");
  const path = positionals[0]!;
  const interval = seconds(flags, "interval", 1, 0.01, 3600);
  const idle = flags["idle"] === undefined ? null : seconds(flags, "idle", 0, 0.1, 365 * 86400);
  const blowUp = blowUpFromFlags(flags);
  const optimizer = optimizerOf(flags);
  const tags = {
    ...(flags["lossTag"] !== undefined ? { loss: flags["lossTag"] as string } : {}),
    ...(flags["lrTag"] !== undefined ? { lr: flags["lrTag"] as string } : {}),
    ...(flags["gradNormTag"] !== undefined ? { gradNorm: flags["gradNormTag"] as string } : {}),
  };
  const signalFile = flags["signalFile"] as string | undefined;
  const command = flags["onDiverge"] as string | undefined;
  if (command !== undefined && command.trim() === "")
    throw new CliError(
      "invalid --on-diverge: an empty command (give a shell command, e.g. 'kill -INT 1234')",
    );
  const keepGoing = flags["keepGoing"] === true;
  const actOn = (flags["actOn"] as string | undefined) ?? "warning";
  if (actOn !== "warning" && actOn !== "diverged")
    throw new CliError(`invalid --act-on: ${actOn} (warning or diverged)`);
  const json = flags["json"] === true;
  // The output's place is checked before anything is followed; a signal file of an earlier watch is
  // replaced (a training loop polling it would stop at once), anything else there is refused.
  if (signalFile !== undefined) prepareSignalFile(signalFile, io);

  const watch = new LogWatch({ optimizer, ...(blowUp !== undefined ? { blowUp } : {}) });
  const line = (o: Record<string, unknown>, text: string) =>
    io.out(json ? `${JSON.stringify(o)}\n` : `${text}\n`);
  const stop = stopSignal(io.signal);
  let waiting = "";
  let failure: { fingerprint: string; message: string } | null = null;
  let lastFingerprint: string | null = null;
  /** When the last new record was read (null until the first: a trainer may load for minutes before it logs). */
  let lastNew: number | null = null;
  let format = "";
  let outcome: "diverging" | "idle" | "interrupted" = "interrupted";
  try {
    for (;;) {
      const fingerprint = fingerprintOf(path);
      if (fingerprint !== lastFingerprint) {
        lastFingerprint = fingerprint;
        const read = readNow(path, tags);
        if ("waiting" in read) {
          failure = null;
          if (read.waiting !== waiting) {
            waiting = read.waiting;
            line({ event: "waiting", log: path, text: waiting }, `waiting: ${waiting}`);
          }
        } else if ("error" in read) {
          // A writer caught mid-write can leave a log that reads as bad for a moment: the same
          // error on the same bytes twice is the log's, and is refused.
          if (failure && failure.fingerprint === fingerprint && failure.message === read.error)
            throw new CliError(read.error);
          failure = { fingerprint, message: read.error };
          lastFingerprint = null;
        } else {
          failure = null;
          waiting = "";
          // Said once: a CSV's format name can grow a clause as rows arrive ("training and validation rows").
          if (format === "") {
            format = read.format;
            line(
              { event: "following", log: path, format },
              `following ${path} (${format}); blow-up bound ${fmt(blowUp ?? 1e6)} × the first loss`,
            );
          }
          const before = watch.records;
          const events = watch.feed(read.records);
          if (watch.records !== before || events.length > 0) lastNew = Date.now();
          for (const e of events) line({ event: e.kind, ...e, loss: jsonNumber(e.loss) }, eventText(e));
          // The run turning to `diverging` is the event acted on (once an episode: a recovery and a
          // new warning act again under --keep-going).
          const diverging = events.find((e) =>
            actOn === "diverged" ? e.pastBound : e.kind === "state" && e.state === "diverging",
          );
          if (diverging) {
            await act(diverging, { path, signalFile, command, io, line });
            if (!keepGoing) {
              outcome = "diverging";
              break;
            }
          }
        }
      }
      if (idle !== null && lastNew !== null && Date.now() - lastNew >= idle * 1000) {
        outcome = "idle";
        break;
      }
      if (await stop.within(interval * 1000)) break;
    }
  } finally {
    stop.dispose();
  }
  const d = watch.detection;
  const summary = {
    event: "end",
    reason: outcome,
    records: watch.records,
    state: watch.reportedState,
    firstWarningStep: d.firstWarningStep,
  };
  if (outcome === "diverging") {
    line(summary, `the run is diverging: exit ${DIVERGING_EXIT}`);
    return DIVERGING_EXIT;
  }
  const seen = `${watch.records} record${watch.records === 1 ? "" : "s"} read, state ${watch.reportedState}${d.firstWarningStep !== null ? `, first warning at step ${d.firstWarningStep}` : ""}`;
  if (outcome === "idle") {
    line(summary, `no new record in ${fmt(idle!)} s: stopped following (${seen})`);
    return 0;
  }
  line(summary, `stopped (Ctrl-C or SIGTERM; ${seen})`);
  return 130;
}

/** A number of seconds from a flag, within [min, max]. */
function seconds(
  flags: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = flags[key] as number | undefined;
  if (v === undefined) return fallback;
  if (!(v >= min && v <= max))
    throw new CliError(
      `invalid --${key}: ${v} (seconds, from ${min} to ${max >= 86400 ? `${max / 86400} days` : max})`,
    );
  return v;
}

function optimizerOf(flags: Record<string, unknown>): OptimizerConfig | { name: string } {
  const name = (flags["optimizer"] as string | undefined) ?? "sgd";
  const momentum = flags["momentum"] as number | undefined;
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(name))
    throw new CliError(`invalid --optimizer: ${name} (valid: ${OPTIMIZER_NAMES.join(", ")})`);
  if (name !== "sgd") {
    if (momentum !== undefined) throw new CliError("--momentum is sgd's: drop it, or say --optimizer sgd");
    return { name };
  }
  if (momentum !== undefined && !(momentum >= 0 && momentum < 1))
    throw new CliError(`invalid --momentum: ${momentum} (from 0 to below 1)`);
  return resolveOptimizerConfig({ name: "sgd", lr: 1, ...(momentum !== undefined ? { momentum } : {}) });
}

/**
 * What changes when the log grows: a file's size and time, a folder's event files' names, sizes
 * and times. The log is read again only when it changed.
 */
function fingerprintOf(path: string): string {
  try {
    const s = statSync(path);
    if (!s.isDirectory()) return `${s.size}:${s.mtimeMs}:${s.ino}`;
    return `folder:${(tensorBoardFiles(path) ?? [])
      .map((f) => {
        const e = statSync(f);
        return `${f}:${e.size}:${e.mtimeMs}`;
      })
      .join("|")}`;
  } catch {
    return "missing";
  }
}

type Read = { waiting: string } | { error: string } | { records: LogRecord[]; format: string };

/** The log as it is now: its records, or why there are none yet, or what is wrong with it. */
function readNow(path: string, tags: { loss?: string; lr?: string }): Read {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return { waiting: `${path} does not exist yet` };
  }
  if (!stat.isDirectory() && !stat.isFile())
    return {
      error: `invalid log: ${path} is not a file or a folder (a device or a pipe is not a log watch can re-read)`,
    };
  if (stat.isDirectory() && tensorBoardFiles(path) === null)
    return { waiting: `no TensorBoard event files (events.out.tfevents.*) in ${path} yet` };
  if (!stat.isDirectory() && stat.size === 0) return { waiting: `${path} is empty so far` };
  try {
    const log = readLog(path, undefined, tags);
    if (log.records.length === 0) return { waiting: `no record with a loss in ${path} yet` };
    return { records: log.records, format: log.format };
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    // A TensorBoard run that has written other scalars, not yet its loss.
    if (/no loss scalar/.test(e.message) && tags.loss === undefined)
      return {
        waiting: `no loss scalar in ${path} yet (${e.message.replace(/^.*\(tags: /, "tags: ").replace(/\);.*$/, "")})`,
      };
    return { error: e.message };
  }
}

/** Refuses a --signal-file that is not ours; removes one an earlier watch left. */
function prepareSignalFile(file: string, io: Io): void {
  checkWritable(file, "--signal-file");
  if (!existsSync(file)) return;
  let ours = false;
  try {
    const o = JSON.parse(readFileSync(file, "utf8")) as unknown;
    ours = !!o && typeof o === "object" && (o as { overshoot?: unknown }).overshoot === "watch";
  } catch {
    // not JSON: not ours
  }
  if (!ours)
    throw new CliError(
      `--signal-file ${file} exists and is not a signal an overshoot watch wrote: remove it or give another name (a training loop polling it would stop at once)`,
    );
  unlinkSync(file);
  io.err(`removed ${file}, the signal of an earlier watch\n`);
}

/** On divergence: the signal file, then the command, each reported on one line. */
async function act(
  e: WatchEvent,
  ctx: {
    path: string;
    signalFile: string | undefined;
    command: string | undefined;
    io: Io;
    line: (o: Record<string, unknown>, text: string) => void;
  },
): Promise<void> {
  if (ctx.signalFile !== undefined) {
    const signal: Signal = {
      overshoot: "watch",
      log: ctx.path,
      state: e.state,
      step: e.step,
      loss: jsonNumber(e.loss),
      reason: e.text,
      time: new Date().toISOString(),
    };
    writeFileAtomic(ctx.signalFile, `${JSON.stringify(signal, null, 2)}\n`);
    ctx.line({ event: "signal", file: ctx.signalFile, step: e.step }, `wrote ${ctx.signalFile}`);
  }
  if (ctx.command !== undefined) {
    const code = await runHook(ctx.command, e, ctx.path, ctx.io);
    ctx.line(
      { event: "on-diverge", command: ctx.command, exit: code },
      `ran --on-diverge: ${typeof code === "number" ? `exit ${code}` : code}`,
    );
  }
}

/** Runs the --on-diverge command in the shell; its output goes to standard error (stdout is watch's). */
function runHook(command: string, e: WatchEvent, path: string, io: Io): Promise<number | string> {
  return new Promise((done) => {
    const child = spawn(command, {
      shell: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        OVERSHOOT_STEP: String(e.step),
        OVERSHOOT_LOSS: String(e.loss),
        OVERSHOOT_REASON: e.text,
        OVERSHOOT_LOG: path,
      },
    });
    child.stdout.on("data", (b: Buffer) => io.err(b.toString()));
    child.stderr.on("data", (b: Buffer) => io.err(b.toString()));
    child.on("error", (err) => done(`could not start it (${err.message})`));
    child.on("close", (code, signal) => done(code ?? `killed by ${signal}`));
  });
}

/** A loss in JSON: a number, or "NaN" / "Infinity" / "-Infinity" as Python's json writes them. */
const jsonNumber = (v: number): number | string => (Number.isFinite(v) ? v : String(v));

function eventText(e: WatchEvent): string {
  const at = `step ${e.step}  loss ${fmt(e.loss)}${e.lr !== undefined ? `  lr ${fmt(e.lr)}` : ""}${e.gradNorm !== undefined ? `  ‖g‖ ${fmt(e.gradNorm)}` : ""}`;
  const what = {
    state: e.state,
    edge: "edge-of-stability",
    diverged: "diverged",
    restart: "restart",
    intervention: "guard",
  }[e.kind];
  return `${at}  ${what}: ${e.text}`;
}

/** Resolves `within(ms)` early, with true, once the session is told to end (the io's signal, or Ctrl-C / SIGTERM). */
function stopSignal(signal: AbortSignal | undefined): {
  within(ms: number): Promise<boolean>;
  dispose(): void;
} {
  let stopped = signal?.aborted ?? false;
  let wake: (() => void) | null = null;
  const onStop = () => {
    stopped = true;
    wake?.();
  };
  signal?.addEventListener("abort", onStop, { once: true });
  if (!signal) {
    process.on("SIGINT", onStop);
    process.on("SIGTERM", onStop);
  }
  return {
    within(ms) {
      if (stopped) return Promise.resolve(true);
      return new Promise((done) => {
        const timer = setTimeout(() => {
          wake = null;
          done(stopped);
        }, ms);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          done(true);
        };
      });
    },
    dispose() {
      signal?.removeEventListener("abort", onStop);
      process.off("SIGINT", onStop);
      process.off("SIGTERM", onStop);
    },
  };
}
