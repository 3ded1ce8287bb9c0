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

  // x² at η = 1.125: the loss grows ×(1 − 2η)² = 1.5625 per step, every step with the secant
  // curvature f'' = 2 against the limit 2/η = 1.778 (r = 1.125). Growth ×100 over at least 8 such
  // steps first holds at step 11: 1.5625¹¹ = 135.5.
  it("says why, with the numbers", () => {
    const { detection } = detect(compileExpression("x^2"), [-1], { name: "sgd", lr: 1.125 }, 50);
    expect(detection.firstWarningStep).toBe(11);
    expect(detection.reason).toBe(
      "at step 11 the loss has risen for 11 steps, ×135.5 in all, with the curvature along every step at or above the limit 1.778 (= 2/η; now 1.125×): it is not falling back as in a catapult",
    );
  });

  // A fast blow-up whose curvature signal is erratic is caught by its size: the loss passes
  // 1e4 × its start while rising, whatever the curvature.
  it("catches a runaway by its size when the curvature is erratic", () => {
    const d = new DivergenceDetector({ name: "adam" });
    const losses = [1, 0.5, 30, 2e3, 4e5, 1e9, Infinity];
    losses.forEach((loss, k) => {
      d.observeScalars({ step: k, loss, curvature: Number.NaN, lr: 1e-3 });
    });
    // Step 4 (4e5) is the first rising value ≥ 1e4 × max(start, lowest of the window) after two rises.
    expect(d.detection.firstWarningStep).toBe(4);
    expect(d.detection.reason).toMatch(
      /at step 4 the loss is 400000, ×400000 its start and ×800000 its lowest/,
    );
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
