import { describe, expect, it } from "vitest";
import { loadCars } from "../../cli/datasets.js";
import { symmetricEigen } from "../../core/eigen.js";
import { createRng } from "../../core/rng.js";
import { mlpObjective } from "../../nn/mlp/mlp.js";
import { modelObjective } from "../../objectives/models.js";
import { heavyRowsRegression } from "../../objectives/synthetic.js";
import { designFromTable } from "../../objectives/table.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { run } from "../../run/runner.js";
import { train } from "../training/train.js";
import { measureNoise, measureScaling, measureSteps, mlpProblem, modelProblem } from "./data-causes.js";
import { diagnose, type LogRecord } from "./diagnose.js";

/** λmax of the least-squares Hessian (2/n)·AᵀA with A = [X 1], by an exact eigen-decomposition. */
function leastSquaresLambda(x: Float64Array, rows: number, p: number): { max: number; min: number } {
  const d = p + 1;
  const h = new Float64Array(d * d);
  for (let r = 0; r < rows; r++) {
    const a = [...x.subarray(r * p, (r + 1) * p), 1];
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) h[i * d + j]! += (2 / rows) * a[i]! * a[j]!;
  }
  const values = symmetricEigen(h, d).values;
  return { max: Math.max(...values), min: Math.min(...values) };
}

const sgd = (lr: number) => resolveOptimizerConfig({ name: "sgd", lr });

describe("unscaled inputs, measured", () => {
  const cars = loadCars();
  const raw = designFromTable(cars.table, "mpg", ["year", "acceleration"]);
  const problem = modelProblem("linear", raw, "cars", new Float64Array(3));

  it("gives the raw and standardized curvature of linear regression exactly (eigen-decomposition of (2/n)AᵀA)", () => {
    const s = measureScaling(problem, sgd(1e-3));
    const before = leastSquaresLambda(raw.x, raw.rows, 2);
    const std = designFromTable(cars.table, "mpg", ["year", "acceleration"], true);
    const after = leastSquaresLambda(std.x, std.rows, 2);
    expect(s.raw.lambdaMax).toBeCloseTo(before.max, 6);
    expect(s.raw.condition! / (before.max / before.min)).toBeCloseTo(1, 5);
    expect(s.standardized.lambdaMax).toBeCloseTo(after.max, 10);
    expect(s.raw.criticalLr).toBeCloseTo(2 / before.max, 12);
    expect(s.gain).toBeCloseTo(before.max / after.max, 6);
    expect(s.unscaled).toBe(true);
    const year = s.features.find((f) => f.name === "year")!;
    expect(year.mean).toBeCloseTo(raw.x.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b) / raw.rows, 10);
  });

  it("does not call standardized inputs unscaled", () => {
    const std = designFromTable(cars.table, "mpg", ["year", "acceleration"], true);
    const s = measureScaling(modelProblem("linear", std, "cars", new Float64Array(3)), sgd(1));
    expect(s.gain).toBeCloseTo(1, 6);
    expect(s.unscaled).toBe(false);
  });
});

