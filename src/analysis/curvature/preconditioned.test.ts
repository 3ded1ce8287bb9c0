import { describe, expect, it } from "vitest";
import { quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { createOptimizer } from "../../optim/index.js";
import { divergenceThreshold } from "../thresholds/threshold.js";
import { preconditioning, sharpnessAlongRun } from "./preconditioned.js";

const f = quadraticFromEigenvalues([1, 100], 3);

describe("preconditioners read from the optimizer's state", () => {
  it("Adam: P = √(v/(1 − β2ᵗ)) + ε and the bound (2 + 2β1)/((1 − β1)·η/(1 − β1ᵗ))", () => {
    const opt = createOptimizer({ name: "adam", lr: 0.01 }, 2);
    const x = Float64Array.of(1, -2);
    const g = new Float64Array(2);
    const v = [0, 0];
    for (let t = 1; t <= 3; t++) {
      f.gradient(x, g);
      for (let i = 0; i < 2; i++) v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
      opt.step(x, g);
    }
    const p = preconditioning(opt)!;
    for (let i = 0; i < 2; i++)
      expect(p.diagonal[i]).toBeCloseTo(Math.sqrt(v[i]! / (1 - 0.999 ** 3)) + 1e-8, 12);
    expect(p.bound).toBeCloseTo((2 + 1.8) / (0.1 * (0.01 / (1 - 0.9 ** 3))), 9);
    expect(preconditioning(createOptimizer({ name: "adam" }, 2))).toBeNull();
  });

  it("RMSprop with α = 1 never updates its average: P = ε exactly, so it is GD with step η/ε — bisection agrees with the bound", () => {
    for (const momentum of [0, 0.6]) {
      const eps = 0.5;
      // Stable iff λmax/ε < 2(1 + μ)/η, i.e. η < 2(1 + μ)·ε/λmax.
      const predicted = (2 * (1 + momentum) * eps) / 100;
      const measured = divergenceThreshold(
        f,
        [1, 1],
        { name: "rmsprop", alpha: 1, eps, momentum },
        { horizon: 60_000, relativeTolerance: 1e-4, start: 0.01 },
      );
      expect(Math.abs(measured!.estimate / predicted - 1)).toBeLessThan(3e-4);
      const opt = createOptimizer({ name: "rmsprop", lr: predicted, alpha: 1, eps, momentum }, 2);
      opt.step(Float64Array.of(1, 1), Float64Array.of(1, 1));
      const p = preconditioning(opt)!;
      expect(Array.from(p.diagonal)).toEqual([eps, eps]);
      // At the measured threshold the preconditioned sharpness λmax/ε sits on the bound.
      expect(100 / eps / p.bound).toBeCloseTo(1, 12);
    }
  });
});

describe("Adam at the edge of stability", () => {
  // As Adam converges on a quadratic, v shrinks, P^{-1/2}HP^{-1/2} grows, and the loss stays
  // quiet until the preconditioned sharpness crosses (2 + 2β1)/((1 − β1)η) = 38/η; then it spikes,
  // v jumps, and the sharpness falls back (Cohen et al., "Adaptive gradient methods at the edge of
  // stability", 2022).
  const { records } = sharpnessAlongRun(
    f,
    [1, 1],
    { name: "adam", lr: 0.01, eps: 1e-12 },
    { steps: 14_000, every: 50 },
  );
  const ratio = records.map((r) => r.sharpness / r.bound);

  it("the bound is 38/η once the bias correction has faded", () => {
    expect(records[records.length - 1]!.bound).toBeCloseTo(3800, 6);
  });

  it("the loss spikes only when the sharpness has crossed the bound", () => {
    let spikes = 0;
    for (let i = 1; i < records.length; i++) {
      if (records[i]!.loss > records[i - 1]!.loss * 1e3) {
        spikes++;
        expect(Math.max(ratio[i]!, ratio[i - 1]!)).toBeGreaterThanOrEqual(1);
      }
    }
    expect(spikes).toBeGreaterThan(3);
    const firstCross = ratio.findIndex((r) => r >= 1);
    const firstSpike = records.findIndex((r, i) => i > 0 && r.loss > records[i - 1]!.loss * 1e3);
    expect(firstCross).toBeGreaterThan(0);
    expect(firstSpike - firstCross).toBeGreaterThanOrEqual(0);
    expect(firstSpike - firstCross).toBeLessThanOrEqual(3);
    // Before the first crossing the run converges (far below the start), without spikes (checked above).
    expect(records[firstCross]!.loss).toBeLessThan(1e-30 * records[0]!.loss);
  });

  it("afterwards the sharpness hovers around the bound instead of growing", () => {
    const late = ratio.slice(Math.floor(ratio.length * 0.75));
    expect(Math.max(...late)).toBeLessThan(1.4);
    expect(Math.min(...late)).toBeGreaterThan(0.3);
  });
});
