import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { hessianOperator } from "../../analysis/curvature/hvp.js";
import { lanczos } from "../../analysis/curvature/lanczos.js";
import { centralGradient, centralHessianVector } from "../../core/finite-differences.js";
import { createRng } from "../../core/rng.js";
import { createOptimizer } from "../../optim/index.js";
import { KERNEL_NAMES, type KernelName } from "../kernels/index.js";
import {
  ACTIVATIONS,
  erf,
  initialParameters,
  LOSSES,
  layersFromParameters,
  type MlpData,
  type MlpSpec,
  mlpObjective,
  parameterCount,
  parametersFromLayers,
  permuteRows,
  pickRows,
} from "./mlp.js";

function dataset(rows: number, inS: number, outS: number, loss: string, seed: number) {
  const rng = createRng(seed);
  const x = Float64Array.from({ length: rows * inS }, () => rng.normal());
  const y = new Float64Array(rows * outS);
  for (let r = 0; r < rows; r++) {
    if (loss === "cross-entropy") y[r * outS + Math.floor(rng.uniform() * outS)] = 1;
    else
      for (let o = 0; o < outS; o++)
        y[r * outS + o] = loss === "bce" ? (rng.uniform() < 0.5 ? 0 : 1) : rng.normal();
  }
  return { x, y, rows };
}

const maxRelError = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  let err = 0;
  for (let i = 0; i < b.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
  return err / Math.max(scale, 1e-12);
};

