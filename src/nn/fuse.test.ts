import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { centralHessianVector } from "../core/finite-differences.js";
import { createRng } from "../core/rng.js";
import { poisonReleased } from "./arena.js";
import { Graph } from "./graph.js";
import { graphObjective } from "./objective.js";
import { graphSpecFromJson, type JsonGraph } from "./spec-json.js";
import { tensor } from "./tensor.js";

// Arrays given back are filled with NaN, and every size is pooled: an operator whose derivatives
// read what the pass gave back (Op.reads) turns the results NaN.
beforeAll(() => poisonReleased(true));
afterAll(() => poisonReleased(false));

/**
 * The fused operators (ops/fused.ts) and the pass that finds their chains in an exported graph
 * (fuse.ts): against the unfused graph (the file's own primitives), and against central finite
 * differences, which know nothing of either.
 */

const rng = createRng(29);
const uniform = (n: number, lo = -1, hi = 1) =>
  Float64Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());

/** Largest |a − b| over the largest |b|. */
function relative(a: Float64Array, b: Float64Array): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    s = Math.max(s, Math.abs(b[i]!));
  }
  return d / s;
}

/** Loss, gradient and H·v of a graph's objective at θ along v. */
function derivatives(
  graph: Graph,
  theta: Float64Array,
  v: Float64Array,
  data: { x: Float64Array; y: Float64Array; rows: number },
  inputShape: number[],
  loss: "mse" | "cross-entropy",
) {
  const objective = graphObjective(graph, data, { loss, inputShape });
  const g = new Float64Array(graph.dim);
  const hv = new Float64Array(graph.dim);
  const f = objective.gradient(theta, g);
  objective.hessianVector(theta, v, hv);
  return { f, g, hv, objective };
}

interface Case {
  id: string;
  opset: number;
  graph: JsonGraph & { inputs: { name: string; shape: (number | string)[] }[] };
  input: number[];
}
const cases = (
  JSON.parse(readFileSync(new URL("./__golden__/torch-graph.json", import.meta.url), "utf8")) as {
    cases: Case[];
  }
).cases;

describe("fusing the chains torch.onnx.export writes", () => {
  // Below opset 17 the exporter spells LayerNorm as ReduceMean → Sub → Pow → ReduceMean → Add →
  // Sqrt → Div, and below opset 20 the exact GELU as Div → Erf → Add → Mul → Mul, with its
  // constants in float32 when the model was (-f32); a Linear layer is MatMul → Add(bias, ·).
  it.each(["preln-mlp-opset13", "preln-mlp-opset13-f32", "transformer", "transformer-dynamic-f32"])(
    "%s: one operator a chain; the chain's loss bit for bit, its gradient and H·v to rounding",
    (id) => {
      const c = cases.find((k) => k.id === id)!;
      const spec = graphSpecFromJson(c.graph, c.opset);
      const fused = new Graph(spec);
      const plain = new Graph(spec, { fuse: false });
      const count = (g: Graph, op: string) => g.operators.filter((o) => o === op).length;
      expect(count(plain, "Sqrt") + count(plain, "Erf")).toBeGreaterThan(0);
      expect(count(fused, "overshoot.Normalize") - count(plain, "overshoot.Normalize")).toBe(
        count(plain, "Sqrt"),
      );
      expect(count(fused, "overshoot.ErfGelu") - count(plain, "overshoot.ErfGelu")).toBe(count(plain, "Erf"));
      expect(count(fused, "Sqrt") + count(fused, "Erf") + count(fused, "Pow")).toBe(0);
      // Every Linear layer's bias: a MatMul whose product only an Add with a 1-D initializer reads.
      expect(count(fused, "overshoot.MatMulBias")).toBeGreaterThan(0);
      expect(count(fused, "MatMul") + count(fused, "overshoot.MatMulBias")).toBe(count(plain, "MatMul"));
      expect(count(fused, "Softmax")).toBe(count(plain, "Softmax"));

      const shape = c.graph.inputs[0]!.shape.slice(1) as number[];
      const rows = c.input.length / shape.reduce((p, q) => p * q, 1);
      const theta = new Float64Array(fused.dim);
      for (const p of fused.parameters)
        theta.set(c.graph.initializers.find((i) => i.name === p.name)!.values, p.offset);
      const x = Float64Array.from(c.input);
      const out = fused.run(theta, tensor([rows, ...shape], x), null).values.get(fused.output)!;
      const data = { x, y: uniform(out.data.length), rows };
      const v = uniform(fused.dim);
      const a = derivatives(fused, theta, v, data, shape, "mse");
      const b = derivatives(plain, theta, v, data, shape, "mse");
      expect(a.f).toBe(b.f);
      expect(relative(a.g, b.g)).toBeLessThan(1e-13);
      expect(relative(a.hv, b.hv)).toBeLessThan(1e-13);
    },
  );
});

