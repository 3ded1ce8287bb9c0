import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { centralHessianVector } from "../core/finite-differences.js";
import { createRng } from "../core/rng.js";
import { poisonReleased } from "./arena.js";
import { Graph } from "./graph.js";
import { graphObjective } from "./objective.js";
import { graphSpecFromJson } from "./spec-json.js";
import { tensor } from "./tensor.js";

// Arrays given back are filled with NaN, and every size is pooled: an operator whose derivatives
// read what the pass gave back (Op.reads) turns the results NaN.
beforeAll(() => poisonReleased(true));
afterAll(() => poisonReleased(false));

/**
 * The binary operators' broadcast loops: a weight broadcast as a run (a row's mean, a channel's
 * statistic), as a period (a bias over the last axes), as a scalar, or both operands broadcast,
 * on either side of Add, Sub, Mul and Div. The forward values against NumPy's rule written out
 * naively, bit for bit; the gradient and H·v against central finite differences.
 */
const OPS = ["Add", "Sub", "Mul", "Div"] as const;
const f = {
  Add: (a: number, b: number) => a + b,
  Sub: (a: number, b: number) => a - b,
  Mul: (a: number, b: number) => a * b,
  Div: (a: number, b: number) => a / b,
};
// [the data's shape per row (2 rows), the weight's shape]
const PATTERNS: [number[], number[]][] = [
  [
    [3, 4],
    [1, 3, 1],
  ],
  [[3, 4], [4]],
  [
    [3, 4],
    [2, 3, 1],
  ],
  [
    [3, 4],
    [3, 4],
  ],
  [[3, 4], [1]],
  [
    [1, 4],
    [1, 3, 1],
  ],
  [[3, 1], [4]],
];

/** NumPy broadcasting, one element at a time. */
function naive(
  op: (a: number, b: number) => number,
  a: Float64Array,
  as: number[],
  b: Float64Array,
  bs: number[],
) {
  const rank = Math.max(as.length, bs.length);
  const pa = [...Array(rank - as.length).fill(1), ...as];
  const pb = [...Array(rank - bs.length).fill(1), ...bs];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const n = shape.reduce((x, y) => x * y, 1);
  const out = new Float64Array(n);
  const flat = (s: number[], at: number[]) => at.reduce((acc, v, i) => acc * s[i]! + (s[i] === 1 ? 0 : v), 0);
  for (let k = 0; k < n; k++) {
    const at: number[] = [];
    let r = k;
    for (let i = rank - 1; i >= 0; i--) {
      at[i] = r % shape[i]!;
      r = Math.floor(r / shape[i]!);
    }
    out[k] = op(a[flat(pa, at)]!, b[flat(pb, at)]!);
  }
  return { out, shape };
}

describe("binary operators under broadcasting", () => {
  const cases = OPS.flatMap((op) =>
    PATTERNS.flatMap(([row, w]) =>
      [true, false].map((dataFirst) => {
        const x = `x[2,${row.join(",")}]`;
        const weight = `w[${w.join(",")}]`;
        return [
          `${op}(${dataFirst ? `${x}, ${weight}` : `${weight}, ${x}`})`,
          op,
          row,
          w,
          dataFirst,
        ] as const;
      }),
    ),
  );
  it.each(cases)("%s", (_label, op, row, w, dataFirst) => {
    const rng = createRng(11);
    const rows = 2;
    const xs = [rows, ...row];
    const x = Float64Array.from({ length: xs.reduce((a, b) => a * b, 1) }, () => 1 + rng.uniform());
    const wv = Float64Array.from({ length: w.reduce((a, b) => a * b, 1) }, () => 1 + rng.uniform());
    const inputs = dataFirst ? ["input", "w"] : ["w", "input"];
    const spec = graphSpecFromJson(
      {
        inputs: [{ name: "input", shape: ["batch", ...row] }],
        outputs: [{ name: "y" }],
        initializers: [{ name: "w", dims: w, dtype: "float64", values: Array.from(wv), trainable: true }],
        nodes: [
          { op, name: "op", inputs, outputs: ["z"], attrs: {} },
          { op: "Flatten", name: "flat", inputs: ["z"], outputs: ["y"], attrs: {} },
        ],
      },
      17,
    );
    const graph = new Graph(spec);
    const [a, as, b, bs] = dataFirst ? [x, xs, wv, w] : [wv, w, x, xs];
    const expected = naive(f[op], a, as, b, bs);
    // z is only Flatten's input, so the pass moves it to `gone` once Flatten has run (outside an
    // arena scope its array is not reused: the contents stay).
    const pass = graph.run(wv, tensor(xs, x), null);
    const got = (pass.values.get("z") ?? pass.gone.get("z"))!;
    expect(got.shape).toEqual(expected.shape);
    expect(Array.from(got.data)).toEqual(Array.from(expected.out));
    // A loss over the output, its gradient and H·v in w against finite differences.
    const targets = Float64Array.from({ length: expected.out.length }, () => rng.uniform());
    expect(expected.shape[0]).toBe(rows);
    const objective = graphObjective(graph, { x, y: targets, rows }, { loss: "mse", inputShape: row });
    const g = new Float64Array(graph.dim);
    objective.gradient(wv, g);
    const u = Float64Array.from({ length: graph.dim }, () => rng.uniform() - 0.5);
    const h = 1e-5;
    const directional =
      (objective.value(wv.map((t, i) => t + h * u[i]!)) - objective.value(wv.map((t, i) => t - h * u[i]!))) /
      (2 * h);
    const exact = g.reduce((s, gi, i) => s + gi * u[i]!, 0);
    expect(Math.abs(directional - exact)).toBeLessThan(1e-7 * Math.max(1, Math.abs(exact)));
    const hv = new Float64Array(graph.dim);
    objective.hessianVector(wv, u, hv);
    const fd = centralHessianVector((p, out) => objective.gradient(p, out), wv, u, h);
    const scale = Math.max(1, ...Array.from(hv, Math.abs));
    for (let i = 0; i < graph.dim; i++) expect(Math.abs(fd[i]! - hv[i]!)).toBeLessThan(1e-6 * scale);
  });
});
