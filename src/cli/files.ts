import { randomBytes } from "node:crypto";
import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { CliError } from "./errors.js";

/**
 * Refuses, before any work is done, a path that cannot be written: a missing or read-only
 * folder, or a path that is a folder. `what` names the flag in the message.
 */
export function checkWritable(path: string, what: string): void {
  const full = resolve(path);
  const dir = dirname(full);
  let dirStat: ReturnType<typeof statSync> | undefined;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new CliError(`cannot write ${what} ${path}: folder ${dir} does not exist (create it first)`);
  }
  if (!dirStat.isDirectory()) throw new CliError(`cannot write ${what} ${path}: ${dir} is not a folder`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new CliError(`cannot write ${what} ${path}: folder ${dir} is not writable`);
  }
  try {
    if (statSync(full).isDirectory())
      throw new CliError(`cannot write ${what} ${path}: it is a folder (give a file name)`);
  } catch (e) {
    if (e instanceof CliError) throw e;
  }
}

/**
 * Writes a file atomically: the bytes go to a temporary file in the same folder, are flushed to
 * disk, and the temporary file is renamed over the target, so a reader (or a crash) sees either
 * the old file or the whole new one, never half of it.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const full = resolve(path);
  const tmp = join(dirname(full), `.${basename(full)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o644);
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, full);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created or is already gone
    }
    throw new CliError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Reads a CSV of numbers (commas or whitespace between them, # comments) as a square matrix. */
export function readMatrixCsv(path: string): { values: Float64Array; n: number } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new CliError(
      `cannot read --matrix ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const rows = text
    .split(/\r?\n/)
    .map((l) => l.replace(/#.*/, "").trim())
    .filter((l) => l.length > 0)
    .map((l, i) =>
      l.split(/[\s,;]+/).map((c, j) => {
        const v = Number(c);
        if (c === "" || Number.isNaN(v))
          throw new CliError(
            `invalid --matrix ${path}: row ${i + 1}, column ${j + 1} is '${c}', not a number`,
          );
        return v;
      }),
    );
  const n = rows.length;
  if (n === 0) throw new CliError(`invalid --matrix ${path}: no rows`);
  rows.forEach((r, i) => {
    if (r.length !== n)
      throw new CliError(
        `invalid --matrix ${path}: row ${i + 1} has ${r.length} entries, expected ${n} (the matrix must be square)`,
      );
  });
  return { values: Float64Array.from(rows.flat()), n };
}
