/**
 * Dense products over row-major float64 blocks, the engine's one hot loop: C[m×n] (+)= op(A)·op(B)
 * with op(A) = A (m×k) or Aᵀ (A stored k×m), op(B) = B (k×n) or Bᵀ (B stored n×k). Each output is
 * its old value (or 0) plus the products in increasing p, one multiply and one add each.
 */
import { createKernels, type KernelChoice, type Kernels, kernelChoice } from "./kernels/index.js";

/** Below this many multiply–adds the copies into the WebAssembly heap cost more than they save. */
const KERNEL_WORK = 2048;

/**
 * Doubles of A, B and C one kernel call copies into the heap (16 MB), which never shrinks: a
 * larger product (a Linear layer on every token of a block at once) is done in slices.
 */
export const HEAP_BUDGET = 1 << 21;

/** The kernels by the process's choice (kernelChoice: auto, wasm, wasm-fma, js), each made once. */
const made = new Map<KernelChoice, Kernels>();

/** The process's kernels (WebAssembly SIMD where it loads), over a heap of at least `doubles`. */
function heap(doubles: number): Kernels {
  const choice = kernelChoice();
  let kernels = made.get(choice);
  if (!kernels || kernels.f64.length < doubles) {
    kernels = createKernels(Math.max(doubles, 2 * (kernels?.f64.length ?? 0), 1 << 16), choice);
    made.set(choice, kernels);
  }
  return kernels;
}

/**
 * The product on the MLP's kernels (kernels/: WebAssembly SIMD, or their JS twin, the same bits):
 * A, B (and C when accumulating) copied into the heap, C copied back.
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
  if (m * n * k < KERNEL_WORK || (transA && transB)) {
    gemmJs(m, n, k, A, aOff, transA, B, bOff, transB, C, cOff, accumulate);
    return;
  }
  const mk = m * k;
  const kn = k * n;
  const mn = m * n;
  if (mk + kn + mn > HEAP_BUDGET && (transA ? k : m) > 1) {
    sliced(m, n, k, A, aOff, transA, B, bOff, transB, C, cOff, accumulate);
    return;
  }
  const K = heap(mk + kn + mn);
  const h = K.f64;
  const a = 0;
  const b = mk;
  const c = mk + kn;
  h.set(A.subarray(aOff, aOff + mk), a);
  h.set(B.subarray(bOff, bOff + kn), b);
  if (accumulate) h.set(C.subarray(cOff, cOff + mn), c);
  if (!transA && !transB) K.nn(m, n, k, a, k, b, n, c, n, accumulate ? 1 : 0);
  else if (!transA) K.nt(m, n, k, a, k, b, k, c, n, accumulate ? 1 : 0);
  else {
    if (!accumulate) h.fill(0, c, c + mn);
    K.tn(m, n, k, a, m, b, n, c, n);
  }
  C.set(h.subarray(c, c + mn), cOff);
}

/**
 * A product past the heap budget in slices, each its own call: for A·B and A·Bᵀ, slices of A's
 * rows and C's (the other rows' outputs untouched); for Aᵀ·B, slices of p — rows of the stored Aᵀ
 * and of B — each adding into C. Every output is still its old value plus its products in
 * increasing p, so the result is the same, bit for bit.
 */
function sliced(
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
  if (!transA) {
    const rows = Math.max(1, Math.floor((HEAP_BUDGET - k * n) / (k + n)));
    for (let i = 0; i < m; i += rows) {
      const r = Math.min(rows, m - i);
      gemm(r, n, k, A, aOff + i * k, false, B, bOff, transB, C, cOff + i * n, accumulate);
    }
    return;
  }
  const depth = Math.max(1, Math.floor((HEAP_BUDGET - m * n) / (m + n)));
  for (let p = 0; p < k; p += depth) {
    const d = Math.min(depth, k - p);
    gemm(m, n, d, A, aOff + p * m, true, B, bOff + p * n, false, C, cOff, accumulate || p > 0);
  }
}

/** The same product in plain loops (small products, and Aᵀ·Bᵀ). */
export function gemmJs(
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
