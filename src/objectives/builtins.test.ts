import { describe, expect, it } from "vitest";
import { centralGradient, centralHessian } from "../core/finite-differences.js";
import type { Objective } from "../core/objective.js";
import { beale, booth, himmelblau, rastrigin, rosenbrock } from "./builtins.js";

const fdGradient = (f: Objective, x: number[]): number[] => Array.from(centralGradient((p) => f.value(p), x));
const fdHessian = (f: Objective, x: number[]): number[] =>
  Array.from(centralHessian((p, g) => f.gradient(p, g), x));

/** Newton's method with the objective's own Hessian, to refine a minimizer quoted to 6 digits. */
function newton(
  f: Objective & { hessian(x: Float64Array, out: Float64Array): void },
  start: readonly number[],
): Float64Array {
  const x = Float64Array.from(start);
  const g = new Float64Array(2);
  const h = new Float64Array(4);
  for (let k = 0; k < 20; k++) {
    f.gradient(x, g);
    f.hessian(x, h);
    const det = h[0]! * h[3]! - h[1]! * h[2]!;
    x[0]! -= (h[3]! * g[0]! - h[1]! * g[1]!) / det;
    x[1]! -= (-h[2]! * g[0]! + h[0]! * g[1]!) / det;
  }
  return x;
}

const cases = [
  {
    name: "rosenbrock",
    make: rosenbrock,
    points: [
      [-1.2, 1],
      [0.3, -0.7],
      [2, 2],
    ],
  },
  {
    name: "himmelblau",
    make: himmelblau,
    points: [
      [0, 0],
      [1.5, -2.5],
      [-3, 3],
    ],
  },
  {
    name: "beale",
    make: beale,
    points: [
      [1, 1],
      [-0.5, 2],
      [3.2, 0.4],
    ],
  },
  {
    name: "booth",
    make: booth,
    points: [
      [0, 0],
      [4, -2],
    ],
  },
  {
    name: "rastrigin",
    make: () => rastrigin(2),
    points: [
      [0.3, -0.2],
      [1.1, 2.4],
    ],
  },
] as const;

describe.each(cases)("$name", ({ make, points }) => {
  const f = make();
  it.each(points.map((p) => [p]))("gradient and Hessian match finite differences at %j", (p) => {
    const x = Float64Array.from(p);
    const g = new Float64Array(f.dim);
    const v0 = f.value(x);
    expect(Math.abs(f.gradient(x, g) - v0)).toBeLessThanOrEqual(1e-14 * Math.abs(v0));
    const fd = fdGradient(f, [...p]);
    for (const [i, v] of fd.entries()) expect(g[i]).toBeCloseTo(v, 4);
    const h = new Float64Array(f.dim * f.dim);
    f.hessian(x, h);
    for (const [i, v] of fdHessian(f, [...p]).entries()) {
      expect(Math.abs(h[i]! - v)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v)));
    }
    // HVP against the full Hessian times a vector.
    const v = Float64Array.from({ length: f.dim }, (_, i) => 0.3 - 0.7 * i);
    const hv = new Float64Array(f.dim);
    f.hessianVector(x, v, hv);
    for (let i = 0; i < f.dim; i++) {
      let s = 0;
      for (let j = 0; j < f.dim; j++) s += h[i * f.dim + j]! * v[j]!;
      expect(hv[i]).toBeCloseTo(s, 10);
    }
  });

  it("has its known minimum at its minimizers, with zero gradient and positive-definite Hessian", () => {
    for (const m of f.minimizers) {
      const x = f.dim === 2 ? newton(f, m) : Float64Array.from(m);
      for (const [i, v] of m.entries()) expect(x[i]).toBeCloseTo(v, 5);
      expect(f.value(x)).toBeCloseTo(f.minimum, 12);
      const g = new Float64Array(f.dim);
      f.gradient(x, g);
      for (const gi of g) expect(Math.abs(gi)).toBeLessThan(1e-9);
      const h = new Float64Array(f.dim * f.dim);
      f.hessian(x, h);
      if (f.dim === 2) {
        expect(h[0]).toBeGreaterThan(0);
        expect(h[0]! * h[3]! - h[1]! * h[2]!).toBeGreaterThan(0);
      }
    }
  });
});

describe("exact values", () => {
  it("Rosenbrock: f(−1.2, 1) = 24.2 and H(1,1) = [[802, −400], [−400, 200]]", () => {
    const f = rosenbrock();
    // (1+1.2)² + 100(1 − 1.44)² = 4.84 + 19.36
    expect(f.value(Float64Array.of(-1.2, 1))).toBeCloseTo(24.2, 12);
    const h = new Float64Array(4);
    f.hessian(Float64Array.of(1, 1), h);
    expect(Array.from(h)).toEqual([802, -400, -400, 200]);
  });

  it("Booth is the quadratic with H = [[10, 8], [8, 10]]: eigenvalues 18 and 2", () => {
    const h = new Float64Array(4);
    booth().hessian(Float64Array.of(7, -3), h);
    expect(Array.from(h)).toEqual([10, 8, 8, 10]);
  });

  it("Rastrigin in 5-D: f = 0 at the origin, and f(1,…,1) = 5 (cos 2π = 1)", () => {
    const f = rastrigin(5);
    expect(f.value(new Float64Array(5))).toBe(0);
    expect(f.value(new Float64Array(5).fill(1))).toBeCloseTo(5, 12);
    expect(f.names).toEqual(["x1", "x2", "x3", "x4", "x5"]);
    expect(() => rastrigin(0)).toThrow(/invalid dimension: 0/);
  });
});