describe("minibatch gradient noise, measured", () => {
  const set = heavyRowsRegression(500, createRng(5));
  const data = { x: set.x, y: set.y, rows: set.rows };
  // No hidden layer and the identity: the network is linear regression with the mean squared error.
  const net = mlpObjective({ sizes: [2, 1], activation: "identity", loss: "mse" }, data);
  // The MLP's parameters are (w₁, w₂, b) like the model's, so the closed forms below apply.
  const problem = mlpProblem(net.spec, data, new Float64Array(3), set.features);

  it("matches the closed forms: full-batch λmax, a one-row batch's λ = 2‖aᵢ‖², and tr(Σ)/‖G‖²", () => {
    const n = measureNoise(problem, sgd(0.01), 1, { noiseRows: 500 });
    expect(n.full.lambdaMax).toBeCloseTo(leastSquaresLambda(set.x, set.rows, 2).max, 8);
    // A single row's Hessian is 2·aaᵀ (rank one), so its λmax is 2‖a‖² with a = (x₁, x₂, 1).
    const rowLambda = (r: number) => 2 * (set.x[2 * r]! ** 2 + set.x[2 * r + 1]! ** 2 + 1);
    const all = Array.from({ length: set.rows }, (_, r) => rowLambda(r));
    expect(n.batchLambdaMax).toBeLessThanOrEqual(Math.max(...all) * (1 + 1e-9));
    expect(all.some((l) => Math.abs(l - n.batchLambdaMax) < 1e-6 * l)).toBe(true);
    // Per-example gradients at θ = 0: gᵢ = −2yᵢaᵢ; G their mean.
    const g = Array.from({ length: set.rows }, (_, r) => {
      const y = set.y[r]!;
      return [-2 * y * set.x[2 * r]!, -2 * y * set.x[2 * r + 1]!, -2 * y];
    });
    const G = [0, 1, 2].map((j) => g.reduce((s, v) => s + v[j]!, 0) / set.rows);
    const trace = g.reduce((s, v) => s + v.reduce((t, vj, j) => t + (vj - G[j]!) ** 2, 0), 0) / set.rows;
    expect(n.noiseScale).toBeCloseTo(trace / G.reduce((s, v) => s + v * v, 0), 8);
  });

  it("stopped among the minibatches: the finding of those measured, equal to a measurement of that many", () => {
    const whole = measureNoise(problem, sgd(0.01), 8, { batches: 40 });
    expect(whole.batches).toBe(40);
    expect(whole.noiseScale).not.toBeNull();
    // Stop once the progress says 25 minibatches are done: the run under way (the 26th) is left out.
    let done = 0;
    const steps = measureSteps(problem, sgd(0.01), { batchSize: 8, batches: 40 }, (phase, d) => {
      if (phase === "minibatches") done = d;
    });
    let r = steps.next();
    while (!r.done) r = steps.next(done >= 25);
    const m = r.value;
    expect(m.stopped).toBe(true);
    expect(m.scaling).toBeDefined();
    const n = m.noise!;
    expect(n.batches).toBe(25);
    expect(n.batchesPlanned).toBe(40);
    expect(n.noiseScale).toBeNull();
    expect(n.noiseRows).toBe(0);
    // The same draws as a measurement of 25 minibatches (one generator of draws, in the same order).
    const first = measureNoise(problem, sgd(0.01), 8, { batches: 25 });
    expect(n.batchLambdaMax).toBe(first.batchLambdaMax);
    expect(n.batchLambdaMedian).toBe(first.batchLambdaMedian);
    expect(n.unstableFraction).toBe(first.unstableFraction);
    expect(n.batchCriticalLr).toBe(first.batchCriticalLr);
    expect(n.full).toEqual(whole.full);
  });

  it("stopped during the full-batch curvature: nothing measured", () => {
    const steps = measureSteps(problem, sgd(0.01), { batchSize: 8 });
    expect(steps.next().done).toBe(false);
    const r = steps.next(true);
    expect(r.done).toBe(true);
    expect(r.value).toEqual({ stopped: true });
  });

  it("says noise-driven only when the full batch is stable and some minibatches are not", () => {
    const noisy = measureNoise(problem, sgd(0.01), 8);
    expect(0.01).toBeLessThan(noisy.full.criticalLr);
    expect(noisy.unstableFraction).toBeGreaterThan(0);
    expect(noisy.noiseDriven).toBe(true);
    expect(measureNoise(problem, sgd(0.1), 8).noiseDriven).toBe(false); // above the full batch's limit
    expect(measureNoise(problem, sgd(0.5 * noisy.batchCriticalLr), 8).noiseDriven).toBe(false);
  });
});

/** A run's loss as a log. */
const asLog = (losses: readonly number[]): LogRecord[] => losses.map((loss, step) => ({ step, loss }));

