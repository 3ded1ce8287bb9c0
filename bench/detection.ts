// Early-warning table for `npm run bench` (issue 6): for each labeled run, how many steps before
// the first non-finite value the detector warned (must be > 0 for every diverging run), and false
// alarms on the same problems at 0.5× their critical rate and on edge-of-stability runs that
// converge (must be 0).

import { hessianOperator } from "../src/analysis/curvature/hvp.js";
import { lanczos } from "../src/analysis/curvature/lanczos.js";
import { measureNoise, mlpProblem } from "../src/analysis/diagnosis/data-causes.js";
import { detectInTrace } from "../src/analysis/training/detector.js";
import { train } from "../src/analysis/training/train.js";
import { loadCars } from "../src/cli/datasets.js";
import { fmt } from "../src/core/format.js";
import type { Objective } from "../src/core/objective.js";
import { createRng } from "../src/core/rng.js";
import { initialParameters, mlpObjective } from "../src/nn/mlp/mlp.js";
import { rosenbrock } from "../src/objectives/builtins.js";
import { modelObjective } from "../src/objectives/models.js";
import { quadraticFromEigenvalues } from "../src/objectives/quadratic.js";
import { heavyRowsRegression, oneHot, synthetic } from "../src/objectives/synthetic.js";
import { designFromTable } from "../src/objectives/table.js";
import { resolveOptimizerConfig } from "../src/optim/index.js";
import { run } from "../src/run/runner.js";

interface Row {
  label: string;
  /** "yes": must reach a non-finite value with a warning first; "no": must raise no alarm; "bounded": unstable but never non-finite (reported as measured). */
  diverges: "yes" | "no" | "bounded";
  warning: number | null;
  nonfinite: number | null;
  note?: string;
}
const rows: Row[] = [];

function lambdaMax(f: Objective, at: ArrayLike<number>): number {
  return lanczos(hessianOperator(f, at), {
    k: 1,
    bottom: false,
    tolerance: 1e-8,
    maxIterations: Math.min(f.dim, 200),
  }).top[0]!.value;
}

function runCase(
  label: string,
  f: Objective,
  x0: ArrayLike<number>,
  lr: number,
  steps: number,
  diverges: Row["diverges"],
): void {
  const r = run({ objective: f, optimizer: { name: "sgd", lr }, x0, steps });
  const d = detectInTrace(r.trace, resolveOptimizerConfig({ name: "sgd", lr }));
  const bad = r.trace.findIndex((t) => !Number.isFinite(t.loss) || !Number.isFinite(t.gradNorm));
  const row: Row = { label, diverges, warning: d.firstWarningStep, nonfinite: bad >= 0 ? bad : null };
  if (diverges === "bounded") {
    const losses = r.trace.map((t) => t.loss);
    row.note = `loss ${fmt(losses[0]!)} → at most ${fmt(Math.max(...losses))}, never non-finite; detector: ${d.state}`;
  }
  rows.push(row);
}

// Quadratic and Rosenbrock, from their curvature at the start.
const bowl = quadraticFromEigenvalues([1, 10], 3);
runCase("quadratic κ=10, 1.5× critical", bowl, [1, 1], 0.3, 5000, "yes");
runCase("quadratic κ=10, 0.5× critical", bowl, [1, 1], 0.1, 5000, "no");
const rb = rosenbrock();
const rbCritical = 2 / lambdaMax(rb, [-1.2, 1]);
runCase("Rosenbrock, 5× local critical", rb, [-1.2, 1], 5 * rbCritical, 5000, "yes");
runCase("Rosenbrock, 0.5× local critical", rb, [-1.2, 1], 0.5 * rbCritical, 5000, "no");

// Unscaled linear regression (the seed's data), and logistic regression.
const cars = loadCars();
const linear = modelObjective("linear", designFromTable(cars.table, "mpg", ["year", "acceleration"]), "cars");
const linCritical = 2 / lambdaMax(linear, [0, 0, 0]);
runCase("unscaled linear regression, lr 1e-3", linear, [0, 0, 0], 1e-3, 5000, "yes");
runCase("unscaled linear regression, 0.5× critical", linear, [0, 0, 0], 0.5 * linCritical, 5000, "no");

// Logistic regression on the same raw car features (mpg above its median): above the critical rate
// the loss rises and oscillates but cannot overflow — the gradient of the cross-entropy is bounded
// by the mean row norm, so the weights grow at most linearly. Reported as measured, not counted.
const carDesign = designFromTable(cars.table, "mpg", ["year", "acceleration"]);
const median = [...carDesign.y].sort((a, b) => a - b)[Math.floor(carDesign.rows / 2)]!;
const logistic = modelObjective(
  "logistic",
  { ...carDesign, y: Float64Array.from(carDesign.y, (v) => (v > median ? 1 : 0)), target: "mpg > median" },
  "cars",
);
const logCritical = 2 / lambdaMax(logistic, [0, 0, 0]);
runCase("logistic regression, 1.5× critical", logistic, [0, 0, 0], 1.5 * logCritical, 5000, "bounded");
runCase("logistic regression, 0.5× critical", logistic, [0, 0, 0], 0.5 * logCritical, 5000, "no");

