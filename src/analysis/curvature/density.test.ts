import { describe, expect, it } from "vitest";
import { symmetricEigen } from "../../core/eigen.js";
import { randomOrthogonal } from "../../core/orthogonal.js";
import { createRng } from "../../core/rng.js";
import { blockCurvature, blockOperator } from "./blocks.js";
import {
  defaultProbes,
  densityCurve,
  densityMeasure,
  quadrature,
  quadratureOf,
  spectralDensity,
  wasserstein1,
} from "./density.js";
import { matrixOperator } from "./hvp.js";
import { lanczos } from "./lanczos.js";

/** Q·diag(λ)·Qᵀ for a seeded random orthogonal Q: a symmetric matrix with exactly these eigenvalues. */
function withEigenvalues(lambda: readonly number[], seed: number): Float64Array {
  const n = lambda.length;
  const q = randomOrthogonal(n, createRng(seed));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += q[i * n + k]! * lambda[k]! * q[j * n + k]!;
      a[i * n + j] = s;
    }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) a[i * n + j] = a[j * n + i]!;
  return a;
}

/** A network-like spectrum: a bulk near zero of both signs and a few large outliers. */
function networkLike(n: number, seed: number): number[] {
  const rng = createRng(seed);
  const bulk = Array.from({ length: n - 5 }, () => 0.05 * rng.normal() * Math.abs(rng.normal()));
  return [...bulk, 3, 5, 8, 13, 40].sort((a, b) => a - b);
}

describe("Wasserstein-1 on the line, against closed forms", () => {
  it("point masses, a split mass and a shift", () => {
    expect(wasserstein1({ x: [0] }, { x: [1] })).toBeCloseTo(1, 15);
    expect(wasserstein1({ x: [0, 1] }, { x: [0.5] })).toBeCloseTo(0.5, 15);
    // Moving a quarter of the mass by 4: W1 = 1.
    expect(wasserstein1({ x: [0, 4], w: [3, 1] }, { x: [0] })).toBeCloseTo(1, 15);
    const x = [0.3, -2, 7, 1.5];
    expect(wasserstein1({ x }, { x: x.map((v) => v + 0.25) })).toBeCloseTo(0.25, 14);
    expect(wasserstein1({ x }, { x })).toBe(0);
  });
});

describe("the extremes' Lanczos run as the density's first probe", () => {
  it("T from lanczos({ tridiagonal }) gives the quadrature `quadrature` gives from the same start, past convergence with minIterations", () => {
    const n = 60;
    const a = withEigenvalues(networkLike(n, 4), 5);
    const op = matrixOperator(a, n);
    const run = lanczos(op, { k: 3, seed: 7, tolerance: 1e-6, minIterations: 30, tridiagonal: true });
    // It had converged before 30 steps and ran on to 30: the extremes are no worse for it.
    expect(run.iterations).toBe(30);
    expect(lanczos(op, { k: 3, seed: 7, tolerance: 1e-6 }).iterations).toBeLessThan(30);
    // lanczos's start: a seeded Gaussian vector, normalized.
    const rng = createRng(7);
    const q = Float64Array.from({ length: n }, () => rng.normal());
    const qn = Math.hypot(...q);
    for (let i = 0; i < n; i++) q[i]! /= qn;
    const t = run.tridiagonal!;
    expect(t.beta.length).toBe(t.alpha.length - 1);
    const reused = quadratureOf(t.alpha, t.beta, n);
    const fresh = quadrature(op, q, 30);
    for (let i = 0; i < 30; i++) {
      expect(reused.nodes[i]!).toBeCloseTo(fresh.nodes[i]!, 10);
      expect(reused.weights[i]!).toBeCloseTo(fresh.weights[i]!, 10);
    }
    // n·qᵀHq, exactly as a Hutchinson sample from the spherical probe q.
    let qaq = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) qaq += q[i]! * a[i * n + j]! * q[j]!;
    expect(reused.quadraticForm).toBeCloseTo(n * qaq, 10);
  });

  it("a first probe given is counted among the probes and its HVPs are not", () => {
    const n = 80;
    const op = matrixOperator(withEigenvalues(networkLike(n, 6), 7), n);
    const run = lanczos(op, { k: 1, seed: 3, minIterations: 20, tridiagonal: true });
    const before = op.count;
    const d = spectralDensity(op, {
      probes: 4,
      steps: 20,
      seed: 1,
      first: quadratureOf(run.tridiagonal!.alpha, run.tridiagonal!.beta, n),
    });
    expect(d.probes.length).toBe(4);
    expect(d.reusedFirst).toBe(true);
    expect(d.hvps).toBe(3 * 20);
    expect(op.count - before).toBe(3 * 20);
    // Probes 2–4 are those the seed gives without a first probe.
    const own = spectralDensity(op, { probes: 4, steps: 20, seed: 1 });
    expect(own.reusedFirst).toBe(false);
    for (let p = 1; p < 4; p++)
      expect(Array.from(d.probes[p]!.nodes)).toEqual(Array.from(own.probes[p]!.nodes));
  });

  it("default probes: 16 up to 2,000 parameters, then P·n ≥ 32,000 and at least 2", () => {
    expect(defaultProbes(2)).toBe(16);
    expect(defaultProbes(2000)).toBe(16);
    expect(defaultProbes(2001)).toBe(16);
    expect(defaultProbes(4298)).toBe(8);
    expect(defaultProbes(12_737)).toBe(3);
    expect(defaultProbes(100_618)).toBe(2);
    for (const n of [2001, 3000, 10_000, 15_999, 16_000, 16_001, 1e6])
      expect(defaultProbes(n) * n >= 32_000 || defaultProbes(n) === 2).toBe(true);
  });
});