/** One weight before and after the operator, so θ reaches its input and its output. */
function sandwich(
  row: number[],
  node: { op: string; attrs: Record<string, unknown> },
  chain?: JsonGraph["nodes"],
): Graph {
  const n = row.reduce((a, b) => a * b, 1);
  const spec: JsonGraph = {
    inputs: [{ name: "input", shape: ["batch", ...row] }],
    outputs: [{ name: "y" }],
    initializers: [
      { name: "w1", dims: row, dtype: "float64", values: Array.from(uniform(n, 0.5, 1.5)) },
      { name: "w2", dims: row, dtype: "float64", values: Array.from(uniform(n, 0.5, 1.5)) },
    ],
    nodes: [
      { op: "Mul", name: "in", inputs: ["input", "w1"], outputs: ["a"], attrs: {} },
      ...(chain ?? [{ op: node.op, name: "op", inputs: ["a"], outputs: ["b"], attrs: node.attrs }]),
      { op: "Mul", name: "out", inputs: ["b", "w2"], outputs: ["c"], attrs: {} },
      { op: "Flatten", name: "flat", inputs: ["c"], outputs: ["y"], attrs: {} },
    ],
  };
  return new Graph(graphSpecFromJson(spec, 17));
}

/** The gradient and H·v of an mse objective over the graph against central differences. */
function checkAgainstDifferences(graph: Graph, row: number[], rows: number, width?: number): void {
  const n = row.reduce((a, b) => a * b, 1);
  const theta = uniform(graph.dim, 0.5, 1.5);
  const data = { x: uniform(rows * n, -2, 2), y: uniform(rows * (width ?? n)), rows };
  const u = uniform(graph.dim, -0.5, 0.5);
  const { g, hv, objective } = derivatives(graph, theta, u, data, row, "mse");
  const h = 1e-5;
  const directional =
    (objective.value(theta.map((t, i) => t + h * u[i]!)) -
      objective.value(theta.map((t, i) => t - h * u[i]!))) /
    (2 * h);
  const exact = g.reduce((s, gi, i) => s + gi * u[i]!, 0);
  expect(Math.abs(directional - exact)).toBeLessThan(1e-8 * Math.max(1, Math.abs(exact)));
  const fd = centralHessianVector((p, out) => objective.gradient(p, out), theta, u, h);
  expect(relative(hv, fd)).toBeLessThan(1e-6);
}

