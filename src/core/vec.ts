// Basic operations on Float64Array vectors, kept here rather than adding a dependency
// (as fmin's blas1.js does). Kernels write into caller-allocated outputs.

/** Inner product xᵀy. */
export function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}

/** Euclidean norm ‖x‖₂, scaled to avoid overflow when entries are huge (|x| near 1e154 and above). */
export function norm2(x: Float64Array): number {
  // The plain sum of squares is exact enough unless it overflows or underflows; only then rescale.
  let plain = 0;
  for (let i = 0; i < x.length; i++) plain += x[i]! * x[i]!;
  if (plain < 1e300 && plain > 1e-300) return Math.sqrt(plain);
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]!);
    if (a > scale) scale = a;
  }
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    const t = x[i]! / scale;
    s += t * t;
  }
  return scale * Math.sqrt(s);
}

/** out = a − b. */
export function sub(out: Float64Array, a: Float64Array, b: Float64Array): Float64Array {
  for (let i = 0; i < out.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}

/** y += α·x. */
export function axpy(alpha: number, x: Float64Array, y: Float64Array): Float64Array {
  for (let i = 0; i < y.length; i++) y[i]! += alpha * x[i]!;
  return y;
}

/** True when every entry is a finite number. */
export function allFinite(x: Float64Array): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return false;
  return true;
}

/**
 * The secant curvature along a step, (g₁ − g₀)ᵀ(x₁ − x₀)/‖x₁ − x₀‖²: the mean curvature of f on
 * the segment from x₀ to x₁ (exact for a quadratic); NaN when the step is zero.
 */
export function secantCurvature(
  x1: ArrayLike<number>,
  x0: ArrayLike<number>,
  g1: ArrayLike<number>,
  g0: ArrayLike<number>,
): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < x1.length; i++) {
    const d = x1[i]! - x0[i]!;
    num += (g1[i]! - g0[i]!) * d;
    den += d * d;
  }
  return den > 0 ? num / den : Number.NaN;
}

/** max_i |a_i − b_i| / max_i |b_i|: the error of a against a reference b, relative to b's scale. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
  }
  return err / Math.max(scale, 1e-300);
}
