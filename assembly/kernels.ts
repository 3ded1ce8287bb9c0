// The MLP's dense kernels in WebAssembly SIMD (f64x2), compiled by AssemblyScript at build time
// into build/mlp-kernels.wasm. The memory is the caller's (imported); every offset is in elements
// of its array's type (f64 for matrices, i32 for the sparse indices), every matrix row-major.
//
// Each output element is summed in the same order as the pure-JS kernels in
// src/objectives/kernels/js.ts: its old value (or 0), then the products in increasing index
// order, one IEEE multiply and one add each (no fused multiply-add). The two paths therefore
// agree bit for bit; the register blocking only decides which sums run side by side.

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
  return f64x2.add(c, f64x2.mul(a, b));
}

/** C[m×n] = (acc ? C : 0) + A[m×k]·B[k×n]: blocks of 4 rows × 4 columns, 8 vector accumulators. */
export function nn(m: i32, n: i32, k: i32, a: i32, lda: i32, b: i32, ldb: i32, c: i32, ldc: i32, acc: i32): void {
  const zero = f64x2.splat(0);
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
    for (; j + 4 <= n; j += 4) {
      let c00 = acc ? ld(r0 + j) : zero;
      let c01 = acc ? ld(r0 + j + 2) : zero;
      let c10 = acc ? ld(r1 + j) : zero;
      let c11 = acc ? ld(r1 + j + 2) : zero;
      let c20 = acc ? ld(r2 + j) : zero;
      let c21 = acc ? ld(r2 + j + 2) : zero;
      let c30 = acc ? ld(r3 + j) : zero;
      let c31 = acc ? ld(r3 + j + 2) : zero;
      let bp = b + j;
      for (let p = 0; p < k; p++) {
        const b0 = ld(bp);
        const b1 = ld(bp + 2);
        const x0 = splat(a0 + p);
        c00 = madd(c00, x0, b0);
        c01 = madd(c01, x0, b1);
        const x1 = splat(a1 + p);
        c10 = madd(c10, x1, b0);
        c11 = madd(c11, x1, b1);
        const x2 = splat(a2 + p);
        c20 = madd(c20, x2, b0);
        c21 = madd(c21, x2, b1);
        const x3 = splat(a3 + p);
        c30 = madd(c30, x3, b0);
        c31 = madd(c31, x3, b1);
        bp += ldb;
      }
      v128.store(f(r0 + j), c00);
      v128.store(f(r0 + j + 2), c01);
      v128.store(f(r1 + j), c10);
      v128.store(f(r1 + j + 2), c11);
      v128.store(f(r2 + j), c20);
      v128.store(f(r2 + j + 2), c21);
      v128.store(f(r3 + j), c30);
      v128.store(f(r3 + j + 2), c31);
    }
    for (; j + 2 <= n; j += 2) {
      let c0 = acc ? ld(r0 + j) : zero;
      let c1 = acc ? ld(r1 + j) : zero;
      let c2 = acc ? ld(r2 + j) : zero;
      let c3 = acc ? ld(r3 + j) : zero;
      let bp = b + j;
      for (let p = 0; p < k; p++) {
        const b0 = ld(bp);
        c0 = madd(c0, splat(a0 + p), b0);
        c1 = madd(c1, splat(a1 + p), b0);
        c2 = madd(c2, splat(a2 + p), b0);
        c3 = madd(c3, splat(a3 + p), b0);
        bp += ldb;
      }
      v128.store(f(r0 + j), c0);
      v128.store(f(r1 + j), c1);
      v128.store(f(r2 + j), c2);
      v128.store(f(r3 + j), c3);
    }
    for (; j < n; j++) {
      // The last odd column: rows in the two lanes of two vectors.
      let s01 = acc ? f64x2.replace_lane(f64x2.splat(load<f64>(f(r0 + j))), 1, load<f64>(f(r1 + j))) : zero;
      let s23 = acc ? f64x2.replace_lane(f64x2.splat(load<f64>(f(r2 + j))), 1, load<f64>(f(r3 + j))) : zero;
      let bp = b + j;
      for (let p = 0; p < k; p++) {
        const bb = splat(bp);
        const x01 = f64x2.replace_lane(splat(a0 + p), 1, load<f64>(f(a1 + p)));
        const x23 = f64x2.replace_lane(splat(a2 + p), 1, load<f64>(f(a3 + p)));
        s01 = madd(s01, x01, bb);
        s23 = madd(s23, x23, bb);
        bp += ldb;
      }
      store<f64>(f(r0 + j), f64x2.extract_lane(s01, 0));
      store<f64>(f(r1 + j), f64x2.extract_lane(s01, 1));
      store<f64>(f(r2 + j), f64x2.extract_lane(s23, 0));
      store<f64>(f(r3 + j), f64x2.extract_lane(s23, 1));
    }
  }
  for (; i < m; i++) {
    const ai = a + i * lda;
    const ri = c + i * ldc;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      let c0 = acc ? ld(ri + j) : zero;
      let bp = b + j;
      for (let p = 0; p < k; p++) {
        c0 = madd(c0, splat(ai + p), ld(bp));
        bp += ldb;
      }
      v128.store(f(ri + j), c0);
    }
    for (; j < n; j++) {
      let s: f64 = acc ? load<f64>(f(ri + j)) : 0;
      let bp = b + j;
      for (let p = 0; p < k; p++) {
        s += load<f64>(f(ai + p)) * load<f64>(f(bp));
        bp += ldb;
      }
      store<f64>(f(ri + j), s);
    }
  }
}

