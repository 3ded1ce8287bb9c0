import { describe, expect, it } from "vitest";
import { erf, erfSeries, erfSlope } from "./special.js";

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
    for (let k = 0; k <= 188; k++)
      for (const x of [0.125 + k / 32 - 1e-15, 0.125 + k / 32, 0.125 + k / 32 + 1e-15]) {
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

/** The distance between x and the next double up. */
function ulp(x: number): number {
  const b = new Float64Array([Math.abs(x)]);
  const i = new BigInt64Array(b.buffer);
  i[0]! += 1n;
  return b[0]! - Math.abs(x);
}

/**
 * (2/√π)·e^{−t²} with t² carried exactly as a double-double (Dekker's product), so the only
 * rounding is Math.exp's (fdlibm, under 1 ulp) and the last product's.
 */
function gaussReference(t: number): number {
  const split = (a: number): [number, number] => {
    const c = 134217729 * a;
    const hi = c - (c - a);
    return [hi, a - hi];
  };
  const p = t * t;
  const [h, l] = split(t);
  const e = h * h - p + 2 * h * l + l * l;
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-p) * (1 - e);
}

describe("erfSlope", () => {
  it("is (2/√π)e^{−t²} within 4 ulps on [0, 6) (e^{−t·t} is up to t²/2 ulps off there), and odd-symmetric", () => {
    let worst = 0;
    for (let i = 0; i < 300_000; i++) {
      const t = (5.9999 * i) / 300_000;
      const want = gaussReference(t);
      worst = Math.max(worst, Math.abs(erfSlope(t) - want) / ulp(want));
      expect(erfSlope(-t)).toBe(erfSlope(t));
    }
    expect(worst).toBeLessThanOrEqual(4);
  });

  it("is erf's derivative (central differences), and Math.exp's past 6", () => {
    for (const t of [0.01, 0.2, 0.5, 1, 2.5, 4]) {
      const h = 1e-6;
      expect(Math.abs((erf(t + h) - erf(t - h)) / (2 * h) - erfSlope(t))).toBeLessThan(1e-9);
    }
    for (const t of [6, 7.5, 30]) expect(erfSlope(t)).toBe((2 / Math.sqrt(Math.PI)) * Math.exp(-t * t));
    expect(erfSlope(Number.NaN)).toBeNaN();
    expect(erfSlope(Number.POSITIVE_INFINITY)).toBe(0);
  });
});
