// The MLP's dense kernels in WebAssembly SIMD (f64x2), compiled by AssemblyScript at build time
// into build/mlp-kernels.wasm. The memory is the caller's (imported); every offset is in elements
// of its array's type (f64 for matrices, i32 for the sparse indices), every matrix row-major.
//
// Each output element is summed in the same order as the pure-JS kernels in
// src/nn/kernels/js.ts: its old value (or 0), then the products in increasing index
// order, one IEEE multiply and one add each (no fused multiply-add). The two paths therefore
// agree bit for bit; the register blocking only decides which sums run side by side.
//
// Built a second time with relaxed SIMD enabled (build/mlp-kernels-fma.wasm), each multiply and
// add is one fused multiply-add (f64x2.relaxed_madd, an FMA on x86-64 with FMA3): the same order,
// one rounding per product instead of two, so it differs from the plain kernels in the last bits
// (within the bound the tests state).

@inline function f(p: i32): usize {
  return (<usize>p) << 3;
}

@inline function ld(p: i32): v128 {
  return v128.load(f(p));
}

@inline function splat(p: i32): v128 {
  return v128.load64_splat(f(p));
}

@inline function madd(c: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f64x2.relaxed_madd(a, b, c);
  return f64x2.add(c, f64x2.mul(a, b));
}

/**
 * The packed copy of B's block: at most WORK doubles (512 KiB, within L2), so a block has
 * kc = min(256, WORK / n) rows; then 4 × 256 doubles for a packed 4-row slice of Â. The loader
 * reserves WORK + 1024 doubles past the caller's heap.
 */
const WORK = 65536;

/** 4 rows (row r at a0 + r·ra8, step pa8) into 4 contiguous doubles a step: a slice of Â or of B̂ᵀ. */
@inline function packRows(a0: usize, ra8: usize, pa8: usize, kc: i32, into: usize): void {
  let ap = a0;
  let wp = into;
  const end = into + ((<usize>kc) << 5);
  while (wp < end) {
    store<f64>(wp, load<f64>(ap));
    store<f64>(wp, load<f64>(ap + ra8), 8);
    store<f64>(wp, load<f64>(ap + 2 * ra8), 16);
    store<f64>(wp, load<f64>(ap + 3 * ra8), 24);
    ap += pa8;
    wp += 32;
  }
}

/**
 * B̂[p0…p0+kc, all columns] into panels of 4 columns, each kc × 4 contiguous, where B̂[p, j] is at
 * b + p·pb8 + j·jb8 bytes: B itself (jb = 1: two vector copies a row) or Bᵀ (pb = 1). The
 * micro-kernel then walks one pointer with immediate offsets instead of a row stride.
 */
@inline function pack(b0: usize, pb8: usize, jb8: usize, kc: i32, n4: i32, work: usize): void {
  for (let j = 0; j < n4; j += 4) {
    let bp = b0 + (<usize>j) * jb8;
    let wp = work + (<usize>j) * (<usize>kc) * 8;
    const end = wp + ((<usize>kc) << 5);
    if (jb8 == 8) {
      while (wp < end) {
        v128.store(wp, v128.load(bp));
        v128.store(wp, v128.load(bp, 16), 16);
        bp += pb8;
        wp += 32;
      }
    } else packRows(bp, jb8, pb8, kc, wp);
  }
}

/**
 * The 4 × 4 micro-kernel: C[4×4] (row stride ldc8 bytes, at c0) = (add ? C : 0) + Σ_p a_p ⊗ w_p,
 * with a_p the 4 values of Â's rows at p (packed, 4 contiguous doubles a step) and w_p the packed
 * panel's 4 columns. 8 vector sums; every load is one pointer plus an immediate offset.
 */