/** C[m×n] += Aᵀ·B with A k×m and B k×n (a sum over the k rows): blocks of 4 × 4, as nn. */
export function tn(m: i32, n: i32, k: i32, a: i32, lda: i32, b: i32, ldb: i32, c: i32, ldc: i32): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const r0 = c + i * ldc;
    const r1 = r0 + ldc;
    const r2 = r1 + ldc;
    const r3 = r2 + ldc;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      let c00 = ld(r0 + j);
      let c01 = ld(r0 + j + 2);
      let c10 = ld(r1 + j);
      let c11 = ld(r1 + j + 2);
      let c20 = ld(r2 + j);
      let c21 = ld(r2 + j + 2);
      let c30 = ld(r3 + j);
      let c31 = ld(r3 + j + 2);
      let ap = a + i;
      let bp = b + j;
      for (let p = 0; p < k; p++) {
        const b0 = ld(bp);
        const b1 = ld(bp + 2);
        const x0 = splat(ap);
        c00 = madd(c00, x0, b0);
        c01 = madd(c01, x0, b1);
        const x1 = splat(ap + 1);
        c10 = madd(c10, x1, b0);
        c11 = madd(c11, x1, b1);
        const x2 = splat(ap + 2);
        c20 = madd(c20, x2, b0);
        c21 = madd(c21, x2, b1);
        const x3 = splat(ap + 3);
        c30 = madd(c30, x3, b0);
        c31 = madd(c31, x3, b1);
        ap += lda;
        bp += ldb;
      }
      v128.store(f(r0 + j), c00);
      v128.store(f(r0 + j + 2), c01);
      v128.store(f(r1 + j), c10);
      v128.store(f(r1 + j + 2), c11);
      v128.store(f(r2 + j), c20);
      v128.store(f(r2 + j + 2), c21);
      v128.store(f(r3 + j), c30);
      v128.store(f(r3 + j + 2), c31);
    }
    for (; j < n; j++) {
      // The last columns one at a time: the four rows in the lanes of two vectors.
      let s01 = f64x2.replace_lane(f64x2.splat(load<f64>(f(r0 + j))), 1, load<f64>(f(r1 + j)));
      let s23 = f64x2.replace_lane(f64x2.splat(load<f64>(f(r2 + j))), 1, load<f64>(f(r3 + j)));
      let ap = a + i;
      let bp = b + j;
      for (let p = 0; p < k; p++) {
        const bb = splat(bp);
        s01 = madd(s01, ld(ap), bb);
        s23 = madd(s23, ld(ap + 2), bb);
        ap += lda;
        bp += ldb;
      }
      store<f64>(f(r0 + j), f64x2.extract_lane(s01, 0));
      store<f64>(f(r1 + j), f64x2.extract_lane(s01, 1));
      store<f64>(f(r2 + j), f64x2.extract_lane(s23, 0));
      store<f64>(f(r3 + j), f64x2.extract_lane(s23, 1));
    }
  }
  for (; i < m; i++) {
    const ri = c + i * ldc;
    let j = 0;
    for (; j + 2 <= n; j += 2) {
      let c0 = ld(ri + j);
      let ap = a + i;
      let bp = b + j;
      for (let p = 0; p < k; p++) {
        c0 = madd(c0, splat(ap), ld(bp));
        ap += lda;
        bp += ldb;
      }
      v128.store(f(ri + j), c0);
    }
    for (; j < n; j++) {
      let s = load<f64>(f(ri + j));
      let ap = a + i;
      let bp = b + j;
      for (let p = 0; p < k; p++) {
        s += load<f64>(f(ap)) * load<f64>(f(bp));
        ap += lda;
        bp += ldb;
      }
      store<f64>(f(ri + j), s);
    }
  }
}

