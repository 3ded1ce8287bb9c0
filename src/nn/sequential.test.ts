import { describe, expect, it } from "vitest";
import { centralHessianVector } from "../core/finite-differences.js";
import { createRng } from "../core/rng.js";
import { Graph } from "./graph.js";
import { LOSSES, mlpObjective } from "./mlp/mlp.js";
import { graphObjective } from "./objective.js";
import { type Layer, sequential } from "./sequential.js";

const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i]!)));

/** Seeded rows and targets for a loss: one-hot classes, 0/1 labels, or real numbers. */
function dataFor(loss: (typeof LOSSES)[number], rows: number, width: number, outputs: number) {
  const rng = createRng(3);
  const x = Float64Array.from({ length: rows * width }, () => rng.normal());
  const y = new Float64Array(rows * outputs);
  for (let r = 0; r < rows; r++)
    if (loss === "cross-entropy") y[r * outputs + Math.floor(rng.uniform() * outputs)] = 1;
    else
      for (let o = 0; o < outputs; o++)
        y[r * outputs + o] = loss === "bce" ? (rng.uniform() < 0.5 ? 1 : 0) : rng.normal();
  return { x, y, rows };
}

describe("sequential stacks as graphs", () => {
  // An MLP written as a stack is the MLP: Linear's weight is Gemm's (out × in, transB), laid out
  // weight then bias layer by layer as the MLP's θ — so the same θ gives the same numbers, for every
  // loss and with several outputs (where mse averages over each output of each row).
  it.each(LOSSES.map((l) => [l]))("a Linear–Tanh stack equals the MLP path to 1e-12 (%s)", (loss) => {
    const outputs = loss === "bce" ? 1 : 3;
    const s = sequential(
      {
        input: [4],
        layers: [{ kind: "linear", out: 6 }, { kind: "tanh" }, { kind: "linear", out: outputs }],
      },
      createRng(1),
    );
    const data = dataFor(loss, 40, 4, outputs);
    const graph = graphObjective(new Graph(s.graph), data, { loss, inputShape: [4] });
    const mlp = mlpObjective({ sizes: [4, 6, outputs], activation: "tanh", loss }, data);
    const theta = s.theta0;
    expect(graph.dim).toBe(mlp.dim);
    expect(Math.abs(graph.value(theta) - mlp.value(theta))).toBeLessThan(1e-12 * Math.abs(mlp.value(theta)));
    const [ga, gb] = [new Float64Array(mlp.dim), new Float64Array(mlp.dim)];
    graph.gradient(theta, ga);
    mlp.gradient(theta, gb);
    expect(maxDiff(ga, gb)).toBeLessThan(1e-12 * maxAbs(gb));
    const rng = createRng(5);
    const v = Float64Array.from({ length: mlp.dim }, () => rng.normal());
    graph.hessianVector(theta, v, ga);
    mlp.hessianVector(theta, v, gb);
    expect(maxDiff(ga, gb)).toBeLessThan(1e-12 * maxAbs(gb));
    expect(graph.baseline!.loss).toBeCloseTo(mlp.baseline!.loss, 14);
  });

  const cnn = (batchNorm: boolean): Layer[] => [
    { kind: "conv", out: 3, kernel: 3, stride: 2, padding: 1, bias: !batchNorm },
    ...(batchNorm ? [{ kind: "batchnorm" } as const] : []),
    { kind: "relu" },
    { kind: "maxpool", kernel: 2 },
    { kind: "conv", out: 4, kernel: 2 },
    { kind: "tanh" },
    { kind: "flatten" },
    { kind: "linear", out: 3 },
  ];

  it("lays θ out as the graph does, with PyTorch's default initial weights", () => {
    const s = sequential({ input: [2, 9, 9], layers: cnn(true) }, createRng(2));
    const graph = new Graph(s.graph);
    expect(s.shapes.map((x) => x.join("×"))).toEqual([
      "3×5×5",
      "3×5×5",
      "3×5×5",
      "3×2×2",
      "4×1×1",
      "4×1×1",
      "4",
      "3",
    ]);
    expect(graph.parameters.map((p) => `${p.name}@${p.offset}`)).toEqual([
      "0.weight@0",
      "1.weight@54",
      "1.bias@57",
      "4.weight@60",
      "4.bias@108",
      "7.weight@112",
      "7.bias@124",
    ]);
    expect(graph.dim).toBe(s.theta0.length);
    expect(graph.couplesRows).toBe(true);
    // U(−1/√fan_in, 1/√fan_in): conv 0 has fan_in 2·3·3 = 18; BatchNorm starts at γ = 1, β = 0.
    const conv0 = s.theta0.subarray(0, 54);
    expect(maxAbs(conv0)).toBeLessThanOrEqual(1 / Math.sqrt(18));
    expect(maxAbs(conv0)).toBeGreaterThan(0.8 / Math.sqrt(18));
    expect(Array.from(s.theta0.subarray(54, 60))).toEqual([1, 1, 1, 0, 0, 0]);
  });

  it.each([
    ["without", false],
    ["with", true],
  ] as const)("a CNN %s BatchNorm: gradient and H·v against central differences", (_w, batchNorm) => {
    const s = sequential({ input: [2, 9, 9], layers: cnn(batchNorm) }, createRng(4));
    const data = dataFor("cross-entropy", 12, 2 * 81, 3);
    const f = graphObjective(new Graph(s.graph), data, { loss: "cross-entropy", inputShape: [2, 9, 9] });
    const rng = createRng(6);
    const theta = s.theta0;
    const u = Float64Array.from({ length: f.dim }, () => rng.uniform() - 0.5);
    const g = new Float64Array(f.dim);
    f.gradient(theta, g);
    const h = 1e-5;
    const directional =
      (f.value(theta.map((t, i) => t + h * u[i]!)) - f.value(theta.map((t, i) => t - h * u[i]!))) / (2 * h);
    const exact = g.reduce((a, gi, i) => a + gi * u[i]!, 0);
    expect(Math.abs(directional - exact)).toBeLessThan(1e-7 * Math.max(1, Math.abs(exact)));
    const hv = new Float64Array(f.dim);
    f.hessianVector(theta, u, hv);
    const fd = centralHessianVector((x, out) => f.gradient(x, out), theta, u, h);
    expect(maxDiff(fd, hv)).toBeLessThan(1e-6 * Math.max(1, maxAbs(hv)));
  });

  it("refuses a stack that does not fit its input, in one line", () => {
    expect(() =>
      sequential({ input: [4], layers: [{ kind: "conv", out: 2, kernel: 3 }] }, createRng(1)),
    ).toThrow(/layer 0: a convolution needs \[channels, height, width\]/);
    expect(() =>
      sequential({ input: [1, 4, 4], layers: [{ kind: "conv", out: 2, kernel: 5 }] }, createRng(1)),
    ).toThrow(/layer 0 leaves nothing of the input/);
  });
});
