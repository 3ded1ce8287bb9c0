// One overshoot command in a child process (the built CLI, dist/), with its exit code, what it
// wrote to stderr, its wall time and its peak resident set size (getrusage's maxRSS, read as the
// command returns): the memory figures of the benches.
import { spawnSync } from "node:child_process";

export interface ChildRun {
  readonly code: number;
  /** Peak resident set, bytes. */
  readonly rss: number;
  readonly err: string;
  readonly seconds: number;
}

export function cliInChild(args: readonly string[]): ChildRun {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `const { execute } = await import(${JSON.stringify(new URL("../dist/cli/main.js", import.meta.url).href)});
       let err = "";
       const code = await execute(${JSON.stringify(args)}, { out: () => {}, err: (t) => { err += t; }, isTTY: false, cwd: process.cwd() });
       console.log(JSON.stringify({ code, rss: process.resourceUsage().maxRSS * 1024, err }));`,
    ],
    { encoding: "utf8", maxBuffer: 1 << 26 },
  );
  const seconds = (performance.now() - t0) / 1000;
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{"))
    throw new Error(`the command did not report: ${r.stderr.slice(-500)}`);
  return { ...(JSON.parse(line) as { code: number; rss: number; err: string }), seconds };
}
