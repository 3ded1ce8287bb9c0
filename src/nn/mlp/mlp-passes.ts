import { erf, sigmoid } from "../../core/special.js";
import { createKernels, type KernelChoice, type Kernels } from "../kernels/index.js";
import type { Activation, Loss } from "./mlp.js";

/**
 * The MLP's passes over blocks of rows, as matrix products on one heap of float64 (the kernels'):
 * per layer l with W_l (out × in, row-major as in θ) and a block of R rows,
 *   forward   Z_l = A_{l−1}·W_lᵀ + b_l,   A_l = f(Z_l)
 *   backward  ∇W_l += Δ_lᵀ·A_{l−1},  ∇b_l += Σ_rows Δ_l,  Δ_{l−1} = (Δ_l·W_l) ⊙ f′(Z_{l−1})
 *   R-op      R(Z_l) = A_{l−1}·V_lᵀ + R(A_{l−1})·W_lᵀ + v_b,  R(A_l) = f′ ⊙ R(Z_l)
 *             R(∇W_l) += R(Δ_l)ᵀ·A_{l−1} + Δ_lᵀ·R(A_{l−1})
 *             R(Δ_{l−1}) = (Δ_l·V_l + R(Δ_l)·W_l) ⊙ f′ + (Δ_l·W_l) ⊙ f″ ⊙ R(Z_{l−1})
 * (Pearlmutter's R-operator, forward-over-reverse: the exact Hessian-vector product).
 * The input layer is multiplied as a sparse matrix when most inputs are zero (MNIST's background):
 * its nonzeros are gathered once per block, and the zeros then cost no work and no branch. Its
 * gradient is accumulated transposed (in × out), which dense and sparse blocks share.
 * The loss's mean scale is folded into Δ_L, so every later product is already scaled.
 * Elementwise work (activations, the loss) is JavaScript on the heap; the products are the kernels'.
 */
export interface MlpPasses {
  readonly kernels: Kernels["name"];
  /** Sum of ℓ over the rows (not yet divided by the mean's count). */
  lossSum(theta: Float64Array, x: Float64Array, y: Float64Array, rows: number): number;
  /** Fills out with the gradient of the mean loss and returns the mean loss. */
  gradient(theta: Float64Array, x: Float64Array, y: Float64Array, rows: number, out: Float64Array): number;
  hessianVector(
    theta: Float64Array,
    v: Float64Array,
    x: Float64Array,
    y: Float64Array,
    rows: number,
    out: Float64Array,
  ): void;
  /** Runs the forward pass and calls visit once per block with the heap and the offsets of Z_l, A_l. */
  forward(
    theta: Float64Array,
    x: Float64Array,
    rows: number,
    visit: (r0: number, rows: number, heap: Float64Array, z: readonly number[], a: readonly number[]) => void,
  ): void;
  /** The mean's count: rows × outputs for the elementwise losses, rows for cross-entropy. */
  count(rows: number): number;
}

export interface Layer {
  readonly w: number;
  readonly b: number;
  readonly in: number;
  readonly out: number;
}

