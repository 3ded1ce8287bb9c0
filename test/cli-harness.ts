import type { Io } from "../src/cli/io.js";
import { execute } from "../src/cli/main.js";

/**
 * Runs one overshoot command in this process, as the binary would, and returns its exit code and
 * output. Progress lines (which appear only once work has run 2 s, so depend on the machine's
 * load) are off: stderr is compared whole; the tests of progress spawn the binary.
 */
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
    progress: false,
  };
  const code = await execute(args, io);
  return { code, out, err };
}
