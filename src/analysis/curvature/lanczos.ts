import { createRng } from "../../core/rng.js";
import { runStoppable, runToEnd, type Stoppable } from "../../core/stoppable.js";
import { tridiagonalEigen } from "../../core/tridiagonal.js";
import { allFinite, dot, norm2 } from "../../core/vec.js";
import type { HessianOperator } from "./hvp.js";

/** An eigenvalue estimate with its error bar: some true eigenvalue lies within ±residual. */
export interface EigenEstimate {
  readonly value: number;
  /** ‖H·u − θ·u‖ for the unit Ritz vector u: a rigorous bound on the distance to the spectrum. */
  readonly residual: number;
  readonly converged: boolean;
}

export interface SpectrumEstimate {
  readonly method: "lanczos" | "power";
  /** The largest eigenvalues, in descending order. */
  readonly top: readonly EigenEstimate[];
  /** The smallest eigenvalue (Lanczos only). */
  readonly bottom: EigenEstimate | null;
  readonly iterations: number;
  /** Hessian-vector products used. */
  readonly hvps: number;
  /** False when the HVPs were finite differences of gradients. */
  readonly exactHvp: boolean;
  readonly converged: boolean;
  /** With `vectors`: the unit Ritz vectors of `top` (same order) and of `bottom`. */
  readonly vectors?: { readonly top: readonly Float64Array[]; readonly bottom: Float64Array | null };
  /**
   * With `tridiagonal`: T = QᵀHQ, α its diagonal, β its off-diagonal (a 0 where a breakdown
   * restarted the iteration), and the unit start vector Q's first column was drawn uniformly on
   * the sphere (a normalized Gaussian vector).
   */
  readonly tridiagonal?: { readonly alpha: readonly number[]; readonly beta: readonly number[] };
}

export interface LanczosOptions {
  /** How many of the largest eigenvalues (default 1). */
  readonly k?: number;
  /** Also resolve the smallest eigenvalue (default true). */
  readonly bottom?: boolean;
  /** Converged when residual ≤ tolerance · max|θ| (default 1e-10). */
  readonly tolerance?: number;
  /** The smallest eigenvalue's own tolerance (default `tolerance`). */
  readonly bottomTolerance?: number;
  /** Iteration cap (default min(n, 300)); each iteration is one HVP. */
  readonly maxIterations?: number;
  /** Seed of the random start vector (default 0). */
  readonly seed?: number;
  /** Also return the Ritz vectors (Q·s for T's eigenvectors s), e.g. to see where λmax's direction lies. */
  readonly vectors?: boolean;
  /** Called after each step with the steps taken and the cap (for progress; it usually ends well before). */
  readonly onStep?: (steps: number, cap: number) => void;
  /** Steps to take even once converged (a breakdown, or the cap, still ends it): default 0. */
  readonly minIterations?: number;
  /** Also return T (its diagonal α and off-diagonal β), e.g. for the start vector's quadrature. */
  readonly tridiagonal?: boolean;
}

/**
 * Lanczos with full reorthogonalization: builds an orthonormal Krylov basis Q and the tridiagonal
 * T = QᵀHQ one HVP at a time; T's eigenvalues (Ritz values) converge to H's extreme eigenvalues
 * first, typically in O(√κ) steps where power iteration needs O(κ). Full reorthogonalization
 * (twice, "twice is enough") costs O(n·j) per step and keeps the basis orthogonal, so no ghost
 * copies of converged eigenvalues appear.
 */
export function lanczos(op: HessianOperator, options: LanczosOptions = {}): SpectrumEstimate {
  return runToEnd(lanczosSteps(op, options));
}

/**
 * lanczos that gives the event loop a turn after each step and, once `stop()` says so, ends with
 * the Ritz values of the steps taken — each with its residual, a bound on its distance to an
 * eigenvalue of H (converged false unless they met the tolerance) — and `stopped` set.
 */
export async function lanczosAsync(
  op: HessianOperator,
  options: LanczosOptions & { readonly stop: () => boolean },
): Promise<SpectrumEstimate & { readonly stopped: boolean }> {
  const { value, stopped } = await runStoppable(lanczosSteps(op, options), options.stop);
  return { ...value, stopped };
}

