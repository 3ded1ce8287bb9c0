import { randomOrthogonal } from "../core/orthogonal.js";
import { createRng } from "../core/rng.js";
import { defaultNames } from "./_define.js";
import type { BuiltinObjective } from "./builtins.js";

export interface QuadraticObjective extends BuiltinObjective {
  /** The symmetric matrix A (n×n, row-major). */
  readonly matrix: Float64Array;
  /** The linear term b. */
  readonly linear: Float64Array;
}

/**
 * f(x) = ½ xᵀAx + bᵀx with A symmetric: ∇f = Ax + b, H = A everywhere. Plain gradient descent on
 * it is stable exactly when η < 2/λmax(A), which makes it the oracle for every stability claim.
 * The minimizer solves Ax = −b (reported when A is positive definite).
 */
export function quadratic(
  matrix: Float64Array,
  n: number,
  linear?: Float64Array,
  parameters?: Record<string, unknown>,
): QuadraticObjective {
  if (matrix.length !== n * n)
    throw new Error(`invalid matrix: ${matrix.length} entries for a ${n}×${n} matrix`);
  for (let i = 0; i < n * n; i++) {
    if (!Number.isFinite(matrix[i]!))
      throw new Error(`invalid matrix: entry (${Math.floor(i / n) + 1}, ${(i % n) + 1}) is ${matrix[i]}`);
  }
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(matrix[i]!));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = matrix[i * n + j]!;
      const b = matrix[j * n + i]!;
      if (Math.abs(a - b) > 1e-12 * scale) {
        throw new Error(
          `invalid matrix: not symmetric, A[${i + 1},${j + 1}] = ${a} but A[${j + 1},${i + 1}] = ${b}`,
        );
      }
    }
  }
  const a = Float64Array.from(matrix);
  const b = linear ? Float64Array.from(linear) : new Float64Array(n);
  if (b.length !== n) throw new Error(`invalid linear term: ${b.length} entries for dimension ${n}`);
  const minimizer = solveSymmetric(a, b, n);
  let minimum = 0;
  if (minimizer) for (let i = 0; i < n; i++) minimum += 0.5 * b[i]! * minimizer[i]!;
  const value = (x: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < n; i++) {
      let ax = 0;
      for (let j = 0; j < n; j++) ax += a[i * n + j]! * x[j]!;
      s += x[i]! * (0.5 * ax + b[i]!);
    }
    return s;
  };
  return {
    dim: n,
    names: defaultNames(n),
    description: { kind: "builtin", name: "quadratic", ...(parameters ? { parameters } : {}) },
    constantHessian: true,
    matrix: a,
    linear: b,
    value,
    gradient(x, out) {
      let s = 0;
      for (let i = 0; i < n; i++) {
        let ax = 0;
        for (let j = 0; j < n; j++) ax += a[i * n + j]! * x[j]!;
        out[i] = ax + b[i]!;
        s += x[i]! * (0.5 * ax + b[i]!);
      }
      return s;
    },
    hessianVector(_x, v, out) {
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += a[i * n + j]! * v[j]!;
        out[i] = s;
      }
    },
    hessian(_x, out) {
      out.set(a);
    },
    minimizers: minimizer ? [Array.from(minimizer)] : [],
    minimum: minimizer ? minimum : Number.NaN,
  };
}

/**
 * ½ xᵀ Q diag(λ) Qᵀ x: a quadratic with the given eigenvalues, axis-aligned, or rotated by a
 * Haar-random orthogonal Q drawn from `rotate` (a seed).
 */
export function quadraticFromEigenvalues(
  eigenvalues: readonly number[],
  rotate?: number,
): QuadraticObjective {
  const n = eigenvalues.length;
  if (n === 0) throw new Error("invalid eigenvalues: none given (e.g. --eigenvalues 1,100)");
  for (const l of eigenvalues)
    if (!Number.isFinite(l)) throw new Error(`invalid eigenvalues: ${l} is not finite`);
  const a = new Float64Array(n * n);
  if (rotate === undefined) {
    for (let i = 0; i < n; i++) a[i * n + i] = eigenvalues[i]!;
  } else {
    const q = randomOrthogonal(n, createRng(rotate));
    for (let i = 0; i < n; i++) {
      for (let j = i; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += q[i * n + k]! * eigenvalues[k]! * q[j * n + k]!;
        a[i * n + j] = s;
        a[j * n + i] = s;
      }
    }
  }
  return quadratic(a, n, undefined, {
    eigenvalues: [...eigenvalues],
    ...(rotate === undefined ? {} : { rotate }),
  });
}

/**
 * Solves Ax = −b by Cholesky factorization A = LLᵀ; null when A is not positive definite, in
 * which case ½xᵀAx + bᵀx has no minimizer.
 */
function solveSymmetric(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! ** 2;
    if (!(d > 0)) return null;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = s / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = -b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}