/** Rows per block: enough for long products, few enough for the block's matrices to stay in cache. */
export const BLOCK_ROWS = 256;
/** Inputs (rows × features) up to which the objective's own sparse blocks are kept: 8M values. */
const CACHE_VALUES = 8 * 1024 * 1024;

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function mlpPasses(
  sizes: readonly number[],
  layout: readonly Layer[],
  /** The activation after each hidden layer (activations[l − 1] after layer l). */
  activations: readonly Activation[],
  loss: Loss,
  f32: boolean,
  choice?: KernelChoice,
  blockRows = BLOCK_ROWS,
  own: Float64Array | null = null,
): MlpPasses {
  const L = layout.length;
  const P = layout[L - 1]!.b + layout[L - 1]!.out;
  const inS = sizes[0]!;
  const outS = sizes[L]!;
  const B = blockRows;
  // The heap: θ, v, the gradient and H·v, the input layer's transposed W, V and gradients, then
  // per layer the block's Z, A, Δ and their R-images, the dense and sparse input.
  let top = 0;
  const take = (n: number) => {
    const at = top;
    top += n;
    return at;
  };
  const th = take(P);
  const vv = take(P);
  // The input layer's W and V transposed (in × out), for the sparse product; the other layers
  // multiply by W as stored.
  const wt = take(inS * sizes[1]!);
  const vt = take(inS * sizes[1]!);
  const gr = take(P);
  const hv = take(P);
  const gt1 = take(inS * sizes[1]!);
  const rgt1 = take(inS * sizes[1]!);
  // Index l (1…L) for the layer's output; A_0 is the input block (dense copy).
  const xb = take(B * inS);
  const val = take(B * inS);
  const cval = take(B * inS);
  const z = [xb, ...layout.map((l) => take(B * l.out))];
  const a = [xb, ...layout.map((l, i) => (i === L - 1 ? z[i + 1]! : take(B * l.out)))];
  const d = [0, ...layout.map((l) => take(B * l.out))];
  const rz = [0, ...layout.map((l) => take(B * l.out))];
  const ra = [0, ...layout.map((l, i) => (i === L - 1 ? rz[i + 1]! : take(B * l.out)))];
  const rd = [0, ...layout.map((l) => take(B * l.out))];
  const scratch = take(outS);
  // int32 indices after the doubles: the sparse block by rows (row starts, column indices) and by
  // columns (column starts, row indices, and a cursor per column while filling them).
  const ints = take(Math.ceil((B + 1 + 2 * B * inS + 2 * inS + 1) / 2));
  const ptr = 2 * ints;
  const col = ptr + B + 1;
  const cptr = col + B * inS;
  const crow = cptr + inS + 1;
  const cursor = crow + B * inS;
  const k = createKernels(top, choice);
  const h = k.f64;
  const ix = k.i32;

  const round = (at: number, n: number) => {
    if (f32) for (let i = at; i < at + n; i++) h[i] = Math.fround(h[i]!);
  };

  /** θ (or v) into the heap, and the input layer's W transposed at t. */
  const load = (src: Float64Array, at: number, t: number) => {
    h.set(src, at);
    const { w, in: n, out: m } = layout[0]!;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) h[t + j * m + i] = src[w + i * n + j]!;
  };

  /**
   * The block's nonzeros by columns as well (for the input layer's weight gradient Xᵀ·Δ): a
   * counting sort of the rows' entries, stable, so each column lists its rows in increasing order.
   */
  const byColumns = (R: number) => {
    const nnz = ix[ptr + R]!;
    ix.fill(0, cptr, cptr + inS + 1);
    for (let q = 0; q < nnz; q++) ix[cptr + ix[col + q]! + 1]!++;
    for (let j = 0; j < inS; j++) ix[cptr + j + 1]! += ix[cptr + j]!;
    ix.copyWithin(cursor, cptr, cptr + inS);
    for (let r = 0; r < R; r++)
      for (let q = ix[ptr + r]!; q < ix[ptr + r + 1]!; q++) {
        const at = ix[cursor + ix[col + q]!]!++;
        ix[crow + at] = r;
        h[cval + at] = h[val + q]!;
      }
  };

  /**
   * The objective's own inputs are the same at every call: their sparse blocks, by rows and by
   * columns, are kept after the first gathering (up to CACHE_VALUES inputs) and copied back.
   */
  interface Gathered {
    readonly ptr: Int32Array;
    readonly col: Int32Array;
    readonly val: Float64Array;
    readonly cptr: Int32Array;
    readonly crow: Int32Array;
    readonly cval: Float64Array;
  }
  const kept: (Gathered | null)[] = [];
  const cacheable = own !== null && own.length <= CACHE_VALUES;

  /** Rows r0… of x into the heap, by rows and by columns when sparse; false when dense. */
  const prepare = (x: Float64Array, r0: number, R: number): boolean => {
    const keep = cacheable && x === own;
    const hit = keep ? kept[r0 / B] : undefined;
    if (hit) {
      ix.set(hit.ptr, ptr);
      ix.set(hit.col, col);
      h.set(hit.val, val);
      ix.set(hit.cptr, cptr);
      ix.set(hit.crow, crow);
      h.set(hit.cval, cval);
      return true;
    }
    if (hit === null) {
      h.set(x.subarray(r0 * inS, (r0 + R) * inS), xb);
      return false;
    }
    const sparse = gather(x, r0, R);
    if (sparse) byColumns(R);
    if (keep) {
      const nnz = ix[ptr + R]!;
      kept[r0 / B] = sparse
        ? {
            ptr: ix.slice(ptr, ptr + R + 1),
            col: ix.slice(col, col + nnz),
            val: h.slice(val, val + nnz),
            cptr: ix.slice(cptr, cptr + inS + 1),
            crow: ix.slice(crow, crow + nnz),
            cval: h.slice(cval, cval + nnz),
          }
        : null;
    }
    return sparse;
  };

  /** Rows r0… of x into the heap: as compressed sparse rows when under half are nonzero. */
  const gather = (x: Float64Array, r0: number, R: number): boolean => {
    const base = r0 * inS;
    let q = 0;
    ix[ptr] = 0;
    if (inS >= 8) {
      for (let r = 0; r < R; r++) {
        const row = base + r * inS;
        for (let j = 0; j < inS; j++) {
          const v = x[row + j]!;
          if (v !== 0) {
            ix[col + q] = j;
            h[val + q] = v;
            q++;
          }
        }
        ix[ptr + r + 1] = q;
        // Past half nonzero the dense product is the cheaper one: stop gathering.
        if (2 * q > R * inS) break;
      }
      if (2 * q <= R * inS) return true;
    }
    h.set(x.subarray(base, base + R * inS), xb);
    return false;
  };

  /** Each row of the block's rows×m matrix at `at` set to the m values at `from`. */
  const fillRows = (at: number, R: number, m: number, from: number) => {
    for (let r = 0; r < R; r++) h.copyWithin(at + r * m, from, from + m);
  };

  /** Z_1 (or R(Z_1) from V): the bias rows plus the input block times Wᵀ (W at `at`, Wᵀ at t). */
  const inputLayer = (sparse: boolean, R: number, at: number, t: number, out: number) => {
    const { w, b, out: m } = layout[0]!;
    fillRows(out, R, m, at + b);
    if (sparse) k.csrmm(R, m, ptr, col, val, t, m, out, m);
    else k.nt(R, m, inS, xb, inS, at + w, inS, out, m, 1);
    round(out, R * m);
  };

  const activate = (activation: Activation, zAt: number, aAt: number, n: number) => {
    switch (activation) {
      case "tanh":
        for (let i = 0; i < n; i++) h[aAt + i] = Math.tanh(h[zAt + i]!);
        break;
      case "relu":
        // Math.max lets a NaN through, so a blown-up net shows NaN rather than a silent 0.
        for (let i = 0; i < n; i++) h[aAt + i] = Math.max(h[zAt + i]!, 0);
        break;
      case "sigmoid":
        for (let i = 0; i < n; i++) h[aAt + i] = sigmoid(h[zAt + i]!);
        break;
      case "gelu":
        for (let i = 0; i < n; i++) {
          const t = h[zAt + i]!;
          h[aAt + i] = 0.5 * t * (1 + erf(t / Math.SQRT2));
        }
        break;
      case "identity":
        h.copyWithin(aAt, zAt, zAt + n);
        break;
    }
    round(aAt, n);
  };

  /** The forward pass of a gathered block: Z_l and A_l for every layer. */
  const forwardBlock = (sparse: boolean, R: number) => {
    inputLayer(sparse, R, th, wt, z[1]!);
    for (let l = 1; l <= L; l++) {
      const { w, b, in: n, out: m } = layout[l - 1]!;
      if (l > 1) {
        fillRows(z[l]!, R, m, th + b);
        k.nt(R, m, n, a[l - 1]!, n, th + w, n, z[l]!, m, 1);
        round(z[l]!, R * m);
      }
      if (l < L) activate(activations[l - 1]!, z[l]!, a[l]!, R * m);
    }
  };

  /** ℓ summed over the block's rows r0…; with scale, Δ_L = scale·∂ℓ/∂Z_L too. */
  const lossBlock = (y: Float64Array, r0: number, R: number, scale: number | null): number => {
    const zL = z[L]!;
    const dL = d[L]!;
    let value = 0;
    for (let r = 0; r < R; r++) {
      const zr = zL + r * outS;
      const t = (r0 + r) * outS;
      value += rowLoss(loss, h, zr, y, t, outS);
      if (scale === null) continue;
      const dr = dL + r * outS;
      switch (loss) {
        case "mse":
        case "half-mse": {
          const c = loss === "mse" ? 2 : 1;
          for (let o = 0; o < outS; o++) h[dr + o] = st(c * (h[zr + o]! - y[t + o]!) * scale);
          break;
        }
        case "bce":
          for (let o = 0; o < outS; o++) h[dr + o] = st((sigmoid(h[zr + o]!) - y[t + o]!) * scale);
          break;
        case "cross-entropy": {
          // (Σy)·softmax(z) − y, softmax through the log-sum-exp.
          const lse = logSumExp(h, zr, outS);
          let ysum = 0;
          for (let o = 0; o < outS; o++) ysum += y[t + o]!;
          for (let o = 0; o < outS; o++)
            h[dr + o] = st((ysum * Math.exp(h[zr + o]! - lse) - y[t + o]!) * scale);
          break;
        }
      }
    }
    return value;
  };

  const st = f32 ? Math.fround : (v: number) => v;

  /** acc[j] += Σ_r M[r, j] over the block's rows (a bias's gradient). */
  const columnSums = (at: number, R: number, m: number, acc: number) => {
    for (let r = 0; r < R; r++) {
      const row = at + r * m;
      for (let j = 0; j < m; j++) h[acc + j]! += h[row + j]!;
    }
  };

  /** f′(Z) at the block's (z, a), times the matrix at `at`, in place; with f″ for the R-pass. */
  const derivative1 = (activation: Activation, zAt: number, aAt: number, at: number, n: number) => {
    switch (activation) {
      case "tanh":
        for (let i = 0; i < n; i++) {
          const t = h[aAt + i]!;
          h[at + i]! *= 1 - t * t;
        }
        break;
      case "relu":
        for (let i = 0; i < n; i++) h[at + i]! *= h[zAt + i]! > 0 ? 1 : 0;
        break;
      case "sigmoid":
        for (let i = 0; i < n; i++) {
          const t = h[aAt + i]!;
          h[at + i]! *= t * (1 - t);
        }
        break;
      case "gelu":
        for (let i = 0; i < n; i++) h[at + i]! *= geluPrime(h[zAt + i]!);
        break;
      case "identity":
        break;
    }
    round(at, n);
  };

  const f1 = (activation: Activation, t: number, u: number): number => {
    switch (activation) {
      case "tanh":
        return 1 - u * u;
      case "relu":
        return t > 0 ? 1 : 0;
      case "sigmoid":
        return u * (1 - u);
      case "gelu":
        return geluPrime(t);
      case "identity":
        return 1;
    }
  };

  const f2 = (activation: Activation, t: number, u: number): number => {
    switch (activation) {
      case "tanh":
        return -2 * u * (1 - u * u);
      case "relu":
        return 0;
      case "sigmoid":
        return u * (1 - u) * (1 - 2 * u);
      case "gelu":
        return INV_SQRT_2PI * Math.exp(-0.5 * t * t) * (2 - t * t);
      case "identity":
        return 0;
    }
  };

  const count = (rows: number) => (loss === "cross-entropy" ? rows : rows * outS);

  /** R(A) = f′(Z) ⊙ R(Z), one loop per activation (the switch outside the elementwise loop). */
  const rForward = (act: Activation, zl: number, al: number, rzl: number, ral: number, n: number) => {
    switch (act) {
      case "tanh":
        for (let i = 0; i < n; i++) {
          const u = h[al + i]!;
          h[ral + i] = (1 - u * u) * h[rzl + i]!;
        }
        return;
      case "sigmoid":
        for (let i = 0; i < n; i++) {
          const u = h[al + i]!;
          h[ral + i] = u * (1 - u) * h[rzl + i]!;
        }
        return;
      default:
        for (let i = 0; i < n; i++) h[ral + i] = f1(act, h[zl + i]!, h[al + i]!) * h[rzl + i]!;
    }
  };

  /**
   * R(Δ_{l−1}) = R(Δ)·f′ + Δ·f″·R(Z) and Δ_{l−1} = Δ·f′ in place, Δ (dp) and R(Δ) (rdp) holding
   * the products with W and V on entry; one loop per activation.
   */
  const rBackward = (
    act: Activation,
    zp: number,
    ap: number,
    dp: number,
    rdp: number,
    rzp: number,
    n: number,
  ) => {
    switch (act) {
      case "tanh":
        for (let i = 0; i < n; i++) {
          const u = h[ap + i]!;
          const back = h[dp + i]!;
          const d1 = 1 - u * u;
          h[rdp + i] = h[rdp + i]! * d1 + back * (-2 * u * d1) * h[rzp + i]!;
          h[dp + i] = back * d1;
        }
        return;
      default:
        for (let i = 0; i < n; i++) {
          const t = h[zp + i]!;
          const u = h[ap + i]!;
          const back = h[dp + i]!;
          const d1 = f1(act, t, u);
          h[rdp + i] = h[rdp + i]! * d1 + back * f2(act, t, u) * h[rzp + i]!;
          h[dp + i] = back * d1;
        }
    }
  };

  /** Adds the input layer's transposed weight gradient (in × out at `t`) into the gradient at `g`. */
  const untranspose = (t: number, g: number) => {
    const { w, in: n, out: m } = layout[0]!;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) h[g + w + i * n + j]! += h[t + j * m + i]!;
  };

  const copyOut = (at: number, out: Float64Array) => {
    if (f32) for (let i = 0; i < P; i++) out[i] = Math.fround(h[at + i]!);
    else out.set(h.subarray(at, at + P));
  };

  const lossSum = (theta: Float64Array, x: Float64Array, y: Float64Array, rows: number): number => {
    load(theta, th, wt);
    let s = 0;
    for (let r0 = 0; r0 < rows; r0 += B) {
      const R = Math.min(B, rows - r0);
      forwardBlock(prepare(x, r0, R), R);
      s += lossBlock(y, r0, R, null);
    }
    return s;
  };

  const gradient = (
    theta: Float64Array,
    x: Float64Array,
    y: Float64Array,
    rows: number,
    out: Float64Array,
  ) => {
    load(theta, th, wt);
    h.fill(0, gr, gr + P);
    h.fill(0, gt1, gt1 + inS * sizes[1]!);
    const scale = 1 / count(rows);
    let s = 0;
    for (let r0 = 0; r0 < rows; r0 += B) {
      const R = Math.min(B, rows - r0);
      const sparse = prepare(x, r0, R);
      forwardBlock(sparse, R);
      s += lossBlock(y, r0, R, scale);
      for (let l = L; l >= 1; l--) {
        const { w, b, in: n, out: m } = layout[l - 1]!;
        columnSums(d[l]!, R, m, gr + b);
        if (l === 1) {
          if (sparse) k.csctmm(inS, m, cptr, crow, cval, d[1]!, m, gt1, m);
          else k.tn(n, m, R, xb, n, d[1]!, m, gt1, m);
        } else {
          k.tn(m, n, R, d[l]!, m, a[l - 1]!, n, gr + w, n);
          k.nn(R, n, m, d[l]!, m, th + w, n, d[l - 1]!, n, 0);
          derivative1(activations[l - 2]!, z[l - 1]!, a[l - 1]!, d[l - 1]!, R * n);
        }
      }
    }
    untranspose(gt1, gr);
    copyOut(gr, out);
    return st(s * scale);
  };

  const hessianVector = (
    theta: Float64Array,
    v: Float64Array,
    x: Float64Array,
    y: Float64Array,
    rows: number,
    out: Float64Array,
  ) => {
    load(theta, th, wt);
    load(v, vv, vt);
    h.fill(0, hv, hv + P);
    h.fill(0, rgt1, rgt1 + inS * sizes[1]!);
    const scale = 1 / count(rows);
    for (let r0 = 0; r0 < rows; r0 += B) {
      const R = Math.min(B, rows - r0);
      const sparse = prepare(x, r0, R);
      forwardBlock(sparse, R);
      lossBlock(y, r0, R, scale);
      // R-forward.
      inputLayer(sparse, R, vv, vt, rz[1]!);
      for (let l = 1; l <= L; l++) {
        const { w, b, in: n, out: m } = layout[l - 1]!;
        if (l > 1) {
          fillRows(rz[l]!, R, m, vv + b);
          k.nt(R, m, n, a[l - 1]!, n, vv + w, n, rz[l]!, m, 1);
          k.nt(R, m, n, ra[l - 1]!, n, th + w, n, rz[l]!, m, 1);
        }
        if (l < L) {
          const zl = z[l]!;
          const al = a[l]!;
          const rzl = rz[l]!;
          rForward(activations[l - 1]!, zl, al, rzl, ra[l]!, R * m);
        }
      }
      lossCurvature(y, r0, R, scale);
      // R-backward.
      for (let l = L; l >= 1; l--) {
        const { w, b, in: n, out: m } = layout[l - 1]!;
        columnSums(rd[l]!, R, m, hv + b);
        if (l === 1) {
          if (sparse) k.csctmm(inS, m, cptr, crow, cval, rd[1]!, m, rgt1, m);
          else k.tn(n, m, R, xb, n, rd[1]!, m, rgt1, m);
          continue;
        }
        k.tn(m, n, R, rd[l]!, m, a[l - 1]!, n, hv + w, n);
        k.tn(m, n, R, d[l]!, m, ra[l - 1]!, n, hv + w, n);
        const dp = d[l - 1]!;
        const rdp = rd[l - 1]!;
        k.nn(R, n, m, d[l]!, m, th + w, n, dp, n, 0);
        k.nn(R, n, m, d[l]!, m, vv + w, n, rdp, n, 0);
        k.nn(R, n, m, rd[l]!, m, th + w, n, rdp, n, 1);
        const zp = z[l - 1]!;
        const ap = a[l - 1]!;
        rBackward(activations[l - 2]!, zp, ap, dp, rdp, rz[l - 1]!, R * n);
      }
    }
    untranspose(rgt1, hv);
    for (let i = 0; i < P; i++) out[i] = h[hv + i]!;
  };

  /** R(Δ_L) = scale · ∇²_z ℓ · R(Z_L), row by row. */
  const lossCurvature = (y: Float64Array, r0: number, R: number, scale: number) => {
    const zL = z[L]!;
    const rzL = rz[L]!;
    const rdL = rd[L]!;
    for (let r = 0; r < R; r++) {
      const zr = zL + r * outS;
      const rzr = rzL + r * outS;
      const rdr = rdL + r * outS;
      switch (loss) {
        case "mse":
        case "half-mse": {
          const c = loss === "mse" ? 2 : 1;
          for (let o = 0; o < outS; o++) h[rdr + o] = c * h[rzr + o]! * scale;
          break;
        }
        case "bce":
          for (let o = 0; o < outS; o++) {
            const s = sigmoid(h[zr + o]!);
            h[rdr + o] = s * (1 - s) * h[rzr + o]! * scale;
          }
          break;
        case "cross-entropy": {
          // (Σy)·(diag(p) − ppᵀ)·R(z), p = softmax(z).
          let ysum = 0;
          for (let o = 0; o < outS; o++) ysum += y[(r0 + r) * outS + o]!;
          let mx = Number.NEGATIVE_INFINITY;
          for (let o = 0; o < outS; o++) if (h[zr + o]! > mx) mx = h[zr + o]!;
          let sum = 0;
          for (let o = 0; o < outS; o++) {
            const e = Math.exp(h[zr + o]! - mx);
            h[scratch + o] = e;
            sum += e;
          }
          let pr = 0;
          for (let o = 0; o < outS; o++) {
            h[scratch + o]! /= sum;
            pr += h[scratch + o]! * h[rzr + o]!;
          }
          for (let o = 0; o < outS; o++) h[rdr + o] = ysum * h[scratch + o]! * (h[rzr + o]! - pr) * scale;
          break;
        }
      }
    }
  };

  const forward: MlpPasses["forward"] = (theta, x, rows, visit) => {
    load(theta, th, wt);
    for (let r0 = 0; r0 < rows; r0 += B) {
      const R = Math.min(B, rows - r0);
      forwardBlock(prepare(x, r0, R), R);
      visit(r0, R, h, z, a);
    }
  };

  return { kernels: k.name, lossSum, gradient, hessianVector, forward, count };
}

