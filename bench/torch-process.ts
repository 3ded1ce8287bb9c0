// The PyTorch side of the network benches: one long-lived bench/torch_server.py process, one JSON
// request and answer a line, and the calibration both sides share.
import { type ChildProcessByStdio, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

export const python = "/usr/bin/python3";

export function haveTorch(): boolean {
  if (!existsSync(python)) return false;
  try {
    execFileSync(python, ["-c", "import torch"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The PyTorch side: one process, one JSON request and answer a line. */
export class Torch {
  private readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: AsyncIterator<string>;
  constructor(env: NodeJS.ProcessEnv) {
    this.proc = spawn(python, [new URL("./torch_server.py", import.meta.url).pathname], {
      env,
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async ask<T>(request: object): Promise<T> {
    this.proc.stdin.write(`${JSON.stringify(request)}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error("torch_server.py ended early");
    return JSON.parse(next.value) as T;
  }
  /** Calls of `what` for about `targetMs` per timing, after a warm-up call, and the timing itself. */
  async timer(what: string, targetMs = 200): Promise<() => Promise<number>> {
    await this.ask({ op: "time", what, reps: 1 });
    const probe = await this.ask<{ ms: number }>({ op: "time", what, reps: 1 });
    const reps = Math.max(1, Math.min(2000, Math.round(targetMs / Math.max(probe.ms, 1e-3))));
    return async () => (await this.ask<{ ms: number }>({ op: "time", what, reps })).ms;
  }
  close(): void {
    this.proc.stdin.end();
  }
}

/** Calls per timing so that one timing takes about `targetMs`. */
export function calibrate(body: () => void, targetMs = 200): number {
  body();
  const t0 = performance.now();
  body();
  const ms = performance.now() - t0;
  return Math.max(1, Math.min(2000, Math.round(targetMs / Math.max(ms, 1e-3))));
}
