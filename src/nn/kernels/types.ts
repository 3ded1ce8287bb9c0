/**
 * The dense kernels the MLP's batched passes run on, over one heap of float64 (matrices, row-major)
 * that also holds the sparse inputs' int32 indices. Offsets are in elements of the array's own type.
 * Every output element is its old value (or 0) plus the products in increasing index order, one
 * multiply and one add each, so every implementation gives the same bits.
 */
export interface Kernels {
  readonly name: KernelName;
  /** The heap as float64 and as int32 (the same bytes). */
  readonly f64: Float64Array;
  readonly i32: Int32Array;
  /** C[m×n] = (acc ? C : 0) + A[m×k]·B[k×n]. */
  nn(
    m: number,
    n: number,
    k: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    acc: 0 | 1,
  ): void;
  /** C[m×n] = (acc ? C : 0) + A[m×k]·Bᵀ, B n×k (a layer's W as stored: Z = A·Wᵀ). */
  nt(
    m: number,
    n: number,
    k: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    acc: 0 | 1,
  ): void;
  /** C[m×n] += Aᵀ·B, A k×m, B k×n. */
  tn(
    m: number,
    n: number,
    k: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
  ): void;
  /** C[rows×n] += S·B, S sparse rows (ptr: rows+1 starts into col/val, int32 col, float64 val). */
  csrmm(
    rows: number,
    n: number,
    ptr: number,
    col: number,
    val: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
  ): void;
  /**
   * C[cols×n] += Sᵀ·D, D rows×n, S in compressed columns (ptr: cols+1 starts into row/val, rows
   * increasing within a column): the same gather as csrmm, over S's columns.
   */
  csctmm(
    cols: number,
    n: number,
    ptr: number,
    row: number,
    val: number,
    d: number,
    ldd: number,
    c: number,
    ldc: number,
  ): void;
}

/**
 * js and wasm give the same bits; wasm-fma (relaxed SIMD's fused multiply-add, where the runtime
 * has it) rounds each product once, so its sums differ from theirs in the last bits.
 */
export const KERNEL_NAMES = ["js", "wasm", "wasm-fma"] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];
