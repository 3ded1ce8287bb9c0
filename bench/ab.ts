// Interleaved A/B rounds for the benches: every side is timed once per round, the order of the
// sides alternating from round to round, so drift in the machine's load falls on all of them.
// Figures are medians with min–max over the rounds; ratios are formed round by round.

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function spread(xs: readonly number[]): Spread {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

/** "12.3 (11.9–13.0)" with the given decimals. */
export function fmtSpread(s: Spread, digits = 2): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}

/**
 * Times each side `rounds` times after one untimed warm-up round; each call returns its own
 * measurement (ms per operation, say). Returns the measurements per side, in round order.
 */
export async function interleave(
  rounds: number,
  sides: readonly (() => number | Promise<number>)[],
): Promise<number[][]> {
  const out = sides.map(() => [] as number[]);
  for (let r = -1; r < rounds; r++) {
    const order = sides.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) {
      const v = await sides[i]!();
      if (r >= 0) out[i]!.push(v);
    }
  }
  return out;
}

/** Per-round ratios a[i] / b[i]. */
export function ratios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

/** ms per call of body over `reps` calls. */
export function msPerCall(reps: number, body: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) body();
  return (performance.now() - t0) / reps;
}
