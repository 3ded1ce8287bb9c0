/**
 * Eigenvalues of a symmetric tridiagonal matrix, with the last component of each unit eigenvector,
 * by the implicit QL method with Wilkinson shifts (tqli; Numerical Recipes §11.4, after EISPACK's
 * tql2). Only the rows of the eigenvector matrix that are asked for are accumulated: Lanczos needs
 * the last (its Ritz residuals), quadrature the first (its weights), at O(m²) each instead of
 * O(m³) for all of them. `rows[r][j]` is component rows-asked[r] of the eigenvector of values[j].
 */
export function tridiagonalEigen(
  diagonal: ArrayLike<number>,
  offDiagonal: ArrayLike<number>,
  rowsAsked: readonly number[] = [],
): { values: Float64Array; last: Float64Array; rows: Float64Array[] } {
  const n = diagonal.length;
  if (offDiagonal.length < n - 1)
    throw new Error(`invalid tridiagonal: ${offDiagonal.length} off-diagonal entries for size ${n}`);
  const d = Float64Array.from(diagonal);
  const e = new Float64Array(n);
  for (let i = 0; i < n - 1; i++) e[i] = offDiagonal[i]!;
  const z = new Float64Array(n);
  if (n > 0) z[n - 1] = 1;
  // Each asked-for row of the eigenvector matrix starts as that row of the identity and takes
  // every rotation that z (the last row) takes.
  const extra = rowsAsked.map((r) => {
    if (!Number.isInteger(r) || r < 0 || r >= n) throw new Error(`invalid row: ${r} (0 to ${n - 1})`);
    const row = new Float64Array(n);
    row[r] = 1;
    return row;
  });
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    for (;;) {
      let m: number;
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]!) + Math.abs(d[m + 1]!);
        if (Math.abs(e[m]!) <= Number.EPSILON * dd) break;
      }
      if (m === l) break;
      if (iterations++ === 100)
        throw new Error("tridiagonal eigenvalues: QL did not converge in 100 iterations");
      let g = (d[l + 1]! - d[l]!) / (2 * e[l]!);
      let r = Math.hypot(g, 1);
      g = d[m]! - d[l]! + e[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i: number;
      let deflated = false;
      for (i = m - 1; i >= l; i--) {
        let f = s * e[i]!;
        const b = c * e[i]!;
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) {
          // Underflow: the matrix split; recover and restart this l.
          d[i + 1]! -= p;
          e[m] = 0;
          deflated = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1]! - p;
        r = (d[i]! - g) * s + 2 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
        f = z[i + 1]!;
        z[i + 1] = s * z[i]! + c * f;
        z[i] = c * z[i]! - s * f;
        for (const row of extra) {
          const t = row[i + 1]!;
          row[i + 1] = s * row[i]! + c * t;
          row[i] = c * row[i]! - s * t;
        }
      }
      if (deflated) continue;
      d[l]! -= p;
      e[l] = g;
      e[m] = 0;
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[a]! - d[b]!);
  return {
    values: Float64Array.from(order, (i) => d[i]!),
    last: Float64Array.from(order, (i) => z[i]!),
    rows: extra.map((row) => Float64Array.from(order, (i) => row[i]!)),
  };
}
