import { describe, expect, it } from "vitest";
import { symmetricEigen } from "../../core/eigen.js";
import { centralHessian } from "../../core/finite-differences.js";
import type { Objective } from "../../core/objective.js";
import { createRng } from "../../core/rng.js";
import { initialParameters, mlpObjective } from "../../nn/mlp/mlp.js";
import { compileExpression } from "../../objectives/expression.js";
import { quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { run } from "../../run/runner.js";
import { stabilityAt } from "./stability.js";

const sgd = resolveOptimizerConfig({ name: "sgd", lr: 1 });

/** The exact spectrum of the Hessian from central differences of gradients, column by column. */
function denseSpectrum(f: Objective, at: Float64Array): Float64Array {
  const n = f.dim;
  const h = centralHessian((x, out) => f.gradient(x, out), at, 1e-5);
  // Symmetrize the rounding of the differences away.
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const m = 0.5 * (h[i * n + j]! + h[j * n + i]!);
      h[i * n + j] = m;
      h[j * n + i] = m;
    }
  return symmetricEigen(h, n).values;
}

describe("stability at any point: 2/λmax of the positive curvature, negative curvature beside it", () => {
  it("a network at its initial weights: λmin < 0 is normal and the limit 2/λmax is still given", () => {
    const rng = createRng(3);
    const rows = 40;
    const x = Float64Array.from({ length: rows * 2 }, () => rng.normal());
    const y = Float64Array.from({ length: rows }, (_, r) => Math.sin(x[2 * r]!) + 0.5 * x[2 * r + 1]!);
    const sizes = [2, 6, 1];
    const f = mlpObjective({ sizes, activation: "tanh", loss: "mse" }, { x, y, rows });
    const theta = initialParameters(sizes, "pytorch", createRng(5));
    const exact = denseSpectrum(f, theta);
    const lambdaMax = exact[exact.length - 1]!;
    const lambdaMin = exact[0]!;
    expect(lambdaMin).toBeLessThan(0);
    const r = stabilityAt(f, theta, sgd, { k: 1 });
    expect(r.lambdaMax).toBeCloseTo(lambdaMax, 6);
    expect(r.lambdaMin).toBeCloseTo(lambdaMin, 6);
    expect(r.critical.lr).toBeCloseTo(2 / lambdaMax, 6);
    expect(r.critical.note).toMatch(/the loss decreases from this point .* limits no learning rate/);
    expect(r.negativeCurvature).toEqual({ lambdaMin: r.lambdaMin, unboundedBelow: false });
  });

  it("the saddle x² − y²: the limit of the x direction is 2/2 = 1, and the objective is unbounded below", () => {
    const f = compileExpression("x^2 - y^2");
    expect(f.constantHessian).toBe(true);
    const r = stabilityAt(f, [1, 1], sgd);
    expect(r.critical.lr).toBeCloseTo(1, 14);
    expect(r.negativeCurvature?.lambdaMin).toBeCloseTo(-2, 14);
    expect(r.negativeCurvature?.unboundedBelow).toBe(true);
    // The x coordinate is multiplied by 1 − 2η each step: it contracts below η = 1 and grows above.
    const below = run({ objective: f, optimizer: { name: "sgd", lr: 0.99 }, x0: [1, 1], steps: 200 });
    const above = run({ objective: f, optimizer: { name: "sgd", lr: 1.01 }, x0: [1, 1], steps: 200 });
    const last = (t: typeof below) => t.trace[t.trace.length - 1]!;
    expect(last(below).x[0]! / 0.98 ** 200).toBeCloseTo(1, 10);
    expect(last(above).x[0]! / 1.02 ** 200).toBeCloseTo(1, 10);
    // And the loss falls without limit along y (y is multiplied by 1 + 2η per step) at any rate.
    expect(last(below).loss / (0.98 ** 400 - 2.98 ** 400)).toBeCloseTo(1, 12);
  });

  it("an indefinite quadratic (eigenvalues 1, −1, rotated): 2/1 = 2, unbounded below", () => {
    const f = quadraticFromEigenvalues([1, -1], 7);
    const r = stabilityAt(f, [0.3, -0.2], sgd);
    expect(r.lambdaMax).toBeCloseTo(1, 14);
    expect(r.critical.lr).toBeCloseTo(2, 14);
    expect(r.negativeCurvature?.unboundedBelow).toBe(true);
  });

  it("negative curvature on a function bounded below is not called unbounded: x⁴ − 3x² + y² at (0.1, 0)", () => {
    const f = compileExpression("x^4 - 3*x^2 + y^2");
    expect(f.constantHessian).toBe(false);
    const r = stabilityAt(f, [0.1, 0], sgd);
    // f_xx = 12x² − 6 = −5.88, f_yy = 2.
    expect(r.lambdaMin).toBeCloseTo(-5.88, 12);
    expect(r.critical.lr).toBeCloseTo(1, 12);
    expect(r.negativeCurvature).toEqual({ lambdaMin: r.lambdaMin, unboundedBelow: false });
  });

  it("a convex point: x⁴ + x² at 2 has f'' = 12·4 + 2 = 50, critical 2/50, no negative curvature", () => {
    const r = stabilityAt(compileExpression("x^4 + x^2"), [2], sgd);
    expect(r.critical.lr).toBeCloseTo(0.04, 15);
    expect(r.critical.note).toBe("");
    expect(r.negativeCurvature).toBeNull();
    expect(r.conditionNumber).toBe(1);
  });

  it("momentum β ≥ 1 never contracts, so no rate is stable (x² at 1, β = 2)", () => {
    const r = stabilityAt(
      compileExpression("x^2"),
      [1],
      resolveOptimizerConfig({ name: "sgd", lr: 1, momentum: 2 }),
    );
    expect(r.critical.lr).toBeNull();
    expect(r.critical.note).toMatch(/β = 2 ≥ 1/);
    // Every rate tried diverges.
    for (const lr of [1e-4, 1e-2, 0.3]) {
      const t = run({
        objective: compileExpression("x^2"),
        optimizer: { name: "sgd", lr, momentum: 2 },
        x0: [1],
        steps: 2000,
      });
      expect(["diverged", "nonfinite"]).toContain(t.verdict.status);
    }
  });
});
