import { spawn } from "node:child_process";
import type { Io } from "../src/cli/io.js";
import { execute } from "../src/cli/main.js";

/**
 * Runs one overshoot command in this process, as the binary would, and returns its exit code and
 * output (`onOut` sees each piece of standard output as it is written). Progress lines (which appear only once work has run 2 s, so depend on the machine's
 * load) are off: stderr is compared whole; the tests of progress spawn the binary.
 */
export async function cli(
  args: string[],
  cwd = process.cwd(),
  onOut?: (text: string) => void,
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => {
      out += t;
      onOut?.(t);
    },
    err: (t) => {
      err += t;
    },
    isTTY: false,
    cwd,
    progress: false,
  };
  const code = await execute(args, io);
  return { code, out, err };
}

/**
 * Runs a process to its end, awaited — never spawnSync: a test worker blocked on a child for a
 * minute cannot answer vitest's runner, whose calls time out at 60 s and fail a run whose every
 * test passed.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  cwd = process.cwd(),
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b;
    });
    child.stderr.on("data", (b: Buffer) => {
      err += b;
    });
    child.on("close", (code) => done({ code, out, err }));
  });
}