@inline function micro(kc: i32, ap0: usize, w: usize, c0: usize, ldc8: usize, add: bool): void {
  const zero = f64x2.splat(0);
  const c1 = c0 + ldc8;
  const c2 = c1 + ldc8;
  const c3 = c2 + ldc8;
  let c00 = add ? v128.load(c0) : zero;
  let c01 = add ? v128.load(c0, 16) : zero;
  let c10 = add ? v128.load(c1) : zero;
  let c11 = add ? v128.load(c1, 16) : zero;
  let c20 = add ? v128.load(c2) : zero;
  let c21 = add ? v128.load(c2, 16) : zero;
  let c30 = add ? v128.load(c3) : zero;
  let c31 = add ? v128.load(c3, 16) : zero;
  let ap = ap0;
  let wp = w;
  const end = w + ((<usize>kc) << 5);
  while (wp < end) {
    const b0 = v128.load(wp);
    const b1 = v128.load(wp, 16);
    const x0 = v128.load64_splat(ap);
    c00 = madd(c00, x0, b0);
    c01 = madd(c01, x0, b1);
    const x1 = v128.load64_splat(ap, 8);
    c10 = madd(c10, x1, b0);
    c11 = madd(c11, x1, b1);
    const x2 = v128.load64_splat(ap, 16);
    c20 = madd(c20, x2, b0);
    c21 = madd(c21, x2, b1);
    const x3 = v128.load64_splat(ap, 24);
    c30 = madd(c30, x3, b0);
    c31 = madd(c31, x3, b1);
    ap += 32;
    wp += 32;
  }
  v128.store(c0, c00);
  v128.store(c0, c01, 16);
  v128.store(c1, c10);
  v128.store(c1, c11, 16);
  v128.store(c2, c20);
  v128.store(c2, c21, 16);
  v128.store(c3, c30);
  v128.store(c3, c31, 16);
}


/** One row of C against the packed panel: C[1×4] (+)= Σ_p a_p · w_p. */
@inline function microRow(kc: i32, a0: usize, pa8: usize, w: usize, c0: usize, add: bool): void {
  const zero = f64x2.splat(0);
  let s0 = add ? v128.load(c0) : zero;
  let s1 = add ? v128.load(c0, 16) : zero;
  let ap = a0;
  let wp = w;
  const end = w + ((<usize>kc) << 5);
  while (wp < end) {
    const x = v128.load64_splat(ap);
    s0 = madd(s0, x, v128.load(wp));
    s1 = madd(s1, x, v128.load(wp, 16));
    ap += pa8;
    wp += 32;
  }
  v128.store(c0, s0);
  v128.store(c0, s1, 16);
}

/** The columns past the last multiple of 4, one sum at a time (the narrow output layers). */
function scalarColumns(m: i32, n: i32, j0: i32, k: i32, a: i32, ra: i32, pa: i32, b: i32, pb: i32, jb: i32, c: i32, ldc: i32, add: bool): void {
  const pa8 = (<usize>pa) << 3;
  const pb8 = (<usize>pb) << 3;
  for (let i = 0; i < m; i++)
    for (let j = j0; j < n; j++) {
      let s: f64 = add ? load<f64>(f(c + i * ldc + j)) : 0;
      let ap = f(a + i * ra);
      let bp = f(b + j * jb);
      for (let p = 0; p < k; p++) {
        s += load<f64>(ap) * load<f64>(bp);
        ap += pa8;
        bp += pb8;
      }
      store<f64>(f(c + i * ldc + j), s);
    }
}

/**
 * C = (acc ? C : 0) + Â·B̂, where row i of Â is at a + i·ra with its p-th value p·pa further:
 * A itself (ra = lda, pa = 1) or Aᵀ (ra = 1, pa = lda), and B̂[p, j] at b + p·pb + j·jb: B or Bᵀ.
 * B̂ is taken kc rows at a time, packed, and
 * every 4-row slice of Â (in L1) runs against all its panels (in L2). Each block's sums continue
 * where the previous block stored them, so the order of the additions is the plain one.
 */