/** The iteration one step at a time: yields the steps taken after each; `next(true)` ends it there. */
export function* lanczosSteps(op: HessianOperator, options: LanczosOptions): Stoppable<SpectrumEstimate> {
  const n = op.dim;
  const k = options.k ?? 1;
  const wantBottom = options.bottom ?? true;
  const tolerance = options.tolerance ?? 1e-10;
  const bottomTolerance = options.bottomTolerance ?? tolerance;
  const maxIterations = Math.min(options.maxIterations ?? Math.min(n, 300), n);
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new Error(`invalid k: ${k} (a whole number from 1 to ${n})`);
  if (!(tolerance > 0)) throw new Error(`invalid tolerance: ${tolerance} (a number > 0)`);
  if (!(bottomTolerance > 0)) throw new Error(`invalid bottomTolerance: ${bottomTolerance} (a number > 0)`);
  const hvpsBefore = op.count;
  const rng = createRng(options.seed ?? 0);
  const basis: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  let q = Float64Array.from({ length: n }, () => rng.normal());
  scale(q, 1 / norm2(q));
  const w = new Float64Array(n);
  let result: { top: EigenEstimate[]; bottom: EigenEstimate | null; done: boolean } | null = null;

  // The k-th largest Ritz value at the last breakdown (see below).
  let kthAtBreakdown = Number.NEGATIVE_INFINITY;
  let restarted = false;
  for (let j = 0; j < maxIterations; j++) {
    const { a, b } = lanczosStep(op, basis, q, w);
    alpha.push(a);
    const m = j + 1;
    // β ≈ 0 is a breakdown: span(Q) is an invariant subspace of H, so T's eigenvalues are exact
    // eigenvalues of H (residual 0), not a failure. β is compared with the size of H seen so far.
    const size = Math.max(...alpha.map(Math.abs), ...beta.map(Math.abs), Number.MIN_VALUE);
    const breakdown = b <= 1e-12 * size || m === n;
    // The Ritz values cost O(m²) per check (QL on T), small beside the O(n·m) reorthogonalization.
    result = ritz(alpha, beta, breakdown ? 0 : b, k, wantBottom, tolerance, bottomTolerance);
    options.onStep?.(m, maxIterations);
    if (m === n || m === maxIterations) break;
    if ((yield m) === true) break;
    if (breakdown) {
      // A random start has a component along every eigenvector, so the invariant subspace holds
      // every distinct eigenvalue: λmax and λmin are exact. Only a repeated eigenvalue can hide a
      // second copy from the top k (H = cI has a 1-D Krylov space): restart from a random vector
      // orthogonal to Q while a restart still changes the top k. T gains a block with β = 0
      // between, so H·Q = Q·T + r·eₘᵀ still holds and every residual stays a bound.
      const kth = m >= k ? kthLargest(alpha, beta, k) : Number.NEGATIVE_INFINITY;
      if (result.done && (k === 1 || kth <= kthAtBreakdown + 1e-12 * size)) break;
      kthAtBreakdown = kth;
      restarted = true;
      const next = orthogonalStart(basis, rng);
      if (next === null) break;
      beta.push(0);
      q = next;
      continue;
    }
    // After a restart, run on to the block's breakdown: its Ritz values are not all in yet.
    if (result.done && !restarted && m >= (options.minIterations ?? 0)) break;
    beta.push(b);
    q = Float64Array.from(w);
    scale(q, 1 / b);
  }
  const final =
    result ?? ritz(alpha, beta.slice(0, alpha.length - 1), 0, k, wantBottom, tolerance, bottomTolerance);
  return {
    method: "lanczos",
    top: final.top,
    bottom: final.bottom,
    iterations: alpha.length,
    hvps: op.count - hvpsBefore,
    exactHvp: op.exact,
    converged: final.done,
    ...(options.vectors ? { vectors: ritzVectors(basis, alpha, beta, k, wantBottom) } : {}),
    ...(options.tridiagonal ? { tridiagonal: { alpha, beta: beta.slice(0, alpha.length - 1) } } : {}),
  };
}

