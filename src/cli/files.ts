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
  const file = new AtomicFile(path);
  try {
    file.write(data);
  } catch (e) {
    file.abort();
    throw e;
  }
  file.commit();
}

/**
 * A file written in pieces that appears only when complete: the pieces go to a temporary file
 * beside it, renamed over the target on commit (a process killed half-way leaves the old file, or
 * none, never a half-written one). For output that streams as a run goes (run --csv).
 */
export class AtomicFile {
  private readonly full: string;
  private readonly tmp: string;
  private fd: number | undefined;

  constructor(private readonly path: string) {
    this.full = resolve(path);
    this.tmp = join(
      dirname(this.full),
      `.${basename(this.full)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
    );
    try {
      this.fd = openSync(this.tmp, "wx", 0o644);
    } catch (e) {
      throw this.failure(e);
    }
  }

  write(data: string | Uint8Array): void {
    try {
      const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd!, bytes, off, bytes.length - off);
    } catch (e) {
      this.abort();
      throw this.failure(e);
    }
  }

  commit(): void {
    try {
      fsyncSync(this.fd!);
      closeSync(this.fd!);
      this.fd = undefined;
      renameSync(this.tmp, this.full);
    } catch (e) {
      this.abort();
      throw this.failure(e);
    }
  }

  /** Drops the temporary file; the target is as it was. */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      this.fd = undefined;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // the temporary file was never created or is already gone
    }
  }

  private failure(e: unknown): CliError {
    if (e instanceof CliError) return e;
    return new CliError(
      `cannot write ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
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
