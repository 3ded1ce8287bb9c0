import { randomBytes } from "node:crypto";
import {
  accessSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  type Stats,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, extname, join, resolve } from "node:path";
import { CliError } from "./errors.js";

/** A failed write's error code in words ("no space left on the device"), or undefined for a code not listed. */
export function errnoWords(code: string | undefined): string | undefined {
  return code === undefined ? undefined : WHY[code];
}

const WHY: Readonly<Record<string, string>> = {
  ENOENT: "this filesystem makes no files there",
  EACCES: "permission denied",
  EPERM: "not permitted",
  EROFS: "read-only filesystem",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
};

/**
 * Refuses, before any work is done, a path that cannot be written: a missing or read-only folder,
 * a folder, a device or other non-file, an existing file without write permission (mode 444: its
 * owner meant it to stay), or a folder on a filesystem that makes no files (/proc). The last is
 * only known by trying: an empty probe file is created beside the target and removed. Stale
 * temporary files of a killed writer of the same target are removed on the way. `what` names the
 * flag in the message.
 */
export function checkWritable(path: string, what: string): void {
  if (isStandardOutput(path)) return;
  const full = resolve(path);
  const dir = dirname(full);
  const refuse = (why: string) => new CliError(`cannot write ${what} ${path}: ${why}`);
  let dirStat: ReturnType<typeof statSync> | undefined;
  try {
    dirStat = statSync(dir);
  } catch {
    throw refuse(`folder ${dir} does not exist (create it first)`);
  }
  if (!dirStat.isDirectory()) throw refuse(`${dir} is not a folder`);
  let target: Stats | undefined;
  try {
    target = statSync(full);
  } catch {
    // a new file
  }
  if (target?.isDirectory()) throw refuse("it is a folder (give a file name)");
  if (target && !target.isFile())
    throw refuse("it is not a regular file (a device or pipe is not replaced; give a file name)");
  if (target && (target.mode & 0o222) === 0)
    throw refuse(
      `the file is read-only (mode ${(target.mode & 0o777).toString(8)}): make it writable or pick another name`,
    );
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw refuse(`folder ${dir} is not writable`);
  }
  removeStaleTemporaries(full);
  const probe = join(dir, `.${basename(full)}.${process.pid}.probe.tmp`);
  try {
    closeSync(openSync(probe, "wx", 0o600));
    unlinkSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw refuse(code ? `${WHY[code] ?? "refused"} (${code}) in ${dir}` : (e as Error).message);
  }
}

/** A figure's path: .svg or .png, and writable (checkWritable), before any work. */
export function checkFigurePath(path: string, what: string): "svg" | "png" {
  const ext = extname(path).toLowerCase();
  if (ext !== ".svg" && ext !== ".png")
    throw new CliError(`invalid ${what}: ${path} (the file name must end in .svg or .png)`);
  checkWritable(path, what);
  return ext === ".png" ? "png" : "svg";
}

/** `.NAME.PID.HEX.tmp` beside `full`, the temporary file of an AtomicFile (or a probe) of NAME. */
function temporaries(full: string): { file: string; pid: number }[] {
  const name = basename(full);
  const prefix = `.${name}.`;
  let entries: string[];
  try {
    entries = readdirSync(dirname(full));
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.startsWith(prefix) && e.endsWith(".tmp"))
    .map((e) => ({ file: join(dirname(full), e), pid: Number(e.slice(prefix.length).split(".")[0]) }))
    .filter((t) => Number.isInteger(t.pid) && t.pid > 0);
}

