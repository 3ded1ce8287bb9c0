import { writeSync } from "node:fs";
import { kernelChoice } from "../nn/kernels/index.js";
import { CliError } from "./errors.js";
import { loadExpressionCompiler } from "./flags.js";
import type { Io } from "./io.js";
import { unknownMessage } from "./suggest.js";
import { forTerminal } from "./terminal.js";
import { overshootVersion } from "./version.js";

/** A command's help and handler, loaded when the command is used: start-up pays for one command only. */
interface Command {
  readonly help: string;
  readonly handler: (args: readonly string[], io: Io) => Promise<number>;
}

const COMMANDS = {
  run: {
    summary: "iterate an optimizer on a function: table, verdict, JSON, CSV, chart",
    load: async (): Promise<Command> => {
      const m = await import("./commands/run.js");
      return { help: m.RUN_HELP, handler: m.runCommand };
    },
  },
  stability: {
    summary: "curvature at a point (Lanczos) and the largest stable learning rate",
    load: async (): Promise<Command> => {
      const m = await import("./commands/stability.js");
      return { help: m.STABILITY_HELP, handler: m.stabilityCommand };
    },
  },
  spectrum: {
    summary: "the Hessian's eigenvalue density (SLQ), trace, extremes and per-layer curvature",
    load: async (): Promise<Command> => {
      const m = await import("./commands/spectrum.js");
      return { help: m.SPECTRUM_HELP, handler: m.spectrumCommand };
    },
  },
  "critical-lr": {
    summary: "the learning rates where runs stop converging and start diverging, measured",
    load: async (): Promise<Command> => {
      const m = await import("./commands/critical-lr.js");
      return { help: m.CRITICAL_HELP, handler: m.criticalLrCommand };
    },
  },
  "find-lr": {
    summary: "the learning-rate range test, beside the curvature's critical rate",
    load: async (): Promise<Command> => {
      const m = await import("./commands/find-lr.js");
      return { help: m.FIND_LR_HELP, handler: m.findLrCommand };
    },
  },
  sweep: {
    summary: "outcome over a grid of learning rates (and momenta), in parallel, with charts",
    load: async (): Promise<Command> => {
      const m = await import("./commands/sweep.js");
      return { help: m.SWEEP_HELP, handler: m.sweepCommand };
    },
  },
  diagnose: {
    summary: "why a run or training log blew up: the cause, its numbers and the fix",
    load: async (): Promise<Command> => {
      const m = await import("./commands/diagnose.js");
      return { help: m.DIAGNOSE_HELP, handler: m.diagnoseCommand };
    },
  },
  watch: {
    summary: "follow a training log as it grows (any trainer) and act when the run starts to diverge",
    load: async (): Promise<Command> => {
      const m = await import("./commands/watch.js");
      return { help: m.WATCH_HELP, handler: m.watchCommand };
    },
  },
  train: {
    summary: "train a float64 MLP with loss, accuracy, units and sharpness vs 2/η monitored",
    load: async (): Promise<Command> => {
      const m = await import("./commands/train.js");
      return { help: m.TRAIN_HELP, handler: m.trainCommand };
    },
  },
  lab: {
    summary: "the interactive page on localhost: drag η, watch the path, the loss and the curvature",
    load: async (): Promise<Command> => {
      const m = await import("./commands/lab.js");
      return { help: m.LAB_HELP, handler: m.labCommand };
    },
  },
  worker: {
    summary: "run sweep cells from a Redis queue on this machine (for sweep --queue)",
    load: async (): Promise<Command> => {
      const m = await import("./commands/worker.js");
      return { help: m.WORKER_HELP, handler: m.workerCommand };
    },
  },
  demo: {
    summary: "the seed example: x² from −1 at η = 0.1, 1, 1.125 (also: demo unscaled | eos | network)",
    load: async (): Promise<Command> => {
      const m = await import("./commands/demo.js");
      return { help: m.DEMO_HELP, handler: m.demoCommand };
    },
  },
} as const satisfies Record<string, { summary: string; load: () => Promise<Command> }>;

