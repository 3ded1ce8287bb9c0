import { describe, expect, it } from "vitest";
import { runStoppable } from "../../core/stoppable.js";
import { quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { criticalLearningRate, optimalGdStep, optimalHeavyBall } from "./critical.js";
import { criticalLrSearch, criticalLrSearchSteps } from "./critical-search.js";
import { divergenceThreshold, lrBoundary, lrBoundarySteps, probe } from "./threshold.js";

// A rotated quadratic with eigenvalues 0.5 and 10: λmax = 10 is not along an axis.
const f = quadraticFromEigenvalues([0.5, 10], 4);
const x0 = [1, -0.7];

describe("critical learning rate of the SGD family: closed form against bisection on real runs", () => {
  const cases = [
    { name: "sgd" },
    { name: "sgd", momentum: 0.9 },
    { name: "sgd", momentum: 0.5, dampening: 0.3 },
    { name: "sgd", momentum: 0.9, nesterov: true },
    { name: "sgd", momentum: 0.5, nesterov: true },
    { name: "sgd", momentum: 0.7, weightDecay: 0.4 },
  ] as const;
  it.each(cases)("%j", (options) => {
    const predicted = criticalLearningRate(resolveOptimizerConfig({ ...options, lr: 1 }), 10, 0.5);
    expect(predicted.lr).not.toBeNull();
    const measured = divergenceThreshold(f, x0, options, {
      horizon: 60_000,
      relativeTolerance: 1e-4,
      start: 0.05,
    });
    expect(measured).not.toBeNull();
    // Just above the threshold the loss grows slowly and must reach 1e12× within the horizon, so a
    // finite horizon measures the threshold slightly high (plain GD: 0.20003 for 0.2 at 60k steps).
    expect(Math.abs(measured!.estimate - predicted.lr!) / predicted.lr!).toBeLessThan(2e-4);
  });

  it("states each formula with the numbers", () => {
    const nesterov = criticalLearningRate(
      resolveOptimizerConfig({ name: "sgd", lr: 1, momentum: 0.9, nesterov: true }),
      10,
    );
    expect(nesterov.formula).toBe("2(1 + β)/((1 + 2β)·λmax)");
    expect(nesterov.lr).toBeCloseTo((2 * 1.9) / (2.8 * 10), 15);
    expect(criticalLearningRate(resolveOptimizerConfig({ name: "sgd", lr: 1 }), 2).evaluated).toBe("2/2 = 1");
    const heavy = criticalLearningRate(resolveOptimizerConfig({ name: "sgd", lr: 1, momentum: 0.9 }), 10);
    expect(heavy.lr).toBeCloseTo(0.38, 15);
  });

  it("negative curvature withholds nothing: the limit is still 2/λmax, and the note says what λmin < 0 means", () => {
    const r = criticalLearningRate(resolveOptimizerConfig({ name: "sgd", lr: 1 }), 3, -1);
    expect(r.lr).toBeCloseTo(2 / 3, 15);
    expect(r.note).toMatch(/λmin = -1 < 0: along its eigenvector the loss decreases from this point/);
    expect(r.note).not.toMatch(/without bound/);
  });

  it("adaptive optimizers get no fixed-rate answer from λmax alone", () => {
    const r = criticalLearningRate(resolveOptimizerConfig({ name: "adam" }), 10);
    expect(r.lr).toBeNull();
    expect(r.note).toMatch(/preconditioned sharpness/);
  });
});

describe("optimal fixed steps", () => {
  it("GD at 2/(λmin+λmax) contracts by (κ−1)/(κ+1) per step, and no other step does better", () => {
    const { lr, rate } = optimalGdStep(0.5, 10);
    expect(lr).toBeCloseTo(2 / 10.5, 15);
    expect(rate).toBeCloseTo(19 / 21, 15);
    const contraction = (eta: number) => Math.max(Math.abs(1 - eta * 0.5), Math.abs(1 - eta * 10));
    expect(contraction(lr)).toBeCloseTo(rate, 14);
    for (const eta of [lr * 0.98, lr * 1.02]) expect(contraction(eta)).toBeGreaterThan(rate);
  });

  it("Polyak's heavy ball beats the best GD step on real runs", () => {
    const hb = optimalHeavyBall(0.5, 10);
    const gd = optimalGdStep(0.5, 10);
    expect(hb.rate).toBeLessThan(gd.rate);
    const steps = (options: Parameters<typeof probe>[2]) =>
      probe(f, x0, options, { horizon: 10_000, gradientTolerance: 1e-8 });
    const heavy = steps({ name: "sgd", lr: hb.lr, momentum: hb.momentum });
    const plain = steps({ name: "sgd", lr: gd.lr });
    expect(heavy.outcome).toBe("converged");
    expect(plain.outcome).toBe("converged");
    expect(heavy.steps).toBeLessThan(plain.steps / 2);
  });
});

describe("a search stopped part-way (Ctrl-C) keeps the bracket its runs reached", () => {
  it("lrBoundary stopped after k rates: below and above are the largest good and smallest bad of those k", async () => {
    const tried: number[] = [];
    const bad = (lr: number) => {
      tried.push(lr);
      return lr > Math.PI;
    };
    const whole = lrBoundary(bad, { start: 1e-3 })!;
    const all = [...tried];
    expect(whole.below).toBeLessThanOrEqual(Math.PI);
    expect(whole.above).toBeGreaterThan(Math.PI);
    for (const k of [1, 3, 8, 12]) {
      tried.length = 0;
      let seen = 0;
      const { value, stopped } = await runStoppable(lrBoundarySteps(bad, { start: 1e-3 }), () => ++seen >= k);
      expect(stopped).toBe(true);
      // The same rates, in the same order, up to the stop.
      expect(tried).toEqual(all.slice(0, k));
      const good = tried.filter((lr) => lr <= Math.PI);
      const over = tried.filter((lr) => lr > Math.PI);
      expect(value!.stopped).toBe(true);
      expect(value!.probes).toBe(k);
      expect(value!.below).toBe(good.length ? Math.max(...good) : 0);
      expect(value!.above).toBe(over.length ? Math.min(...over) : Number.POSITIVE_INFINITY);
    }
  });

  it("criticalLrSearch to its end equals its stoppable form run without a stop; stopped, it says so and skips the traced runs", async () => {
    const f = quadraticFromEigenvalues([4, 1]);
    const x0 = [1, 1];
    const whole = criticalLrSearch(f, x0, { name: "sgd" }, { horizon: 2000 });
    let runs = 0;
    const free = await runStoppable(
      criticalLrSearchSteps(f, x0, { name: "sgd" }, { horizon: 2000 }, (n) => (runs = n)),
      () => false,
    );
    expect(free.stopped).toBe(false);
    expect(free.value.divergence).toEqual(whole.divergence);
    expect(free.value.convergence).toEqual(whole.convergence);
    expect(free.value.explanation).toBe(whole.explanation);
    // 2/λmax = 0.5 on a quadratic; just above it the error grows by |1 − 4η| a step, and must
    // pass the bound (10⁶ × f(x₀), the loss squared) within 2000 steps: η ≈ 0.5 + ln(10⁶)/16000.
    expect(whole.divergence!.below).toBeGreaterThanOrEqual(0.5);
    expect(whole.divergence!.above).toBeLessThan(0.5 + Math.log(1e6) / 16000 + 1e-4);
    expect(runs).toBeGreaterThan(whole.divergence!.probes + whole.convergence!.probes);
    let heard = 0;
    const cut = await runStoppable(
      criticalLrSearchSteps(f, x0, { name: "sgd" }, { horizon: 2000 }, (n) => (heard = n)),
      () => heard >= 5,
    );
    expect(cut.stopped).toBe(true);
    expect(cut.value.stopped).toBe(true);
    expect(heard).toBe(5);
    expect(cut.value.divergence!.stopped).toBe(true);
    expect(cut.value.divergence!.probes).toBe(5);
    expect(cut.value.convergence).toMatchObject({ probes: 0, stopped: true });
    expect(cut.value.explanation).toBe(
      "Stopped by Ctrl-C after 5 runs: each threshold is the bracket its runs reached, not bisected to the tolerance.",
    );
  });
});
