/**
 * Dense products over row-major float64 blocks, the engine's one hot loop: C[m×n] (+)= op(A)·op(B)
 * with op(A) = A (m×k) or Aᵀ (A stored k×m), op(B) = B (k×n) or Bᵀ (B stored n×k). Each output is
 * its old value (or 0) plus the products in increasing p, one multiply and one add each.
 */
export function gemm(
  m: number,
  n: number,
  k: number,
  A: Float64Array,
  aOff: number,
  transA: boolean,
  B: Float64Array,
  bOff: number,
  transB: boolean,
  C: Float64Array,
  cOff: number,
  accumulate: boolean,
): void {
  if (!accumulate) C.fill(0, cOff, cOff + m * n);
  if (!transA && !transB) {
    // i, p, j: rows of B streamed into a row of C.
    for (let i = 0; i < m; i++) {
      const ci = cOff + i * n;
      const ai = aOff + i * k;
      for (let p = 0; p < k; p++) {
        const a = A[ai + p]!;
        const bp = bOff + p * n;
        for (let j = 0; j < n; j++) C[ci + j]! += a * B[bp + j]!;
      }
    }
  } else if (!transA && transB) {
    // i, j: a dot product of two rows.
    for (let i = 0; i < m; i++) {
      const ai = aOff + i * k;
      const ci = cOff + i * n;
      for (let j = 0; j < n; j++) {
        const bj = bOff + j * k;
        let s = 0;
        for (let p = 0; p < k; p++) s += A[ai + p]! * B[bj + p]!;
        C[ci + j]! += s;
      }
    }
  } else if (transA && !transB) {
    // p, i, j: rank-one updates by a column of A (row p of the stored Aᵀ) and row p of B.
    for (let p = 0; p < k; p++) {
      const ap = aOff + p * m;
      const bp = bOff + p * n;
      for (let i = 0; i < m; i++) {
        const a = A[ap + i]!;
        const ci = cOff + i * n;
        for (let j = 0; j < n; j++) C[ci + j]! += a * B[bp + j]!;
      }
    }
  } else {
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += A[aOff + p * m + i]! * B[bOff + j * k + p]!;
        C[cOff + i * n + j]! += s;
      }
  }
}
