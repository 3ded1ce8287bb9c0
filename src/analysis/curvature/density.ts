import { createRng } from "../../core/rng.js";
import { runStoppable, runToEnd, type Stoppable } from "../../core/stoppable.js";
import { tridiagonalEigen } from "../../core/tridiagonal.js";
import type { HessianOperator } from "./hvp.js";
import { lanczosStep } from "./lanczos.js";

/**
 * The Hessian's eigenvalue density by stochastic Lanczos quadrature (Golub & Meurant; Ubaru, Chen &
 * Saad 2017; Ghorbani, Krishnan & Xiao 2019). For a unit start vector q, m Lanczos steps give the
 * tridiagonal T_m; its eigenvalues θ_i with weights τ_i² (the squared first components of its
 * eigenvectors) are the m-point Gauss quadrature of the spectral measure μ_q = Σ_j (qᵀv_j)² δ(λ_j):
 * Σ τ_i² p(θ_i) = qᵀp(H)q exactly for every polynomial p of degree < 2m. For q = z/√n with z
 * Rademacher, E[(qᵀv_j)²] = 1/n, so the average of μ_q over probes is an unbiased estimate of the
 * spectral density (1/n) Σ_j δ(λ_j). Each probe also gives Hutchinson's zᵀHz = n·α_1, so the trace
 * comes with a standard error over the probes.
 */
export interface QuadratureProbe {
  /** Ritz values θ_i, ascending. */
  readonly nodes: Float64Array;
  /** τ_i², summing to 1. */
  readonly weights: Float64Array;
  /** zᵀHz for this probe's Rademacher z (= n·α_1): one Hutchinson sample of tr H. */
  readonly quadraticForm: number;
}

export interface SpectralDensity {
  readonly dim: number;
  readonly probes: readonly QuadratureProbe[];
  /** Lanczos steps per probe (fewer when the Krylov space closes early; the most any probe took). */
  readonly steps: number;
  /** Whether the first probe was the extremes' Lanczos run (DensityOptions.first): `hvps` leaves it out. */
  readonly reusedFirst: boolean;
  readonly hvps: number;
  readonly exactHvp: boolean;
  readonly seed: number;
  /** Hutchinson's estimate from the probes; the standard error needs two probes or more. */
  readonly trace: { readonly estimate: number; readonly standardError: number | null };
}

/**
 * Probes when none are asked for: 16 up to 2,000 parameters, beyond that enough for P·n ≥ 32,000
 * (at least 2, for a standard error). A probe's quadrature weights are n squared components
 * (qᵀv_j)² of a random unit vector, so the density it gives is already an average over n of them:
 * for z Rademacher, Var[zᵀf(H)z] = 2Σ_{i≠j} f(H)ᵢⱼ² ≤ 2‖f(H)‖_F² ≤ 2n·max f², so one probe's
 * estimate of (1/n)·tr f(H) — a moment of the density, a mass over an interval — has a standard
 * deviation under √(2/n)·max|f|, and P probes √(2/(P·n))·max|f| (Avron & Toledo 2011; Ubaru, Chen
 * & Saad 2017). Holding P·n fixed holds that bound where 16 probes put it at 2,000 parameters
 * (0.8%): a network of 10⁵ parameters needs 2 probes, not 16, each a pass of HVPs over its data.
 */
export function defaultProbes(n: number): number {
  return n <= 2000 ? 16 : Math.max(2, Math.ceil(32_000 / n));
}

export interface DensityOptions {
  /** Random start vectors (default defaultProbes(n): 16 up to 2,000 parameters, fewer beyond). */
  readonly probes?: number;
  /** Lanczos steps per probe (default min(n, 50)); each is one HVP. */
  readonly steps?: number;
  readonly seed?: number;
  /** Called after each probe with the probes done (for a progress bar). */
  readonly onProbe?: (done: number, of: number) => void;
  /**
   * The first probe, already run (spectrum.ts: the extremes' Lanczos run, from a start uniform on
   * the unit sphere); the others follow from the seed as they would. `probes` counts it.
   */
  readonly first?: QuadratureProbe;
}

