import { describe, expect, it } from "vitest";
import type { RangeTest } from "./find-lr.js";
import { recommendLr } from "./recommend.js";

/** A range test whose smoothed loss is lowest at lr = u (only the points matter here). */
function rampWithLowestAt(u: number): RangeTest {
  const points = Array.from({ length: 60 }, (_, k) => {
    const lr = 1e-7 * 1e8 ** (k / 60);
    return { step: k, lr, loss: 1, smoothed: 1 + (Math.log(lr) - Math.log(u)) ** 2 };
  });
  return {
    points,
    stoppedAt: null,
    stopReason: "",
    used: { from: 0, to: points.length },
    suggestions: { valley: null, slide: null, minimumOver10: null, steepest: null },
    curvature: null,
    advice: "",
  };
}

describe("the recommended rate", () => {
  const test = rampWithLowestAt(1);
  const u = test.points.reduce((a, b) => (b.smoothed < a.smoothed ? b : a)).lr;

  it("brackets with the ramp's lowest point U: U/100 … U a half-decade apart, then the best's neighbours", async () => {
    // A protocol whose final loss is lowest at lr = U/10 and which trains everywhere.
    const trained: number[] = [];
    const r = await recommendLr(
      test,
      (lr) => {
        trained.push(lr);
        return 0.1 + Math.log10(lr / (u / 10)) ** 2 / 10;
      },
      1,
    );
    expect(trained.slice(0, 5).map((lr) => Math.log10(lr / u))).toEqual(
      [-2, -1.5, -1, -0.5, 0].map((e) => expect.closeTo(e, 12)),
    );
    expect(r.lr).toBeCloseTo(u / 10, 12);
    expect(r.finalLoss).toBeCloseTo(0.1, 12);
    expect(r.trials).toHaveLength(7);
    expect(r.cliff.failed).toBeNull();
  });

  it("steps a quarter-decade back from the best when the next rate up did not train (the cliff)", async () => {
    // Lowest loss just under a cliff at U/2: every rate from there on overflows.
    const r = await recommendLr(
      test,
      (lr) => (lr >= u / 2 ? Number.POSITIVE_INFINITY : 0.5 - 0.1 * Math.log10(lr / (u / 100))),
      1,
    );
    // The best that trained is U/√10 (0.5 − 0.15 = 0.35); U^(…)·10^(1/4) overflowed.
    expect(r.cliff.failed).not.toBeNull();
    expect(r.lr).toBeCloseTo(u / Math.sqrt(10) / 10 ** 0.25, 10);
    expect(r.reason).toMatch(/did not train \(the cliff\), so a quarter-decade below the best/);
  });

  it("says so when no rate in the bracket trains", async () => {
    await expect(recommendLr(test, () => 2, 1)).rejects.toThrow(
      /no rate from .* trained: the loss never ended below its start 1/,
    );
  });
});