describe("diagnose with the problem: each cause classified", () => {
  it("minibatch noise: minibatch SGD at η blows up, full batch at η converges", () => {
    const set = heavyRowsRegression(500, createRng(5));
    const data = { x: set.x, y: set.y, rows: set.rows };
    const net = mlpObjective({ sizes: [2, 1], activation: "identity", loss: "mse" }, data);
    const losses = (batchSize: number | null): { out: number[]; status: string } => {
      const out: number[] = [];
      const it = train({
        objective: net,
        train: data,
        validation: null,
        theta0: new Float64Array(3),
        optimizer: { name: "sgd", lr: 0.01 },
        steps: 20_000,
        batchSize,
        seed: 0,
        logEvery: 1,
        sharpnessEvery: null,
      });
      let r = it.next();
      for (; !r.done; r = it.next()) out.push(r.value.loss);
      return { out, status: r.value.status };
    };
    const { out: minibatch, status } = losses(8);
    const full = losses(null);
    // It passes the blow-up bound (run/divergence.ts) and stops there.
    expect(status).toBe("diverged");
    expect(full.status).toBe("finished");
    // Down to the noise floor (the targets carry N(0, 0.1²) noise, so the mean squared error ends near 0.01).
    expect(full.out[full.out.length - 1]!).toBeLessThan(0.012);
    const problem = mlpProblem(net.spec, data, new Float64Array(3), set.features);
    const d = diagnose(asLog(minibatch), {
      noise: measureNoise(problem, sgd(0.01), 8),
      scaling: measureScaling(problem, sgd(0.01)),
    });
    expect(d.cause).toBe("minibatch-noise");
    expect(d.evidence.join(" ")).toMatch(/noise scale tr\(Σ\)\/‖G‖² = [\d.]+/);
    expect(d.fix).toContain("larger minibatches");
  });

  it("unscaled inputs: raw car features at lr 1e-3, with the critical rate before and after standardizing", () => {
    const cars = loadCars();
    const raw = designFromTable(cars.table, "mpg", ["year", "acceleration"]);
    const f = modelObjective("linear", raw, "cars");
    const r = run({ objective: f, optimizer: { name: "sgd", lr: 1e-3 }, x0: [0, 0, 0], steps: 400 });
    const scaling = measureScaling(modelProblem("linear", raw, "cars", new Float64Array(3)), sgd(1e-3));
    const d = diagnose(asLog(r.trace.map((t) => t.loss)), { scaling, lr: 1e-3 });
    expect(d.cause).toBe("unscaled-inputs");
    expect(d.fix).toContain("--standardize");
    expect(d.fix).toContain(String(Number(scaling.standardized.criticalLr.toPrecision(4))));
  });

  it("curvature overshoot, not unscaled inputs, on standardized features above their critical rate", () => {
    const cars = loadCars();
    const std = designFromTable(cars.table, "mpg", ["year", "acceleration"], true);
    const scaling = measureScaling(modelProblem("linear", std, "cars", new Float64Array(3)), sgd(1));
    const lr = 1.5 * scaling.raw.criticalLr;
    const f = modelObjective("linear", std, "cars");
    const r = run({ objective: f, optimizer: { name: "sgd", lr }, x0: [0, 0, 0], steps: 3000 });
    const log = r.trace.map((t, k) => {
      const next = r.trace[k + 1];
      if (!next) return { step: t.step, loss: t.loss, lr };
      let num = 0;
      let den = 0;
      for (let i = 0; i < 3; i++) {
        const dx = next.x[i]! - t.x[i]!;
        num += (next.grad[i]! - t.grad[i]!) * dx;
        den += dx * dx;
      }
      return { step: t.step, loss: t.loss, lr, curvature: num / den, curvatureLimit: 2 / lr };
    });
    const d = diagnose(log, { scaling, lr });
    expect(d.cause).toBe("curvature-overshoot");
  });
});