/** log Σ_o exp(h[at + o]), from the largest term so nothing overflows. */
export function logSumExp(h: Float64Array, at: number, n: number): number {
  let m = Number.NEGATIVE_INFINITY;
  for (let o = 0; o < n; o++) if (h[at + o]! > m) m = h[at + o]!;
  let sum = 0;
  for (let o = 0; o < n; o++) sum += Math.exp(h[at + o]! - m);
  return m + Math.log(sum);
}

/** ℓ of one row's outputs (at h[at…]) against its targets y[t…]: the loss's own formula. */
export function rowLoss(
  loss: Loss,
  h: Float64Array,
  at: number,
  y: Float64Array,
  t: number,
  n: number,
): number {
  let value = 0;
  switch (loss) {
    case "mse":
    case "half-mse": {
      const c = loss === "mse" ? 1 : 0.5;
      for (let o = 0; o < n; o++) {
        const e = h[at + o]! - y[t + o]!;
        value += c * e * e;
      }
      return value;
    }
    case "bce":
      for (let o = 0; o < n; o++) {
        const v = h[at + o]!;
        value += Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))) - y[t + o]! * v;
      }
      return value;
    case "cross-entropy": {
      const lse = logSumExp(h, at, n);
      for (let o = 0; o < n; o++) {
        const yo = y[t + o]!;
        if (yo !== 0) value += yo * (lse - h[at + o]!);
      }
      return value;
    }
  }
}

function geluPrime(t: number): number {
  return 0.5 * (1 + erf(t / Math.SQRT2)) + t * INV_SQRT_2PI * Math.exp(-0.5 * t * t);
}
