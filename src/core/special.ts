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
  const k = Math.floor((ax - SMALL) / WIDTH);
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
  return x < 0 ? -p : p;
}

/**
 * e^x within 2 ulps of Math.exp, about three times faster in a loop (V8 calls out to fdlibm's exp
 * for every element; this one inlines): x = (32m + j)·ln2/32 + r with |r| ≤ ln2/64, so
 * e^x = 2^m · 2^{j/32} · e^r, e^r − 1 by its Taylor series to r⁶ (the first term left out is
 * under 1.3·10⁻¹⁸), 2^{j/32} from a table, 2^m exact. The reduction is Cody and Waite's: ln2
 * as fdlibm splits it, a 32-bit head (its product with any k here is exact) and a tail, so r is
 * right to far below an ulp however large k. Outside (−707, 709) (where the result nears the
 * subnormals or overflows), and for NaN, it is Math.exp.
 */
export function exp(x: number): number {
  if (!(x > -707 && x < 709)) return Math.exp(x);
  const k = Math.round(x * THIRTY_TWO_OVER_LN2);
  const r = x - k * LN2_32_HI - k * LN2_32_LO;
  const r2 = r * r;
  const p = r + r2 * (0.5 + r * (1 / 6) + r2 * (1 / 24 + r * (1 / 120) + r2 * (1 / 720)));
  const j = k & 31;
  const t = POW2_J32[j]!;
  return (t + t * p) * POW2[(k >> 5) + POW2_BIAS]!;
}

const THIRTY_TWO_OVER_LN2 = 32 / Math.LN2;
/** fdlibm's ln2_hi (32 significant bits: its product with |k| < 2¹⁶ is exact) and ln2_lo, over 32. */
const LN2_32_HI = 0.6931471803691238 / 32; // 0x3fe62e42fee00000
const LN2_32_LO = 1.9082149292705877e-10 / 32; // 0x3dea39ef35793c76
/** 2^{j/32}, j = 0 … 31. */
const POW2_J32 = Float64Array.from({ length: 32 }, (_, j) => 2 ** (j / 32));
/** 2^m for m = −1023 … 1023, exact (powers of two). */
const POW2_BIAS = 1023;
const POW2 = Float64Array.from({ length: 2047 }, (_, i) => 2 ** (i - POW2_BIAS));
