import type { Kernels } from "./types.js";

/**
 * The kernels in plain JavaScript: the fallback where WebAssembly is missing and the reference the
 * WebAssembly SIMD build (assembly/kernels.ts) is tested against bit for bit. Blocks of 4 rows × 2
 * columns keep eight independent sums in registers (V8 has 16 float registers: 4×4 spills); one
 * strided product serves A·B, A·Bᵀ and Aᵀ·B.
 */
export function jsKernels(doubles: number): Kernels {
  const buffer = new ArrayBuffer(doubles * 8);
  const h = new Float64Array(buffer);
  const ix = new Int32Array(buffer);
  /**
   * C = (acc ? C : 0) + Â·B̂, row i of Â at a + i·ra with its p-th value p·pa further (A or Aᵀ),
   * B̂[p, j] at b + p·pb + j·jb (B or Bᵀ): the same product as assembly/kernels.ts, unpacked.
   */
  const product = (
    m: number,
    n: number,
    k: number,
    a: number,
    ra: number,
    pa: number,
    b: number,
    pb: number,
    jb: number,
    c: number,
    ldc: number,
    acc: 0 | 1,
  ) => {
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      const a0 = a + i * ra;
      const a1 = a0 + ra;
      const a2 = a1 + ra;
      const a3 = a2 + ra;
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
        let ap = 0;
        let bp = b + j * jb;
        for (let p = 0; p < k; p++) {
          const b0 = h[bp]!;
          const b1 = h[bp + jb]!;
          const x0 = h[a0 + ap]!;
          c00 += x0 * b0;
          c01 += x0 * b1;
          const x1 = h[a1 + ap]!;
          c10 += x1 * b0;
          c11 += x1 * b1;
          const x2 = h[a2 + ap]!;
          c20 += x2 * b0;
          c21 += x2 * b1;
          const x3 = h[a3 + ap]!;
          c30 += x3 * b0;
          c31 += x3 * b1;
          ap += pa;
          bp += pb;
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
        let ap = 0;
        let bp = b + j * jb;
        for (let p = 0; p < k; p++) {
          const y = h[bp]!;
          c0 += h[a0 + ap]! * y;
          c1 += h[a1 + ap]! * y;
          c2 += h[a2 + ap]! * y;
          c3 += h[a3 + ap]! * y;
          ap += pa;
          bp += pb;
        }
        h[r0 + j] = c0;
        h[r1 + j] = c1;
        h[r2 + j] = c2;
        h[r3 + j] = c3;
      }
    }
    for (; i < m; i++) {
      const ai = a + i * ra;
      const ri = c + i * ldc;
      for (let j = 0; j < n; j++) {
        let s = acc ? h[ri + j]! : 0;
        let ap = ai;
        let bp = b + j * jb;
        for (let p = 0; p < k; p++) {
          s += h[ap]! * h[bp]!;
          ap += pa;
          bp += pb;
        }
        h[ri + j] = s;
      }
    }
  };

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
    nn: (m, n, k, a, lda, b, ldb, c, ldc, acc) => product(m, n, k, a, lda, 1, b, ldb, 1, c, ldc, acc),
    nt: (m, n, k, a, lda, b, ldb, c, ldc, acc) => product(m, n, k, a, lda, 1, b, 1, ldb, c, ldc, acc),
    tn: (m, n, k, a, lda, b, ldb, c, ldc) => product(m, n, k, a, 1, lda, b, ldb, 1, c, ldc, 1),
    csrmm: gather,
    // Row j of C gathers column j's nonzeros of S: the same loop over compressed columns.
    csctmm: gather,
  };
}