function product(m: i32, n: i32, k: i32, a: i32, ra: i32, pa: i32, b: i32, pb: i32, jb: i32, c: i32, ldc: i32, acc: bool, work: usize): void {
  // At most WORK columns at a time, so the packed panel (n4 × kc doubles, kc ≥ 1) always fits its
  // WORK doubles; columns are independent, so every sum is the same.
  for (let j0 = 0; j0 < n || j0 == 0; j0 += WORK) {
    columns(m, min(WORK, n - j0), k, a, ra, pa, b + j0 * jb, pb, jb, c + j0, ldc, acc, work);
    if (n == 0) break;
  }
}

function columns(m: i32, n: i32, k: i32, a: i32, ra: i32, pa: i32, b: i32, pb: i32, jb: i32, c: i32, ldc: i32, acc: bool, work: usize): void {
  const ra8 = (<usize>ra) << 3;
  const pa8 = (<usize>pa) << 3;
  const pb8 = (<usize>pb) << 3;
  const jb8 = (<usize>jb) << 3;
  const ldc8 = (<usize>ldc) << 3;
  const n4 = n & ~3;
  const kcMax = max(1, min(256, WORK / max(n4, 1)));
  for (let p0 = 0; p0 < k || p0 == 0; p0 += kcMax) {
    const kc = min(kcMax, k - p0);
    const add = acc || p0 > 0;
    pack(f(b + p0 * pb), pb8, jb8, kc, n4, work);
    const panel = (<usize>kc) << 5;
    let i = 0;
    const rows = work + ((<usize>WORK) << 3);
    for (; i + 4 <= m; i += 4) {
      packRows(f(a + i * ra + p0 * pa), ra8, pa8, kc, rows);
      const ci = f(c + i * ldc);
      for (let j = 0; j < n4; j += 4) micro(kc, rows, work + (<usize>(j >> 2)) * panel, ci + ((<usize>j) << 3), ldc8, add);
    }
    for (; i < m; i++) {
      const ai = f(a + i * ra + p0 * pa);
      const ci = f(c + i * ldc);
      for (let j = 0; j < n4; j += 4) microRow(kc, ai, pa8, work + (<usize>(j >> 2)) * panel, ci + ((<usize>j) << 3), add);
    }
    if (n4 < n) scalarColumns(m, n, n4, kc, a + p0 * pa, ra, pa, b + p0 * pb, pb, jb, c, ldc, add);
    if (k == 0) break;
  }
}

/** The packed panel's place: the caller's heap ends at `work` (set once by the loader). */
let work: usize = 0;

export function setWork(at: i32): void {
  work = f(at);
}

/** C[m×n] = (acc ? C : 0) + A[m×k]·B[k×n]. */
export function nn(m: i32, n: i32, k: i32, a: i32, lda: i32, b: i32, ldb: i32, c: i32, ldc: i32, acc: i32): void {
  product(m, n, k, a, lda, 1, b, ldb, 1, c, ldc, acc != 0, work);
}

/** C[m×n] = (acc ? C : 0) + A[m×k]·Bᵀ with B n×k (a layer's W as stored: Z = A·Wᵀ). */
export function nt(m: i32, n: i32, k: i32, a: i32, lda: i32, b: i32, ldb: i32, c: i32, ldc: i32, acc: i32): void {
  product(m, n, k, a, lda, 1, b, 1, ldb, c, ldc, acc != 0, work);
}

/** C[m×n] += Aᵀ·B with A k×m and B k×n (a sum over the k rows). */
export function tn(m: i32, n: i32, k: i32, a: i32, lda: i32, b: i32, ldb: i32, c: i32, ldc: i32): void {
  product(m, n, k, a, 1, lda, b, ldb, 1, c, ldc, true, work);
}

@inline function idx(p: i32): i32 {
  return load<i32>((<usize>p) << 2);
}

