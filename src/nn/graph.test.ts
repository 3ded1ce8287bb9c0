import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { centralHessianVector } from "../core/finite-differences.js";
import { createRng } from "../core/rng.js";
import { poisonReleased } from "./arena.js";
import { Graph, type GraphSpec, withBatchNormMode } from "./graph.js";
import type { GraphLoss } from "./loss.js";
import { graphObjective } from "./objective.js";
import { readOnnxModel } from "./onnx/model.js";
import { graphSpecFromJson } from "./spec-json.js";
import { tensor } from "./tensor.js";

// Reference losses, gradients and Hessian-vector products from PyTorch float64
// (scripts/fixtures/torch_graph.py), on graphs as torch.onnx.export wrote them.
interface JsonTensor {
  dims: number[];
  dtype: string;
  values: number[];
}
interface Case {
  id: string;
  kind: "model" | "operator";
  description: string;
  opset: number;
  batchNorm: "train" | "eval" | null;
  graph: {
    inputs: { name: string; shape: (number | string)[] }[];
    outputs: { name: string; shape: (number | string)[] }[];
    initializers: (JsonTensor & { name: string; trainable: boolean })[];
    nodes: {
      op: string;
      name: string;
      inputs: string[];
      outputs: string[];
      attrs: Record<string, unknown>;
    }[];
  };
  input: number[];
  loss: GraphLoss;
  targets: number[];
  lossValue: number;
  params: { name: string; grad: number[]; v: number[]; hv: number[] }[];
  /** BatchNorm in training mode over blocks of `rows` rows, each its own model.train() call. */
  ghost?: { rows: number; lossValue: number; params: { grad: number[]; hv: number[] }[] };
}

const specOf = (c: Case): GraphSpec => graphSpecFromJson(c.graph, c.opset);

