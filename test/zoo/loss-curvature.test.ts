import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { curvatureFromLoss, type LogRecord } from "../../src/analysis/diagnosis/diagnose.js";
import { compileExpression } from "../../src/objectives/expression.js";
import { run } from "../../src/run/runner.js";

/**
 * The curvature diagnose reads off a loss-only log (λ = (1 + √r)/η from a loss growing ×r a step
 * at rate η), against curvatures known otherwise: the closed form of a quadratic, and the secant
 * curvature (g_k − g_{k−1})ᵀΔθ/‖Δθ‖² PyTorch recorded along the same steps of the labelled runs
 * (scripts/fixtures/torch_holdout*.py). The estimate is given only where the growth is steady;
 * the steadiness rule was chosen looking at these same runs, so this is a check, not a blind one.
 */
describe("curvature from a loss-only log", () => {
  it("on f = 20x² + y²/2 at η = 0.1: λ = 40 exactly (|1 − 4| = 3, the loss ×9 a step), the stable rates below 0.05", () => {
    const f = compileExpression("20*x^2 + 0.5*y^2");
    const r = run({ objective: f, x0: [1, 1], optimizer: { name: "sgd", lr: 0.1 }, steps: 40 });
    const records: LogRecord[] = r.trace.map((t) => ({ step: t.step, loss: t.loss, lr: 0.1 }));
    const e = curvatureFromLoss(records.filter((x) => Number.isFinite(x.loss)))!;
    expect(e.lambda).toBeCloseTo(40, 6);
    expect(e.lrFrom).toBe("the log's lr column");
    // At a rate given rather than logged, the same; and without any rate, nothing.
    const bare = records.map(({ lr: _lr, ...x }) => x);
    expect(curvatureFromLoss(bare, 0.1)!.lambda).toBeCloseTo(40, 6);
    expect(curvatureFromLoss(bare)).toBeNull();
  });

  it("on PyTorch's full-batch gradient-descent runs: where it is given, within 3% of the secant curvature along the same steps", () => {
    let given = 0;
    let runs = 0;
    for (const set of ["holdout-torch", "holdout-torch-b", "holdout-torch-c"]) {
      const doc = JSON.parse(readFileSync(new URL(`./__golden__/${set}.json`, import.meta.url), "utf8"));
      for (const net of doc.nets)
        for (const r of net.runs) {
          if (r.optimizer.name !== "gd") continue;
          runs++;
          const num = (v: number | string) => Number(v);
          const loss: number[] = r.loss.map(num);
          const end = loss.findIndex((v) => !Number.isFinite(v));
          const records = loss
            .slice(0, end < 0 ? undefined : end)
            .map((l, k) => ({ step: k, loss: l, lr: r.lr }));
          const e = curvatureFromLoss(records);
          if (!e) continue;
          given++;
          // The secant curvatures of the steps the estimate read (the last e.steps of the growth).
          const last = records.length - 1;
          const secant = (r.curvature as (number | string)[])
            .map(num)
            .slice(last - e.steps + 1, last + 1)
            .sort((a, b) => a - b);
          const median = secant[secant.length >> 1]!;
          expect(Math.abs(e.lambda / median - 1), `${set} ${net.id} ×${r.multiple}`).toBeLessThan(0.03);
        }
    }
    expect(runs).toBeGreaterThan(100);
    expect(given).toBeGreaterThanOrEqual(6);
  });
});
