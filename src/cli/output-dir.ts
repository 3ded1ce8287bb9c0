import { mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { CliError } from "./errors.js";
import { writeFileAtomic } from "./files.js";
import type { Io } from "./io.js";

/** The --out folder of a demo (created if needed), resolved against the working directory. */
export function outputDir(io: Io, flag: string | undefined, fallback: string): string {
  const dir = resolve(io.cwd, flag ?? fallback);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new CliError(
      `cannot create --out ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  return dir;
}

/** Writes each file atomically and lists them, as paths the user would type: relative below the working directory, absolute elsewhere. */
export function writeOutputs(
  io: Io,
  dir: string,
  files: Readonly<Record<string, string | Uint8Array>>,
): void {
  const rel = relative(io.cwd, dir);
  const shown = rel === "" ? "." : rel.startsWith("..") ? dir : rel;
  const names = Object.keys(files);
  for (const name of names) writeFileAtomic(join(dir, name), files[name]!);
  io.out(`\nWrote ${names.length} files to ${shown}/:\n`);
  for (const name of names) io.out(`  ${join(shown, name)}\n`);
}
