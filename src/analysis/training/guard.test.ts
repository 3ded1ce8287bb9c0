import { describe, expect, it } from "vitest";
import type { Objective } from "../../core/objective.js";
import { quadratic, quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { run } from "../../run/runner.js";
import { guardedRun } from "./guard.js";

// ½xᵀAx + bᵀx with A's eigenvalues 1 and 10 (rotated): the minimum is −½bᵀA⁻¹b, not 0.
const base = quadraticFromEigenvalues([1, 10], 3);
const bowl = quadratic(base.matrix, 2, Float64Array.of(1, -2));
const minimum = bowl.minimum;

describe("guard", () => {
  it("a guarded run at a diverging rate ends within 1% of an unguarded run at a safe rate", () => {
    const safe = run({ objective: bowl, optimizer: { name: "sgd", lr: 0.1 }, x0: [3, 3], steps: 600 });
    const guarded = guardedRun({
      objective: bowl,
      optimizer: { name: "sgd", lr: 0.3 },
      x0: [3, 3],
      steps: 600,
    });
    const last = (t: { trace: readonly { loss: number }[] }) => t.trace[t.trace.length - 1]!.loss;
    expect(Math.abs(last(guarded) - last(safe))).toBeLessThan(0.01 * Math.abs(last(safe)));
    expect(Math.abs(last(safe) - minimum)).toBeLessThan(1e-9);
    expect(guarded.interventions).toHaveLength(1);
    const i = guarded.interventions[0]!;
    expect(i.oldLr).toBe(0.3);
    // 0.9 × 2/λmax with λmax = 10.
    expect(i.newLr).toBeCloseTo(0.18, 6);
    expect(i.how).toMatch(/0\.9 × the critical rate 0\.2/);
    expect(guarded.guardStatus).toBe("finished");
  });

  it("an injected NaN gradient is rolled back and the run goes on", () => {
    let calls = 0;
    const flaky: Objective = {
      ...bowl,
      gradient(x, out) {
        const f = bowl.gradient(x, out);
        if (++calls === 40) {
          out.fill(Number.NaN);
          return Number.NaN;
        }
        return f;
      },
    };
    const r = guardedRun({ objective: flaky, optimizer: { name: "sgd", lr: 0.1 }, x0: [3, 3], steps: 300 });
    expect(r.interventions).toHaveLength(1);
    expect(r.interventions[0]!.reason).toMatch(/non-finite value at step \d+/);
    expect(r.interventions[0]!.rolledBackTo).toBeLessThan(r.interventions[0]!.atStep);
    expect(r.trace.every((t) => Number.isFinite(t.loss))).toBe(true);
    expect(Math.abs(r.trace[r.trace.length - 1]!.loss - minimum)).toBeLessThan(1e-9);
  });

  it("a learning-rate spike in a schedule that would overflow is caught, rolled back and scaled to a safe rate", () => {
    // lr 5 for steps 30–329 multiplies the error along λ = 10 by |1 − 50| = 49 per step: left alone
    // the run overflows. (A spike of a few steps would not: on a quadratic it decays again once the
    // rate is back to 0.05, so the guard has nothing to rescue.)
    const spike = (k: number) => (k >= 30 && k < 330 ? 5 : 0.05);
    const config = {
      objective: bowl,
      optimizer: { name: "sgd", lr: 0.05 },
      x0: [3, 3],
      steps: 400,
      schedule: spike,
    } as const;
    const alone = run(config);
    expect(alone.verdict.status).toBe("nonfinite");
    const r = guardedRun(config);
    // The spike of 5 is clipped to 0.9 × 2/λmax = 0.18, the rest of the schedule untouched: one rollback is enough.
    expect(r.interventions).toHaveLength(1);
    expect(r.interventions[0]!.how).toMatch(/critical rate 0\.2/);
    expect(r.interventions[0]!.atStep).toBeLessThan(alone.verdict.atStep!);
    expect(r.guardStatus).toBe("finished");
    expect(Math.abs(r.trace[r.trace.length - 1]!.loss - minimum)).toBeLessThan(1e-6);
  });

  it("gives up after the allowed retries and says so", () => {
    let calls = 0;
    const broken: Objective = {
      ...bowl,
      gradient(x, out) {
        const f = bowl.gradient(x, out);
        return ++calls > 20 ? Number.NaN : f;
      },
    };
    const r = guardedRun(
      { objective: broken, optimizer: { name: "sgd", lr: 0.1 }, x0: [3, 3], steps: 100 },
      { maxRetries: 3 },
    );
    expect(r.guardStatus).toBe("gave-up");
    expect(r.interventions).toHaveLength(3);
  });
});
