import { describe, expect, it } from "vitest";
import { rosenbrock } from "../../objectives/builtins.js";
import { compileExpression } from "../../objectives/expression.js";
import { quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { run } from "../../run/runner.js";
import { DivergenceDetector, detectInTrace } from "./detector.js";

const detect = (
  f: Parameters<typeof run>[0]["objective"],
  x0: number[],
  options: Parameters<typeof resolveOptimizerConfig>[0],
  steps: number,
) => {
  const r = run({ objective: f, optimizer: options, x0, steps });
  const nonfinite = r.trace.findIndex((t) => !Number.isFinite(t.loss) || !Number.isFinite(t.gradNorm));
  return { detection: detectInTrace(r.trace, resolveOptimizerConfig(options)), nonfinite };
};

describe("divergence detector", () => {
  const bowl = quadraticFromEigenvalues([1, 10], 3);
  it.each([
    ["x² at 1.125 (1.125× critical)", compileExpression("x^2"), [-1], { name: "sgd", lr: 1.125 }],
    ["bowl at 1.5× critical", bowl, [1, 1], { name: "sgd", lr: 0.3 }],
    ["bowl with momentum at 1.5× critical", bowl, [1, 1], { name: "sgd", lr: 0.57, momentum: 0.9 }],
    ["Rosenbrock at 5× its local limit", rosenbrock(), [-1.2, 1], { name: "sgd", lr: 0.0066 }],
  ] as const)("warns before the first non-finite value: %s", (_, f, x0, options) => {
    const { detection, nonfinite } = detect(f, [...x0], options, 3000);
    expect(nonfinite).toBeGreaterThan(0);
    expect(detection.state).toBe("diverging");
    expect(detection.firstWarningStep).not.toBeNull();
    expect(detection.firstWarningStep!).toBeLessThan(nonfinite);
  });

  it.each([
    ["x² at 0.5× critical", compileExpression("x^2"), [-1], { name: "sgd", lr: 0.5 }],
    ["bowl at 0.5× critical", bowl, [1, 1], { name: "sgd", lr: 0.1 }],
    ["bowl with momentum at 0.5×", bowl, [1, 1], { name: "sgd", lr: 0.19, momentum: 0.9 }],
    ["Rosenbrock at 0.5× its local limit", rosenbrock(), [-1.2, 1], { name: "sgd", lr: 0.00066 }],
    ["x² exactly at the boundary (bounces forever)", compileExpression("x^2"), [-1], { name: "sgd", lr: 1 }],
  ] as const)("raises no alarm: %s", (_, f, x0, options) => {
    const { detection } = detect(f, [...x0], options, 3000);
    expect(detection.firstWarningStep).toBeNull();
    expect(detection.state).not.toBe("diverging");
  });

  // x² at η = 1.125 from −1: the loss grows ×(1 − 2η)² = 1.5625 per step, every step with the
  // secant curvature f'' = 2, r = η·2/2 = 1.125 ≥ 1, flat (no catapult). The bound is
  // B = 10⁶ × |f(x₀)| = 10⁶ (a function has no baseline), passed at step 31 (1.5625³¹ = 1.02e6).
  // T2 projects the rise as many steps ahead as it has run — k steps from step k at ×1.5625 —
  // so it fires at the first k with 1.5625²ᵏ ≥ 10⁶: 2k ≥ 30.96, k = 16, fifteen steps early.
  it("says why, with the numbers", () => {
    const { detection } = detect(compileExpression("x^2"), [-1], { name: "sgd", lr: 1.125 }, 50);
    expect(detection.firstWarningStep).toBe(16);
    expect(detection.reason).toBe(
      "at step 16 the loss has risen 16 steps in a row with r ≥ 1 (now 1.125, trend 0/step, growth ×1.562/step): r is not falling (no catapult), and 16 more steps take the loss past the bound 1000000",
    );
  });

  // Adam (the loss alone): 1, 0.5, 30, 2e3, 4e5. From step 2 the loss climbs three steps in a row
  // (log-growth ln 30 — counted from the run's scale 1, not from 0.5 below it —, ln 66.7, ln 200:
  // slope 0.9486); an adaptive optimizer's loss grows at most polynomially, so the fitted growth
  // ŝ ≈ 5.25 over the n = 3 steps seen projects ŝ·n·ln 2 ≈ 10.9 in log over the next three:
  // 4e5·e¹⁰·⁹ ≈ 2e10 > B = 10⁶ at step 4, before the bound is passed (step 5).
  it("reads the loss alone for an adaptive optimizer, and warns before the bound", () => {
    const d = new DivergenceDetector({ name: "adam" });
    const losses = [1, 0.5, 30, 2e3, 4e5, 1e9, Infinity];
    losses.forEach((loss, k) => {
      d.observeScalars({ step: k, loss, curvature: Number.NaN, lr: 1e-3 });
    });
    expect(d.detection.firstWarningStep).toBe(4);
    expect(d.detection.reason).toBe(
      "at step 4 the loss has grown 3 steps in a row (×200 now, trend 0.9486/step in log-growth): not decelerating, and 3 more steps take it past the bound 1000000",
    );
    // A one-step jump of ×1600 is not a trend for an optimizer whose steps are bounded.
    const jump = new DivergenceDetector({ name: "adam" });
    [8.3, 13260, 316, 150, 82, 20, 1.2].forEach((loss, k) => {
      jump.observeScalars({ step: k, loss, curvature: Number.NaN, lr: 0.1 });
    });
    expect(jump.detection.firstWarningStep).toBeNull();
  });

  // Back to calm: a warned rise that comes back below the start is not left "diverging".
  // Growth is read on the run's scale S = max(start, baseline): a minibatch loss that was 3e-15
  // (a confident classifier's batch) and is 0.26·S on the next batch has grown ×10¹⁴ from the
  // step before, and not at all from where the run began. The detector reads no growth there.
  it("reads no runaway in a loss climbing back from near 0 to below the run's scale", () => {
    const d = new DivergenceDetector({ name: "sgd", lr: 16 }, { bound: 1e6, curvature: false });
    [1, 0.4, 0.09, 2.9e-15, 0.26, 0.55, 0.26, 0.41].forEach((loss, k) => {
      d.observeScalars({ step: k, loss, curvature: Number.NaN, lr: 16 });
    });
    expect(d.detection.firstWarningStep).toBeNull();
  });

  // One step's growth is extrapolated only when corroborated. With momentum β = 0.9 (r = ηc/3.8):
  // a loss of 0 that jumps to 680·S and then ×229 with r = 0.58 along the step is one step of
  // growth from above the scale, the curvature saying it contracts — no warning (this run peaked
  // at 5.4e5·S and trained). A loss that climbs ×48, ×45, ×24 from S with r = 0.74 has climbed two
  // steps from above the scale: at 5.46e4·S one more step at ×24 passes B = 10⁶·S, and it is
  // warned at step 4, strictly before it passes B (step 5, at 4.1e6·S).
  it("extrapolates one step's growth only when the curvature or a second climbing step corroborates it", () => {
    const momentum = resolveOptimizerConfig({ name: "sgd", lr: 1, momentum: 0.9 });
    const catapult = new DivergenceDetector(momentum, { bound: 1e6 });
    [1, 0.2, 1e-9, 0, 680, 1.557e5, 0, 5.38e5, 2.6e5, 3e4, 0.5, 0.1].forEach((loss, k) => {
      catapult.observeScalars({ step: k, loss, curvature: k === 5 ? 0.58 * 3.8 : 0.3, lr: 1 });
    });
    expect(catapult.detection.firstWarningStep).toBeNull();
    const momentum8 = resolveOptimizerConfig({ name: "sgd", lr: 1, momentum: 0.8 });
    const runaway = new DivergenceDetector(momentum8, { bound: 1e6 });
    const states = [1, 1.074, 51.4, 2290, 54630, 4.137e6].map((loss, k) =>
      runaway.observeScalars({ step: k, loss, curvature: k === 0 ? Number.NaN : 0.74 * 3.6, lr: 1 }),
    );
    expect(states.indexOf("diverging")).toBe(4);
    expect(runaway.detection.reason).toMatch(/^at step 4 the loss 54630 rose ×23\.86 with r = 0\.74/);
  });

  // Divergence feeds itself: the curvature along the step grows with the loss. A deep linear net
  // of set D (gd, B = 1.073e7) climbed ×3, ×4.6, ×59 with ηc 2.44, 2.60, 25.4: at 2636, r = 12.7
  // extrapolated to r²/rₖ₋₁ = 124 gives one more step past B — warned at step 5, a step before
  // it passed B (4.3e9). The same losses with the curvature falling at the last step (a catapult's
  // sign) extrapolate only the loss's own acceleration, ×758, short of B: no warning.
  it("extrapolates a curvature that rises with the loss", () => {
    const gd = resolveOptimizerConfig({ name: "sgd", lr: 1 });
    const losses = [8.269, 3.37, 3.168, 9.579, 44.39, 2636];
    const run = (last: number) => {
      const d = new DivergenceDetector(gd, { bound: 1.0729e7 });
      const curvature = [Number.NaN, 0.7614, 1.972, 2.437, 2.602, last];
      return losses.map((loss, k) => d.observeScalars({ step: k, loss, curvature: curvature[k]!, lr: 1 }));
    };
    expect(run(25.35).indexOf("diverging")).toBe(5);
    expect(run(2.3)).not.toContain("diverging");
  });

  it("goes back to calm once a warned spike has recovered", () => {
    const d = new DivergenceDetector(resolveOptimizerConfig({ name: "sgd", lr: 1 }));
    // ×30 a step with r = 3: T1 projects one more step past B = 10⁶ at step 4 (2.7e4·30 ≈ 8e5·…).
    const stream = [1, 30, 900, 27000, 400, 0.5, 0.3];
    stream.forEach((loss, k) => {
      d.observeScalars({ step: k, loss, curvature: k === 0 ? Number.NaN : k < 4 ? 6 : 0.5, lr: 1 });
    });
    expect(d.detection.firstWarningStep).not.toBeNull();
    expect(d.detection.state).not.toBe("diverging");
  });

  // The catapult: the loss climbs ×50 in three steps with r > 1, the curvature drops under the
  // limit and the loss falls back below its start — no alarm, and the state says what happened.
  it("stays quiet through a catapult and names it", () => {
    const d = new DivergenceDetector(resolveOptimizerConfig({ name: "sgd", lr: 1 }));
    const stream = [
      [1, Number.NaN],
      [2.5, 2.6],
      [9, 2.8],
      [50, 1.9],
      [4, 1],
      [0.6, 0.8],
      [0.4, 0.5],
    ] as const;
    stream.forEach(([loss, c], k) => {
      d.observeScalars({ step: k, loss, curvature: c, lr: 1 });
    });
    expect(d.detection.firstWarningStep).toBeNull();
    expect(d.detection.state).toBe("catapult");
    expect(d.detection.reason).toMatch(
      /rose to 50 \(×50 its start\) at step 3 and came back below its start/,
    );
  });
});
