import { describe, expect, it } from "vitest";
import { rosenbrock } from "../objectives/builtins.js";
import { compileExpression } from "../objectives/expression.js";
import { quadraticFromEigenvalues } from "../objectives/quadratic.js";
import { iterateRun, run } from "./runner.js";

const square = compileExpression("x^2");

describe("the seed example: gradient descent on x² from −1", () => {
  // x_{k+1} = x_k − η·2x_k = (1 − 2η)x_k, so x_k = −(1 − 2η)^k.
  it.each([0.1, 1, 1.125])(
    "η = %s follows x_k = −(1−2η)^k exactly, with the loss and gradient of the same point",
    (lr) => {
      const r = run({ objective: square, optimizer: { name: "sgd", lr }, x0: [-1], steps: 10 });
      expect(r.trace).toHaveLength(11);
      r.trace.forEach((rec, k) => {
        const x = -((1 - 2 * lr) ** k);
        expect(rec.step).toBe(k);
        expect(rec.x[0]).toBeCloseTo(x, 12);
        expect(rec.loss).toBeCloseTo(x * x, 12);
        expect(rec.grad[0]).toBeCloseTo(2 * x, 12);
        expect(rec.gradNorm).toBeCloseTo(Math.abs(2 * x), 12);
      });
    },
  );

  it("ΔC, first- and second-order predictions per step (exact for a quadratic)", () => {
    const lr = 1.125;
    const r = run({ objective: square, optimizer: { name: "sgd", lr }, x0: [-1], steps: 4 });
    for (const rec of r.trace.slice(0, -1)) {
      const x = rec.x[0]!;
      const g = 2 * x;
      const next = (1 - 2 * lr) * x;
      expect(rec.deltaLoss).toBeCloseTo(next * next - x * x, 12);
      // first order: gᵀΔx = −η g²; second adds ½ Δx·H·Δx = ½ (η g)²·2
      expect(rec.firstOrder).toBeCloseTo(-lr * g * g, 12);
      expect(rec.secondOrder).toBeCloseTo(-lr * g * g + 0.5 * (lr * g) ** 2 * 2, 12);
      expect(rec.secondOrder).toBeCloseTo(rec.deltaLoss!, 12);
      expect(rec.firstOrder!).toBeLessThan(0);
      expect(rec.deltaLoss!).toBeGreaterThan(0);
    }
    // The last record has no change fields: there is no x_{N+1}.
    const last = r.trace[r.trace.length - 1]!;
    expect(last.deltaLoss).toBeUndefined();
    expect(last.firstOrder).toBeUndefined();
  });

  it("verdicts: converging, oscillating, diverging, with the factor 1 − 2η in the reason", () => {
    const v = (lr: number) =>
      run({ objective: square, optimizer: { name: "sgd", lr }, x0: [-1], steps: 20 }).verdict;
    expect(v(0.1).status).toBe("converging");
    expect(v(0.1).reason).toContain("|1 − η·λ| = |1 − 0.1·2| = 0.8 < 1");
    expect(v(1).status).toBe("oscillating");
    expect(v(1).reason).toContain("|1 − η·λ| = |1 − 1·2| = 1 exactly");
    expect(v(1).reason).toContain("bounces");
    expect(v(1.125).status).toBe("diverging");
    expect(v(1.125).reason).toContain("|1 − η·λ| = |1 − 1.125·2| = 1.25 > 1");
    expect(v(1.125).reason).toContain("×1.563 per step");
    expect(v(1.125).atStep).toBe(1);
  });

  it("converged when ‖g‖ ≤ tolerance: stops there", () => {
    const r = run({ objective: square, optimizer: { name: "sgd", lr: 0.5 }, x0: [-1], steps: 10 });
    // η = 0.5 is Newton's step on x²: x₁ = 0 exactly.
    expect(r.trace).toHaveLength(2);
    expect(r.verdict).toMatchObject({ status: "converged", atStep: 1 });
  });

  it("nonfinite: stops at the first non-finite value and records it", () => {
    // (1 − 2·10)^k = (−19)^k overflows past 1e308 near k = 241; x² overflows at half that.
    const r = run({ objective: square, optimizer: { name: "sgd", lr: 10 }, x0: [-1], steps: 1000 });
    const last = r.trace[r.trace.length - 1]!;
    expect(last.loss).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isFinite(r.trace[r.trace.length - 2]!.loss)).toBe(true);
    // 19^(2k) > 1.8e308 first when k > 308·ln10/(2·ln19) = 120.4
    expect(last.step).toBe(121);
    expect(r.verdict).toMatchObject({ status: "nonfinite", atStep: 121 });
    expect(r.verdict.reason).toMatch(
      /^\|1 − η·λ\| = \|1 − 10·2\| = 19 > 1.*the loss became Infinity at step 121/,
    );
  });
});

describe("runner contracts", () => {
  it("never modifies the caller's start point", () => {
    const x0 = Float64Array.of(-1.2, 1);
    run({ objective: rosenbrock(), optimizer: { name: "adam", lr: 0.01 }, x0, steps: 5 });
    expect(Array.from(x0)).toEqual([-1.2, 1]);
  });

  it("records are independent snapshots (no aliasing between steps)", () => {
    const trace = [
      ...iterateRun({
        objective: rosenbrock(),
        optimizer: { name: "sgd", lr: 1e-3, momentum: 0.9 },
        x0: [-1.2, 1],
        steps: 3,
      }),
    ];
    expect(trace[0]!.x).not.toBe(trace[1]!.x);
    expect(trace[0]!.x[0]).toBe(-1.2);
    expect(trace[0]!.grad).not.toBe(trace[1]!.grad);
  });

  it("on a quadratic, GD with lr just under 2/λmax converges and just over diverges", () => {
    const f = quadraticFromEigenvalues([1, 100], 5);
    const slow = run({ objective: f, optimizer: { name: "sgd", lr: 0.0199 }, x0: [1, 1], steps: 400 });
    const fast = run({ objective: f, optimizer: { name: "sgd", lr: 0.0201 }, x0: [1, 1], steps: 400 });
    expect(["converging", "converged"]).toContain(slow.verdict.status);
    expect(fast.verdict.status).toBe("diverging");
  });

  it.each([
    [{ x0: [1, 2] }, /invalid x0: 2 values for 1 variable \(x\)/],
    [{ x0: [Number.NaN] }, /invalid x0: x = NaN is not finite/],
    [{ x0: [Number.POSITIVE_INFINITY] }, /invalid x0: x = Infinity is not finite/],
    [{ steps: -1 }, /invalid steps: -1/],
    [{ steps: 2.5 }, /invalid steps: 2.5/],
  ])("refuses %j", (patch, message) => {
    expect(() =>
      run({ objective: square, optimizer: { name: "sgd", lr: 0.1 }, x0: [-1], steps: 5, ...patch }),
    ).toThrow(message);
  });
});
