import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { symmetricEigen } from "../../core/eigen.js";
import { createRng } from "../../core/rng.js";
import { compileExpression } from "../../objectives/expression.js";
import { quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { hessianOperator, matrixOperator } from "./hvp.js";
import { hutchinsonTrace, lanczos, powerIteration } from "./lanczos.js";

const golden = JSON.parse(
  readFileSync(new URL("./__golden__/numpy-eigen.json", import.meta.url), "utf8"),
) as {
  cases: { n: number; matrix: number[]; eigenvalues: number[] }[];
};

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

/** 20 eigenvalues spread geometrically from 1 to 1e4 (condition number 1e4). */
const ill = Array.from({ length: 20 }, (_, i) => 10 ** ((4 * i) / 19));

describe("symmetricEigen (Jacobi) against numpy.linalg.eigh", () => {
  it.each(golden.cases.map((c) => [c.n, c] as const))("%i×%i random symmetric", (_, c) => {
    const { values, vectors } = symmetricEigen(c.matrix, c.n);
    for (let i = 0; i < c.n; i++) expect(Math.abs(values[i]! - c.eigenvalues[i]!)).toBeLessThan(1e-12 * c.n);
    // A·v = λ·v for every pair.
    for (let j = 0; j < c.n; j++) {
      for (let i = 0; i < c.n; i++) {
        let av = 0;
        for (let k = 0; k < c.n; k++) av += c.matrix[i * c.n + k]! * vectors[k * c.n + j]!;
        expect(Math.abs(av - values[j]! * vectors[i * c.n + j]!)).toBeLessThan(1e-11);
      }
    }
  });

  it("refuses a non-symmetric matrix", () => {
    expect(() => symmetricEigen([1, 2, 3, 4], 2)).toThrow(/not symmetric \(A\[1,2\] = 2 but A\[2,1\] = 3\)/);
  });
});

describe("Lanczos", () => {
  it("diagonal and rotated 20-D quadratics with condition number 1e4: every requested eigenvalue to 1e-8", () => {
    for (const rotate of [undefined, 3]) {
      const f = quadraticFromEigenvalues(ill, rotate);
      const r = lanczos(hessianOperator(f, new Float64Array(20)), { k: 3 });
      expect(r.converged).toBe(true);
      expect(r.exactHvp).toBe(true);
      expect(r.top.map((e) => e.value).every((v, i) => rel(v, ill[19 - i]!) < 1e-8)).toBe(true);
      expect(rel(r.bottom!.value, 1)).toBeLessThan(1e-8);
      for (const e of [...r.top, r.bottom!]) expect(e.residual).toBeLessThan(1e-6);
      expect(r.hvps).toBe(r.iterations);
    }
  });

  it("a 200-D random quadratic (Haar rotation, random spectrum): top 5 and the bottom", () => {
    const rng = createRng(11);
    const eig = Array.from({ length: 200 }, () => -5 + 105 * rng.uniform());
    const sorted = [...eig].sort((a, b) => b - a);
    const f = quadraticFromEigenvalues(eig, 5);
    const r = lanczos(hessianOperator(f, new Float64Array(200)), { k: 5, tolerance: 1e-9 });
    expect(r.converged).toBe(true);
    r.top.forEach((e, i) => {
      expect(Math.abs(e.value - sorted[i]!)).toBeLessThanOrEqual(Math.max(e.residual, 1e-9 * 100));
      expect(rel(e.value, sorted[i]!)).toBeLessThan(1e-8);
    });
    expect(rel(r.bottom!.value, sorted[199]!)).toBeLessThan(1e-8);
    expect(r.hvps).toBeLessThan(200);
  });

  it("the numpy 40×40 matrix: extremes agree with LAPACK", () => {
    const c = golden.cases.find((g) => g.n === 40)!;
    const r = lanczos(matrixOperator(Float64Array.from(c.matrix), 40), { k: 2 });
    expect(rel(r.top[0]!.value, c.eigenvalues[39]!)).toBeLessThan(1e-10);
    expect(rel(r.top[1]!.value, c.eigenvalues[38]!)).toBeLessThan(1e-10);
    expect(rel(r.bottom!.value, c.eigenvalues[0]!)).toBeLessThan(1e-10);
  });

  it("reaches 1e-6 on λmax of the 20-D κ = 1e4 case in far fewer HVPs than power iteration", () => {
    // λ₂/λmax = 10^(−4/19) ≈ 0.62: power iteration's error shrinks by that factor per HVP.
    const f = quadraticFromEigenvalues(ill, 9);
    const at = new Float64Array(20);
    const lz = lanczos(hessianOperator(f, at), { k: 1, bottom: false, tolerance: 1e-6 });
    const pw = powerIteration(hessianOperator(f, at), { tolerance: 1e-6 });
    expect(rel(lz.top[0]!.value, 1e4)).toBeLessThan(1e-6);
    expect(rel(pw.top[0]!.value, 1e4)).toBeLessThan(1e-6);
    expect(lz.hvps * 2).toBeLessThan(pw.hvps);
    // Evenly spaced from 1 to 1e4, the top gap is 5%: power iteration needs hundreds of HVPs.
    const even = Array.from({ length: 20 }, (_, i) => 1 + ((1e4 - 1) * i) / 19);
    const g = quadraticFromEigenvalues(even, 9);
    const lz2 = lanczos(hessianOperator(g, at), { k: 1, bottom: false, tolerance: 1e-6 });
    const pw2 = powerIteration(hessianOperator(g, at), { tolerance: 1e-6 });
    expect(rel(lz2.top[0]!.value, 1e4)).toBeLessThan(1e-6);
    expect(rel(pw2.top[0]!.value, 1e4)).toBeLessThan(1e-6);
    expect(lz2.hvps * 5).toBeLessThan(pw2.hvps);
  });

  it("reports non-convergence with its residuals instead of pretending", () => {
    const f = quadraticFromEigenvalues(ill, 3);
    const r = lanczos(hessianOperator(f, new Float64Array(20)), { k: 1, maxIterations: 4 });
    expect(r.converged).toBe(false);
    expect(r.top[0]!.residual).toBeGreaterThan(1e-10 * 1e4);
  });

  it("works from finite differences of gradients where no exact HVP is used, and says so", () => {
    const f = compileExpression("x^4 + x^2*y + 3*y^2");
    const at = [1.5, -0.5];
    const exact = lanczos(hessianOperator(f, at), { k: 2 });
    const fd = lanczos(hessianOperator(f, at, { finiteDifference: true }), { k: 2 });
    expect(fd.exactHvp).toBe(false);
    const h = new Float64Array(4);
    f.hessian(Float64Array.from(at), h);
    const ref = symmetricEigen(h, 2).values;
    expect(rel(exact.top[0]!.value, ref[1]!)).toBeLessThan(1e-12);
    expect(rel(exact.top[1]!.value, ref[0]!)).toBeLessThan(1e-12);
    expect(rel(fd.top[0]!.value, ref[1]!)).toBeLessThan(1e-7);
  });
});

describe("Hutchinson trace", () => {
  it("is unbiased: within 4 standard errors of the exact trace, and exact on a diagonal", () => {
    const eig = Array.from({ length: 50 }, (_, i) => 1 + i);
    const trace = eig.reduce((a, b) => a + b, 0);
    const rotated = hutchinsonTrace(hessianOperator(quadraticFromEigenvalues(eig, 1), new Float64Array(50)), {
      samples: 200,
    });
    expect(Math.abs(rotated.estimate - trace)).toBeLessThan(4 * rotated.standardError);
    expect(rotated.hvps).toBe(200);
    // zᵀDz = tr(D) exactly for Rademacher z.
    const diagonal = hutchinsonTrace(hessianOperator(quadraticFromEigenvalues(eig), new Float64Array(50)), {
      samples: 3,
    });
    expect(diagonal.estimate).toBe(trace);
    expect(diagonal.standardError).toBe(0);
  });
});
