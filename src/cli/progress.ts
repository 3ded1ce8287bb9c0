import { createRequire } from "node:module";
import type { SingleBar } from "cli-progress";

const require = createRequire(import.meta.url);

/**
 * A progress bar on stderr for a terminal. cli-progress is loaded here, on first use: a command
 * whose output is not a terminal (a pipe, CI, a test) never loads it.
 */
export function terminalBar(format: string): SingleBar {
  const cliProgress = require("cli-progress") as typeof import("cli-progress");
  return new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
}
