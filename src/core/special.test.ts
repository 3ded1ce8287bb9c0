import { describe, expect, it } from "vitest";
import { erf, erfSeries } from "./special.js";

// glibc's erf (Python's math.erf, Debian 12), an implementation independent of ours.
const GLIBC: readonly [number, number][] = [
  [1e-12, 1.1283791670955126e-12],
  [0.01, 0.011283415555849616],
  [0.1, 0.1124629160182849],
  [0.25, 0.2763263901682369],
  [0.49, 0.511668261188523],
  [0.5, 0.5204998778130465],
  [0.51, 0.5292436198411704],
  [0.75, 0.7111556336535151],
  [1, 0.8427007929497149],
  [1.25, 0.9229001282564582],
  [1.5, 0.9661051464753108],
  [2, 0.9953222650189527],
  [2.5, 0.999593047982555],
  [3, 0.9999779095030014],
  [3.5, 0.9999992569016276],
  [4, 0.9999999845827421],
  [4.5, 0.9999999998033839],
  [5, 0.9999999999984626],
  [5.5, 0.9999999999999927],
  [5.9, 0.9999999999999999],
];

describe("erf", () => {
  it("agrees with glibc's erf to a few ulps, and is odd", () => {
    for (const [x, want] of GLIBC) {
      expect(Math.abs(erf(x) - want)).toBeLessThanOrEqual(4 * Number.EPSILON * want);
      expect(erf(-x)).toBe(-erf(x));
    }
  });

  it("the fast pieces agree with the defining series across [0, 6.5] (2·10⁵ points, both pieces' edges)", () => {
    let worst = 0;
    for (let i = 0; i <= 200_000; i++) {
      const x = (6.5 * i) / 200_000;
      const want = erfSeries(x);
      worst = Math.max(worst, Math.abs(erf(x) - want) / Math.max(want, Number.MIN_VALUE));
    }
    for (let k = 0; k <= 44; k++)
      for (const x of [0.5 + k / 8 - 1e-15, 0.5 + k / 8, 0.5 + k / 8 + 1e-15]) {
        const want = erfSeries(x);
        worst = Math.max(worst, Math.abs(erf(x) - want) / want);
      }
    // The series is itself within a few ulps (it sums up to 60 rounded terms): 16 ulps between them.
    expect(worst).toBeLessThan(16 * Number.EPSILON);
  });

  it("keeps its relative accuracy for tiny x, and its limits", () => {
    expect(erf(1e-300)).toBe((2 / Math.sqrt(Math.PI)) * 1e-300);
    expect(erf(0)).toBe(0);
    expect(erf(Number.POSITIVE_INFINITY)).toBe(1);
    expect(erf(Number.NEGATIVE_INFINITY)).toBe(-1);
    expect(erf(6)).toBe(1);
    expect(erf(Number.NaN)).toBeNaN();
  });
});
