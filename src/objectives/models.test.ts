import { describe, expect, it } from "vitest";
import { centralGradient, centralHessianVector } from "../core/finite-differences.js";
import { createRng } from "../core/rng.js";
import { modelObjective } from "./models.js";
import { designFromTable, numericTable, parseCsv } from "./table.js";

const rng = createRng(3);
const rows = 40;
let csv = "a,b,c,label,y\n";
for (let i = 0; i < rows; i++) {
  const a = rng.normal() * 3;
  const b = 100 + 20 * rng.normal();
  const c = rng.uniform();
  const label = a + 0.05 * b + rng.normal() > 5 ? 1 : 0;
  csv += `${a},${b},${c},${label},${2 * a - 0.3 * b + c + rng.normal()}\n`;
}
const table = numericTable(csv, "test.csv");

/** (scale/n)·Aᵀdiag(w)A with A = [X 1], straight from the definition. */
function closedFormHessian(
  x: Float64Array,
  n: number,
  p: number,
  w: (i: number) => number,
  scale: number,
): Float64Array {
  const d = p + 1;
  const h = new Float64Array(d * d);
  for (let r = 0; r < d; r++) {
    for (let c = 0; c < d; c++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += w(i) * (r < p ? x[i * p + r]! : 1) * (c < p ? x[i * p + c]! : 1);
      h[r * d + c] = (scale * s) / n;
    }
  }
  return h;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  for (let i = 0; i < b.length; i++)
    expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)));
};

describe("linear and logistic regression objectives", () => {
  const linear = modelObjective("linear", designFromTable(table, "y", ["a", "b", "c"]), "test.csv");
  const logistic = modelObjective("logistic", designFromTable(table, "label", ["a", "b"], true), "test.csv");

  it("parameters are the weights in feature order, then the bias", () => {
    expect(linear.names).toEqual(["a", "b", "c", "bias"]);
    expect(logistic.names).toEqual(["a", "b", "bias"]);
  });

  it("loss is the mean squared error (no ½) and the mean cross-entropy", () => {
    const theta = Float64Array.of(0, 0, 0, 0);
    const ys = designFromTable(table, "y").y;
    expect(linear.value(theta)).toBeCloseTo(ys.reduce((s, v) => s + v * v, 0) / rows, 10);
    expect(logistic.value(Float64Array.of(0, 0, 0))).toBeCloseTo(Math.log(2), 14);
  });

  it.each([
    ["linear", linear],
    ["logistic", logistic],
  ] as const)("%s: gradient and HVP against central differences, Hessian against its closed form", (_, f) => {
    for (let t = 0; t < 4; t++) {
      const theta = Float64Array.from({ length: f.dim }, () => rng.normal() * 0.1);
      const v = Float64Array.from({ length: f.dim }, () => rng.normal());
      const g = new Float64Array(f.dim);
      expect(f.gradient(theta, g)).toBeCloseTo(f.value(theta), 12);
      close(g, centralGradient(f.value, theta, 1e-6), 1e-6);
      const hv = new Float64Array(f.dim);
      f.hessianVector(theta, v, hv);
      close(hv, centralHessianVector(f.gradient, theta, v, 1e-5), 1e-6);
      const h = new Float64Array(f.dim * f.dim);
      f.hessian(theta, h);
      const { x, rows: n, features } = f.design;
      const p = features.length;
      let expected: Float64Array;
      if (f.model === "linear") expected = closedFormHessian(x, n, p, () => 1, 2);
      else {
        const probs = Array.from({ length: n }, (_, i) => {
          let z = theta[p]!;
          for (let j = 0; j < p; j++) z += x[i * p + j]! * theta[j]!;
          return 1 / (1 + Math.exp(-z));
        });
        expected = closedFormHessian(x, n, p, (i) => probs[i]! * (1 - probs[i]!), 1);
      }
      close(h, expected, 1e-12);
    }
  });

  it("the cross-entropy stays finite for huge margins", () => {
    expect(Number.isFinite(logistic.value(Float64Array.of(1e6, -1e6, 1e6)))).toBe(true);
  });

  it("standardizing gives columns of mean 0 and variance 1", () => {
    const d = designFromTable(table, "label", ["a", "b"], true);
    for (let j = 0; j < 2; j++) {
      let m = 0;
      let v = 0;
      for (let i = 0; i < rows; i++) m += d.x[i * 2 + j]!;
      for (let i = 0; i < rows; i++) v += d.x[i * 2 + j]! ** 2;
      expect(m / rows).toBeCloseTo(0, 12);
      expect(v / rows).toBeCloseTo(1, 12);
    }
  });
});

describe("CSV errors name the problem and where", () => {
  it.each([
    ["empty file", "", /test\.csv is empty/],
    ["header only", "a,b\n", /has a header but no data rows/],
    ["ragged row", "a,b\n1,2\n3\n", /row 3 has 1 cell but the header has 2/],
    ["non-numeric cell", "a,b\n1,2\n3,x7\n", /row 3, column 'b': 'x7' is not a number/],
    ["empty cell", "a,b\n1,\n", /row 2, column 'b': empty cell/],
    ["unclosed quote", 'a,b\n"1,2\n', /unclosed quote/],
    ["duplicate column", "a,a\n1,2\n", /column 'a' appears twice/],
  ])("%s", (_, text, message) => {
    expect(() => numericTable(text, "test.csv")).toThrow(message);
  });

  it("missing column lists the columns", () => {
    expect(() => designFromTable(table, "z")).toThrow(
      /invalid target: no column 'z' \(columns: a, b, c, label, y\)/,
    );
    expect(() => designFromTable(table, "y", ["a", "q"])).toThrow(/invalid features: no column 'q'/);
  });

  it("logistic needs 0/1 labels", () => {
    expect(() => modelObjective("logistic", designFromTable(table, "y", ["a"]), "t")).toThrow(
      /needs 0\/1 labels, but 'y' is .* in data row 1/,
    );
  });

  it("parses quotes, CRLF and blank lines", () => {
    expect(parseCsv('x,"y, with comma"\r\n1,"2"\r\n\r\n')).toEqual([
      ["x", "y, with comma"],
      ["1", "2"],
    ]);
  });
});
