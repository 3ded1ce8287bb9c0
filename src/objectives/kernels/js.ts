import type { Kernels } from "./types.js";

/**
 * The kernels in plain JavaScript: the fallback where WebAssembly is missing and the reference the
 * WebAssembly SIMD build (assembly/kernels.ts) is tested against bit for bit. Blocks of 4 rows × 2
 * columns keep eight independent sums in registers (V8 has 16 float registers: 4×4 spills).
 */
export function jsKernels(doubles: number): Kernels {
  const buffer = new ArrayBuffer(doubles * 8);
  const h = new Float64Array(buffer);
  const ix = new Int32Array(buffer);
  /** Row r of C (+)= Σ_q val_q · B[col_q] over q in ptr[r]…ptr[r+1]. */
  const gather: Kernels["csrmm"] = (rows, n, ptr, col, val, b, ldb, c, ldc) => {
    for (let r = 0; r < rows; r++) {
      const q0 = ix[ptr + r]!;
      const q1 = ix[ptr + r + 1]!;
      const cr = c + r * ldc;
      let j = 0;
      for (; j + 4 <= n; j += 4) {
        let c0 = h[cr + j]!;
        let c1 = h[cr + j + 1]!;
        let c2 = h[cr + j + 2]!;
        let c3 = h[cr + j + 3]!;
        for (let q = q0; q < q1; q++) {
          const x = h[val + q]!;
          const bp = b + ix[col + q]! * ldb + j;
          c0 += x * h[bp]!;
          c1 += x * h[bp + 1]!;
          c2 += x * h[bp + 2]!;
          c3 += x * h[bp + 3]!;
        }
        h[cr + j] = c0;
        h[cr + j + 1] = c1;
        h[cr + j + 2] = c2;
        h[cr + j + 3] = c3;
      }
      for (; j < n; j++) {
        let s = h[cr + j]!;
        for (let q = q0; q < q1; q++) s += h[val + q]! * h[b + ix[col + q]! * ldb + j]!;
        h[cr + j] = s;
      }
    }
  };
  return {
    name: "js",
    f64: h,
    i32: ix,
    nn(m, n, k, a, lda, b, ldb, c, ldc, acc) {
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        const a0 = a + i * lda;
        const a1 = a0 + lda;
        const a2 = a1 + lda;
        const a3 = a2 + lda;
        const r0 = c + i * ldc;
        const r1 = r0 + ldc;
        const r2 = r1 + ldc;
        const r3 = r2 + ldc;
        let j = 0;
        for (; j + 2 <= n; j += 2) {
          let c00 = acc ? h[r0 + j]! : 0;
          let c01 = acc ? h[r0 + j + 1]! : 0;
          let c10 = acc ? h[r1 + j]! : 0;
          let c11 = acc ? h[r1 + j + 1]! : 0;
          let c20 = acc ? h[r2 + j]! : 0;
          let c21 = acc ? h[r2 + j + 1]! : 0;
          let c30 = acc ? h[r3 + j]! : 0;
          let c31 = acc ? h[r3 + j + 1]! : 0;
          let bp = b + j;
          for (let p = 0; p < k; p++) {
            const b0 = h[bp]!;
            const b1 = h[bp + 1]!;
            const x0 = h[a0 + p]!;
            c00 += x0 * b0;
            c01 += x0 * b1;
            const x1 = h[a1 + p]!;
            c10 += x1 * b0;
            c11 += x1 * b1;
            const x2 = h[a2 + p]!;
            c20 += x2 * b0;
            c21 += x2 * b1;
            const x3 = h[a3 + p]!;
            c30 += x3 * b0;
            c31 += x3 * b1;
            bp += ldb;
          }
          h[r0 + j] = c00;
          h[r0 + j + 1] = c01;
          h[r1 + j] = c10;
          h[r1 + j + 1] = c11;
          h[r2 + j] = c20;
          h[r2 + j + 1] = c21;
          h[r3 + j] = c30;
          h[r3 + j + 1] = c31;
        }
        for (; j < n; j++) {
          let c0 = acc ? h[r0 + j]! : 0;
          let c1 = acc ? h[r1 + j]! : 0;
          let c2 = acc ? h[r2 + j]! : 0;
          let c3 = acc ? h[r3 + j]! : 0;
          let bp = b + j;
          for (let p = 0; p < k; p++) {
            const bb = h[bp]!;
            c0 += h[a0 + p]! * bb;
            c1 += h[a1 + p]! * bb;
            c2 += h[a2 + p]! * bb;
            c3 += h[a3 + p]! * bb;
            bp += ldb;
          }
          h[r0 + j] = c0;
          h[r1 + j] = c1;
          h[r2 + j] = c2;
          h[r3 + j] = c3;
        }
      }
      for (; i < m; i++) {
        const ai = a + i * lda;
        const ri = c + i * ldc;
        for (let j = 0; j < n; j++) {
          let s = acc ? h[ri + j]! : 0;
          let bp = b + j;
          for (let p = 0; p < k; p++) {
            s += h[ai + p]! * h[bp]!;
            bp += ldb;
          }
          h[ri + j] = s;
        }
      }
    },
    nt(m, n, k, a, lda, b, ldb, c, ldc, acc) {
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        const a0 = a + i * lda;
        const a1 = a0 + lda;
        const a2 = a1 + lda;
        const a3 = a2 + lda;
        const r0 = c + i * ldc;
        const r1 = r0 + ldc;
        const r2 = r1 + ldc;
        const r3 = r2 + ldc;
        let j = 0;
        for (; j + 2 <= n; j += 2) {
          const b0 = b + j * ldb;
          const b1 = b0 + ldb;
          let c00 = acc ? h[r0 + j]! : 0;
          let c01 = acc ? h[r0 + j + 1]! : 0;
          let c10 = acc ? h[r1 + j]! : 0;
          let c11 = acc ? h[r1 + j + 1]! : 0;
          let c20 = acc ? h[r2 + j]! : 0;
          let c21 = acc ? h[r2 + j + 1]! : 0;
          let c30 = acc ? h[r3 + j]! : 0;
          let c31 = acc ? h[r3 + j + 1]! : 0;
          for (let p = 0; p < k; p++) {
            const y0 = h[b0 + p]!;
            const y1 = h[b1 + p]!;
            const x0 = h[a0 + p]!;
            c00 += x0 * y0;
            c01 += x0 * y1;
            const x1 = h[a1 + p]!;
            c10 += x1 * y0;
            c11 += x1 * y1;
            const x2 = h[a2 + p]!;
            c20 += x2 * y0;
            c21 += x2 * y1;
            const x3 = h[a3 + p]!;
            c30 += x3 * y0;
            c31 += x3 * y1;
          }
          h[r0 + j] = c00;
          h[r0 + j + 1] = c01;
          h[r1 + j] = c10;
          h[r1 + j + 1] = c11;
          h[r2 + j] = c20;
          h[r2 + j + 1] = c21;
          h[r3 + j] = c30;
          h[r3 + j + 1] = c31;
        }
        for (; j < n; j++) {
          const bj = b + j * ldb;
          let c0 = acc ? h[r0 + j]! : 0;
          let c1 = acc ? h[r1 + j]! : 0;
          let c2 = acc ? h[r2 + j]! : 0;
          let c3 = acc ? h[r3 + j]! : 0;
          for (let p = 0; p < k; p++) {
            const y = h[bj + p]!;
            c0 += h[a0 + p]! * y;
            c1 += h[a1 + p]! * y;
            c2 += h[a2 + p]! * y;
            c3 += h[a3 + p]! * y;
          }
          h[r0 + j] = c0;
          h[r1 + j] = c1;
          h[r2 + j] = c2;
          h[r3 + j] = c3;
        }
      }
      for (; i < m; i++) {
        const ai = a + i * lda;
        const ri = c + i * ldc;
        for (let j = 0; j < n; j++) {
          const bj = b + j * ldb;
          let s = acc ? h[ri + j]! : 0;
          for (let p = 0; p < k; p++) s += h[ai + p]! * h[bj + p]!;
          h[ri + j] = s;
        }
      }
    },
    tn(m, n, k, a, lda, b, ldb, c, ldc) {
      let i = 0;
      for (; i + 4 <= m; i += 4) {
        const r0 = c + i * ldc;
        const r1 = r0 + ldc;
        const r2 = r1 + ldc;
        const r3 = r2 + ldc;
        let j = 0;
        for (; j + 2 <= n; j += 2) {
          let c00 = h[r0 + j]!;
          let c01 = h[r0 + j + 1]!;
          let c10 = h[r1 + j]!;
          let c11 = h[r1 + j + 1]!;
          let c20 = h[r2 + j]!;
          let c21 = h[r2 + j + 1]!;
          let c30 = h[r3 + j]!;
          let c31 = h[r3 + j + 1]!;
          let ap = a + i;
          let bp = b + j;
          for (let p = 0; p < k; p++) {
            const b0 = h[bp]!;
            const b1 = h[bp + 1]!;
            const x0 = h[ap]!;
            c00 += x0 * b0;
            c01 += x0 * b1;
            const x1 = h[ap + 1]!;
            c10 += x1 * b0;
            c11 += x1 * b1;
            const x2 = h[ap + 2]!;
            c20 += x2 * b0;
            c21 += x2 * b1;
            const x3 = h[ap + 3]!;
            c30 += x3 * b0;
            c31 += x3 * b1;
            ap += lda;
            bp += ldb;
          }
          h[r0 + j] = c00;
          h[r0 + j + 1] = c01;
          h[r1 + j] = c10;
          h[r1 + j + 1] = c11;
          h[r2 + j] = c20;
          h[r2 + j + 1] = c21;
          h[r3 + j] = c30;
          h[r3 + j + 1] = c31;
        }
        for (; j < n; j++) {
          let c0 = h[r0 + j]!;
          let c1 = h[r1 + j]!;
          let c2 = h[r2 + j]!;
          let c3 = h[r3 + j]!;
          let ap = a + i;
          let bp = b + j;
          for (let p = 0; p < k; p++) {
            const bb = h[bp]!;
            c0 += h[ap]! * bb;
            c1 += h[ap + 1]! * bb;
            c2 += h[ap + 2]! * bb;
            c3 += h[ap + 3]! * bb;
            ap += lda;
            bp += ldb;
          }
          h[r0 + j] = c0;
          h[r1 + j] = c1;
          h[r2 + j] = c2;
          h[r3 + j] = c3;
        }
      }
      for (; i < m; i++) {
        const ri = c + i * ldc;
        for (let j = 0; j < n; j++) {
          let s = h[ri + j]!;
          let ap = a + i;
          let bp = b + j;
          for (let p = 0; p < k; p++) {
            s += h[ap]! * h[bp]!;
            ap += lda;
            bp += ldb;
          }
          h[ri + j] = s;
        }
      }
    },
    csrmm: gather,
    // Row j of C gathers column j's nonzeros of S: the same loop over compressed columns.
    csctmm: gather,
  };
}