// Minibatch noise alone: full-batch steps at η are stable (η < 2/λmax of the whole data set), steps
// on minibatches holding one of the rare large rows are not (heavyRowsRegression).
const heavy = heavyRowsRegression(500, createRng(5));
const heavyData = { x: heavy.x, y: heavy.y, rows: heavy.rows };
const linearNet = mlpObjective({ sizes: [2, 1], activation: "identity", loss: "mse" }, heavyData);
const heavyProblem = mlpProblem(linearNet.spec, heavyData, new Float64Array(3), heavy.features);
const noise = measureNoise(heavyProblem, resolveOptimizerConfig({ name: "sgd", lr: 0.01 }), 8);
function batchCase(label: string, lr: number, batchSize: number | null, diverges: Row["diverges"]): void {
  const it = train({
    objective: linearNet,
    train: heavyData,
    validation: null,
    theta0: new Float64Array(3),
    optimizer: { name: "sgd", lr },
    steps: 20_000,
    batchSize,
    seed: 0,
    logEvery: 20_000,
    sharpnessEvery: null,
  });
  let r = it.next();
  while (!r.done) r = it.next();
  rows.push({ label, diverges, warning: r.value.detection.firstWarningStep, nonfinite: r.value.atStep });
}
batchCase(`minibatch 8, η = 0.01 (full-batch critical ${fmt(noise.full.criticalLr)})`, 0.01, 8, "yes");
batchCase("same data, full batch, η = 0.01", 0.01, null, "no");
batchCase(
  `minibatch 8, 0.5× smallest batch critical (${fmt(noise.batchCriticalLr)})`,
  0.5 * noise.batchCriticalLr,
  8,
  "no",
);

// Networks: full-batch GD at 1.5× and 0.5× the critical rate at the initial weights, and at the edge of stability.
const set = synthetic("spiral", 400, 0.05, createRng(0));
const y = oneHot(set.labels, 2);
const data = { x: set.x, y, rows: 400 };
const net = mlpObjective({ sizes: [2, 16, 16, 2], activation: "tanh", loss: "mse" }, data);
const theta0 = initialParameters([2, 16, 16, 2], "pytorch", createRng(2));
const netCritical = 2 / lambdaMax(net, theta0);
function netCase(label: string, lr: number, steps: number, diverges: Row["diverges"]): void {
  const it = train({
    objective: net,
    train: data,
    validation: null,
    theta0,
    optimizer: { name: "sgd", lr },
    steps,
    batchSize: null,
    seed: 0,
    logEvery: steps,
    sharpnessEvery: null,
  });
  let r = it.next();
  while (!r.done) r = it.next();
  rows.push({ label, diverges, warning: r.value.detection.firstWarningStep, nonfinite: r.value.atStep });
}
netCase("2-16-16-2 tanh network, 1.5× critical", 1.5 * netCritical, 3000, "yes");
netCase("2-16-16-2 tanh network, 0.5× critical", 0.5 * netCritical, 3000, "no");
netCase("same network at the edge of stability (η = 0.2)", 0.2, 4000, "no");

console.log("\nEarly warning: steps of warning before the first non-finite value, and false alarms\n");
console.log(
  `  ${"run".padEnd(58)} ${"diverges".padEnd(9)} ${"warned at".padStart(9)} ${"non-finite at".padStart(13)}  result`,
);
let failures = 0;
for (const r of rows) {
  let result: string;
  if (r.diverges === "bounded") {
    result = `${r.note} (not counted)`;
  } else if (r.diverges === "yes") {
    const lead = r.warning !== null && r.nonfinite !== null ? r.nonfinite - r.warning : null;
    result =
      lead !== null && lead > 0
        ? `${lead} steps of warning`
        : r.nonfinite === null
          ? "did not diverge within the budget"
          : "NO WARNING IN TIME";
    if (!(lead !== null && lead > 0)) failures++;
  } else {
    result = r.warning === null ? "no false alarm" : "FALSE ALARM";
    if (r.warning !== null) failures++;
  }
  console.log(
    `  ${r.label.padEnd(58)} ${r.diverges.padEnd(9)} ${String(r.warning ?? "—").padStart(9)} ${String(r.nonfinite ?? "—").padStart(13)}  ${result}`,
  );
}
console.log(`\n  ${failures === 0 ? "all cases as required" : `${failures} case(s) not as required`}`);
if (failures > 0) process.exitCode = 1;
