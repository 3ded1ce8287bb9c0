/** A number for a sentence: 4 significant digits, no trailing zeros, exponent form when large or tiny. */
export function fmt(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) {
    const [m, e] = v.toExponential(digits - 1).split("e");
    return `${Number(m)}e${Number(e)}`;
  }
  return String(Number(v.toPrecision(digits)));
}

/**
 * A factor near 1 with enough digits to tell it from 1 (0.999994, 1.00012), since "= 1 < 1" or
 * "×1 per step" reads as a contradiction; otherwise as fmt.
 */
export function fmtFactor(v: number): string {
  const d = Math.abs(v - 1);
  if (!Number.isFinite(v) || d === 0 || d >= 5e-4) return fmt(v);
  const digits = Math.min(15, 2 + Math.ceil(-Math.log10(d)));
  return String(Number(v.toPrecision(digits)));
}

/** "1 step", "2 steps": a whole count and its noun, singular for exactly one. */
export function plural(n: number, noun: string, many = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : many}`;
}

/** plural with thousands separated, for counts that run large: "1 step", "20,000 steps". */
export function pluralLong(n: number, noun: string, many = `${noun}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? noun : many}`;
}