// Every test below runs on both kernels: the WebAssembly SIMD build and the JS fallback.
describe.each(KERNEL_NAMES)("%s kernels", (kernels: KernelName) => {
  const mlp = (spec: MlpSpec, data: MlpData) => mlpObjective(spec, data, "mlp", { kernels });

  it("runs on the kernels it was asked for", () => {
    expect(
      mlp({ sizes: [2, 1], activation: "identity", loss: "mse" }, dataset(3, 2, 1, "mse", 1)).kernels,
    ).toBe(kernels);
  });

  describe("MLP: gradient and R-operator HVP against central differences", () => {
    const cases = ACTIVATIONS.flatMap((activation) => LOSSES.map((loss) => [activation, loss] as const));
    it.each(cases)("%s × %s", (activation, loss) => {
      const sizes = [3, 5, 4, loss === "cross-entropy" ? 3 : 2];
      const f = mlp({ sizes, activation, loss }, dataset(7, 3, sizes[3]!, loss, 1));
      const rng = createRng(2);
      const theta = initialParameters(sizes, "glorot", rng);
      for (let i = 0; i < theta.length; i++) theta[i]! += 0.1 * rng.normal(); // non-zero biases too
      const g = new Float64Array(f.dim);
      expect(f.gradient(theta, g)).toBeCloseTo(f.value(theta), 14);
      expect(maxRelError(g, centralGradient(f.value, theta, 1e-6))).toBeLessThan(1e-6);
      const v = Float64Array.from({ length: f.dim }, () => rng.normal());
      const hv = new Float64Array(f.dim);
      f.hessianVector(theta, v, hv);
      // relu's kinks make differences of gradients rough: its second derivative is 0 almost everywhere.
      expect(maxRelError(hv, centralHessianVector(f.gradient, theta, v, 1e-5))).toBeLessThan(
        activation === "relu" ? 1e-5 : 1e-6,
      );
    });

    it("the full Hessian from HVPs with unit vectors is symmetric and matches differences of gradients", () => {
      const sizes = [2, 3, 2];
      const f = mlp(
        { sizes, activation: "tanh", loss: "cross-entropy" },
        dataset(5, 2, 2, "cross-entropy", 4),
      );
      const theta = initialParameters(sizes, "pytorch", createRng(5));
      const n = f.dim;
      const h = new Float64Array(n * n);
      const e = new Float64Array(n);
      const col = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        e.fill(0);
        e[j] = 1;
        f.hessianVector(theta, e, col);
        for (let i = 0; i < n; i++) h[i * n + j] = col[i]!;
        expect(maxRelError(col, centralHessianVector(f.gradient, theta, e, 1e-5))).toBeLessThan(1e-6);
      }
      for (let i = 0; i < n; i++)
        for (let j = 0; j < i; j++) expect(Math.abs(h[i * n + j]! - h[j * n + i]!)).toBeLessThan(1e-13);
    });
  });

  describe("MLP parameters", () => {
    it("flat order is, per layer, W row-major (out × in) then b", () => {
      const sizes = [2, 3, 1];
      expect(parameterCount(sizes)).toBe(2 * 3 + 3 + 3 * 1 + 1);
      const f = mlp(
        { sizes, activation: "identity", loss: "mse" },
        { x: Float64Array.of(1, 2), y: Float64Array.of(0), rows: 1 },
      );
      expect(f.names.slice(0, 3)).toEqual(["W1[0,0]", "W1[0,1]", "W1[1,0]"]);
      expect(f.names[6]).toBe("b1[0]");
      expect(f.layout.map((l) => [l.w, l.b])).toEqual([
        [0, 6],
        [9, 12],
      ]);
      // An identity net is linear: out = W2(W1x + b1) + b2.
      const theta = Float64Array.from({ length: f.dim }, (_, i) => i / 10);
      const h = [0, 1, 2].map((i) => theta[2 * i]! * 1 + theta[2 * i + 1]! * 2 + theta[6 + i]!);
      const out = h.reduce((s, hi, i) => s + theta[9 + i]! * hi, theta[12]!);
      expect(f.value(theta)).toBeCloseTo(out * out, 12);
    });

    it("round-trips through the { layers: [{ W, b }] } format and names both shapes on a mismatch", () => {
      const sizes = [2, 3, 1];
      const theta = initialParameters(sizes, "he", createRng(1));
      expect(Array.from(parametersFromLayers(sizes, layersFromParameters(sizes, theta)))).toEqual(
        Array.from(theta),
      );
      expect(() =>
        parametersFromLayers(
          sizes,
          layersFromParameters([2, 4, 1], initialParameters([2, 4, 1], "he", createRng(1))),
          "w.json",
        ),
      ).toThrow(/layer 1 W is 4×2 in w\.json, the model needs 3×2/);
      expect(() => parametersFromLayers(sizes, { layers: [] }, "w.json")).toThrow(
        /has 0 layers, the model 2/,
      );
    });

    it("erf is accurate to double precision", () => {
      // Reference values from C's erf (Python's math.erf), to the last digit.
      for (const [x, ref] of [
        [0.5, 0.5204998778130465],
        [1, 0.8427007929497149],
        [2, 0.9953222650189527],
        [3.3, 0.9999969422902035],
        [-1, -0.8427007929497149],
      ]) {
        expect(Math.abs(erf(x!) - ref!)).toBeLessThanOrEqual(2 * Number.EPSILON);
      }
    });
  });

  describe("MLP against PyTorch (2-16-16-1 tanh, half-mse, 256 points)", () => {
    const golden = JSON.parse(
      readFileSync(new URL("./__golden__/torch-mlp.json", import.meta.url), "utf8"),
    ) as {
      sizes: number[];
      x: number[];
      y: number[];
      init: unknown;
      loss0: number;
      grad0: number[];
      topEigenvalues: number[];
      gd: { lr: number; losses: number[] };
    };
    const f = mlp(
      { sizes: golden.sizes, activation: "tanh", loss: "half-mse" },
      { x: Float64Array.from(golden.x), y: Float64Array.from(golden.y), rows: golden.y.length },
    );
    const theta0 = parametersFromLayers(golden.sizes, golden.init, "torch-mlp.json");
    const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

    it("loss and gradient at PyTorch's initial weights", () => {
      const g = new Float64Array(f.dim);
      expect(rel(f.gradient(theta0, g), golden.loss0)).toBeLessThan(1e-12);
      expect(maxRelError(g, golden.grad0)).toBeLessThan(1e-10);
    });

    it("top Hessian eigenvalues (Lanczos on R-operator HVPs vs eigvalsh of torch's full Hessian)", () => {
      const r = lanczos(hessianOperator(f, theta0), {
        k: 5,
        bottom: false,
        tolerance: 1e-12,
        maxIterations: f.dim,
      });
      for (const [i, e] of r.top.entries())
        expect(rel(e.value, golden.topEigenvalues[i]!)).toBeLessThan(1e-10);
    });

    it("outputs are what the loss is computed from: ½·mean((out − y)²) equals PyTorch's loss", () => {
      const out = new Float64Array(golden.y.length);
      f.outputs(theta0, Float64Array.from(golden.x), golden.y.length, out);
      let s = 0;
      for (let r = 0; r < out.length; r++) s += 0.5 * (out[r]! - golden.y[r]!) ** 2;
      expect(rel(s / out.length, golden.loss0)).toBeLessThan(1e-12);
    });

    it("200 steps of full-batch gradient descent: every loss to 1e-10", () => {
      const opt = createOptimizer({ name: "sgd", lr: golden.gd.lr }, f.dim);
      const theta = Float64Array.from(theta0);
      const g = new Float64Array(f.dim);
      for (let k = 0; k <= 200; k++) {
        const loss = f.gradient(theta, g);
        expect(rel(loss, golden.gd.losses[k]!)).toBeLessThan(1e-10);
        opt.step(theta, g);
      }
    });
  });

  describe("float32 storage", () => {
    const sizes = [2, 8, 1];
    const data = dataset(20, 2, 1, "mse", 9);
    const f64 = mlp({ sizes, activation: "tanh", loss: "mse" }, data);
    const f32 = mlp({ sizes, activation: "tanh", loss: "mse", dtype: "float32" }, data);

    it("agrees with float64 to float32 precision", () => {
      const theta = initialParameters(sizes, "pytorch", createRng(1));
      const g64 = new Float64Array(f64.dim);
      const g32 = new Float64Array(f32.dim);
      expect(Math.abs(f32.gradient(theta, g32) / f64.gradient(theta, g64) - 1)).toBeLessThan(1e-6);
      expect(maxRelError(g32, g64)).toBeLessThan(1e-5);
      for (const v of g32) expect(Math.fround(v)).toBe(v);
    });

    it("overflows to Infinity where float64 does not", () => {
      // Output weights of 1e19 make the outputs ~1e19 and their squares ~1e38·…: past float32's 3.4e38.
      const theta = initialParameters(sizes, "pytorch", createRng(1));
      for (const i of [24, 25, 26, 27, 28, 29, 30, 31]) theta[i] = 1e20;
      expect(Number.isFinite(f64.value(theta))).toBe(true);
      expect(f32.value(theta)).toBe(Number.POSITIVE_INFINITY);
    });
  });
});

function shuffled(n: number, rng: ReturnType<typeof createRng>): Int32Array {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

describe("permuteRows", () => {
  it("moves the rows in place exactly where pickRows copies them (shuffles, fixed points, one long cycle)", () => {
    const rng = createRng(7);
    for (const rows of [1, 2, 3, 10, 257]) {
      const x = Float64Array.from({ length: rows * 5 }, () => rng.normal());
      const y = Float64Array.from({ length: rows * 2 }, () => rng.normal());
      const orders = [
        Int32Array.from({ length: rows }, (_, i) => i),
        Int32Array.from({ length: rows }, (_, i) => (i + 1) % rows),
        shuffled(rows, rng),
      ];
      for (const order of orders) {
        const want = pickRows({ x, y, rows }, order);
        const d = { x: x.slice(), y: y.slice(), rows };
        permuteRows(d, order);
        expect(Array.from(d.x)).toEqual(Array.from(want.x));
        expect(Array.from(d.y)).toEqual(Array.from(want.y));
      }
    }
  });
});
