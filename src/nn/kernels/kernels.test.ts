import { describe, expect, it } from "vitest";
import { centralGradient, centralHessianVector } from "../../core/finite-differences.js";
import { createRng } from "../../core/rng.js";
import { maxRelativeError } from "../../core/vec.js";
import { ACTIVATIONS, initialParameters, LOSSES, type MlpData, mlpObjective } from "../mlp/mlp.js";
import { createKernels, type Kernels, WASM_HEAP_DOUBLES } from "./index.js";

const rng = createRng(11);
const SIZES = [1, 2, 3, 4, 5, 7, 9, 17];

/** Both kernels over the same random heap. */
function pair(doubles: number): [Kernels, Kernels] {
  const js = createKernels(doubles, "js");
  const wasm = createKernels(doubles, "wasm");
  for (let i = 0; i < doubles; i++) {
    const v = rng.normal();
    js.f64[i] = v;
    wasm.f64[i] = v;
  }
  return [js, wasm];
}

/** A plain triple loop: old value (or 0), then the products in index order, as the kernels promise. */
function naiveNN(h: Float64Array, m: number, n: number, k: number, acc: 0 | 1, a = 0, b = 4000, c = 8000) {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = acc ? h[c + i * n + j]! : 0;
      for (let p = 0; p < k; p++) s += h[a + i * k + p]! * h[b + p * n + j]!;
      out[i * n + j] = s;
    }
  return out;
}

