import { describe, expect, it } from "vitest";
import { rosenbrock } from "../../objectives/builtins.js";
import { compileExpression } from "../../objectives/expression.js";
import { quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { run } from "../../run/runner.js";
import { detectInTrace } from "./detector.js";

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

  // x² at η = 1.125: the loss grows ×(1 − 2η)² = 1.5625 per step, so ×1.5625⁶ = 14.55 after six steps,
  // the first time it is more than 10× its low; the secant curvature is f'' = 2 against 2/η = 1.778.
  it("says why, with the numbers", () => {
    const { detection } = detect(compileExpression("x^2"), [-1], { name: "sgd", lr: 1.125 }, 50);
    expect(detection.reason).toMatch(
      /at step 6 the curvature along the step, 2, has exceeded the limit 1\.778 \(= 2\/η\) for 6 steps and the loss is ×14\.55 its lowest of the last 7 steps, rising every step/,
    );
  });
});
