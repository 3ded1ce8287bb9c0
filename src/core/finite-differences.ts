/**
 * Central finite differences: the independent check every analytic derivative in overshoot is
 * tested against (error O(h²), so h ≈ 1e-5…1e-6 gives ~1e-8 relative accuracy in float64).
 */

/** ∂f/∂xᵢ ≈ (f(x + h·eᵢ) − f(x − h·eᵢ)) / 2h for every i. */
export function centralGradient(
  value: (x: Float64Array) => number,
  x: ArrayLike<number>,
  h = 1e-6,
): Float64Array {
  const out = new Float64Array(x.length);
  const p = Float64Array.from(x);
  for (let i = 0; i < x.length; i++) {
    const xi = p[i]!;
    p[i] = xi + h;
    const fp = value(p);
    p[i] = xi - h;
    const fm = value(p);
    p[i] = xi;
    out[i] = (fp - fm) / (2 * h);
  }
  return out;
}

/** H(x)·v ≈ (∇f(x + h·v) − ∇f(x − h·v)) / 2h. */
export function centralHessianVector(
  gradient: (x: Float64Array, out: Float64Array) => number,
  x: ArrayLike<number>,
  v: ArrayLike<number>,
  h = 1e-5,
): Float64Array {
  const n = x.length;
  const p = new Float64Array(n);
  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    p[i] = x[i]! + h * v[i]!;
    m[i] = x[i]! - h * v[i]!;
  }
  const gp = new Float64Array(n);
  const gm = new Float64Array(n);
  gradient(p, gp);
  gradient(m, gm);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (gp[i]! - gm[i]!) / (2 * h);
  return out;
}

/** The full Hessian (n×n, row-major) column by column from the gradient. */
export function centralHessian(
  gradient: (x: Float64Array, out: Float64Array) => number,
  x: ArrayLike<number>,
  h = 1e-5,
): Float64Array {
  const n = x.length;
  const out = new Float64Array(n * n);
  const e = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    e.fill(0);
    e[j] = 1;
    const col = centralHessianVector(gradient, x, e, h);
    for (let i = 0; i < n; i++) out[i * n + j] = col[i]!;
  }
  return out;
}