/**
 * C[rows×n] += S·B for a sparse S in compressed rows (ptr: rows+1 starts, col: column indices,
 * val: values): row r of C gathers val·B[col] over its nonzeros only, 16 columns of C held in
 * registers across them. The zeros of an input such as MNIST's background cost nothing, and no
 * branch tests them.
 */
export function csrmm(rows: i32, n: i32, ptr: i32, col: i32, val: i32, b: i32, ldb: i32, c: i32, ldc: i32): void {
  gather(rows, n, ptr, col, val, b, ldb, c, ldc);
}

/**
 * C[cols×n] += Sᵀ·D for S (rows×cols) in compressed columns (ptr: cols+1 starts, row: row
 * indices, increasing within a column, val: values): row j of C gathers val·D[row] over column j's
 * nonzeros, the same gather as csrmm. Each C[j, i] gains its terms in increasing row order, as a
 * dense Sᵀ·D would with the zeros skipped.
 */
export function csctmm(cols: i32, n: i32, ptr: i32, row: i32, val: i32, d: i32, ldd: i32, c: i32, ldc: i32): void {
  gather(cols, n, ptr, row, val, d, ldd, c, ldc);
}

/** Row r of C (+)= Σ_q val_q · B[index_q] over q in ptr[r]…ptr[r+1]. */
@inline function gather(rows: i32, n: i32, ptr: i32, index: i32, val: i32, b: i32, ldb: i32, c: i32, ldc: i32): void {
  const ldb8 = (<usize>ldb) << 3;
  for (let r = 0; r < rows; r++) {
    const q0 = idx(ptr + r);
    const q1 = idx(ptr + r + 1);
    const cr = f(c + r * ldc);
    const b0 = f(b);
    let j = 0;
    for (; j + 16 <= n; j += 16) {
      const cj = cr + ((<usize>j) << 3);
      let c0 = v128.load(cj);
      let c1 = v128.load(cj, 16);
      let c2 = v128.load(cj, 32);
      let c3 = v128.load(cj, 48);
      let c4 = v128.load(cj, 64);
      let c5 = v128.load(cj, 80);
      let c6 = v128.load(cj, 96);
      let c7 = v128.load(cj, 112);
      const bj = b0 + ((<usize>j) << 3);
      for (let q = q0; q < q1; q++) {
        const x = splat(val + q);
        const bp = bj + (<usize>idx(index + q)) * ldb8;
        c0 = madd(c0, x, v128.load(bp));
        c1 = madd(c1, x, v128.load(bp, 16));
        c2 = madd(c2, x, v128.load(bp, 32));
        c3 = madd(c3, x, v128.load(bp, 48));
        c4 = madd(c4, x, v128.load(bp, 64));
        c5 = madd(c5, x, v128.load(bp, 80));
        c6 = madd(c6, x, v128.load(bp, 96));
        c7 = madd(c7, x, v128.load(bp, 112));
      }
      v128.store(cj, c0);
      v128.store(cj, c1, 16);
      v128.store(cj, c2, 32);
      v128.store(cj, c3, 48);
      v128.store(cj, c4, 64);
      v128.store(cj, c5, 80);
      v128.store(cj, c6, 96);
      v128.store(cj, c7, 112);
    }
    for (; j + 2 <= n; j += 2) {
      const cj = cr + ((<usize>j) << 3);
      let c0 = v128.load(cj);
      const bj = b0 + ((<usize>j) << 3);
      for (let q = q0; q < q1; q++) c0 = madd(c0, splat(val + q), v128.load(bj + (<usize>idx(index + q)) * ldb8));
      v128.store(cj, c0);
    }
    for (; j < n; j++) {
      const cj = cr + ((<usize>j) << 3);
      let s = load<f64>(cj);
      const bj = b0 + ((<usize>j) << 3);
      for (let q = q0; q < q1; q++) s += load<f64>(f(val + q)) * load<f64>(bj + (<usize>idx(index + q)) * ldb8);
      store<f64>(cj, s);
    }
  }
}