export function spectralDensity(op: HessianOperator, options: DensityOptions = {}): SpectralDensity {
  return runToEnd(densityProbes(op, options));
}

/**
 * spectralDensity that gives the event loop a turn after each probe and ends early once `stop()`
 * says so: the density and trace are then those of the probes done (at least one), and `stopped`
 * is true.
 */
export async function spectralDensityAsync(
  op: HessianOperator,
  options: DensityOptions & { readonly stop: () => boolean },
): Promise<SpectralDensity & { readonly stopped: boolean }> {
  const { value, stopped } = await runStoppable(densityProbes(op, options), options.stop);
  return { ...value, stopped };
}

/** The probes one at a time: yields after each; `next(true)` ends it with the probes done. */
function* densityProbes(op: HessianOperator, options: DensityOptions): Stoppable<SpectralDensity> {
  const n = op.dim;
  const probes = options.probes ?? defaultProbes(n);
  const steps = options.steps ?? Math.min(n, 50);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(probes) || probes < 1)
    throw new Error(`invalid probes: ${probes} (a whole number ≥ 1)`);
  if (!Number.isInteger(steps) || steps < 1 || steps > n)
    throw new Error(`invalid steps: ${steps} (a whole number from 1 to ${n}, the parameter count)`);
  const before = op.count;
  const rng = createRng(seed);
  const out: QuadratureProbe[] = [];
  for (let p = 0; p < probes; p++) {
    const q = Float64Array.from({ length: n }, () => (rng.uniform() < 0.5 ? -1 : 1) / Math.sqrt(n));
    out.push(p === 0 && options.first ? options.first : quadrature(op, q, steps));
    options.onProbe?.(p + 1, probes);
    if (p + 1 < probes && (yield p + 1) === true) break;
  }
  const done = out.length;
  const forms = out.map((p) => p.quadraticForm);
  const mean = forms.reduce((a, b) => a + b, 0) / done;
  const variance = done > 1 ? forms.reduce((a, b) => a + (b - mean) ** 2, 0) / (done - 1) : null;
  return {
    dim: n,
    probes: out,
    steps: Math.max(...out.map((p) => p.nodes.length)),
    reusedFirst: options.first !== undefined,
    hvps: op.count - before,
    exactHvp: op.exact,
    seed,
    trace: { estimate: mean, standardError: variance === null ? null : Math.sqrt(variance / done) },
  };
}

/** m Lanczos steps from the unit vector q, fully reorthogonalized (twice), then T's quadrature. */
export function quadrature(op: HessianOperator, start: Float64Array, steps: number): QuadratureProbe {
  const n = op.dim;
  const basis: Float64Array[] = [];
  const alpha: number[] = [];
  const beta: number[] = [];
  const w = new Float64Array(n);
  let q = start;
  for (let j = 0; j < steps; j++) {
    const { a, b } = lanczosStep(op, basis, q, w);
    alpha.push(a);
    // The Krylov space is invariant: T's quadrature is then exact for every polynomial.
    if (j === steps - 1 || b <= 1e-14 * Math.max(1, ...alpha.map(Math.abs))) break;
    beta.push(b);
    q = Float64Array.from(w);
    for (let i = 0; i < n; i++) q[i]! /= b;
  }
  const { values, rows } = tridiagonalEigen(alpha, beta, [0]);
  const weights = Float64Array.from(rows[0]!, (s) => s * s);
  return { nodes: values, weights, quadraticForm: n * alpha[0]! };
}

/**
 * The quadrature of a Lanczos run already made (T's α and β, from the unit start q): the same
 * nodes and weights as `quadrature` from q. For q uniform on the unit sphere, E[qqᵀ] = I/n as for
 * z/√n with z Rademacher, so μ_q is the same unbiased estimate of the density and n·α₁ = n·qᵀHq
 * of the trace (Hutchinson with a spherical probe).
 */