/** Removes the temporary files a writer of `full` left when it was killed (its process is gone). */
export function removeStaleTemporaries(full: string): void {
  for (const t of temporaries(full)) {
    if (t.pid === process.pid || alive(t.pid)) continue;
    try {
      unlinkSync(t.file);
    } catch {
      // gone already, or not ours to remove
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
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
 * none, never a half-written one; the next writer removes its temporary file). A file replaced
 * keeps its permission bits. For output that streams as a run goes (run --csv).
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
    let mode = 0o644;
    try {
      mode = statSync(this.full).mode & 0o7777;
    } catch {
      // a new file: 644 (less the umask)
    }
    try {
      this.fd = openSync(this.tmp, "wx", mode);
      // openSync's mode passes through the umask; a replaced file keeps exactly its own.
      if (mode !== 0o644) fchmodSync(this.fd, mode);
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
    const code = (e as NodeJS.ErrnoException).code;
    return new CliError(
      `cannot write ${this.path}: ${code ? `${WHY[code] ?? code} (${code})` : (e as Error).message}`,
    );
  }
}

/** Reads a CSV of numbers (commas or whitespace between them, # comments) as a square matrix. */
export function readMatrixCsv(path: string): { values: Float64Array; n: number } {
  let text: string;
  try {
    text = readTextInput(path, "--matrix");
  } catch (e) {
    if (e instanceof CliError) throw e;
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

/**
 * Every input file is bounded before it is read: a text input (a CSV, a log, weights or a
 * checkpoint in JSON, a matrix) at 256 MiB, a binary one (an ONNX model, a NumPy array) at 2 GiB,
 * ONNX's own limit for a model with its weights inside; `--max-input MiB` sets both for a command.
 * A regular file's size is checked before a byte is read; a device or FIFO (which can grow
 * without end: /dev/zero, a pipe) is read a chunk at a time and refused at the cap; a folder is
 * refused. A text input that is binary (a NUL byte in any chunk, or more than 1% control bytes in
 * its first 64 KiB) is refused at the first chunk that shows it.
 */
export const MAX_TEXT_INPUT = 256 * 2 ** 20;
export const MAX_BINARY_INPUT = 2 ** 31 - 1;
let maxInputOverride: number | undefined;

/** Set from a command's --max-input (MiB) by commandFlags; undefined restores the defaults. */
export function setMaxInput(mib: number | undefined): void {
  if (mib !== undefined && !(mib > 0 && Number.isFinite(mib)))
    throw new CliError(`invalid --max-input: ${mib} (a size in MiB above 0, e.g. 1024)`);
  maxInputOverride = mib === undefined ? undefined : Math.floor(mib * 2 ** 20);
}

/** The most bytes an input of this kind is read to: the default or this command's --max-input. */
export const inputCap = (kind: "text" | "binary"): number =>
  maxInputOverride ?? (kind === "text" ? MAX_TEXT_INPUT : MAX_BINARY_INPUT);

const CHUNK = 1 << 20;
const SNIFF = 1 << 16;

/** Why a text input's first chunk is binary (more than 1% control bytes, at least 8), or undefined. */
function binaryHead(first: Uint8Array): string | undefined {
  const head = first.subarray(0, SNIFF);
  let controls = 0;
  for (const b of head) if ((b < 32 && b !== 9 && b !== 10 && b !== 12 && b !== 13) || b === 127) controls++;
  if (controls > Math.max(8, head.length / 100))
    return `not text (${controls.toLocaleString("en-US")} control bytes in its first ${head.length.toLocaleString("en-US")})`;
  return undefined;
}

const mib = (n: number) => `${Number((n / 2 ** 20).toPrecision(3))} MiB`;

/** Why readCapped refused an input, for its caller to put in its own words. */
export class InputRefusal extends Error {
  constructor(
    readonly kind: "folder" | "not-a-file" | "not-text" | "too-big",
    /** "it is a folder", "not a regular file", "not text (…)", or the size past the cap. */
    readonly detail: string,
  ) {
    super(detail);
  }
}

/**
 * A file's bytes, bounded as above: at most `cap` bytes, a text input refused at the first chunk
 * that shows it binary, a file that must be a regular one (`filesOnly`) checked before it is
 * opened (opening a FIFO waits for its writer). Refusals are InputRefusals; errors of the file
 * system keep their code.
 */
export function readCapped(path: string, kind: "text" | "binary", cap: number, filesOnly = false): Buffer {
  if (filesOnly && !statSync(path).isFile()) throw new InputRefusal("not-a-file", "not a regular file");
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new InputRefusal("folder", "it is a folder");
    if (st.isFile() && st.size > cap)
      throw new InputRefusal("too-big", `${st.size.toLocaleString("en-US")} bytes`);
    // A regular file is read into one buffer of its size (a 2 GiB model is held once); a device,
    // a FIFO or a file that does not know its size (/proc) a chunk at a time, to the cap.
    const sized = st.isFile() && st.size > 0;
    let buffer = Buffer.allocUnsafe(sized ? st.size : CHUNK);
    let total = 0;
    for (;;) {
      if (total === buffer.length) {
        // A regular file is read to the size it had (one being written goes on growing).
        if (sized) break;
        const grown = Buffer.allocUnsafe(Math.min(2 * buffer.length, cap + CHUNK));
        buffer.copy(grown, 0, 0, total);
        buffer = grown;
      }
      const n = readSync(fd, buffer, total, Math.min(CHUNK, buffer.length - total), null);
      if (n === 0) break;
      if (kind === "text") {
        const got = buffer.subarray(total, total + n);
        const nul = got.indexOf(0);
        if (nul >= 0) throw new InputRefusal("not-text", `not text (a NUL byte at byte ${total + nul + 1})`);
        const binary = total === 0 ? binaryHead(got) : undefined;
        if (binary) throw new InputRefusal("not-text", binary);
      }
      total += n;
      if (total > cap) throw new InputRefusal("too-big", `more than ${mib(cap)}`);
    }
    return buffer.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}

/**
 * An input file's bytes (readCapped at this command's cap), every refusal one line naming the
 * flag ("--data"); `hint` follows "not a regular file". Errors of the file system keep their code
 * for the caller's wording.
 */
export function readBoundedInput(
  path: string,
  flag: string,
  kind: "text" | "binary",
  options: { hint?: string; filesOnly?: boolean } = {},
): Buffer {
  const cap = inputCap(kind);
  try {
    return readCapped(path, kind, cap, options.filesOnly);
  } catch (e) {
    if (!(e instanceof InputRefusal)) throw e;
    const why =
      e.kind === "too-big"
        ? `${e.detail}, past the ${mib(cap)} read at most (raise it with --max-input MiB)`
        : e.kind === "not-a-file" && options.hint
          ? `${e.detail} (${options.hint})`
          : e.detail;
    throw new CliError(`cannot read ${flag} ${path}: ${why}`);
  }
}

/** A text input file's contents as UTF-8 (readBoundedInput). */
export const readTextInput = (path: string, flag: string): string =>
  readBoundedInput(path, flag, "text").toString("utf8");

/**
 * An input file's bytes (a model, a NumPy array): a regular file only, bounded as above, every
 * failure one line naming the flag. `hint` follows "not a regular file".
 */
export function readInputBytes(path: string, flag: string, words: { hint?: string }): Uint8Array {
  try {
    return new Uint8Array(readBoundedInput(path, `--${flag}`, "binary", { filesOnly: true, ...words }));
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(
      `cannot read --${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** An ONNX model's bytes (readInputBytes). */
export const readModelBytes = (path: string, flag: string): Uint8Array =>
  readInputBytes(path, flag, { hint: "give the .onnx file torch.onnx.export wrote" });

/** "-" and /dev/stdout name standard output, as command-line tools read them. */
export const isStandardOutput = (path: string): boolean => path === "-" || path === "/dev/stdout";

/** Where a command's file output goes: an AtomicFile, or standard output for "-" and /dev/stdout. */
export interface OutputSink {
  write(text: string): void;
  commit(): void;
  abort(): void;
}

export function outputSink(path: string, out: (text: string) => void): OutputSink {
  if (!isStandardOutput(path)) return new AtomicFile(path);
  return { write: out, commit: () => {}, abort: () => {} };
}

/** The whole of a file output at once: atomically to a file, or to standard output. */
export function writeOutput(path: string, text: string, out: (text: string) => void): void {
  if (isStandardOutput(path)) out(text);
  else writeFileAtomic(path, text);
}

/**
 * With --csv - the data take standard output: the command's report goes to standard error
 * instead, and --json (which would share the stream) is refused.
 */
export function reportIo<T extends { out(text: string): void; err(text: string): void }>(
  io: T,
  csv: string | undefined,
  json: boolean,
): { report: T; data: (text: string) => void } {
  if (csv === undefined || !isStandardOutput(csv)) return { report: io, data: io.out };
  if (json)
    throw new CliError(`--csv ${csv} and --json both write to standard output: send one of them to a file`);
  return { report: { ...io, out: io.err }, data: io.out };
}
