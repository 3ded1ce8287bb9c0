// The runner against a hand loop doing the same work, and its memory over long runs (issue 13).
//
// Both sides run Adam (lr 1e-3) on the compiled Rosenbrock expression from (−1.2, 1) and, every
// step: the gradient, the Hessian-vector product of the step for the second-order prediction, and
// a record (x, f, ∇f, ‖∇f‖, ΔC, both predictions) handed to a consumer that keeps none of them.
// The runner is `runSummarized` (the Stepper, a TraceSummary); the hand loop is the same update
// written out. Interleaved rounds in one process, after a warm-up; median and min–max printed.
//
// Memory: `overshoot run --f x^2 --x0 -1 --lr 1 --steps N` (x bounces between −1 and 1, so every
// step is taken) in a child process, its peak resident set size for N = 1e4, 1e6, 1e8.
import { compileExpression } from "../src/objectives/expression.js";
import type { StepRecord } from "../src/run/index.js";
import { runSummarized } from "../src/run/runner.js";
import { cliInChild } from "./peak-rss.js";

const f = compileExpression("(1-x)^2 + 100*(y-x^2)^2");
const LR = 1e-3;
const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;
const STEPS = 200_000;

let sink = 0;
const consume = (r: StepRecord) => {
  sink += r.loss;
};

function runner(): number {
  const r = runSummarized(
    { objective: f, optimizer: { name: "adam", lr: LR }, x0: [-1.2, 1], steps: STEPS, tolerance: 0 },
    consume,
  );
  return r.summary.last.x[0]!;
}

/** PyTorch's Adam (bias-corrected) written out, with the runner's per-step work. */
function handLoop(): number {
  let x = Float64Array.of(-1.2, 1);
  let g = new Float64Array(2);
  let loss = f.gradient(x, g);
  const m = new Float64Array(2);
  const v = new Float64Array(2);
  const dx = new Float64Array(2);
  const hdx = new Float64Array(2);
  for (let t = 1; t <= STEPS; t++) {
    const xNext = Float64Array.from(x);
    const bc1 = 1 - B1 ** t;
    const bc2 = Math.sqrt(1 - B2 ** t);
    for (let i = 0; i < 2; i++) {
      m[i] = B1 * m[i]! + (1 - B1) * g[i]!;
      v[i] = B2 * v[i]! + (1 - B2) * (g[i]! * g[i]!);
      xNext[i] = xNext[i]! - (LR / bc1) * (m[i]! / (Math.sqrt(v[i]!) / bc2 + EPS));
    }
    const gNext = new Float64Array(2);
    const lossNext = f.gradient(xNext, gNext);
    let first = 0;
    for (let i = 0; i < 2; i++) {
      dx[i] = xNext[i]! - x[i]!;
      first += g[i]! * dx[i]!;
    }
    f.hessianVector(x, dx, hdx);
    const second = first + 0.5 * (dx[0]! * hdx[0]! + dx[1]! * hdx[1]!);
    consume({
      step: t - 1,
      x,
      loss,
      grad: g,
      gradNorm: Math.hypot(g[0]!, g[1]!),
      deltaLoss: lossNext - loss,
      firstOrder: first,
      secondOrder: second,
    });
    x = xNext;
    g = gNext;
    loss = lossNext;
  }
  return x[0]!;
}

const seconds = (body: () => number): { s: number; x: number } => {
  const t0 = process.hrtime.bigint();
  const x = body();
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, x };
};
runner();
handLoop();
const ratios: number[] = [];
const rates: { runner: number[]; hand: number[] } = { runner: [], hand: [] };
let same = true;
for (let round = 0; round < 7; round++) {
  const a = seconds(runner);
  const b = seconds(handLoop);
  same &&= Math.abs(a.x - b.x) <= 1e-9 * Math.abs(b.x);
  ratios.push(a.s / b.s);
  rates.runner.push(STEPS / a.s);
  rates.hand.push(STEPS / b.s);
}
const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1]!;
const fmtRate = (xs: number[]) => `${Math.round(med(xs)).toLocaleString("en-US")} steps/s`;
console.log(
  "\nThe runner against a hand loop doing the same work (Adam on Rosenbrock: gradient, HVP, a record per step), 7 interleaved rounds of 200,000 steps",
);
console.log(`  runner (runSummarized)   ${fmtRate(rates.runner)} median`);
console.log(`  hand loop                ${fmtRate(rates.hand)} median`);
console.log(
  `  runner / hand loop time: ${med(ratios).toFixed(2)}× median (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}); same end point (to 1e-9): ${same ? "yes" : "NO"}; target within 2× — ${med(ratios) <= 2 ? "met" : "NOT met"}`,
);
if (sink === 17) console.log(""); // keeps the consumers' work from being optimized away

console.log("\nMemory of overshoot run --f x^2 --x0 -1 --lr 1 --steps N (peak resident set, child process)");
for (const n of [1e4, 1e6, 1e8]) {
  const out = cliInChild(["run", "--f", "x^2", "--x0", "-1", "--lr", "1", "--steps", String(n)]);
  if (out.err) process.stderr.write(out.err);
  console.log(
    `  ${n.toExponential(0).padStart(5)} steps: peak RSS ${(out.rss / 2 ** 20).toFixed(0)} MiB, ${out.seconds.toFixed(1)} s, exit ${out.code}`,
  );
}
