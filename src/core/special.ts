// Special functions the networks need, to full double precision.

/** The logistic function 1/(1 + e^{−t}), without overflow for large |t|. */
export function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

/**
 * erf by its defining series, to full double precision: erf(x) = (2/√π)·e^{−x²}·Σ 2ⁿx^{2n+1}/(1·3·…·(2n+1)),
 * a series of positive terms (no cancellation); |x| ≥ 6 gives ±1 to within 1e-17. Up to 60 terms
 * near |x| = 6: the reference `erf`'s tables are built from, and tested against.
 */
export function erfSeries(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  const x2 = ax * ax;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  const r = TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
  return x < 0 ? -r : r;
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** Below this |x|, erf's Maclaurin series (alternating, each term under x²/3 of the one before). */
const SMALL = 0.5;
/** The Maclaurin coefficients (−1)ⁿ/(n!(2n+1)) of erf(x)·√π/(2x) in powers of x², to x²⁴. */
const MACLAURIN = (() => {
  const c = new Float64Array(13);
  let factorial = 1;
  for (let n = 0; n < c.length; n++) {
    if (n > 0) factorial *= n;
    c[n] = (n % 2 ? -1 : 1) / (factorial * (2 * n + 1));
  }
  return c;
})();

/** Taylor pieces on [SMALL, 6): width WIDTH each, expanded about its centre to degree DEGREE. */
const WIDTH = 0.125;
const PIECES = Math.round((6 - SMALL) / WIDTH);
const DEGREE = 17;

/**
 * The Taylor coefficients of erf about each piece's centre c: a₀ = erf(c) (the series above) and,
 * from dⁿ/dxⁿ e^{−x²} = (−1)ⁿHₙ(x)e^{−x²} with the physicists' Hermite polynomials
 * (H₀ = 1, H₁ = 2x, Hₙ₊₁ = 2xHₙ − 2nHₙ₋₁), aₙ = (2/√π)(−1)ⁿ⁻¹Hₙ₋₁(c)e^{−c²}/n!. Over a piece
 * |x − c| ≤ 1/16, so the terms past the degree are below 2⁻⁶⁰ of the value.
 */
const TAYLOR = (() => {
  const a = new Float64Array(PIECES * (DEGREE + 1));
  for (let k = 0; k < PIECES; k++) {
    const c = SMALL + (k + 0.5) * WIDTH;
    const scale = TWO_OVER_SQRT_PI * Math.exp(-c * c);
    a[k * (DEGREE + 1)] = erfSeries(c);
    let hPrev = 0;
    let h = 1;
    let factorial = 1;
    for (let n = 1; n <= DEGREE; n++) {
      factorial *= n;
      // h = Hₙ₋₁(c) here.
      a[k * (DEGREE + 1) + n] = (((n - 1) % 2 ? -1 : 1) * scale * h) / factorial;
      const next = 2 * c * h - 2 * (n - 1) * hPrev;
      hPrev = h;
      h = next;
    }
  }
  return a;
})();

/**
 * erf to full double precision, in a few nanoseconds (GELU calls it once per activation): the
 * Maclaurin series below |x| = 1/2 (relative accuracy down to the smallest x), a Taylor polynomial
 * of degree 17 about the centre of one of 44 pieces of width 1/8 up to 6, ±1 beyond. Within a few
 * ulps of erfSeries everywhere (tested).
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < SMALL) {
    const x2 = x * x;
    let p = MACLAURIN[MACLAURIN.length - 1]!;
    for (let n = MACLAURIN.length - 2; n >= 0; n--) p = p * x2 + MACLAURIN[n]!;
    return TWO_OVER_SQRT_PI * x * p;
  }
  if (ax >= 6) return Math.sign(x);
  if (Number.isNaN(x)) return Number.NaN;
  const k = Math.floor((ax - SMALL) / WIDTH);
  const t = ax - (SMALL + (k + 0.5) * WIDTH);
  const at = k * (DEGREE + 1);
  let p = TAYLOR[at + DEGREE]!;
  for (let n = DEGREE - 1; n >= 0; n--) p = p * t + TAYLOR[at + n]!;
  return x < 0 ? -p : p;
}
