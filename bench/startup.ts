// Start-up for `npm run bench` (issue 13): wall time of whole CLI processes, from spawn to exit,
// for commands that print no chart — `--help`, a run of a typed expression, a run of a built-in —
// 10 interleaved rounds, median (min–max). Target: ≤ 0.3 s for `--help` and `run --f x^2 …`.
import { spawnSync } from "node:child_process";
import { fmtSpread, interleave, spread } from "./ab.js";

const bin = new URL("../bin/overshoot.js", import.meta.url).pathname;
const commands: [string, string[], number | null][] = [
  ["overshoot --help", ["--help"], 0.3],
  [
    "overshoot run --f x^2 --x0 -1 --lr 0.1 --steps 20",
    ["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--steps", "20"],
    0.3,
  ],
  [
    "overshoot run --f rosenbrock --x0 -1.2,1 --lr 1e-3 --steps 20",
    ["run", "--f", "rosenbrock", "--x0", "-1.2,1", "--lr", "1e-3", "--steps", "20"],
    null,
  ],
  ["node -e 0 (the floor)", ["-e", "0"], null],
];

const seconds = await interleave(
  10,
  commands.map(([, args]) => () => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args[0] === "-e" ? args : [bin, ...args], { stdio: "ignore" });
    if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}`);
    return (performance.now() - t0) / 1000;
  }),
);
console.log("\nStart-up: wall time of the whole process, median (min–max) of 10 interleaved rounds\n");
for (const [i, [label, , target]] of commands.entries()) {
  const s = spread(seconds[i]!);
  console.log(
    `  ${label.padEnd(52)} ${fmtSpread(s, 3)} s` +
      (target ? `  target ≤ ${target} s — ${s.median <= target ? "met" : "NOT met"}` : ""),
  );
}
