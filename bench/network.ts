// Network figures for `npm run bench` (issue 5): ms per full-batch gradient step and per exact HVP
// of our float64 MLP, beside PyTorch CPU (float64 and float32, one thread) measured in the same run
// when Debian's python3-torch is installed; and one epoch of MNIST training.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { train } from "../src/analysis/training/train.js";
import { loadMnist } from "../src/cli/datasets.js";
import { createRng } from "../src/core/rng.js";
import { initialParameters, type MlpData, type MlpSpec, mlpObjective } from "../src/objectives/mlp.js";
import { createOptimizer } from "../src/optim/index.js";

function best(repeats: number, body: () => void): number {
  body();
  let ms = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < repeats; i++) body();
    ms = Math.min(ms, (performance.now() - t0) / repeats);
  }
  return ms;
}

const python = "/usr/bin/python3";
const haveTorch =
  existsSync(python) &&
  (() => {
    try {
      execFileSync(python, ["-c", "import torch"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();

function torchTimes(
  spec: MlpSpec,
  data: MlpData,
  repeats: number,
): { float64: { stepMs: number; hvpMs: number }; float32: { stepMs: number; hvpMs: number } } | null {
  if (!haveTorch) return null;
  const dir = mkdtempSync(join(tmpdir(), "overshoot-bench-"));
  try {
    const raw = new Float64Array(data.x.length + data.y.length);
    raw.set(data.x);
    raw.set(data.y, data.x.length);
    writeFileSync(join(dir, "data.f64"), Buffer.from(raw.buffer));
    writeFileSync(
      join(dir, "spec.json"),
      JSON.stringify({
        sizes: spec.sizes,
        activation: spec.activation,
        loss: spec.loss,
        rows: data.rows,
        threads: 1,
        repeats,
        data: join(dir, "data.f64"),
      }),
    );
    return JSON.parse(
      execFileSync(python, [new URL("./torch_mlp.py", import.meta.url).pathname, join(dir, "spec.json")], {
        encoding: "utf8",
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const rng = createRng(1);
const smallX = Float64Array.from({ length: 256 * 2 }, () => 4 * rng.uniform() - 2);
const small: MlpData = {
  x: smallX,
  y: Float64Array.from(
    { length: 256 },
    (_, i) => Math.sin(1.5 * smallX[2 * i]!) * Math.cos(smallX[2 * i + 1]!),
  ),
  rows: 256,
};
const mnist = loadMnist(1000);
const oneHot = new Float64Array(mnist.rows * 10);
for (let r = 0; r < mnist.rows; r++) oneHot[r * 10 + mnist.labels[r]!] = 1;
const cases: [string, MlpSpec, MlpData, number][] = [
  [
    "2-16-16-1 tanh, half-mse, N = 256",
    { sizes: [2, 16, 16, 1], activation: "tanh", loss: "half-mse" },
    small,
    200,
  ],
  [
    "784-128-64-10 relu, cross-entropy, 1,000 MNIST digits",
    { sizes: [784, 128, 64, 10], activation: "relu", loss: "cross-entropy" },
    { x: mnist.x, y: oneHot, rows: mnist.rows },
    5,
  ],
];

console.log("\nNetworks: ms per full-batch gradient step and per exact Hessian-vector product (best of 3)\n");
if (!haveTorch)
  console.log(
    "  (PyTorch not installed here: /usr/bin/python3 cannot import torch; its columns are skipped)\n",
  );
for (const [label, spec, data, repeats] of cases) {
  const f = mlpObjective(spec, data);
  const theta = initialParameters(spec.sizes, "pytorch", createRng(2));
  const g = new Float64Array(f.dim);
  const v = Float64Array.from({ length: f.dim }, () => rng.normal());
  const hv = new Float64Array(f.dim);
  const opt = createOptimizer({ name: "sgd", lr: 1e-3 }, f.dim);
  const stepMs = best(repeats, () => {
    f.gradient(theta, g);
    opt.step(theta, g);
  });
  const hvpMs = best(repeats, () => f.hessianVector(theta, v, hv));
  const t = torchTimes(spec, data, repeats);
  console.log(`  ${label} (${f.dim.toLocaleString("en-US")} parameters)`);
  console.log(
    `    overshoot float64    step ${stepMs.toFixed(3).padStart(9)} ms   HVP ${hvpMs.toFixed(3).padStart(9)} ms   HVP/step ${(hvpMs / stepMs).toFixed(2)}×`,
  );
  if (t) {
    console.log(
      `    PyTorch   float64    step ${t.float64.stepMs.toFixed(3).padStart(9)} ms   HVP ${t.float64.hvpMs.toFixed(3).padStart(9)} ms`,
    );
    console.log(
      `    PyTorch   float32    step ${t.float32.stepMs.toFixed(3).padStart(9)} ms   HVP ${t.float32.hvpMs.toFixed(3).padStart(9)} ms`,
    );
    console.log(
      `    overshoot / PyTorch float64: step ${(stepMs / t.float64.stepMs).toFixed(2)}×, HVP ${(hvpMs / t.float64.hvpMs).toFixed(2)}×;  / float32: step ${(stepMs / t.float32.stepMs).toFixed(2)}×  (goal: step within 1.5× of float64)`,
    );
  }
}

console.log(
  "\nOne epoch of 784-128-64-10 relu on every digit in the mnist package, minibatches of 128, He init, SGD lr 0.2 with momentum 0.9:",
);
const all = loadMnist();
const y = new Float64Array(all.rows * 10);
for (let r = 0; r < all.rows; r++) y[r * 10 + all.labels[r]!] = 1;
const nTrain = Math.floor(all.rows * 0.8);
const trainData: MlpData = {
  x: all.x.subarray(0, nTrain * 784),
  y: y.subarray(0, nTrain * 10),
  rows: nTrain,
};
const valData: MlpData = {
  x: all.x.subarray(nTrain * 784),
  y: y.subarray(nTrain * 10),
  rows: all.rows - nTrain,
};
const sizes = [784, 128, 64, 10];
const net = mlpObjective({ sizes, activation: "relu", loss: "cross-entropy" }, trainData);
const steps = Math.ceil(nTrain / 128);
const t0 = performance.now();
const it = train({
  objective: net,
  train: trainData,
  validation: null,
  theta0: initialParameters(sizes, "he", createRng(3)),
  optimizer: { name: "sgd", lr: 0.2, momentum: 0.9 },
  steps,
  batchSize: 128,
  seed: 4,
  logEvery: steps,
  sharpnessEvery: null,
});
let r = it.next();
while (!r.done) r = it.next();
const seconds = (performance.now() - t0) / 1000;
const val = net.evaluate(r.value.theta, valData);
console.log(
  `  ${nTrain} training digits, ${steps} steps: ${seconds.toFixed(1)} s, validation accuracy ${(100 * val.accuracy!).toFixed(1)}% on ${valData.rows} held-out digits`,
);