export const MAIN_HELP = `overshoot — why did my loss go up, explode to NaN, and what is the largest learning rate that won't?

Usage: overshoot <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(11)}  ${c.summary}`)
  .join("\n")}
  help         show help for a command: overshoot help run

Run 'overshoot <command> --help' for its options.`;

/** A bad OVERSHOOT_KERNELS is the user's input: refused before any work, with the valid values. */
function checkKernelChoice(): void {
  try {
    kernelChoice();
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/** Runs a command and returns its exit code; the only place that turns errors into messages. */
export async function execute(argv: readonly string[], io: Io): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined || command === "--help" || command === "-h") {
      io.out(`${MAIN_HELP}\n`);
      return 0;
    }
    if (command === "--version" || command === "-v") {
      io.out(`${overshootVersion()}\n`);
      return 0;
    }
    if (command === "help") {
      const topic = rest[0];
      if (topic === undefined) io.out(`${MAIN_HELP}\n`);
      else if (topic in COMMANDS) io.out(`${(await COMMANDS[topic as keyof typeof COMMANDS].load()).help}\n`);
      else throw new CliError(unknownMessage("command", topic, Object.keys(COMMANDS)));
      return 0;
    }
    if (!(command in COMMANDS)) throw new CliError(unknownMessage("command", command, Object.keys(COMMANDS)));
    checkKernelChoice();
    await loadExpressionCompiler(rest);
    const { handler } = await COMMANDS[command as keyof typeof COMMANDS].load();
    return await handler(rest, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`overshoot: ${e.message}\n`);
      if (io.isTTY && "detail" in e && typeof e.detail === "string") io.err(`${e.detail}\n`);
      return e.code;
    }
    // Anything else is our bug, not the user's input: say so in one line; the stack only on request.
    const err = e as Error;
    io.err(
      `overshoot: internal error: ${err.message} (please report it; set OVERSHOOT_DEBUG=1 for details)\n`,
    );
    if (process.env["OVERSHOOT_DEBUG"]) io.err(`${err.stack}\n`);
    return 1;
  }
}

export async function main(argv: string[]): Promise<void> {
  const io: Io = {
    // Everything the CLI prints passes forTerminal: text from files never drives the terminal.
    out: (t) => writeAll(1, forTerminal(t), "standard output"),
    err: (t) => writeAll(2, forTerminal(t), "standard error"),
    isTTY: Boolean(process.stderr.isTTY),
    cwd: process.cwd(),
  };
  process.exitCode = await execute(argv, io);
}

const WRITE_FAILURES: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on the device",
  EPIPE: "the reader closed the pipe",
  EIO: "an input/output error",
  EDQUOT: "the disk quota is exceeded",
  EFBIG: "the file is too large",
};

/**
 * Every byte of `text` to the file descriptor, synchronously (so nothing is left in a buffer when
 * the process exits, and a failure is seen at the write that failed). Standard output that cannot
 * be written (a full disk, a closed pipe) ends the command: one line on standard error, exit 1 —
 * never an exit 0 with the output cut short. A full non-blocking pipe is waited on, not an error.
 */
function writeAll(fd: 1 | 2, text: string, name: string): void {
  const bytes = Buffer.from(text, "utf8");
  let at = 0;
  while (at < bytes.length) {
    try {
      at += writeSync(fd, bytes, at, bytes.length - at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? "";
      if (code === "EAGAIN") {
        Atomics.wait(PAUSE, 0, 0, 2);
        continue;
      }
      if (fd === 2) process.exit(1);
      try {
        writeSync(
          2,
          `overshoot: cannot write to ${name}: ${code}${WRITE_FAILURES[code] ? ` (${WRITE_FAILURES[code]})` : ""}; what it received is incomplete\n`,
        );
      } finally {
        process.exit(1);
      }
    }
  }
}

/** Something to wait on for a moment, synchronously (a full non-blocking pipe). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));
