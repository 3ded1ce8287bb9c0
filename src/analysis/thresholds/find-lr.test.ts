import { describe, expect, it } from "vitest";
import { compileExpression } from "../../objectives/expression.js";
import { quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { lrRangeTest } from "./find-lr.js";

describe("learning-rate range test on quadratics", () => {
  it("never stops below the critical rate 2/λmax: below it plain GD cannot raise the loss", () => {
    for (const [eig, x0] of [
      [[2], [-1]],
      [
        [1, 10],
        [1, 1],
      ],
      [
        [0.5, 3, 40],
        [1, -1, 2],
      ],
    ] as const) {
      const f = quadraticFromEigenvalues([...eig], 7);
      const r = lrRangeTest(f, x0, { name: "sgd" });
      const critical = 2 / Math.max(...eig);
      expect(r.curvature!.critical.lr).toBeCloseTo(critical, 12);
      expect(r.stoppedAt).not.toBeNull();
      expect(r.points[r.points.length - 1]!.lr).toBeGreaterThan(critical);
      // Up to the critical rate the smoothed loss only falls.
      const below = r.points.filter((p) => p.lr < critical);
      for (let i = 1; i < below.length; i++)
        expect(below[i]!.smoothed).toBeLessThanOrEqual(below[i - 1]!.smoothed * (1 + 1e-12));
      expect(r.suggestions.minimumOver10!).toBeLessThan(critical);
    }
  });

  it("the ramp follows start · (end/start)^(k/(N−1)) and smooths with a debiased EMA", () => {
    const f = compileExpression("x^2");
    const r = lrRangeTest(f, [-1], { name: "sgd" }, { start: 1e-4, end: 1, steps: 5, stopFactor: 1e9 });
    expect(r.points.map((p) => p.lr)).toEqual(
      [1e-4, 1e-3, 1e-2, 1e-1, 1].map((v, k) => 1e-4 * 1e4 ** (k / 4)),
    );
    // The first smoothed value is the first loss itself (debiased: avg/(1 − β)).
    expect(r.points[0]!.smoothed).toBeCloseTo(r.points[0]!.loss, 14);
    const b = 0.98;
    const expected = (b * (1 - b) * r.points[0]!.loss + (1 - b) * r.points[1]!.loss) / (1 - b * b);
    expect(r.points[1]!.smoothed).toBeCloseTo(expected, 14);
  });

  it("leaves the start point as it was", () => {
    const x0 = Float64Array.of(1, 1);
    lrRangeTest(quadraticFromEigenvalues([1, 10]), x0, { name: "sgd", momentum: 0.9 });
    expect(Array.from(x0)).toEqual([1, 1]);
  });

  it("refuses a backwards range", () => {
    expect(() =>
      lrRangeTest(compileExpression("x^2"), [1], { name: "sgd" }, { start: 1, end: 1e-3 }),
    ).toThrow(/need 0 < start < end/);
  });
});