/** The first index where two arrays differ (as Object.is: bit for bit but for NaN's payload), or −1. */
function firstDifference(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe("kernels: WebAssembly SIMD and JS against a plain triple loop, bit for bit", () => {
  it("nn: C = (acc ? C : 0) + A·B for every shape edge", () => {
    for (const m of SIZES)
      for (const n of SIZES)
        for (const acc of [0, 1] as const) {
          const k = SIZES[(m + n) % SIZES.length]!;
          const [js, wasm] = pair(12000);
          const want = naiveNN(js.f64, m, n, k, acc);
          for (const K of [js, wasm]) {
            K.nn(m, n, k, 0, k, 4000, n, 8000, n, acc);
            expect(Array.from(K.f64.subarray(8000, 8000 + m * n))).toEqual(Array.from(want));
          }
        }
  });

  it("nt: C = (acc ? C : 0) + A·Bᵀ (B n×k, as a layer's W is stored)", () => {
    for (const m of SIZES)
      for (const n of SIZES)
        for (const acc of [0, 1] as const) {
          const k = SIZES[(m + 2 * n) % SIZES.length]!;
          const [js, wasm] = pair(12000);
          const h = js.f64;
          const want = new Float64Array(m * n);
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let s = acc ? h[8000 + i * n + j]! : 0;
              for (let p = 0; p < k; p++) s += h[i * k + p]! * h[4000 + j * k + p]!;
              want[i * n + j] = s;
            }
          for (const K of [js, wasm]) {
            K.nt(m, n, k, 0, k, 4000, k, 8000, n, acc);
            expect(Array.from(K.f64.subarray(8000, 8000 + m * n))).toEqual(Array.from(want));
          }
        }
  });

  it("a product longer than one packed block (k > 256) and wider than 4 panels keeps the plain order", () => {
    const [m, n, k] = [6, 70, 300];
    const [js, wasm] = pair(m * k + k * n + m * n + 10);
    const c = m * k + k * n;
    const want = naiveNN(js.f64, m, n, k, 1, 0, m * k, c);
    for (const K of [js, wasm]) {
      K.nn(m, n, k, 0, k, m * k, n, c, n, 1);
      expect(Array.from(K.f64.subarray(c, c + m * n))).toEqual(Array.from(want));
    }
  });

  it("a product wider than the packed panel's 65,536 doubles (a layer of 80,000 units) is taken in column blocks, the same bits", () => {
    const [m, n, k] = [5, 140_003, 3];
    const [js, wasm] = pair(m * k + k * n + m * n + 10);
    const c = m * k + k * n;
    const want = naiveNN(js.f64, m, n, k, 1, 0, m * k, c);
    for (const K of [js, wasm]) {
      K.nn(m, n, k, 0, k, m * k, n, c, n, 1);
      expect(firstDifference(K.f64.subarray(c, c + m * n), want)).toBe(-1);
    }
    // Bᵀ as stored (nt) and a sum over rows (tn) with the same width.
    const [js2, wasm2] = pair(m * k + k * n + m * n + 10);
    const h = js2.f64;
    const wantT = new Float64Array(m * n);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += h[i * k + p]! * h[m * k + j * k + p]!;
        wantT[i * n + j] = s;
      }
    for (const K of [js2, wasm2]) {
      K.nt(m, n, k, 0, k, m * k, k, c, n, 0);
      expect(firstDifference(K.f64.subarray(c, c + m * n), wantT)).toBe(-1);
    }
  });

  it("a heap past WebAssembly's 2 GiB is refused before allocation when wasm is asked for (auto takes the JS kernels)", () => {
    expect(() => createKernels(WASM_HEAP_DOUBLES + 1, "wasm")).toThrow(
      `invalid kernels: wasm holds at most ${WASM_HEAP_DOUBLES} doubles (2 GiB), this network needs ${WASM_HEAP_DOUBLES + 1}: use the js kernels`,
    );
  });

  it("tn: C += Aᵀ·B (A k×m, B k×n), strided", () => {
    for (const m of SIZES)
      for (const n of SIZES) {
        const k = SIZES[(m * n) % SIZES.length]!;
        const [lda, ldb] = [m + 2, n + 1];
        const [js, wasm] = pair(12000);
        const h = js.f64;
        const want = new Float64Array(m * n);
        for (let i = 0; i < m; i++)
          for (let j = 0; j < n; j++) {
            let s = h[8000 + i * n + j]!;
            for (let p = 0; p < k; p++) s += h[p * lda + i]! * h[4000 + p * ldb + j]!;
            want[i * n + j] = s;
          }
        for (const K of [js, wasm]) {
          K.tn(m, n, k, 0, lda, 4000, ldb, 8000, n);
          expect(Array.from(K.f64.subarray(8000, 8000 + m * n))).toEqual(Array.from(want));
        }
      }
  });

  it("csrmm and csctmm: a sparse matrix's products equal the dense products with its zeros skipped", () => {
    for (const rows of [1, 3, 6])
      for (const n of [1, 2, 3, 8, 9, 13, 16, 17, 34]) {
        const cols = 10;
        const [js, wasm] = pair(20000);
        // S (rows × cols) with about a third nonzero, in compressed rows at int32 index 2·18000.
        const dense = Array.from({ length: rows * cols }, () => (rng.uniform() < 0.35 ? rng.normal() : 0));
        const ptr = 36000;
        const col = ptr + rows + 1;
        const val = 1000;
        let q = 0;
        for (const K of [js, wasm]) K.i32[ptr] = 0;
        for (let r = 0; r < rows; r++) {
          for (let j = 0; j < cols; j++) {
            if (dense[r * cols + j] === 0) continue;
            for (const K of [js, wasm]) {
              K.i32[col + q] = j;
              K.f64[val + q] = dense[r * cols + j]!;
            }
            q++;
          }
          for (const K of [js, wasm]) K.i32[ptr + r + 1] = q;
        }
        // The same S by columns (rows increasing within each), for Sᵀ·D.
        const cptr = 37000;
        const crow = cptr + cols + 1;
        const cval = 2000;
        let cq = 0;
        for (const K of [js, wasm]) K.i32[cptr] = 0;
        for (let j = 0; j < cols; j++) {
          for (let r = 0; r < rows; r++) {
            if (dense[r * cols + j] === 0) continue;
            for (const K of [js, wasm]) {
              K.i32[crow + cq] = r;
              K.f64[cval + cq] = dense[r * cols + j]!;
            }
            cq++;
          }
          for (const K of [js, wasm]) K.i32[cptr + j + 1] = cq;
        }
        const h = js.f64;
        const want = new Float64Array(rows * n);
        const wantT = new Float64Array(cols * n);
        for (let r = 0; r < rows; r++)
          for (let j = 0; j < n; j++) {
            let s = h[8000 + r * n + j]!;
            for (let p = 0; p < cols; p++)
              if (dense[r * cols + p] !== 0) s += dense[r * cols + p]! * h[4000 + p * n + j]!;
            want[r * n + j] = s;
          }
        for (let p = 0; p < cols; p++)
          for (let j = 0; j < n; j++) {
            let s = h[12000 + p * n + j]!;
            for (let r = 0; r < rows; r++)
              if (dense[r * cols + p] !== 0) s += dense[r * cols + p]! * h[4000 + r * n + j]!;
            wantT[p * n + j] = s;
          }
        for (const K of [js, wasm]) {
          K.csrmm(rows, n, ptr, col, val, 4000, n, 8000, n);
          K.csctmm(cols, n, cptr, crow, cval, 4000, n, 12000, n);
          expect(Array.from(K.f64.subarray(8000, 8000 + rows * n))).toEqual(Array.from(want));
          expect(Array.from(K.f64.subarray(12000, 12000 + cols * n))).toEqual(Array.from(wantT));
        }
      }
  });
});

