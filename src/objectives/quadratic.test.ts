import { describe, expect, it } from "vitest";
import { randomOrthogonal } from "../core/orthogonal.js";
import { createRng } from "../core/rng.js";
import { quadratic, quadraticFromEigenvalues } from "./quadratic.js";

describe("quadratic ½xᵀAx + bᵀx", () => {
  it("value, gradient, Hessian for a worked 2×2 example", () => {
    // A = [[2, 1], [1, 3]], b = (1, −1), x = (1, 2): Ax = (4, 7), ½xᵀAx = ½(4 + 14) = 9, bᵀx = −1.
    const f = quadratic(Float64Array.of(2, 1, 1, 3), 2, Float64Array.of(1, -1));
    const g = new Float64Array(2);
    expect(f.gradient(Float64Array.of(1, 2), g)).toBe(8);
    expect(Array.from(g)).toEqual([5, 6]);
    // Minimizer solves Ax = −b: det 5, x = (−4/5, 3/5); f* = ½bᵀx* = ½(−0.8 − 0.6) = −0.7.
    expect(f.minimizers[0]![0]).toBeCloseTo(-0.8, 14);
    expect(f.minimizers[0]![1]).toBeCloseTo(0.6, 14);
    expect(f.minimum).toBeCloseTo(-0.7, 14);
    expect(f.value(Float64Array.from(f.minimizers[0]!))).toBeCloseTo(-0.7, 14);
  });

  it("has no minimizer when A is indefinite", () => {
    const f = quadratic(Float64Array.of(1, 0, 0, -1), 2);
    expect(f.minimizers).toEqual([]);
  });

  it.each([
    [Float64Array.of(1, 2, 3, 4), 2, /not symmetric, A\[1,2\] = 2 but A\[2,1\] = 3/],
    [Float64Array.of(1, 2, 3), 2, /3 entries for a 2×2 matrix/],
    [Float64Array.of(1, Number.NaN, Number.NaN, 1), 2, /entry \(1, 2\) is NaN/],
  ])("refuses a bad matrix %#", (a, n, message) => {
    expect(() => quadratic(a, n)).toThrow(message);
  });

  it("from eigenvalues, rotated: A = QΛQᵀ has exactly those eigenvalues (trace, and Av = λv for Q's columns)", () => {
    const eig = [1, 10, 100, 1000];
    const f = quadraticFromEigenvalues(eig, 7);
    const q = randomOrthogonal(4, createRng(7));
    const av = new Float64Array(4);
    for (let k = 0; k < 4; k++) {
      const v = Float64Array.from({ length: 4 }, (_, i) => q[i * 4 + k]!);
      f.hessianVector(v, v, av);
      for (let i = 0; i < 4; i++) expect(av[i]).toBeCloseTo(eig[k]! * v[i]!, 10);
    }
    let trace = 0;
    for (let i = 0; i < 4; i++) trace += f.matrix[i * 4 + i]!;
    expect(trace).toBeCloseTo(1111, 10);
    expect(f.description).toEqual({
      kind: "builtin",
      name: "quadratic",
      parameters: { eigenvalues: eig, rotate: 7 },
    });
    // Off-diagonal entries are not all zero: the rotation did something.
    expect(Math.abs(f.matrix[1]!)).toBeGreaterThan(1e-3);
  });

  it("random orthogonal matrices satisfy QᵀQ = I", () => {
    const n = 20;
    const q = randomOrthogonal(n, createRng(3));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += q[k * n + i]! * q[k * n + j]!;
        expect(s).toBeCloseTo(i === j ? 1 : 0, 12);
      }
    }
  });
});
