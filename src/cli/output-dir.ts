import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { CliError } from "./errors.js";
import { checkWritable, errnoWords, writeFileAtomic } from "./files.js";
import type { Io } from "./io.js";

/**
 * The --out folder of a demo (created if needed), resolved against the working directory, checked
 * writable before any work, with the `files` the demo will write in it. The missing folders are
 * made one at a time: Node's recursive mkdir never returns on a special filesystem such as /proc.
 */
export function outputDir(
  io: Io,
  flag: string | undefined,
  fallback: string,
  files: readonly string[] = [],
): string {
  const dir = resolve(io.cwd, flag ?? fallback);
  const refuse = (why: string) => new CliError(`cannot create --out ${dir}: ${why}`);
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) throw refuse(`${at} is not a folder`);
      break;
    } catch (e) {
      if (e instanceof CliError) throw e;
      missing.push(at);
      const up = dirname(at);
      if (up === at) break;
      at = up;
    }
  }
  try {
    for (const d of missing.reverse()) mkdirSync(d);
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "this filesystem makes no folders there" : (errnoWords(code) ?? "refused");
    throw refuse(code ? `${why} (${code}); pick another --out` : (e as Error).message);
  }
  // The files it will replace: each checked as --plot's or --csv's target is (a read-only or
  // non-regular file is refused now, not after the work).
  for (const name of files) checkWritable(join(dir, name), "--out");
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