describe("overshoot.Normalize", () => {
  it.each([
    ["LayerNorm over the last axis", [3, 4], { overshoot_from: -1, epsilon: 1e-5 }],
    ["LayerNorm over the last two axes", [3, 4], { overshoot_from: -2, epsilon: 1e-3 }],
    [
      "BatchNorm's statistics: every axis but the channel",
      [3, 2, 2],
      { overshoot_all_but: 1, epsilon: 1e-5 },
    ],
  ] as const)("%s: gradient and H·v against finite differences", (_label, row, attrs) => {
    checkAgainstDifferences(sandwich([...row], { op: "overshoot.Normalize", attrs }), [...row], 4);
  });

  it("equals the chain of primitives it replaces, with BatchNorm's statistics", () => {
    // (x − μ)/√(σ² + ε) spelled out, its means over every axis of [rows, 3, 2, 2] but 1.
    const all = { axes: [0, 2, 3] };
    const chain: JsonGraph["nodes"] = [
      { op: "ReduceMean", name: "m", inputs: ["a"], outputs: ["mu"], attrs: all },
      { op: "Sub", name: "d", inputs: ["a", "mu"], outputs: ["d"], attrs: {} },
      { op: "Mul", name: "q", inputs: ["d", "d"], outputs: ["q"], attrs: {} },
      { op: "ReduceMean", name: "v", inputs: ["q"], outputs: ["v"], attrs: all },
      { op: "Add", name: "e", inputs: ["v", "eps"], outputs: ["w"], attrs: {} },
      { op: "Sqrt", name: "s", inputs: ["w"], outputs: ["s"], attrs: {} },
      { op: "Div", name: "n", inputs: ["d", "s"], outputs: ["b"], attrs: {} },
    ];
    const epsNode = {
      op: "Constant",
      name: "epsc",
      inputs: [],
      outputs: ["eps"],
      attrs: { value: { dims: [], dtype: "float64", values: [1e-5] } },
    };
    const row = [3, 2, 2];
    const seed = rng.uniform();
    const build = (fusedOp: boolean) => {
      const r = createRng(Math.floor(seed * 1e9));
      const n = 12;
      const w = () => Array.from({ length: n }, () => 0.5 + r.uniform());
      return new Graph(
        graphSpecFromJson(
          {
            inputs: [{ name: "input", shape: ["batch", ...row] }],
            outputs: [{ name: "y" }],
            initializers: [
              { name: "w1", dims: row, dtype: "float64", values: w() },
              { name: "w2", dims: row, dtype: "float64", values: w() },
            ],
            nodes: [
              { op: "Mul", name: "in", inputs: ["input", "w1"], outputs: ["a"], attrs: {} },
              ...(fusedOp
                ? [
                    {
                      op: "overshoot.Normalize",
                      name: "op",
                      inputs: ["a"],
                      outputs: ["b"],
                      attrs: { overshoot_all_but: 1, epsilon: 1e-5 },
                    },
                  ]
                : [epsNode, ...chain]),
              { op: "Mul", name: "out", inputs: ["b", "w2"], outputs: ["c"], attrs: {} },
              { op: "Flatten", name: "flat", inputs: ["c"], outputs: ["y"], attrs: {} },
            ],
          },
          17,
        ),
      );
    };
    const a = build(true);
    const b = build(false);
    const theta = uniform(a.dim, 0.5, 1.5);
    const v = uniform(a.dim);
    const data = { x: uniform(5 * 12, -2, 2), y: uniform(5 * 12), rows: 5 };
    const fa = derivatives(a, theta, v, data, row, "mse");
    const fb = derivatives(b, theta, v, data, row, "mse");
    expect(Math.abs(fa.f - fb.f)).toBeLessThan(1e-14 * Math.abs(fb.f));
    expect(relative(fa.g, fb.g)).toBeLessThan(1e-13);
    expect(relative(fa.hv, fb.hv)).toBeLessThan(1e-13);
  });
});

describe("overshoot.ErfGelu", () => {
  it.each([
    ["(x·p)·k", { divisor: Math.SQRT2, offset: 1, factor: 0.5, early: 0 }],
    ["(x·k)·p", { divisor: Math.SQRT2, offset: 1, factor: 0.5, early: 1 }],
    ["other constants", { divisor: 1.3, offset: 0.7, factor: 2, early: 0 }],
  ] as const)("%s: gradient and H·v against finite differences", (_label, attrs) => {
    checkAgainstDifferences(sandwich([5], { op: "overshoot.ErfGelu", attrs }), [5], 6);
  });
});

