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

/**
 * erf(x) = 1 − erfc(x) for x ≥ 2, erfc by its continued fraction (Abramowitz & Stegun 7.1.14),
 * erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), summed backward from 300
 * levels: erfc(2) is 0.005, so its few ulps of error are far below erf's last bit, where the
 * series above, a sum of terms up to e^{x²} times the result, loses a few ulps.
 */
function erfLarge(x: number): number {
  let f = x;
  for (let n = 300; n >= 1; n--) f = x + n / 2 / f;
  return 1 - Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** Below this |x|, erf's Maclaurin series (alternating, each term under x²/3 of the one before). */
const SMALL = 1 / 32;
/**
 * The Maclaurin coefficients (−1)ⁿ/(n!(2n+1)) of erf(x)·√π/(2x) in powers of x², to x¹⁶: below
 * |x| = 1/8 the first term left out is under 10⁻¹⁹.
 */
const MACLAURIN = (() => {
  const c = new Float64Array(9);
  let factorial = 1;
  for (let n = 0; n < c.length; n++) {
    if (n > 0) factorial *= n;
    c[n] = (n % 2 ? -1 : 1) / (factorial * (2 * n + 1));
  }
  return c;
})();

/**
 * Taylor pieces on [SMALL, 6): width WIDTH each, expanded about its centre to degree DEGREE (8:
 * erf's Horner loop below is unrolled to it).
 */
const WIDTH = 1 / 32;
const PIECES = Math.round((6 - SMALL) / WIDTH);
/** 1/WIDTH (a power of two: the product is the quotient, exactly). */
const PIECES_PER_UNIT = 32;
const DEGREE = 8;

/**
 * The Taylor coefficients of erf about each piece's centre c: a₀ = erf(c) (the series above, or
 * 1 − erfc(c) from 2 on) and,
 * from dⁿ/dxⁿ e^{−x²} = (−1)ⁿHₙ(x)e^{−x²} with the physicists' Hermite polynomials
 * (H₀ = 1, H₁ = 2x, Hₙ₊₁ = 2xHₙ − 2nHₙ₋₁), aₙ = (2/√π)(−1)ⁿ⁻¹Hₙ₋₁(c)e^{−c²}/n!. Over a piece
 * |x − c| ≤ 1/64, so the terms past the degree sum to under 4·10⁻¹⁹ of the value (the largest,
 * Σₙ>₈ |aₙ|/64ⁿ over every piece, computed from these coefficients).
 */
const TAYLOR = (() => {
  const a = new Float64Array(PIECES * (DEGREE + 1));
  for (let k = 0; k < PIECES; k++) {
    const c = SMALL + (k + 0.5) * WIDTH;
    const scale = TWO_OVER_SQRT_PI * Math.exp(-c * c);
    a[k * (DEGREE + 1)] = c < 2 ? erfSeries(c) : erfLarge(c);
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
 * Maclaurin series below |x| = 1/8 (relative accuracy down to the smallest x), a Taylor polynomial
 * of degree 8 about the centre of one of 188 pieces of width 1/32 up to 6, ±1 beyond. Within a few
 * ulps of erfSeries everywhere (tested). The loops are written out: a counted Horner loop costs
 * V8 about twice the time.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax < SMALL) {
    const x2 = x * x;
    const m = MACLAURIN;
    let p = m[8]! * x2 + m[7]!;
    p = p * x2 + m[6]!;
    p = p * x2 + m[5]!;
    p = p * x2 + m[4]!;
    p = p * x2 + m[3]!;
    p = p * x2 + m[2]!;
    p = p * x2 + m[1]!;
    p = p * x2 + m[0]!;
    return TWO_OVER_SQRT_PI * x * p;
  }
  if (ax >= 6) return Math.sign(x);
  if (Number.isNaN(x)) return Number.NaN;
  const k = Math.floor((ax - SMALL) * PIECES_PER_UNIT);
  const t = ax - (SMALL + (k + 0.5) * WIDTH);
  const a = TAYLOR;
  const i = k * (DEGREE + 1);
  // Estrin's scheme: the same polynomial in a chain of 4 multiply–adds instead of Horner's 8, so
  // consecutive elements overlap in the core (the terms fall by 1/64 a degree: no cancellation).
  const t2 = t * t;
  const t4 = t2 * t2;
  const p01 = a[i]! + a[i + 1]! * t;
  const p23 = a[i + 2]! + a[i + 3]! * t;
  const p45 = a[i + 4]! + a[i + 5]! * t;
  const p67 = a[i + 6]! + a[i + 7]! * t;
  const p = p01 + t2 * p23 + t4 * (p45 + t2 * p67 + t4 * a[i + 8]!);
  // ±p without a branch (the sign of a Gaussian's samples is a coin toss to the predictor).
  return p * (x / ax);
}

/**
 * erf′(t) = (2/√π)·e^{−t²}, on erf's pieces: about a piece's centre c (exact: (2k + 3)/64, so c²
 * is too), e^{−t²} = e^{−c²}·e^{−δ(t + c)} with δ = t − c exact and |δ(t + c)| < 0.19, whose
 * Taylor series to degree 11 leaves out under 5·10⁻¹⁸; e^{−c²} from a table. Below |t| = 1/32
 * the series of e^{−t²} itself (to t¹⁰); from 6 on, and for NaN, Math.exp. It avoids the rounding
 * of t·t, which costs e^{−t·t} up to t²/2 ulps (18 at t = 6).
 */
export function erfSlope(t: number): number {
  const at = Math.abs(t);
  if (at < SMALL) {
    const s = -t * t;
    return TWO_OVER_SQRT_PI * (1 + s * (1 + s * (1 / 2 + s * (1 / 6 + s * (1 / 24 + s * (1 / 120))))));
  }
  if (!(at < 6)) return TWO_OVER_SQRT_PI * Math.exp(-t * t);
  const k = Math.floor((at - SMALL) * PIECES_PER_UNIT);
  const c = SMALL + (k + 0.5) * WIDTH;
  const u = -(at - c) * (at + c);
  // e^u − 1 to u¹¹ by Estrin's scheme.
  const u2 = u * u;
  const u4 = u2 * u2;
  const q =
    u *
    (1 +
      u * (1 / 2) +
      u2 * (1 / 6 + u * (1 / 24)) +
      u4 * (1 / 120 + u * (1 / 720) + u2 * (1 / 5040 + u * (1 / 40320))) +
      u4 * u4 * (1 / 362880 + u * (1 / 3628800) + u2 * (1 / 39916800)));
  const g = GAUSS[k]!;
  return g + g * q;
}

/** (2/√π)·e^{−c²} at every piece's centre c. */
const GAUSS = Float64Array.from({ length: PIECES }, (_, k) => {
  const c = SMALL + (k + 0.5) * WIDTH;
  return TWO_OVER_SQRT_PI * Math.exp(-c * c);
});
