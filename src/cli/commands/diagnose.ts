import { type Diagnosis, diagnose } from "../../analysis/diagnose.js";
import { type FlagSpecs, flagHelp, parseFlags } from "../args.js";
import { CliError } from "../errors.js";
import type { Io } from "../io.js";
import { readLog } from "../logs.js";

export const DIAGNOSE_FLAGS: FlagSpecs = {
  json: { type: "boolean", help: "print the diagnosis as JSON" },
  help: { type: "boolean", help: "show this help" },
};

export const DIAGNOSE_HELP = `overshoot diagnose — why did this run blow up?

Reads an 'overshoot run --json' result, an 'overshoot train --log' JSONL file, or a CSV training log
with a loss column (Keras' CSVLogger format works), and names the cause with the numbers that show
it and the fix: curvature overshoot, an adaptive optimizer past its bound, a bad initialization,
float32 overflow — or, from a loss column alone, what can and cannot be known.

Usage: overshoot diagnose FILE [--json]

${flagHelp(DIAGNOSE_FLAGS)}`;

export async function diagnoseCommand(argv: readonly string[], io: Io): Promise<number> {
  const { flags, positionals } = parseFlags(argv, DIAGNOSE_FLAGS, "diagnose");
  if (flags["help"]) {
    io.out(`${DIAGNOSE_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1)
    throw new CliError("give one log file: overshoot diagnose FILE (see overshoot diagnose --help)");
  const { records, format } = readLog(positionals[0]!);
  let d: Diagnosis;
  try {
    d = diagnose(records);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  if (flags["json"]) {
    io.out(`${JSON.stringify({ format, steps: records.length, ...d }, null, 2)}\n`);
    return 0;
  }
  io.out(`${positionals[0]} (${format}, ${records.length} steps)\n\n`);
  io.out(`cause: ${d.cause}\n${d.summary}\n`);
  for (const e of d.evidence) io.out(`  · ${e}\n`);
  io.out(`fix: ${d.fix}\n`);
  if (d.unknowable) io.out(`cannot tell: ${d.unknowable}\n`);
  return 0;
}
