// critical-lr on a network (issue 12): a 2-32-32-2 tanh net (1,218 parameters) with mse on 200
// spiral rows, 2,000-step runs, bisection to relative 1e-3 — the case the issue times. Each round
// runs the compiled CLI (`npm run bench` builds first; worker threads need JavaScript) end to end:
// start-up, curvature at the start, the scan, both bisections, the report. Three rounds on two
// worker threads, printed as median and min–max, and one on a single thread for comparison.
import { spawnSync } from "node:child_process";

const args = [
  "bin/overshoot.js",
  "critical-lr",
  "--data",
  "spiral",
  "--model",
  "mlp",
  "--hidden",
  "32,32",
  "--loss",
  "mse",
  "--n",
  "250",
  "--steps",
  "2000",
  "--tolerance",
  "1e-3",
  "--json",
];

interface Out {
  runs: unknown[];
  etaMax: { estimate: number } | null;
  largestTrained: { estimate: number } | null;
  curvature: { criticalLr: number } | null;
}

function once(workers: number): { seconds: number; out: Out } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...args, "--workers", String(workers)], { encoding: "utf8" });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`critical-lr failed: ${r.stderr}`);
  return { seconds, out: JSON.parse(r.stdout) as Out };
}

const two = [once(2), once(2), once(2)];
const one = once(1);
const times = two.map((t) => t.seconds).sort((a, b) => a - b);
const o = two[0]!.out;
console.log(
  "\ncritical-lr on a network: 2-32-32-2 tanh, mse, 200 spiral rows, 1,218 parameters, 2,000 steps, tolerance 1e-3",
);
console.log(
  `  2 worker threads: ${times[1]!.toFixed(1)} s median (${times[0]!.toFixed(1)}–${times[2]!.toFixed(1)} s over 3 runs), ${o.runs.length} training runs each`,
);
console.log(`  1 thread:         ${one.seconds.toFixed(1)} s, ${one.out.runs.length} training runs`);
console.log(
  `  found: 2/λ0 = ${o.curvature?.criticalLr.toPrecision(4)}, largest rate that trains ${o.largestTrained?.estimate.toPrecision(5)}, η_max ${o.etaMax?.estimate.toPrecision(5) ?? "none"} (the same in every round: ${two.every((t) => t.out.etaMax?.estimate === o.etaMax?.estimate)})`,
);
console.log(`  target: well under a minute on two cores — ${times[1]! < 40 ? "met" : "NOT met"}`);
