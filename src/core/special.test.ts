import { describe, expect, it } from "vitest";
import { erf, erfSeries, exp } from "./special.js";

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

describe("exp", () => {
  it("is within 2 ulps of Math.exp (fdlibm's, itself under 1 ulp) across its whole range", () => {
    let worst = 0;
    let state = 7;
    const next = () => {
      state = (state * 48271) % 2147483647;
      return state / 2147483647;
    };
    for (let i = 0; i < 400_000; i++) {
      // Half over the whole range, half where losses and softmax live.
      const x = i % 2 ? (next() - 0.5) * 1416 : (next() - 0.5) * 40;
      const want = Math.exp(x);
      worst = Math.max(worst, Math.abs(exp(x) - want) / ulp(want));
    }
    // The reduction's edges: k·ln2/32 and halfway between.
    for (let k = -2000; k <= 2000; k++)
      for (const x of [(k * Math.LN2) / 32, ((k + 0.5) * Math.LN2) / 32]) {
        const want = Math.exp(x);
        worst = Math.max(worst, Math.abs(exp(x) - want) / ulp(want));
      }
    expect(worst).toBeLessThanOrEqual(2);
  });

  it("hands the edges to Math.exp: overflow, the subnormals, infinities and NaN", () => {
    for (const x of [0, -0, 1, 709.5, 710, 1000, -707.5, -745, -746, -1000, Infinity, -Infinity])
      expect(exp(x)).toBe(Math.exp(x));
    expect(exp(Number.NaN)).toBeNaN();
    expect(exp(1)).toBe(Math.E);
  });
});
