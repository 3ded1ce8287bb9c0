import { describe, expect, it } from "vitest";
import { symmetricEigen } from "../../core/eigen.js";
import { createRng } from "../../core/rng.js";
import { matrixOperator } from "./hvp.js";
import { lanczos, lanczosAsync } from "./lanczos.js";

// A breakdown of the Lanczos recurrence (β = 0) means span(Q) is an invariant subspace: the Ritz
// values are eigenvalues, exactly. Hessians that break down at once are the simplest ones there
// are — c·I, repeated eigenvalues, rank one — and every answer here is checked against the dense
// eigen-decomposition (Jacobi) of the same matrix.

/** Q·diag(values)·Qᵀ with a seeded random orthogonal Q (Gram–Schmidt on Gaussian columns). */
function rotated(values: readonly number[], seed: number): Float64Array {
  const n = values.length;
  const rng = createRng(seed);
  const q: Float64Array[] = [];
  while (q.length < n) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    for (let pass = 0; pass < 2; pass++)
      for (const u of q) {
        let c = 0;
        for (let i = 0; i < n; i++) c += u[i]! * v[i]!;
        for (let i = 0; i < n; i++) v[i]! -= c * u[i]!;
      }
    let s = 0;
    for (let i = 0; i < n; i++) s += v[i]! * v[i]!;
    for (let i = 0; i < n; i++) v[i]! /= Math.sqrt(s);
    q.push(v);
  }
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < n; l++) s += q[l]![i]! * values[l]! * q[l]![j]!;
      m[i * n + j] = s;
    }
  return m;
}

function check(matrix: Float64Array, n: number, k: number) {
  const est = lanczos(matrixOperator(matrix, n), { k, tolerance: 1e-10 });
  const exact = Array.from(symmetricEigen(Array.from(matrix), n).values).sort((a, b) => b - a);
  const scale = Math.max(1, ...exact.map(Math.abs));
  expect(est.converged).toBe(true);
  expect(est.top).toHaveLength(k);
  for (let i = 0; i < k; i++) expect(Math.abs(est.top[i]!.value - exact[i]!)).toBeLessThan(1e-9 * scale);
  expect(Math.abs(est.bottom!.value - exact[n - 1]!)).toBeLessThan(1e-9 * scale);
  for (const e of [...est.top, est.bottom!]) expect(e.residual).toBeLessThan(1e-8 * scale);
  return est;
}

const dims = Array.from({ length: 50 }, (_, i) => i + 1);

describe("Lanczos at a breakdown returns the exact answer", () => {
  it.each(dims)("c·I in %i dimensions (k = 1 and k = min(3, n))", (n) => {
    const c = n % 2 === 0 ? 2 : -0.75;
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) m[i * n + i] = c;
    const one = check(m, n, 1);
    // One HVP: the Krylov space of c·I is the start vector alone.
    expect(one.hvps).toBe(1);
    check(m, n, Math.min(3, n));
  });

  it.each(dims)("rank one in %i dimensions", (n) => {
    const values = Array.from({ length: n }, (_, i) => (i === 0 ? 7.5 : 0));
    const est = check(rotated(values, n), n, Math.min(3, n));
    // λmax and the zero eigenvalue are found in two HVPs (plus restarts for the repeated zeros).
    expect(est.hvps).toBeLessThanOrEqual(Math.min(n, 4));
  });

  it.each(dims.filter((n) => n >= 3))("a repeated top eigenvalue in %i dimensions", (n) => {
    // {5, 5, 1, 1, …}: the second-largest is 5 again, which one Krylov space cannot see.
    const values = Array.from({ length: n }, (_, i) => (i < 2 ? 5 : 1));
    check(rotated(values, 100 + n), n, 2);
    check(rotated(values, 100 + n), n, Math.min(3, n));
  });

  it.each([4, 10, 25, 50])(
    "three clusters of repeated eigenvalues, with negatives, in %i dimensions",
    (n) => {
      const values = Array.from({ length: n }, (_, i) => [3, -2, 0.5][i % 3]!);
      check(rotated(values, 7 * n), n, Math.min(3, n));
    },
  );
});

describe("Lanczos stopped part-way (Ctrl-C)", () => {
  // The async iteration stopped after j steps is the iteration capped at j steps: the same Krylov
  // basis from the same seed, so the same Ritz values and residuals to the bit, and each residual
  // a bound: a true eigenvalue lies within it (checked against the dense decomposition).
  it("ends with the Ritz values of the steps taken, each within its residual of an eigenvalue", async () => {
    const values = Array.from({ length: 40 }, (_v, i) => 1 + i * i * 0.01);
    const op = () => matrixOperator(rotated(values, 7), 40);
    let asked = 0;
    const stopped = await lanczosAsync(op(), { k: 2, tolerance: 1e-14, stop: () => ++asked >= 6 });
    expect(stopped.stopped).toBe(true);
    expect(stopped.iterations).toBe(6);
    const capped = lanczos(op(), { k: 2, tolerance: 1e-14, maxIterations: 6 });
    expect(stopped.top).toEqual(capped.top);
    expect(stopped.bottom).toEqual(capped.bottom);
    expect(stopped.converged).toBe(false);
    for (const e of [...stopped.top, stopped.bottom!])
      expect(Math.min(...values.map((v) => Math.abs(v - e.value)))).toBeLessThanOrEqual(
        e.residual * (1 + 1e-9),
      );
    // Not stopped: the whole answer, as the synchronous iteration gives it.
    const whole = await lanczosAsync(op(), { k: 2, tolerance: 1e-10, stop: () => false });
    expect(whole.stopped).toBe(false);
    expect(whole.top).toEqual(lanczos(op(), { k: 2, tolerance: 1e-10 }).top);
  });
});