describe("stochastic Lanczos quadrature against exact spectra", () => {
  it("one probe is a Gauss quadrature: Σ τ²θ^k = qᵀH^k q for every k < 2m", () => {
    const n = 40;
    const lambda = Array.from({ length: n }, (_, i) => -1 + (i * i) / 200);
    const a = withEigenvalues(lambda, 3);
    const rng = createRng(9);
    const q = Float64Array.from({ length: n }, () => rng.normal());
    const qn = Math.hypot(...q);
    for (let i = 0; i < n; i++) q[i]! /= qn;
    const m = 6;
    const p = quadrature(matrixOperator(a, n), q, m);
    expect(p.nodes.length).toBe(m);
    expect(p.weights.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 14);
    // qᵀH^k q by repeated products.
    let v = Float64Array.from(q);
    for (let k = 0; k < 2 * m; k++) {
      const exact = q.reduce((s, qi, i) => s + qi * v[i]!, 0);
      const gauss = p.nodes.reduce((s, t, i) => s + p.weights[i]! * t ** k, 0);
      expect(Math.abs(gauss - exact)).toBeLessThan(1e-12 * Math.max(1, Math.abs(exact)));
      const next = new Float64Array(n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) next[i]! += a[i * n + j]! * v[j]!;
      v = next;
    }
    // k = 2m is past the rule's degree: no longer exact for this spread-out spectrum.
    const exact = q.reduce((s, qi, i) => s + qi * v[i]!, 0);
    const gauss = p.nodes.reduce((s, t, i) => s + p.weights[i]! * t ** (2 * m), 0);
    expect(Math.abs(gauss - exact)).toBeGreaterThan(1e-9);
  });

  it("n steps recover every eigenvalue exactly", () => {
    const lambda = [-2, -0.5, 0, 0.1, 1, 4, 9, 30];
    const a = withEigenvalues(lambda, 1);
    const d = spectralDensity(matrixOperator(a, 8), { probes: 1, steps: 8 });
    expect(d.probes[0]!.nodes.length).toBe(8);
    for (const [i, t] of d.probes[0]!.nodes.entries())
      expect(Math.abs(t - lambda[i]!)).toBeLessThan(1e-12 * 30);
  });

  it("a 300-dimensional network-like spectrum: W1 small beside the spread, trace within 3 standard errors", () => {
    const n = 300;
    const lambda = networkLike(n, 4);
    const a = withEigenvalues(lambda, 5);
    const op = matrixOperator(a, n);
    const d = spectralDensity(op, { probes: 20, steps: 60, seed: 2 });
    expect(d.hvps).toBe(20 * 60);
    const w1 = wasserstein1(densityMeasure(d), { x: lambda });
    const spread = lambda[n - 1]! - lambda[0]!;
    expect(w1 / spread).toBeLessThan(0.005);
    // Rademacher zᵀAz has variance 2(‖A‖_F² − Σ A_ii²): within 3 of its true standard errors. (The
    // probes' own standard error is checked for coverage below; here, with outliers, zᵀAz is
    // skewed like χ²₁ and 20 probes can underestimate it.)
    const trace = lambda.reduce((s, v) => s + v, 0);
    let frobenius = 0;
    let diagonal = 0;
    for (let i = 0; i < n; i++) {
      diagonal += a[i * n + i]! ** 2;
      for (let j = 0; j < n; j++) frobenius += a[i * n + j]! ** 2;
    }
    const se = Math.sqrt((2 * (frobenius - diagonal)) / 20);
    expect(Math.abs(d.trace.estimate - trace)).toBeLessThan(3 * se);
    // The quadrature's extremes are Ritz values: they lie inside the spectrum and reach its ends.
    const all = densityMeasure(d).x;
    expect(Math.max(...all)).toBeLessThanOrEqual(40 + 1e-9);
    expect(Math.max(...all)).toBeGreaterThan(40 - 1e-6);
  });

  it("the trace's error bars cover the exact trace about 95% of the time", () => {
    const n = 120;
    const lambda = networkLike(n, 6);
    const op = matrixOperator(withEigenvalues(lambda, 7), n);
    const trace = lambda.reduce((s, v) => s + v, 0);
    let covered = 0;
    const runs = 200;
    for (let seed = 0; seed < runs; seed++) {
      const d = spectralDensity(op, { probes: 10, steps: 2, seed });
      if (Math.abs(d.trace.estimate - trace) <= 1.96 * d.trace.standardError!) covered++;
    }
    // 95% nominal; with 10 probes the t-distribution's wider tails make normal bars cover a bit less.
    expect(covered / runs).toBeGreaterThan(0.85);
    expect(covered / runs).toBeLessThan(0.99);
  });

  it("the smoothed density integrates to 1 and peaks where the mass is", () => {
    const lambda = [0, 0, 0, 0, 10];
    const d = spectralDensity(matrixOperator(withEigenvalues(lambda, 8), 5), { probes: 30, steps: 5 });
    const c = densityCurve(d, { sigma: 0.2, points: 2001, from: -5, to: 15 });
    const dx = (c.x[1]! - c.x[0]!) as number;
    expect(c.density.reduce((s, v) => s + v, 0) * dx).toBeCloseTo(1, 6);
    // Four fifths of the mass at 0 in expectation: the peak at 0 is about 4× the one at 10.
    const at = (t: number) => c.density[Math.round((t + 5) / dx)]!;
    expect(at(0) / at(10)).toBeGreaterThan(2);
    expect(at(0) / at(10)).toBeLessThan(8);
    expect(at(5)).toBeLessThan(1e-10);
  });

  it("refuses bad options with their ranges", () => {
    const op = matrixOperator(withEigenvalues([1, 2, 3], 1), 3);
    expect(() => spectralDensity(op, { steps: 4 })).toThrow(/invalid steps: 4 \(a whole number from 1 to 3/);
    expect(() => spectralDensity(op, { probes: 0 })).toThrow(/invalid probes: 0/);
  });
});

describe("per-block curvature against the dense submatrices", () => {
  it("λmax, λmin and trace of each diagonal block; the shares of the top eigenvector", () => {
    const n = 30;
    const lambda = Array.from({ length: n }, (_, i) => (i - 5) * 0.7 + (i === n - 1 ? 20 : 0));
    const a = withEigenvalues(lambda, 11);
    const op = matrixOperator(a, n);
    const blocks = [
      { name: "a", start: 0, end: 8 },
      { name: "b", start: 8, end: 30 },
    ];
    const top = lanczos(op, { k: 1, vectors: true });
    const u = top.vectors!.top[0]!;
    const exact = symmetricEigen(a, n);
    const results = blockCurvature(op, blocks, u, { traceProbes: 10 });
    for (const r of results) {
      const { start, end } = r.block;
      const m = end - start;
      const sub = new Float64Array(m * m);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < m; j++) sub[i * m + j] = a[(start + i) * n + start + j]!;
      const e = symmetricEigen(sub, m);
      expect(Math.abs(r.top.value - e.values[m - 1]!)).toBeLessThan(1e-9);
      // λmin to the blocks' default, 1e-4 of the spread, and within its own residual (a bound).
      expect(Math.abs(r.bottom.value - e.values[0]!)).toBeLessThanOrEqual(r.bottom.residual + 1e-12);
      expect(r.bottom.residual).toBeLessThanOrEqual(1e-4 * Math.max(...lambda.map(Math.abs)));
      const trace = Array.from({ length: m }, (_, i) => sub[i * m + i]!).reduce((s, v) => s + v, 0);
      if (r.trace.exact) expect(Math.abs(r.trace.estimate - trace)).toBeLessThan(1e-10);
      else expect(Math.abs(r.trace.estimate - trace)).toBeLessThan(4 * r.trace.standardError);
      // Cauchy interlacing: the block's extremes lie inside the whole spectrum.
      expect(r.top.value).toBeLessThanOrEqual(lambda[n - 1]! + 1e-9);
      let share = 0;
      for (let i = start; i < end; i++) share += exact.vectors[i * n + n - 1]! ** 2;
      expect(Math.abs(r.share! - share)).toBeLessThan(1e-8);
    }
    expect(results[0]!.trace.exact).toBe(true);
    expect(results[1]!.trace.exact).toBe(false);
    expect(results[0]!.share! + results[1]!.share!).toBeCloseTo(1, 10);
  });

  it("the block operator applies the submatrix", () => {
    const a = withEigenvalues([1, 2, 3, 4], 2);
    const op = matrixOperator(a, 4);
    const sub = blockOperator(op, { name: "x", start: 1, end: 3 });
    const out = new Float64Array(2);
    sub.apply(Float64Array.of(1, 0), out);
    expect(out[0]).toBeCloseTo(a[5]!, 15);
    expect(out[1]).toBeCloseTo(a[9]!, 15);
    expect(op.count).toBe(1);
  });
});