/** u_i = Q·s_i for the eigenvectors s_i of T (all of T's rows accumulated: O(m³), once). */
function ritzVectors(
  basis: readonly Float64Array[],
  alpha: readonly number[],
  beta: readonly number[],
  k: number,
  wantBottom: boolean,
) {
  const m = alpha.length;
  const n = basis[0]!.length;
  const rows = Array.from({ length: m }, (_, r) => r);
  const { rows: s } = tridiagonalEigen(alpha, beta.slice(0, m - 1), rows);
  const vector = (i: number) => {
    const u = new Float64Array(n);
    for (let j = 0; j < m; j++) {
      const c = s[j]![i]!;
      const q = basis[j]!;
      for (let t = 0; t < n; t++) u[t]! += c * q[t]!;
    }
    return u;
  };
  const top: Float64Array[] = [];
  for (let i = m - 1; i >= Math.max(0, m - k); i--) top.push(vector(i));
  return { top, bottom: wantBottom ? vector(0) : null };
}

/**
 * One Lanczos step from the unit vector q (appended to the basis): w = H·q, α = qᵀw, then w made
 * orthogonal to the whole basis by classical Gram–Schmidt done twice ("twice is enough"), and
 * β = ‖w‖. The next basis vector is w/β.
 */
export function lanczosStep(
  op: HessianOperator,
  basis: Float64Array[],
  q: Float64Array,
  w: Float64Array,
): { a: number; b: number } {
  const n = op.dim;
  basis.push(q);
  op.apply(q, w);
  if (!allFinite(w)) throw new Error("curvature: the Hessian-vector product is not finite at this point");
  const a = dot(q, w);
  // Gram–Schmidt twice over the basis: 2m updates w −= (vᵀw)·v in turn. Each update's sweep also
  // forms the next vector's product with the updated w (entry i of w is final once updated), so w
  // is read once per update rather than twice; the sums are the same, in the same order.
  const m = basis.length;
  let c = dot(basis[0]!, w);
  for (let u = 0; u < 2 * m; u++) {
    const v = basis[u % m]!;
    const next = u + 1 < 2 * m ? basis[(u + 1) % m]! : null;
    if (next === null) {
      for (let i = 0; i < n; i++) w[i]! -= c * v[i]!;
      break;
    }
    let s = 0;
    for (let i = 0; i < n; i++) {
      const wi = w[i]! - c * v[i]!;
      w[i] = wi;
      s += next[i]! * wi;
    }
    c = s;
  }
  return { a, b: norm2(w) };
}

/** Ritz values of T_m and their residuals |β_m · s_{m,i}| (Parlett, The Symmetric Eigenvalue Problem, §13.2). */
function ritz(
  alpha: readonly number[],
  beta: readonly number[],
  lastBeta: number,
  k: number,
  wantBottom: boolean,
  tolerance: number,
  bottomTolerance: number,
) {
  const m = alpha.length;
  const { values, last } = tridiagonalEigen(alpha, beta);
  const spread = Math.max(...Array.from(values, Math.abs), Number.MIN_VALUE);
  const estimate = (i: number, tol: number): EigenEstimate => {
    const residual = Math.abs(lastBeta * last[i]!);
    return { value: values[i]!, residual, converged: residual <= tol * spread };
  };
  const top: EigenEstimate[] = [];
  for (let i = m - 1; i >= Math.max(0, m - k); i--) top.push(estimate(i, tolerance));
  const bottom = wantBottom ? estimate(0, bottomTolerance) : null;
  const done = top.length === k && top.every((e) => e.converged) && (bottom === null || bottom.converged);
  return { top, bottom, done };
}

export interface PowerOptions {
  readonly tolerance?: number;
  readonly maxIterations?: number;
  readonly seed?: number;
}

/**
 * Power iteration for the eigenvalue of largest magnitude (which is λmax unless a negative
 * eigenvalue is larger in size): v ← Hv/‖Hv‖, θ = vᵀHv, stopping on the same residual test as
 * Lanczos so the two can be compared HVP for HVP.
 */
