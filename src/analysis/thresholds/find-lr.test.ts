import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compileExpression } from "../../objectives/expression.js";
import { quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { fastaiSuggestions, lrRangeTest } from "./find-lr.js";

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
      // So the lowest smoothed loss, where fastai's minimum is read, is at or past the critical rate.
      expect(r.suggestions.minimumOver10! * 10).toBeGreaterThanOrEqual(below[below.length - 1]!.lr);
    }
  });

  it("the ramp is fastai's, start · (end/start)^(k/N), never reaching end; smoothing is a debiased EMA", () => {
    const f = compileExpression("x^2");
    const r = lrRangeTest(f, [-1], { name: "sgd" }, { start: 1e-4, end: 1, steps: 8, stopFactor: 1e9 });
    expect(r.points.map((p) => p.lr)).toEqual(Array.from({ length: 8 }, (_, k) => 1e-4 * 1e4 ** (k / 8)));
    expect(r.points[7]!.lr).toBeLessThan(1);
    // The first smoothed value is the first loss itself (debiased: avg/(1 − β)).
    expect(r.points[0]!.smoothed).toBeCloseTo(r.points[0]!.loss, 14);
    const b = 0.98;
    const expected = (b * (1 - b) * r.points[0]!.loss + (1 - b) * r.points[1]!.loss) / (1 - b * b);
    expect(r.points[1]!.smoothed).toBeCloseTo(expected, 14);
    // A linear ramp (torch-lr-finder's step_mode="linear") does reach end.
    const lin = lrRangeTest(
      f,
      [-1],
      { name: "sgd" },
      { start: 0.1, end: 0.8, steps: 8, mode: "linear", stopFactor: 1e9 },
    );
    expect(lin.points.map((p) => p.lr)).toEqual(
      Array.from({ length: 8 }, (_, k) => 0.1 + (k / 7) * (0.8 - 0.1)),
    );
  });

  it("suggests from the points fastai keeps: the first ⌊N/10⌋ and the last 5 dropped", () => {
    const r = lrRangeTest(compileExpression("x^2"), [-1], { name: "sgd" }, { steps: 100 });
    expect(r.used.from).toBe(10);
    expect(r.used.to).toBe(r.points.length - 5);
    const custom = lrRangeTest(compileExpression("x^2"), [-1], { name: "sgd" }, { skipStart: 3, skipEnd: 0 });
    expect(custom.used).toEqual({ from: 3, to: custom.points.length });
  });

  it("validation mode records the loss of held-out data after each step", () => {
    // Train on (x − 1)², validate on (x − 2)²: the recorded losses are the validation ones.
    const train = compileExpression("(x - 1)^2");
    const val = compileExpression("(x - 2)^2");
    const r = lrRangeTest(
      train,
      [0],
      { name: "sgd" },
      { start: 1e-3, end: 1, steps: 10, stopFactor: 1e9, validationLoss: (x) => val.value(x) },
    );
    // Step 0 at lr 1e-3 moves x from 0 to 0.002; the validation loss there is (0.002 − 2)².
    expect(r.points[0]!.loss).toBeCloseTo((0.002 - 2) ** 2, 12);
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

describe("fastai's suggestion functions", () => {
  // Reference: fastai 2.8.9's valley, slide, minimum, steep and lr_find's slicing, run in NumPy
  // float64 (scripts/fixtures/fastai_suggest.py).
  const golden = JSON.parse(
    readFileSync(new URL("./__golden__/fastai-suggest.json", import.meta.url), "utf8"),
  ) as {
    cases: {
      name: string;
      numIt: number;
      sliced: boolean;
      lrs: number[];
      losses: number[];
      valley: number | null;
      slide: number | null;
      minimum: number | null;
      steep: number | null;
    }[];
  };
  it.each(golden.cases.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const from = c.sliced ? Math.floor(c.numIt / 10) : 0;
    const to = c.sliced ? c.lrs.length - 5 : c.lrs.length;
    const s = fastaiSuggestions(c.lrs.slice(from, to), c.losses.slice(from, to));
    expect(s.valley).toBe(c.valley);
    expect(s.slide).toBe(c.slide);
    expect(s.minimumOver10).toBe(c.minimum);
    expect(s.steepest).toBe(c.steep);
  });
});
