import { describe, expect, it } from "vitest";
import type { Objective } from "../core/objective.js";
import { mlpObjective } from "../nn/mlp/mlp.js";
import { compileExpression } from "../objectives/expression.js";
import { quadraticFromEigenvalues } from "../objectives/quadratic.js";
import { run } from "./runner.js";

/** The same function judged as a model trained on data would be. */
const asTraining = (f: Objective): Objective => ({ ...f, training: true });

// The uv model of Lewkowycz et al. (2020), one example: L(u, v) = (uv − 1)²/2. From (2, 0.1) the
// top Hessian eigenvalue is λ0 = 4.088 (≈ u² + v²), so 2/λ0 = 0.4892; between 2/λ0 and about
// 1.7 × 2/λ0 the loss first rises, u and v rebalance to a flatter minimum (λ ≈ 2 < 2/η) and it
// converges: the catapult. At 1.8 × 2/λ0 it overflows.
const uv = asTraining(compileExpression("(u*v - 1)^2/2"));
const twoOverLambda0 = 0.48920416114583926;

describe("verdicts for training objectives: trained, failed, catapult", () => {
  it("below 2/λ0 (0.3×) the loss falls: trained, no catapult", () => {
    const r = run({
      objective: uv,
      optimizer: { name: "sgd", lr: 0.3 * twoOverLambda0 },
      x0: [2, 0.1],
      steps: 8,
    });
    expect(r.verdict.status).toBe("trained");
    expect(r.verdict.catapult).toBeUndefined();
    const f0 = r.trace[0]!.loss;
    expect(f0).toBeCloseTo(0.32, 14);
    expect(r.verdict.reason).toMatch(/; the loss fell from 0\.32 to /);
  });

  it("at 1.5 × 2/λ0 the loss rises above its start, then trains: the catapult, with its peak and step", () => {
    const r = run({
      objective: uv,
      optimizer: { name: "sgd", lr: 1.5 * twoOverLambda0 },
      x0: [2, 0.1],
      steps: 30,
    });
    expect(r.verdict.status).toBe("trained");
    const peak = r.trace.reduce((a, b) => (b.loss > a.loss ? b : a));
    expect(peak.loss).toBeGreaterThan(r.trace[0]!.loss);
    expect(r.verdict.catapult).toEqual({ peakLoss: peak.loss, peakStep: peak.step });
    expect(r.verdict.reason).toMatch(/after rising above its start to 1\.341 at step 2 \(a catapult\)/);
    // Run on, it converges — and the catapult is still named.
    const long = run({
      objective: uv,
      optimizer: { name: "sgd", lr: 1.5 * twoOverLambda0 },
      x0: [2, 0.1],
      steps: 500,
    });
    expect(long.verdict.status).toBe("converged");
    expect(long.verdict.catapult?.peakStep).toBe(2);
  });

  it("past η_max it overflows: nonfinite", () => {
    const r = run({
      objective: uv,
      optimizer: { name: "sgd", lr: 1.8 * twoOverLambda0 },
      x0: [2, 0.1],
      steps: 300,
    });
    expect(r.verdict.status).toBe("nonfinite");
  });

  it("a run that ends where it started is failed, not oscillating (x² at η = 1 bounces between −1 and 1)", () => {
    const r = run({
      objective: asTraining(compileExpression("x^2")),
      optimizer: { name: "sgd", lr: 1 },
      x0: [-1],
      steps: 40,
    });
    expect(r.verdict.status).toBe("failed");
    expect(r.verdict.reason).toMatch(/the loss is 1, not below its start 1/);
    // The same function, not as a model on data, keeps the function's verdict.
    const plain = run({
      objective: compileExpression("x^2"),
      optimizer: { name: "sgd", lr: 1 },
      x0: [-1],
      steps: 40,
    });
    expect(plain.verdict.status).toBe("oscillating");
  });
});

describe("unbounded below, named only where it is known", () => {
  it("an indefinite quadratic (eigenvalues 1, −1) running downhill is unbounded, not converging", () => {
    const f = quadraticFromEigenvalues([1, -1]);
    const r = run({ objective: f, optimizer: { name: "sgd", lr: 0.1 }, x0: [1, 1], steps: 100 });
    expect(r.verdict.status).toBe("unbounded");
    // y is multiplied by 1 + 0.1 each step: f = ½x² − ½y² with y = 1.1^100.
    expect(r.trace[100]!.loss).toBeCloseTo(0.5 * 0.9 ** 200 - 0.5 * 1.1 ** 200, 0);
    expect(r.verdict.reason).toMatch(/curvature along the steps is -1 < 0 .* unbounded below/);
  });

  it("x² − y² run until the loss is −Infinity: unbounded at that step", () => {
    const r = run({
      objective: compileExpression("x^2 - y^2"),
      optimizer: { name: "sgd", lr: 0.5 },
      x0: [1, 1],
      steps: 5000,
    });
    expect(r.verdict.status).toBe("unbounded");
    // y doubles every step; y² passes 1.8e308 when 2^(2k) does, at k = 512.
    expect(r.verdict.atStep).toBe(512);
  });

  it("a function whose Hessian changes (x³ from −1) falls to −Infinity as nonfinite, saying the loss fell", () => {
    const r = run({
      objective: compileExpression("x^3"),
      optimizer: { name: "sgd", lr: 0.1 },
      x0: [-1],
      steps: 5000,
    });
    expect(r.verdict.status).toBe("nonfinite");
    expect(r.verdict.reason).toMatch(/fell without limit/);
  });
});

describe("a network whose gradient vanished at the trivial baseline", () => {
  it("is stalled, not converged: every ReLU unit dead, the output the targets' mean", () => {
    // 1-2-1 ReLU on x = 1…4: both hidden units have w = −1, b = −1 (dead for every row) and the
    // output bias is the targets' mean 2, so ∇f = 0 exactly and f = var(y) = 0.5, the baseline.
    const objective = mlpObjective(
      { sizes: [1, 2, 1], activation: "relu", loss: "mse" },
      { x: Float64Array.of(1, 2, 3, 4), y: Float64Array.of(1, 2, 2, 3), rows: 4 },
    );
    const r = run({
      objective,
      optimizer: { name: "sgd", lr: 0.1 },
      x0: [-1, -1, -1, -1, 0.5, 0.5, 2],
      steps: 5,
    });
    expect(r.trace[r.trace.length - 1]!.gradNorm).toBe(0);
    expect(objective.baseline!.loss).toBe(0.5);
    expect(r.verdict.status).toBe("stalled");
    expect(r.verdict.reason).toMatch(/at the trivial baseline 0\.5 .*dead units.*stalled at the baseline/);
  });
});
