// Curvature and sweep figures for `npm run bench` (issues 4, 13): HVPs and time of Lanczos against
// power iteration to the same residual, at steady state in interleaved rounds, on quadratics and
// on a network; and sweep cells per second on 1 and 2 worker threads.
import { type HessianOperator, hessianOperator } from "../src/analysis/curvature/hvp.js";
import { lanczos, powerIteration } from "../src/analysis/curvature/lanczos.js";
import { parseGrid } from "../src/analysis/thresholds/sweep.js";
import { createRng } from "../src/core/rng.js";
import { initialParameters, mlpObjective } from "../src/nn/mlp/mlp.js";
import { quadraticFromEigenvalues } from "../src/objectives/quadratic.js";
import { fmtSpread, interleave, msPerCall, ratios, spread } from "./ab.js";

const ROUNDS = 7;

// Worker threads need compiled JavaScript (npm run bench builds first); through tsx each worker
// would spend a second compiling TypeScript and the ratio would measure that instead.
const { runSweep, SweepPool } = (await import(
  "../dist/analysis/thresholds/sweep-pool.js"
)) as unknown as typeof import("../src/analysis/thresholds/sweep-pool.js");

const ill = Array.from({ length: 20 }, (_, i) => 10 ** ((4 * i) / 19));
const even = Array.from({ length: 20 }, (_, i) => 1 + ((1e4 - 1) * i) / 19);
console.log(
  "\nCurvature: λmax to relative residual 1e-6, Lanczos (full reorthogonalization) vs power iteration\n",
);
/** H = diag(eig) as an operator, so a 1000-D HVP costs O(n) and the bench measures the solvers. */
function diagonal(eig: readonly number[]): HessianOperator {
  let count = 0;
  return {
    dim: eig.length,
    exact: true,
    get count() {
      return count;
    },
    apply(v, out) {
      count++;
      for (let i = 0; i < eig.length; i++) out[i] = eig[i]! * v[i]!;
    },
  };
}

const cases: [string, () => HessianOperator, number][] = [
  [
    "20-D rotated quadratic, κ = 1e4, geometric spectrum (top gap 38%)",
    () => hessianOperator(quadraticFromEigenvalues(ill, 1), new Float64Array(20)),
    1e4,
  ],
  [
    "20-D rotated quadratic, κ = 1e4, evenly spaced (top gap 5%)",
    () => hessianOperator(quadraticFromEigenvalues(even, 1), new Float64Array(20)),
    1e4,
  ],
  [
    "1000-D quadratic, eigenvalues 1…1000 (uniform)",
    () => diagonal(Array.from({ length: 1000 }, (_, i) => 1 + i)),
    1000,
  ],
];
{
  // A network's Hessian, where an HVP costs two passes over the data: 2-16-16-1 tanh on 256 rows.
  const rng = createRng(1);
  const x = Float64Array.from({ length: 512 }, () => 4 * rng.uniform() - 2);
  const y = Float64Array.from({ length: 256 }, (_, i) => Math.sin(1.5 * x[2 * i]!) * Math.cos(x[2 * i + 1]!));
  const sizes = [2, 16, 16, 1];
  const net = mlpObjective({ sizes, activation: "tanh", loss: "half-mse" }, { x, y, rows: 256 });
  const theta = initialParameters(sizes, "pytorch", createRng(2));
  const exact = lanczos(hessianOperator(net, theta), {
    k: 1,
    bottom: false,
    tolerance: 1e-12,
    maxIterations: net.dim,
  });
  cases.push([
    "2-16-16-1 tanh network at its PyTorch init, 256 rows (337 parameters; R-operator HVPs)",
    () => hessianOperator(net, theta),
    exact.top[0]!.value,
  ]);
}
console.log(
  `  Steady state: each solver timed over repeated calls (about 0.2 s a timing), ${ROUNDS} interleaved rounds, median (min–max).`,
);
for (const [label, op, top] of cases) {
  const solve = {
    lanczos: () => lanczos(op(), { k: 1, bottom: false, tolerance: 1e-6, maxIterations: 1000 }),
    power: () => powerIteration(op(), { tolerance: 1e-6, maxIterations: 1_000_000 }),
  };
  const lz = solve.lanczos();
  const pw = solve.power();
  const reps = (f: () => unknown) => {
    const t0 = performance.now();
    f();
    return Math.max(1, Math.round(200 / Math.max(performance.now() - t0, 1e-3)));
  };
  const [nl, np] = [reps(solve.lanczos), reps(solve.power)];
  const [tl, tp] = await interleave(ROUNDS, [
    () => msPerCall(nl, solve.lanczos),
    () => msPerCall(np, solve.power),
  ]);
  const err = (v: number) => Math.abs(v - top) / top;
  console.log(`  ${label}`);
  console.log(
    `    Lanczos  ${String(lz.hvps).padStart(7)} HVPs  ${fmtSpread(spread(tl!), 3).padStart(26)} ms  λmax rel. error ${err(lz.top[0]!.value).toExponential(1)}`,
  );
  console.log(
    `    power    ${String(pw.hvps).padStart(7)} HVPs  ${fmtSpread(spread(tp!), 3).padStart(26)} ms  λmax rel. error ${err(pw.top[0]!.value).toExponential(1)}`,
  );
  console.log(
    `    power / Lanczos: ${(pw.hvps / lz.hvps).toFixed(1)}× the HVPs, ${fmtSpread(spread(ratios(tp!, tl!)))}× the time`,
  );
}
console.log(
  "  (On the quadratics an HVP costs O(n), so power iteration's cheaper steps can win on time; on the\n  network an HVP is two passes over the data and the HVP count decides.)",
);

console.log(
  "\nSweep: SGD with momentum 0.9 on Rosenbrock from (−1.2, 1), 300,000-step runs, 160 cells below the divergence threshold",
);
const job = {
  source: { kind: "spec", spec: { f: "rosenbrock" } },
  x0: [-1.2, 1],
  optimizer: { name: "sgd", momentum: 0.9 },
  cells: parseGrid("1e-6:1e-3:160", "lr", "log").values.map((lr) => ({ lr })),
  criteria: { horizon: 300_000 },
} as const;
const cold: number[] = [];
const warm: number[] = [];
for (const workers of [1, 2]) {
  const t0 = performance.now();
  await runSweep(job, { workers });
  const coldS = (performance.now() - t0) / 1000;
  // Warm: threads already started and compiled, as in a session that runs several sweeps.
  let warmS = coldS;
  if (workers > 1) {
    const pool = new SweepPool(workers);
    await pool.run(job);
    const t1 = performance.now();
    await pool.run(job);
    warmS = (performance.now() - t1) / 1000;
    await pool.close();
  } else {
    const t1 = performance.now();
    await runSweep(job, { workers });
    warmS = (performance.now() - t1) / 1000;
  }
  cold.push(job.cells.length / coldS);
  warm.push(job.cells.length / warmS);
  const label = workers === 1 ? "1 thread (no workers)" : `${workers} worker threads`;
  console.log(
    `  ${label.padEnd(22)} ${(job.cells.length / warmS).toFixed(0).padStart(6)} cells/s warm, ${(job.cells.length / coldS).toFixed(0).padStart(6)} cells/s counting thread start-up`,
  );
}
const cores = (await import("node:os")).availableParallelism();
console.log(
  `  2 workers / 1 thread: ${(warm[1]! / warm[0]!).toFixed(2)}× warm, ${(cold[1]! / cold[0]!).toFixed(2)}× with start-up (${cores} cores here)`,
);