/** rows × 12 inputs, dense normal or with about 60% exact zeros (the sparse input path). */
function data(rows: number, outS: number, loss: string, sparse: boolean, seed: number): MlpData {
  const r = createRng(seed);
  const x = Float64Array.from({ length: rows * 12 }, () => (sparse && r.uniform() < 0.6 ? 0 : r.normal()));
  const y = new Float64Array(rows * outS);
  for (let i = 0; i < rows; i++) {
    if (loss === "cross-entropy") y[i * outS + Math.floor(r.uniform() * outS)] = 1;
    else
      for (let o = 0; o < outS; o++)
        y[i * outS + o] = loss === "bce" ? Number(r.uniform() < 0.5) : r.normal();
  }
  return { x, y, rows };
}

describe("the MLP on WebAssembly SIMD and on JS: gradients and HVPs agree to 1e-13", () => {
  const cases = ACTIVATIONS.flatMap((activation) =>
    LOSSES.flatMap((loss) => [false, true].map((sparse) => [activation, loss, sparse] as const)),
  );
  it.each(cases)("%s × %s, sparse inputs %s", (activation, loss, sparse) => {
    const outS = loss === "cross-entropy" ? 3 : 2;
    const sizes = [12, 7, 5, outS];
    const spec = { sizes, activation, loss };
    const d = data(23, outS, loss, sparse, 3);
    // Blocks of 4 rows: five full blocks and a remainder of 3, on both kernels; and one block of 256.
    const js = mlpObjective(spec, d, "mlp", { kernels: "js", blockRows: 4 });
    const wasm = mlpObjective(spec, d, "mlp", { kernels: "wasm", blockRows: 4 });
    const whole = mlpObjective(spec, d, "mlp", { kernels: "wasm" });
    expect([js.kernels, wasm.kernels]).toEqual(["js", "wasm"]);
    const theta = initialParameters(sizes, "glorot", createRng(4));
    for (let i = 0; i < theta.length; i++) theta[i]! += 0.1 * rng.normal();
    const v = Float64Array.from({ length: js.dim }, () => rng.normal());
    const [gj, gw, gb, hj, hw, hb] = Array.from({ length: 6 }, () => new Float64Array(js.dim));
    const lj = js.gradient(theta, gj!);
    expect(Math.abs(wasm.gradient(theta, gw!) - lj)).toBeLessThanOrEqual(1e-13 * Math.abs(lj));
    expect(Math.abs(whole.gradient(theta, gb!) - lj)).toBeLessThanOrEqual(1e-13 * Math.abs(lj));
    js.hessianVector(theta, v, hj!);
    wasm.hessianVector(theta, v, hw!);
    whole.hessianVector(theta, v, hb!);
    expect(maxRelativeError(gw!, gj!)).toBeLessThanOrEqual(1e-13);
    expect(maxRelativeError(gb!, gj!)).toBeLessThanOrEqual(1e-13);
    expect(maxRelativeError(hw!, hj!)).toBeLessThanOrEqual(1e-13);
    expect(maxRelativeError(hb!, hj!)).toBeLessThanOrEqual(1e-13);
    // And both are the derivatives: central differences of the loss and of the gradient.
    expect(maxRelativeError(gw!, centralGradient(wasm.value, theta, 1e-6))).toBeLessThan(1e-6);
    expect(maxRelativeError(hw!, centralHessianVector(js.gradient, theta, v, 1e-5))).toBeLessThan(
      activation === "relu" ? 1e-5 : 1e-6,
    );
  });

  it("the objective's own sparse blocks, kept after the first call, give the bits of gathering anew", () => {
    const sizes = [12, 6, 3];
    const spec = { sizes, activation: "relu" as const, loss: "cross-entropy" as const };
    const d = data(40, 3, "cross-entropy", true, 9);
    const f = mlpObjective(spec, d, "mlp", { blockRows: 16 });
    const copy = { x: Float64Array.from(d.x), y: d.y, rows: d.rows };
    const theta = initialParameters(sizes, "he", createRng(3));
    const v = Float64Array.from({ length: f.dim }, () => rng.normal());
    const [g1, g2, g3, h1, h2] = Array.from({ length: 5 }, () => new Float64Array(f.dim));
    f.gradient(theta, g1!); // gathers and keeps the blocks
    f.gradient(theta, g2!); // from the kept blocks
    f.gradientOn(theta, g3!, copy); // other rows (the same values): gathered anew
    expect(Array.from(g2!)).toEqual(Array.from(g1!));
    expect(Array.from(g3!)).toEqual(Array.from(g1!));
    f.hessianVector(theta, v, h1!);
    f.hessianVector(theta, v, h2!);
    expect(Array.from(h2!)).toEqual(Array.from(h1!));
  });

  it("outputs, evaluate and the activations' visit agree across kernels and block sizes", () => {
    const sizes = [12, 6, 3];
    const spec = { sizes, activation: "gelu" as const, loss: "cross-entropy" as const };
    const d = data(19, 3, "cross-entropy", true, 8);
    const js = mlpObjective(spec, d, "mlp", { kernels: "js", blockRows: 5 });
    const wasm = mlpObjective(spec, d, "mlp", { kernels: "wasm" });
    const theta = initialParameters(sizes, "he", createRng(2));
    const [oj, ow] = [new Float64Array(19 * 3), new Float64Array(19 * 3)];
    js.outputs(theta, d.x, 19, oj);
    wasm.outputs(theta, d.x, 19, ow);
    expect(maxRelativeError(ow, oj)).toBeLessThanOrEqual(1e-13);
    expect(wasm.evaluate(theta)).toEqual(js.evaluate(theta));
    const seen: number[][] = [[], []];
    js.activations(theta, d, (l, i, z, a) => seen[0]!.push(l, i, z, a));
    wasm.activations(theta, d, (l, i, z, a) => seen[1]!.push(l, i, z, a));
    expect(seen[0]!.length).toBe(19 * 6 * 4);
    expect(maxRelativeError(seen[1]!, seen[0]!)).toBeLessThanOrEqual(1e-13);
  });
});