export function powerIteration(op: HessianOperator, options: PowerOptions = {}): SpectrumEstimate {
  const n = op.dim;
  const tolerance = options.tolerance ?? 1e-10;
  const maxIterations = options.maxIterations ?? 100_000;
  const hvpsBefore = op.count;
  const rng = createRng(options.seed ?? 0);
  const v = Float64Array.from({ length: n }, () => rng.normal());
  scale(v, 1 / norm2(v));
  const hv = new Float64Array(n);
  let theta = 0;
  let residual = Number.POSITIVE_INFINITY;
  let iterations = 0;
  while (iterations < maxIterations) {
    iterations++;
    op.apply(v, hv);
    if (!allFinite(hv)) throw new Error("curvature: the Hessian-vector product is not finite at this point");
    theta = dot(v, hv);
    let r = 0;
    for (let i = 0; i < n; i++) r += (hv[i]! - theta * v[i]!) ** 2;
    residual = Math.sqrt(r);
    if (residual <= tolerance * Math.abs(theta)) break;
    const size = norm2(hv);
    if (size === 0) break;
    for (let i = 0; i < n; i++) v[i] = hv[i]! / size;
  }
  const converged = residual <= tolerance * Math.abs(theta) || norm2(hv) === 0;
  return {
    method: "power",
    top: [{ value: theta, residual, converged }],
    bottom: null,
    iterations,
    hvps: op.count - hvpsBefore,
    exactHvp: op.exact,
    converged,
  };
}

export interface TraceEstimate {
  readonly estimate: number;
  /** Standard error of the mean over the probes. */
  readonly standardError: number;
  readonly hvps: number;
}

/** Hutchinson's estimator: tr(H) = E[zᵀHz] for Rademacher z (Hutchinson 1990). */
export function hutchinsonTrace(
  op: HessianOperator,
  options: { samples?: number; seed?: number } = {},
): TraceEstimate {
  const n = op.dim;
  const samples = options.samples ?? 64;
  if (!Number.isInteger(samples) || samples < 2)
    throw new Error(`invalid samples: ${samples} (a whole number ≥ 2)`);
  const rng = createRng(options.seed ?? 0);
  const z = new Float64Array(n);
  const hz = new Float64Array(n);
  const before = op.count;
  let mean = 0;
  let m2 = 0;
  for (let s = 1; s <= samples; s++) {
    for (let i = 0; i < n; i++) z[i] = rng.uniform() < 0.5 ? -1 : 1;
    op.apply(z, hz);
    const x = dot(z, hz);
    // Welford's running mean and variance.
    const d = x - mean;
    mean += d / s;
    m2 += d * (x - mean);
  }
  return { estimate: mean, standardError: Math.sqrt(m2 / (samples - 1) / samples), hvps: op.count - before };
}

/** The k-th largest eigenvalue of T (α on the diagonal, β beside it). */
function kthLargest(alpha: readonly number[], beta: readonly number[], k: number): number {
  const { values } = tridiagonalEigen(alpha, beta.slice(0, alpha.length - 1));
  return values[values.length - k]!;
}

/** A random unit vector orthogonal to the basis (Gram–Schmidt twice), or null when the basis spans everything. */
function orthogonalStart(
  basis: readonly Float64Array[],
  rng: ReturnType<typeof createRng>,
): Float64Array<ArrayBuffer> | null {
  const n = basis[0]!.length;
  for (let attempt = 0; attempt < 3; attempt++) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    const before = norm2(v);
    for (let pass = 0; pass < 2; pass++)
      for (const u of basis) {
        const c = dot(u, v);
        for (let i = 0; i < n; i++) v[i]! -= c * u[i]!;
      }
    const after = norm2(v);
    if (after > 1e-8 * before) {
      scale(v, 1 / after);
      return v;
    }
  }
  return null;
}

function scale(v: Float64Array, c: number): void {
  for (let i = 0; i < v.length; i++) v[i]! *= c;
}
