import { decimal, notDecimal } from "../core/decimal.js";
import { CliError } from "./errors.js";
import { isStandardOutput, setMaxInput } from "./files.js";
import type { Io } from "./io.js";
import { unknownMessage } from "./suggest.js";

export type FlagType = "string" | "number" | "numbers" | "boolean";

export interface FlagSpec {
  readonly type: FlagType;
  readonly help: string;
  /** Shown in help as the value's name, e.g. FILE. */
  readonly value?: string;
  /** A boolean that prints to standard output also takes "-" or /dev/stdout as its value (--json -). */
  readonly stdout?: boolean;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;
export type FlagValue = string | number | number[] | boolean;
export type ParsedFlags = Record<string, FlagValue>;

/** camelCase of a kebab-case flag name: learning-rate → learningRate. */
export function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Parses `--flag value`, `--flag=value` and bare boolean `--flag` (or `--flag=false`) against
 * the specs; keys of the result are camelCase. A value that starts with "-" is taken as a value
 * when it reads as a number, so `--x0 -1` works, and by a text flag unless it starts with "--", so
 * `--f -x^2` works.
 */
export function parseFlags(
  argv: readonly string[],
  specs: FlagSpecs,
  command: string,
): { flags: ParsedFlags; positionals: string[] } {
  const flags: ParsedFlags = {};
  const positionals: string[] = [];
  const names = Object.keys(specs);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      if (arg.startsWith("-") && arg.length > 1 && !isNumeric(arg)) {
        throw new CliError(
          `${unknownMessage(
            `option for '${command}'`,
            arg,
            names.map((n) => `--${n}`),
          )}`,
        );
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = specs[name];
    if (!spec)
      throw new CliError(
        unknownMessage(
          `option for '${command}'`,
          `--${name}`,
          names.map((n) => `--${n}`),
        ),
      );
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (spec.type === "boolean") {
      if (raw === undefined && spec.stdout && isStandardOutput(argv[i + 1] ?? "")) raw = argv[++i]!;
      if (camel(name) in flags) throw new CliError(`--${name} is given twice`);
      if (raw === undefined) flags[camel(name)] = true;
      else if (raw === "true" || raw === "false") flags[camel(name)] = raw === "true";
      else if (spec.stdout && isStandardOutput(raw)) flags[camel(name)] = true;
      else if (spec.stdout)
        throw new CliError(
          `--${name}=${raw}: --${name} prints to standard output (--${name}, --${name} - or --${name} /dev/stdout); to keep it in a file, redirect it: --${name} > ${raw}`,
        );
      else throw new CliError(`invalid --${name}: ${raw} (true or false)`);
      continue;
    }
    if (raw === undefined) {
      const next = argv[i + 1];
      // No option has a single dash, so "-x^2" after a text flag is its value (--f -x^2);
      // after a number flag a value must read as a number.
      const taken =
        spec.type === "string" ? !next?.startsWith("--") : !next?.startsWith("-") || isNumeric(next);
      if (next === undefined || !taken) {
        throw new CliError(`missing value for --${name} (${spec.value ?? spec.type})`);
      }
      raw = next;
      i++;
    }
    if (camel(name) in flags) throw new CliError(`--${name} is given twice`);
    flags[camel(name)] = convert(name, spec.type, raw);
  }
  return { flags, positionals };
}

function isNumeric(s: string): boolean {
  return /^-?(\d|\.\d|inf|nan)/i.test(s);
}

/** A number as typed on the command line (core/decimal.ts): "1e-3", "-1.5", ".5" and "Infinity" parse; "abc", "", "0x10" do not. */
export function parseNumber(name: string, raw: string): number {
  const v = decimal(raw);
  if (v === undefined) throw new CliError(`invalid --${name}: ${notDecimal(raw)}`);
  return v;
}

function convert(name: string, type: FlagType, raw: string): FlagValue {
  if (type === "number") return parseNumber(name, raw);
  if (type === "numbers") {
    if (raw.trim() === "")
      throw new CliError(`invalid --${name}: empty (give numbers separated by commas, e.g. -1.2,1)`);
    return raw.split(",").map((p) => {
      if (p.trim() === "") throw new CliError(`invalid --${name}: an empty item in '${raw}'`);
      return parseNumber(name, p);
    });
  }
  return raw;
}

/** The help lines for a set of flags, aligned. */
export function flagHelp(specs: FlagSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => [
    `--${name}${s.type === "boolean" ? "" : ` ${s.value ?? s.type.toUpperCase()}`}`,
    s.help,
  ]);
  const w = Math.max(...rows.map((r) => r[0]!.length));
  return rows.map(([a, b]) => `  ${a!.padEnd(w)}  ${b}`).join("\n");
}

/**
 * The start every command shares: its flags parsed against its table; with --help the help is
 * printed and the result is null (the command returns 0); a stray argument is refused (a command
 * that takes one, as diagnose FILE, reads `positionals` itself).
 */
export function commandFlags(
  argv: readonly string[],
  command: {
    readonly name: string;
    readonly flags: FlagSpecs;
    readonly help: string;
    readonly takes?: number;
  },
  io: Io,
): { flags: ParsedFlags; positionals: string[] } | null {
  const parsed = parseFlags(argv, command.flags, command.name);
  // Every file a command reads is bounded (files.ts): by its --max-input, or the defaults.
  setMaxInput(parsed.flags["maxInput"] as number | undefined);
  if (parsed.flags["help"]) {
    io.out(`${command.help}\n`);
    return null;
  }
  if (!command.takes && parsed.positionals.length > 0)
    throw new CliError(
      `unexpected argument '${parsed.positionals[0]}' (options start with --; see overshoot ${command.name} --help)`,
    );
  return parsed;
}