describe("kernels: fused multiply-add (relaxed SIMD) against the plain SIMD kernels, within the rounding bound", () => {
  // Each path sums c and the k products in the same order; the plain one rounds each product and
  // each sum, the FMA one each fused step once. Both are within γ_{k+1}·(|c| + Σ|a_p·b_p|) of the
  // exact sum (Higham, Accuracy and Stability, §3.1; γ_n = n·u/(1 − n·u), u = 2⁻⁵³), so they are
  // within twice that of each other.
  const u = 2 ** -53;
  const gamma = (n: number) => (n * u) / (1 - n * u);
  const shapes = [
    [1, 1, 1],
    [3, 5, 7],
    [17, 9, 33],
    [8, 40, 300],
    [33, 70, 513],
  ] as const;

  it("nn, nt and tn: every element within 2γ_{k+1}·(|c| + Σ|a||b|) of the plain kernels', and some differ (the FMA is live)", () => {
    let differ = 0;
    for (const [m, n, k] of shapes)
      for (const kind of ["nn", "nt", "tn"] as const)
        for (const acc of [0, 1] as const) {
          const a = 0;
          const b = m * k;
          const c = b + k * n;
          const doubles = c + m * n;
          const plain = createKernels(doubles, "wasm");
          const fma = createKernels(doubles, "wasm-fma");
          expect(fma.name).toBe("wasm-fma");
          for (let i = 0; i < doubles; i++) plain.f64[i] = fma.f64[i] = rng.normal();
          const h = Float64Array.from(plain.f64);
          // A[i][p] and B[p][j] as each kind stores them.
          const A = (i: number, p: number) => (kind === "tn" ? h[a + p * m + i]! : h[a + i * k + p]!);
          const B = (p: number, j: number) => (kind === "nt" ? h[b + j * k + p]! : h[b + p * n + j]!);
          const withC = kind === "tn" || acc === 1;
          for (const K of [plain, fma]) {
            if (kind === "nn") K.nn(m, n, k, a, k, b, n, c, n, acc);
            else if (kind === "nt") K.nt(m, n, k, a, k, b, k, c, n, acc);
            else K.tn(m, n, k, a, m, b, n, c, n);
          }
          for (let i = 0; i < m; i++)
            for (let j = 0; j < n; j++) {
              let size = withC ? Math.abs(h[c + i * n + j]!) : 0;
              for (let p = 0; p < k; p++) size += Math.abs(A(i, p) * B(p, j));
              const x = plain.f64[c + i * n + j]!;
              const y = fma.f64[c + i * n + j]!;
              expect(Math.abs(x - y), `${kind} ${m}×${n}×${k} acc ${acc} at ${i},${j}`).toBeLessThanOrEqual(
                2 * gamma(k + 1) * size,
              );
              if (x !== y) differ++;
            }
        }
    expect(differ).toBeGreaterThan(100);
  });

  it("the MLP on wasm-fma: its gradient and HVP within 1e-12 of the plain kernels', and the derivatives by central differences", () => {
    const sizes = [12, 16, 8, 3];
    const spec = { sizes, activation: "tanh" as const, loss: "cross-entropy" as const };
    const d = data(50, 3, "cross-entropy", false, 5);
    const plain = mlpObjective(spec, d, "mlp", { kernels: "wasm" });
    const fma = mlpObjective(spec, d, "mlp", { kernels: "wasm-fma" });
    expect(fma.kernels).toBe("wasm-fma");
    const theta = initialParameters(sizes, "glorot", createRng(8));
    const v = Float64Array.from({ length: plain.dim }, () => rng.normal());
    const [gp, gf, hp, hf] = Array.from({ length: 4 }, () => new Float64Array(plain.dim));
    const lp = plain.gradient(theta, gp!);
    expect(Math.abs(fma.gradient(theta, gf!) - lp)).toBeLessThanOrEqual(1e-13 * Math.abs(lp));
    plain.hessianVector(theta, v, hp!);
    fma.hessianVector(theta, v, hf!);
    expect(maxRelativeError(gf!, gp!)).toBeLessThanOrEqual(1e-12);
    expect(maxRelativeError(hf!, hp!)).toBeLessThanOrEqual(1e-12);
    expect(maxRelativeError(gf!, centralGradient(fma.value, theta, 1e-6))).toBeLessThan(1e-6);
    expect(maxRelativeError(hf!, centralHessianVector(fma.gradient, theta, v, 1e-5))).toBeLessThan(1e-6);
  });
});
