import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { CliError } from "./errors.js";
import { errnoWords } from "./files.js";

/**
 * `train --log`: one JSON record a line, each written whole as it comes, so a crash keeps
 * everything logged so far. An existing log is appended to, never truncated (a resumed run
 * continues its own log; `diagnose` keeps the newest record of each step), unless the user asks
 * for --log-overwrite. A line that cannot be written whole (a full disk) is cut back off, so the
 * file always ends at a complete record; a cut last line left by an earlier crash is removed
 * before appending.
 */
export class LogWriter {
  private fd: number | undefined;
  private size: number;

  constructor(
    private readonly path: string,
    overwrite: boolean,
    notify: (message: string) => void,
  ) {
    try {
      this.fd = openSync(path, overwrite ? "w" : "a+");
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      throw this.failure(e);
    }
    if (this.size === 0) return;
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
        ftruncateSync(this.fd!, this.size);
      } catch {
        // the file is as the failed write left it; diagnose drops a cut last line
      }
      throw this.failure(e, " — the log keeps every record before this one");
    }
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }

  private failure(e: unknown, after = ""): CliError {
    const code = (e as NodeJS.ErrnoException).code;
    const why = errnoWords(code) ?? code;
    return new CliError(`cannot write --log ${this.path}: ${why ?? (e as Error).message}${after}`);
  }
}