const file = JSON.parse(readFileSync(new URL("./__golden__/torch-graph.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

/**
 * max |a − b| / max |b| over one parameter tensor — with max |b| at least 1e-6 of the whole
 * vector's, since an entry that is zero in exact arithmetic (a key bias under softmax, whose
 * gradient cancels) is rounding noise on both sides and has no relative error.
 */
function relative(a: Float64Array, b: readonly number[], floor: number): number {
  let d = 0;
  let m = floor;
  b.forEach((x, i) => {
    d = Math.max(d, Math.abs(a[i]! - x));
    m = Math.max(m, Math.abs(x));
  });
  return m === 0 ? d : d / m;
}

// The batch axis may be symbolic ("batch"): the rows are what the data holds.
const inputShapeOf = (c: Case): number[] => c.graph.inputs[0]!.shape.slice(1) as number[];
const rowsOf = (c: Case): number => c.input.length / inputShapeOf(c).reduce((a, b) => a * b, 1);

function setUp(c: Case, spec: GraphSpec = specOf(c), statsRows?: number) {
  const graph = new Graph(spec);
  const inputShape = inputShapeOf(c);
  const rows = rowsOf(c);
  // Cross-entropy's integer labels become one-hot rows, as the MLP takes them.
  let y = Float64Array.from(c.targets);
  if (c.loss === "cross-entropy") {
    const classes = c.graph.outputs[0]!.shape[1] as number;
    y = new Float64Array(rows * classes);
    c.targets.forEach((label, r) => {
      y[r * classes + label] = 1;
    });
  }
  const objective = graphObjective(
    graph,
    { x: Float64Array.from(c.input), y, rows },
    { loss: c.loss, inputShape, ...(statsRows === undefined ? {} : { statsRows }) },
  );
  const theta = new Float64Array(graph.dim);
  const v = new Float64Array(graph.dim);
  for (const p of graph.parameters) {
    const init = c.graph.initializers.find((i) => i.name === p.name)!;
    theta.set(init.values, p.offset);
    v.set(c.params.find((q) => q.name === p.name)!.v, p.offset);
  }
  return { graph, objective, theta, v };
}

/**
 * Every parameter tensor's gradient g (computed) and H·v against the case's references (times
 * `scale`) to 1e-9 relative, with a floor of 1e-6 of the vector's largest entry for entries that
 * are exactly zero.
 */
function expectReference(c: Case, s: ReturnType<typeof setUp>, g: Float64Array, scale: number): void {
  const { graph, objective, theta, v } = s;
  const hv = new Float64Array(graph.dim);
  objective.hessianVector(theta, v, hv);
  const gScale = 1e-6 * Math.max(...c.params.flatMap((q) => q.grad.map(Math.abs)));
  const hScale = 1e-6 * Math.max(...c.params.flatMap((q) => q.hv.map(Math.abs)));
  for (const p of graph.parameters) {
    const ref = c.params.find((q) => q.name === p.name)!;
    expect(
      relative(
        g.subarray(p.offset, p.offset + p.size),
        ref.grad.map((x) => scale * x),
        scale * gScale,
      ),
      `${p.name} gradient`,
    ).toBeLessThan(1e-9);
    expect(
      relative(
        hv.subarray(p.offset, p.offset + p.size),
        ref.hv.map((x) => scale * x),
        scale * hScale,
      ),
      `${p.name} H·v`,
    ).toBeLessThan(1e-9);
  }
}

const onnxSpec = (c: Case): GraphSpec =>
  readOnnxModel(
    new Uint8Array(readFileSync(new URL(`./__golden__/onnx/${c.id}.onnx`, import.meta.url))),
    `${c.id}.onnx`,
  ).graph;

describe.each([
  ["the JSON dump", specOf],
  ["the .onnx file", onnxSpec],
] as const)("the graph engine on %s against PyTorch float64", (_from, read) => {
  // Every array a pass gives back is filled with NaN: an operator whose derivatives read what its
  // `reads` says they do not (graph.ts frees it during the forward pass) turns the result NaN.
  beforeAll(() => poisonReleased(true));
  afterAll(() => poisonReleased(false));
  it.each(file.cases.map((c) => [c.id, c] as const))("%s: loss, gradient and H·v to 1e-9", (_id, c) => {
    const spec = read(c);
    expect(
      spec.initializers
        .filter((i) => i.trainable !== false && !/^int|^uint|^bool/.test(i.dtype))
        .map((i) => i.name),
    ).toEqual(c.params.map((p) => p.name));
    const { graph, objective, theta, v } = setUp(c, spec);
    // Laid out module by module (graph.ts): the same tensors, perhaps in another order than the file's.
    expect(graph.parameters.map((p) => p.name).sort()).toEqual(c.params.map((p) => p.name).sort());
    const g = new Float64Array(graph.dim);
    const f = objective.gradient(theta, g);
    // The generator's mse sums over a row's outputs (and averages over rows); ours is PyTorch's
    // MSELoss, the mean over every output of every row: the reference divided by the row's width.
    const scale = c.loss === "mse" ? rowsOf(c) / c.targets.length : 1;
    expect(Math.abs(f - scale * c.lossValue) / Math.abs(scale * c.lossValue)).toBeLessThan(1e-12);
    expect(objective.value(theta)).toBe(f);
    expectReference(c, { graph, objective, theta, v }, g, scale);
  });
});

// BatchNorm's statistics over blocks of rows (statsRows, the CLI's --bn-batch): PyTorch's reference
// is each block a separate model.train() call, the blocks' row losses summed over N.
describe("BatchNorm statistics over blocks of rows against PyTorch's block-by-block model.train()", () => {
  const ghosts = file.cases.filter((c) => c.ghost !== undefined);
  it("covers the training-mode cases, with a last block shorter than the others", () => {
    expect(ghosts.map((c) => c.id)).toEqual([
      "bn-residual-cnn",
      "resnet8",
      "op-batchnorm2d-train",
      "op-batchnorm1d-train",
      "bn-residual-cnn-f32",
    ]);
    for (const c of ghosts) expect(rowsOf(c) % c.ghost!.rows).not.toBe(0);
  });
  it.each(ghosts.map((c) => [c.id, c] as const))("%s: loss, gradient and H·v to 1e-9", (_id, c) => {
    const ghost = c.ghost!;
    const s = setUp(c, specOf(c), ghost.rows);
    const g = new Float64Array(s.graph.dim);
    const f = s.objective.gradient(s.theta, g);
    // The generator's mse sums a row's outputs (as above).
    const scale = c.loss === "mse" ? rowsOf(c) / c.targets.length : 1;
    expect(Math.abs(f - scale * ghost.lossValue) / (scale * ghost.lossValue)).toBeLessThan(1e-12);
    // Another function than the whole batch's: the statistics differ, and so does the loss.
    expect(Math.abs(f - scale * c.lossValue) / (scale * c.lossValue)).toBeGreaterThan(1e-6);
    const blocks = { ...c, params: c.params.map((p, i) => ({ ...p, ...ghost.params[i]! })) };
    expectReference(blocks, s, g, scale);
  });
});

// Every operator also against central differences of our own value and gradient (independent of
// PyTorch): the directional derivative gᵀu and H·v, with h = 1e-5 (error O(h²)). Kinked operators
// (Relu, MaxPool) are smooth at these points unless a step crosses a kink, which these small,
// generic points avoid.
describe("the graph engine against central finite differences", () => {
  const cases = file.cases.filter(
    (c) => c.kind === "operator" || ["preln-mlp", "transformer", "conv1d-nobias"].includes(c.id),
  );
  it.each(cases.map((c) => [c.id, c] as const))("%s", (_id, c) => {
    const { graph, objective, theta, v } = setUp(c);
    const rng = createRng(7);
    const u = Float64Array.from({ length: graph.dim }, () => rng.uniform() - 0.5);
    const g = new Float64Array(graph.dim);
    objective.gradient(theta, g);
    const h = 1e-5;
    const plus = theta.map((t, i) => t + h * u[i]!);
    const minus = theta.map((t, i) => t - h * u[i]!);
    const directional = (objective.value(plus) - objective.value(minus)) / (2 * h);
    const exact = g.reduce((s, gi, i) => s + gi * u[i]!, 0);
    expect(Math.abs(directional - exact)).toBeLessThan(1e-6 * Math.max(1, Math.abs(exact)));
    const hv = new Float64Array(graph.dim);
    objective.hessianVector(theta, v, hv);
    const fd = centralHessianVector((x, out) => objective.gradient(x, out), theta, v, h);
    const scale = Math.max(1, ...Array.from(hv, Math.abs));
    for (let i = 0; i < graph.dim; i++) expect(Math.abs(fd[i]! - hv[i]!)).toBeLessThan(2e-6 * scale);
  });
});

describe("BatchNormalization's mode set on the spec (withBatchNormMode, the CLI's --batch-norm)", () => {
  // BatchNorm2d(3) exported in training mode on x·P, flattened, mse. In eval mode each channel c
  // is the affine map y = γ_c (x·P − μ_c)/√(σ²_c + ε) + β_c with the running statistics: the loss
  // by hand, and the graph with the mode set equals it (and the engine's own eval option).
  it("eval mode on a training-mode export is the running statistics' affine map, in closed form", () => {
    const c = file.cases.find((k) => k.id === "op-batchnorm2d-train")!;
    const spec = withBatchNormMode(specOf(c), "eval");
    const init = (name: string) => c.graph.initializers.find((i) => i.name === name)!.values.map(Number);
    const [P, gamma, beta, mu, v] = ["P", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"].map(
      init,
    ) as [number[], number[], number[], number[], number[]];
    const eps = spec.nodes.find((n) => n.op === "BatchNormalization")!.attrs.epsilon as number;
    const rows = rowsOf(c);
    let loss = 0;
    for (let r = 0; r < rows; r++)
      for (let i = 0; i < 48; i++) {
        const ch = Math.floor(i / 16);
        const y =
          (gamma[ch]! * (c.input[r * 48 + i]! * P[i]! - mu[ch]!)) / Math.sqrt(v[ch]! + eps) + beta[ch]!;
        loss += (y - c.targets[r * 48 + i]!) ** 2;
      }
    loss /= rows * 48;
    const forced = setUp(c, spec);
    expect(Math.abs(forced.objective.value(forced.theta) - loss)).toBeLessThan(1e-13 * loss);
    expect(new Graph(spec).couplesRows).toBe(false);
    // The same as the engine's option, gradient included; and "train" gives back the export's.
    const option = graphObjective(
      new Graph(specOf(c), { batchNorm: "eval" }),
      { x: Float64Array.from(c.input), y: Float64Array.from(c.targets), rows },
      { loss: c.loss, inputShape: inputShapeOf(c) },
    );
    const [a, b] = [new Float64Array(forced.graph.dim), new Float64Array(forced.graph.dim)];
    forced.objective.gradient(forced.theta, a);
    option.gradient(forced.theta, b);
    expect(Array.from(a)).toEqual(Array.from(b));
    const back = setUp(c, withBatchNormMode(spec, "train"));
    expect(back.objective.value(back.theta)).toBe(setUp(c).objective.value(back.theta));
  });
});

// Keras models as tf2onnx converts them (scripts/fixtures/keras_forms.py builds the files by hand
// in tf2onnx's forms — NHWC input and Transposes around each Conv, Dense as MatMul + Add, Flatten
// as a Reshape in NHWC order, BatchNormalization in inference, ReduceMean for global pooling, a
// final Softmax, TensorFlow's names — with PyTorch float64 references on the same function; its
// mse is already the mean over every output, PyTorch's and ours).
const keras = JSON.parse(readFileSync(new URL("./__golden__/keras-forms.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

/** The .onnx file as written, ending in Softmax as Keras's classifiers do: its logits, as the CLI takes them. */
function kerasSpec(c: Case): GraphSpec {
  const spec = readOnnxModel(
    new Uint8Array(readFileSync(new URL(`./__golden__/keras/${c.id}.onnx`, import.meta.url))),
    `${c.id}.onnx`,
  ).graph;
  const last = spec.nodes.find((n) => n.outputs[0] === spec.outputs[0]!.name)!;
  if (last.op !== "Softmax") return spec;
  return { ...spec, nodes: spec.nodes.filter((n) => n !== last), outputs: [{ name: last.inputs[0]! }] };
}

describe.each([
  ["the JSON dump", specOf],
  ["the .onnx file", kerasSpec],
] as const)("Keras models in tf2onnx's forms, from %s, against PyTorch float64", (_from, read) => {
  it.each(keras.cases.map((c) => [c.id, c] as const))("%s: loss, gradient and H·v to 1e-9", (_id, c) => {
    const { graph, objective, theta, v } = setUp(c, read(c));
    const g = new Float64Array(graph.dim);
    const f = objective.gradient(theta, g);
    expect(Math.abs(f - c.lossValue) / Math.abs(c.lossValue)).toBeLessThan(1e-12);
    expectReference(c, { graph, objective, theta, v }, g, 1);
  });
});

describe("tf2onnx's names", () => {
  it("group the parameters by Keras layer (conv2d, dense_1 …), without StatefulPartitionedCall and the model's name", () => {
    const modules = (id: string) => [
      ...new Set(new Graph(kerasSpec(keras.cases.find((c) => c.id === id)!)).parameters.map((p) => p.module)),
    ];
    expect(modules("keras-cnn-mnist")).toEqual(["conv2d", "conv2d_1", "dense"]);
    expect(modules("keras-cnn-bn-gap")).toEqual([
      "conv2d",
      "batch_normalization",
      "conv2d_1",
      "dense",
      "dense_1",
    ]);
    expect(modules("keras-mlp-regression")).toEqual(["dense", "dense_1", "dense_2"]);
  });
});

describe("a convolution's size check", () => {
  it("counts what it allocates (the output, one sample's columns), not rows × outputs × taps: ResNet-8's 128 images of 32×32 fit", () => {
    // 1024 samples of 64×3×3 under a 3×3 kernel to 512 channels: one output position, so the
    // convolution is the product y[n, m] = Σ_k W[m, k]·x[n, k] + b[m] over k = (c, i, j). Rows ×
    // channels × positions × taps = 3.0e8 passes the 2.7e8 cap; the output (5.2e5) and one
    // sample's columns (576) do not.
    const [N, C, M] = [1024, 64, 512];
    const K = C * 9;
    const rng = createRng(3);
    const w = Float64Array.from({ length: M * K }, () => rng.normal());
    const b = Float64Array.from({ length: M }, () => rng.normal());
    const spec: GraphSpec = {
      inputs: [{ name: "x", shape: ["N", C, 3, 3] }],
      outputs: [{ name: "y" }],
      initializers: [
        { name: "w", dims: [M, C, 3, 3], dtype: "float64", values: w },
        { name: "b", dims: [M], dtype: "float64", values: b },
      ],
      nodes: [{ op: "Conv", name: "conv", inputs: ["x", "w", "b"], outputs: ["y"], attrs: {} }],
      opset: 17,
    };
    const graph = new Graph(spec);
    const x = Float64Array.from({ length: N * K }, () => rng.normal());
    const theta = new Float64Array(graph.dim);
    for (const p of graph.parameters) theta.set(p.name === "w" ? w : b, p.offset);
    const y = graph.run(theta, tensor([N, C, 3, 3], x), null).values.get("y")!;
    expect(y.shape).toEqual([N, M, 1, 1]);
    for (const [n, m] of [
      [0, 0],
      [1023, 511],
      [517, 42],
    ] as const) {
      let s = b[m]!;
      for (let k = 0; k < K; k++) s += w[m * K + k]! * x[n * K + k]!;
      expect(Math.abs(y.data[n * M + m]! - s)).toBeLessThan(1e-12 * K);
    }
  });
});
