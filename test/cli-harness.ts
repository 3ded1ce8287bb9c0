import type { Io } from "../src/cli/io.js";
import { execute } from "../src/cli/main.js";

/** Runs one overshoot command in this process, as the binary would, and returns its exit code and output. */
export async function cli(
  args: string[],
  cwd = process.cwd(),
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    isTTY: false,
    cwd,
  };
  const code = await execute(args, io);
  return { code, out, err };
}