@inline function idx(p: i32): i32 {
  return load<i32>((<usize>p) << 2);
}

/**
 * C[rows×n] += S·B for a sparse S in compressed rows (ptr: rows+1 starts, col: column indices,
 * val: values): row r of C gathers val·B[col] over its nonzeros only. The zeros of an input such
 * as MNIST's background cost nothing, and no branch tests them.
 */
export function csrmm(rows: i32, n: i32, ptr: i32, col: i32, val: i32, b: i32, ldb: i32, c: i32, ldc: i32): void {
  for (let r = 0; r < rows; r++) {
    const q0 = idx(ptr + r);
    const q1 = idx(ptr + r + 1);
    const cr = c + r * ldc;
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      let c0 = ld(cr + j);
      let c1 = ld(cr + j + 2);
      let c2 = ld(cr + j + 4);
      let c3 = ld(cr + j + 6);
      for (let q = q0; q < q1; q++) {
        const x = splat(val + q);
        const bp = b + idx(col + q) * ldb + j;
        c0 = madd(c0, x, ld(bp));
        c1 = madd(c1, x, ld(bp + 2));
        c2 = madd(c2, x, ld(bp + 4));
        c3 = madd(c3, x, ld(bp + 6));
      }
      v128.store(f(cr + j), c0);
      v128.store(f(cr + j + 2), c1);
      v128.store(f(cr + j + 4), c2);
      v128.store(f(cr + j + 6), c3);
    }
    for (; j + 2 <= n; j += 2) {
      let c0 = ld(cr + j);
      for (let q = q0; q < q1; q++) c0 = madd(c0, splat(val + q), ld(b + idx(col + q) * ldb + j));
      v128.store(f(cr + j), c0);
    }
    for (; j < n; j++) {
      let s = load<f64>(f(cr + j));
      for (let q = q0; q < q1; q++) s += load<f64>(f(val + q)) * load<f64>(f(b + idx(col + q) * ldb + j));
      store<f64>(f(cr + j), s);
    }
  }
}

/** C[cols×n] += Sᵀ·D for the same sparse S (rows×cols) and D rows×n: row col[q] of C gains val·D[r]. */
export function csrtmm(rows: i32, n: i32, ptr: i32, col: i32, val: i32, d: i32, ldd: i32, c: i32, ldc: i32): void {
  for (let r = 0; r < rows; r++) {
    const q0 = idx(ptr + r);
    const q1 = idx(ptr + r + 1);
    const dr = d + r * ldd;
    for (let q = q0; q < q1; q++) {
      const x = splat(val + q);
      const cq = c + idx(col + q) * ldc;
      let j = 0;
      for (; j + 2 <= n; j += 2) v128.store(f(cq + j), madd(ld(cq + j), x, ld(dr + j)));
      for (; j < n; j++) store<f64>(f(cq + j), load<f64>(f(cq + j)) + load<f64>(f(val + q)) * load<f64>(f(dr + j)));
    }
  }
}