describe("what is not fused", () => {
  const ln = (over: Partial<Record<"axes" | "power" | "readMean", unknown>> = {}): JsonGraph["nodes"] => [
    {
      op: "Constant",
      name: "two",
      inputs: [],
      outputs: ["two"],
      attrs: { value: { dims: [], dtype: "float64", values: [over.power ?? 2] } },
    },
    {
      op: "Constant",
      name: "epsc",
      inputs: [],
      outputs: ["eps"],
      attrs: { value: { dims: [], dtype: "float64", values: [1e-5] } },
    },
    { op: "ReduceMean", name: "m", inputs: ["a"], outputs: ["mu"], attrs: { axes: over.axes ?? [-1] } },
    { op: "Sub", name: "d", inputs: ["a", "mu"], outputs: ["d"], attrs: {} },
    { op: "Pow", name: "q", inputs: ["d", "two"], outputs: ["q"], attrs: {} },
    { op: "ReduceMean", name: "v", inputs: ["q"], outputs: ["v"], attrs: { axes: over.axes ?? [-1] } },
    { op: "Add", name: "e", inputs: ["v", "eps"], outputs: ["w"], attrs: {} },
    { op: "Sqrt", name: "s", inputs: ["w"], outputs: ["s"], attrs: {} },
    { op: "Div", name: "n", inputs: ["d", "s"], outputs: [over.readMean ? "n" : "b"], attrs: {} },
    ...(over.readMean ? [{ op: "Add", name: "reuse", inputs: ["n", "mu"], outputs: ["b"], attrs: {} }] : []),
  ];
  const fusedCount = (nodes: JsonGraph["nodes"]) =>
    sandwich([3, 4], { op: "", attrs: {} }, nodes).operators.filter((o) => o === "overshoot.Normalize")
      .length;

  it("fuses the chain as exported", () => expect(fusedCount(ln())).toBe(1));
  it("leaves a chain whose mean another node reads", () =>
    expect(fusedCount(ln({ readMean: true }))).toBe(0));
  it("leaves a power other than 2", () => expect(fusedCount(ln({ power: 3 }))).toBe(0));
  it("leaves axes named from the front (the rank is not known when the graph is built)", () =>
    expect(fusedCount(ln({ axes: [2] }))).toBe(0));
});

describe("overshoot.MatMulBias", () => {
  it.each([
    ["a bias per output", [4]],
    ["one bias for all", [1]],
  ] as const)(
    "%s: the chain's values bit for bit, gradient and H·v against finite differences",
    (_label, dims) => {
      const spec: JsonGraph = {
        inputs: [{ name: "input", shape: ["batch", 2, 3] }],
        outputs: [{ name: "y" }],
        initializers: [
          { name: "w", dims: [3, 4], dtype: "float64", values: Array.from(uniform(12)) },
          { name: "b", dims: [...dims], dtype: "float64", values: Array.from(uniform(dims[0]!)) },
        ],
        nodes: [
          { op: "MatMul", name: "mm", inputs: ["input", "w"], outputs: ["z"], attrs: {} },
          { op: "Add", name: "bias", inputs: ["b", "z"], outputs: ["a"], attrs: {} },
          { op: "Tanh", name: "t", inputs: ["a"], outputs: ["h"], attrs: {} },
          { op: "Flatten", name: "flat", inputs: ["h"], outputs: ["y"], attrs: {} },
        ],
      };
      const fused = new Graph(graphSpecFromJson(spec, 17));
      const plain = new Graph(graphSpecFromJson(spec, 17), { fuse: false });
      expect(fused.operators).toContain("overshoot.MatMulBias");
      const theta = uniform(fused.dim);
      const x = uniform(5 * 6, -2, 2);
      const run = (g: Graph) => g.run(theta, tensor([5, 2, 3], x), null).values.get("y")!.data;
      expect(Array.from(run(fused))).toEqual(Array.from(run(plain)));
      checkAgainstDifferences(fused, [2, 3], 5, 8);
    },
  );
});
