/** Levenshtein edit distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * The nearest candidate within a third of the word's length (at least 2 edits), or null; first a
 * candidate with the same hyphenated words in another order (lr-find for find-lr).
 */
export function nearest(word: string, candidates: readonly string[]): string | null {
  const words = (w: string) => w.toLowerCase().split(/[-_]/).sort().join("-");
  const reordered = candidates.find((c) => c.includes("-") && words(c) === words(word));
  if (reordered) return reordered;
  let best: string | null = null;
  let bestD = Math.max(2, Math.ceil(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best;
}

/** "unknown X: y. Valid: a, b, c. Did you mean b?" */
export function unknownMessage(kind: string, word: string, valid: readonly string[]): string {
  const guess = nearest(word, valid);
  return `unknown ${kind}: ${word} (valid: ${valid.join(", ")})${guess ? `; did you mean ${guess}?` : ""}`;
}
