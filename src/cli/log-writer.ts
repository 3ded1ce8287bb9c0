import {
  closeSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { CliError } from "./errors.js";
import { errnoWords } from "./files.js";

/**
 * `train --log`: one JSON record a line, each written whole as it comes, so a crash keeps
 * everything logged so far. An existing log is appended to, never truncated (a resumed run
 * continues its own log; `diagnose` keeps the newest record of each step), unless the user asks
 * for --log-overwrite. A line that cannot be written whole (a full disk) is cut back off, so the
 * file always ends at a complete record; a cut last line left by an earlier crash is removed
 * before appending.
 *
 * One writer at a time: the size it cuts back to is its own view of the file, so a second process
 * appending to the same log would have its records cut off (or glued to a cut line). A lock file
 * beside the log (LOG.lock, made with O_EXCL, holding the writer's pid and host) keeps a second
 * trainer out in one line; a lock whose process has ended is taken over. A device or FIFO (--log
 * /dev/stderr) takes no lock and is never cut back.
 */
export class LogWriter {
  private fd: number | undefined;
  private size: number;
  private readonly lock: string | undefined;
  private readonly release = () => this.unlock();

  constructor(
    private readonly path: string,
    overwrite: boolean,
    notify: (message: string) => void,
  ) {
    this.lock = lockLog(path, notify);
    if (this.lock !== undefined) process.once("exit", this.release);
    try {
      this.fd = openSync(path, overwrite ? "w" : "a+");
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      this.unlock();
      throw this.failure(e);
    }
    if (this.size === 0 || this.lock === undefined) return;
    const complete = this.lastNewline() + 1;
    if (complete < this.size) {
      const cut = this.size - complete;
      ftruncateSync(this.fd, complete);
      this.size = complete;
      notify(
        `the last line of ${path} was cut off (${cut} bytes without a newline, an interrupted write): removed before appending`,
      );
    }
    notify(`--log ${path} exists: appending to it (--log-overwrite replaces it)`);
  }

  /** Offset of the file's last "\n" (−1 when it has none), read backwards a block at a time. */
  private lastNewline(): number {
    const block = Buffer.allocUnsafe(65536);
    let end = this.size;
    while (end > 0) {
      const start = Math.max(0, end - block.length);
      const n = readSync(this.fd!, block, 0, end - start, start);
      const at = block.subarray(0, n).lastIndexOf(10);
      if (at >= 0) return start + at;
      end = start;
    }
    return -1;
  }

  line(text: string): void {
    const bytes = Buffer.from(`${text}\n`, "utf8");
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd!, bytes, off, bytes.length - off);
      this.size += bytes.length;
    } catch (e) {
      try {
        if (this.lock !== undefined) ftruncateSync(this.fd!, this.size);
      } catch {
        // the file is as the failed write left it; diagnose drops a cut last line
      }
      throw this.failure(e, " — the log keeps every record before this one");
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.unlock();
  }

  private unlock(): void {
    process.off("exit", this.release);
    if (this.lock === undefined) return;
    try {
      // Only a lock that is still this process's own.
      if (readFileSync(this.lock, "utf8") === lockText()) unlinkSync(this.lock);
    } catch {
      // gone already
    }
  }

  private failure(e: unknown, after = ""): CliError {
    const code = (e as NodeJS.ErrnoException).code;
    const why = errnoWords(code) ?? code;
    return new CliError(`cannot write --log ${this.path}: ${why ?? (e as Error).message}${after}`);
  }
}

const lockText = (): string => `${process.pid} ${hostname()}\n`;

/**
 * Takes LOG.lock for this process and returns its path; undefined for a log that is not a regular
 * file (a device, a FIFO) or a folder that cannot hold the lock (the log is then written as
 * before, unlocked). A lock held by a live process refuses the run in one line.
 */
function lockLog(path: string, notify: (message: string) => void): string | undefined {
  try {
    if (!statSync(path).isFile()) return undefined;
  } catch {
    // a new log
  }
  const lock = `${path}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lock, "wx", 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") return undefined;
      const holder = lockHolder(lock);
      if (holder.alive)
        throw new CliError(
          `--log ${path} is being written by another process (${holder.who}, lock ${lock}): give this run a log of its own${holder.sure ? "" : `, or remove ${lock} if that process has ended`}`,
        );
      try {
        unlinkSync(lock);
      } catch {
        // taken over by another process meanwhile: the next attempt says so
      }
      notify(`removed ${lock}, left by ${holder.who}, which has ended`);
      continue;
    }
    try {
      const text = Buffer.from(lockText());
      if (writeSync(fd, text) !== text.length) throw new Error("short write");
    } catch (e) {
      closeSync(fd);
      unlinkSync(lock);
      const code = (e as NodeJS.ErrnoException).code;
      throw new CliError(`cannot write --log ${path}: ${errnoWords(code) ?? code ?? (e as Error).message}`);
    }
    closeSync(fd);
    return lock;
  }
  throw new CliError(
    `--log ${path}: another process took ${lock} as this one started: give this run a log of its own`,
  );
}

/** Who holds a lock, and whether that process is alive (a lock from another host counts as alive). */
function lockHolder(lock: string): { who: string; alive: boolean; sure: boolean } {
  let text = "";
  try {
    text = readFileSync(lock, "utf8");
  } catch {
    return { who: "a process that has ended", alive: false, sure: true };
  }
  const m = /^(\d+) (\S+)\n$/.exec(text);
  // An empty lock: its writer is between making it and writing its pid, or died there.
  if (!m) {
    const young = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 5000;
    return { who: "an unknown process", alive: young, sure: !young };
  }
  const pid = Number(m[1]);
  if (m[2] !== hostname()) return { who: `pid ${pid} on ${m[2]}`, alive: true, sure: false };
  try {
    process.kill(pid, 0);
    return { who: `pid ${pid}`, alive: true, sure: true };
  } catch (e) {
    return { who: `pid ${pid}`, alive: (e as NodeJS.ErrnoException).code === "EPERM", sure: true };
  }
}