export function quadratureOf(alpha: readonly number[], beta: readonly number[], n: number): QuadratureProbe {
  const { values, rows } = tridiagonalEigen(alpha, beta, [0]);
  return { nodes: values, weights: Float64Array.from(rows[0]!, (s) => s * s), quadraticForm: n * alpha[0]! };
}

/** A discrete measure on the line: points x with weights w (equal when absent). */
export interface Measure {
  readonly x: ArrayLike<number>;
  readonly w?: ArrayLike<number>;
}

/** The probes' quadratures averaged into one measure of total mass 1. */
export function densityMeasure(d: SpectralDensity): { x: Float64Array; w: Float64Array } {
  const size = d.probes.reduce((a, p) => a + p.nodes.length, 0);
  const x = new Float64Array(size);
  const w = new Float64Array(size);
  let k = 0;
  for (const p of d.probes)
    for (let i = 0; i < p.nodes.length; i++) {
      x[k] = p.nodes[i]!;
      w[k++] = p.weights[i]! / d.probes.length;
    }
  return { x, w };
}

/**
 * The Wasserstein-1 (earth mover's) distance between two measures of equal mass on the line,
 * ∫ |F_a(t) − F_b(t)| dt with F the cumulative distributions (each normalized to mass 1): in the
 * units of the eigenvalues, how far the mass of one must move on average to become the other.
 */
export function wasserstein1(a: Measure, b: Measure): number {
  const points: { x: number; da: number; db: number }[] = [];
  const add = (m: Measure, side: "da" | "db") => {
    const total = m.w ? Array.from(m.w).reduce((s, v) => s + v, 0) : m.x.length;
    if (!(total > 0)) throw new Error("invalid measure: no mass");
    for (let i = 0; i < m.x.length; i++) {
      const mass = (m.w ? m.w[i]! : 1) / total;
      points.push({ x: m.x[i]!, da: side === "da" ? mass : 0, db: side === "db" ? mass : 0 });
    }
  };
  add(a, "da");
  add(b, "db");
  points.sort((p, q) => p.x - q.x);
  let fa = 0;
  let fb = 0;
  let distance = 0;
  for (let i = 0; i < points.length - 1; i++) {
    fa += points[i]!.da;
    fb += points[i]!.db;
    distance += Math.abs(fa - fb) * (points[i + 1]!.x - points[i]!.x);
  }
  return distance;
}

export interface DensityCurve {
  readonly x: Float64Array;
  /** The smoothed density, integrating to 1 over the line (multiply by n for eigenvalues per unit). */
  readonly density: Float64Array;
  readonly sigma: number;
}

/**
 * The quadrature smoothed by a Gaussian of width σ (the "broadening": each node θ_i becomes
 * τ_i² · N(θ_i, σ²)), on an even grid from `from` to `to`. σ defaults to 1% of the node range.
 */
export function densityCurve(
  d: SpectralDensity,
  options: { sigma?: number; points?: number; from?: number; to?: number } = {},
): DensityCurve {
  const m = densityMeasure(d);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of m.x) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const width = hi - lo || Math.max(1, Math.abs(hi));
  const sigma = options.sigma ?? 0.01 * width;
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new Error(`invalid sigma: ${sigma} (a number > 0)`);
  const points = options.points ?? 400;
  const from = options.from ?? lo - 3 * sigma;
  const to = options.to ?? hi + 3 * sigma;
  const x = Float64Array.from({ length: points }, (_, i) => from + ((to - from) * i) / (points - 1));
  const density = new Float64Array(points);
  const c = 1 / (sigma * Math.sqrt(2 * Math.PI));
  for (let j = 0; j < m.x.length; j++) {
    const at = m.x[j]!;
    const wj = m.w[j]! * c;
    for (let i = 0; i < points; i++) {
      const t = (x[i]! - at) / sigma;
      if (t * t < 80) density[i]! += wj * Math.exp(-0.5 * t * t);
    }
  }
  return { x, density, sigma };
}
