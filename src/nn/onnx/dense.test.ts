import { readFileSync } from "node:fs";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { hessianOperator } from "../../analysis/curvature/hvp.js";
import { lanczos } from "../../analysis/curvature/lanczos.js";
import { type Activation, type Loss, mlpObjective } from "../mlp/mlp.js";
import { readOnnxNetwork } from "./dense.js";
import { ONNX_PROTO } from "./schema.js";

/**
 * Networks exported by torch.onnx.export (and one in tf2onnx's MatMul+Add form built with
 * onnx.helper), against PyTorch's own loss, gradient and Hessian on the same rows:
 * scripts/fixtures/torch_onnx.py.
 */
interface Model {
  file: string;
  dtype: "float32" | "float64";
  sizes: number[];
  activations: Activation[];
  output: "softmax" | "sigmoid" | "none";
  loss: Loss;
  rows: number;
  inputShape?: number[];
  x: number[];
  y: number[];
  theta: number[];
  loss0: number;
  grad0: number[];
  top: number[];
  min: number;
  float32?: { loss0: number; grad0: number[]; top: number[] };
}
const golden = JSON.parse(readFileSync(new URL("./__golden__/torch-onnx.json", import.meta.url), "utf8")) as {
  models: Record<string, Model>;
  refused: { file: string; op: string; node: string }[];
};
const bytesOf = (file: string) =>
  new Uint8Array(readFileSync(new URL(`./__golden__/${file}`, import.meta.url)));

const relMax = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < b.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
  }
  return err / scale;
};

function measure(
  m: Model,
  theta: Float64Array,
  sizes: readonly number[],
  activations: readonly Activation[],
) {
  const f = mlpObjective(
    { sizes, activation: activations[0] ?? "identity", activations, loss: m.loss },
    { x: Float64Array.from(m.x), y: Float64Array.from(m.y), rows: m.rows },
  );
  const g = new Float64Array(f.dim);
  const loss = f.gradient(theta, g);
  const s = lanczos(hessianOperator(f, theta), { k: 1 });
  return { loss, g, top: s.top[0]!.value, min: s.bottom!.value };
}

describe.each(Object.values(golden.models).map((m) => [m.file, m] as const))("%s", (file, m) => {
  const net = readOnnxNetwork(bytesOf(file), file);

  it("architecture and weights as PyTorch stored them (float32 widened exactly)", () => {
    expect(net.sizes).toEqual(m.sizes);
    expect(net.activations).toEqual(m.activations);
    expect(net.output).toBe(m.output);
    expect(net.dtype).toBe(m.dtype);
    expect(Array.from(net.theta)).toEqual(m.theta);
    if (m.inputShape) expect(net.inputShape).toEqual(m.inputShape);
  });

  it("loss, gradient and λmax equal PyTorch's: 1e-10 against float64, 1e-5 against PyTorch's float32", () => {
    const r = measure(m, net.theta, net.sizes, net.activations);
    expect(Math.abs(r.loss - m.loss0) / Math.abs(m.loss0)).toBeLessThan(1e-12);
    expect(relMax(r.g, m.grad0)).toBeLessThan(1e-10);
    expect(Math.abs(r.top - m.top[0]!) / m.top[0]!).toBeLessThan(1e-10);
    expect(Math.abs(r.min - m.min) / m.top[0]!).toBeLessThan(1e-10);
    if (m.float32) {
      expect(Math.abs(r.loss - m.float32.loss0) / Math.abs(m.float32.loss0)).toBeLessThan(1e-5);
      expect(relMax(r.g, m.float32.grad0)).toBeLessThan(1e-5);
      expect(Math.abs(r.top - m.float32.top[0]!) / m.float32.top[0]!).toBeLessThan(1e-5);
    }
  });
});

describe("models the importer refuses, naming the operator and the node", () => {
  it.each(golden.refused.map((r) => [r.file, r] as const))("%s", (file, r) => {
    expect(() => readOnnxNetwork(bytesOf(file), file)).toThrow(
      new RegExp(
        `${r.op}.*"${r.node.replace(/[/]/g, "\\/")}"|"${r.node.replace(/[/]/g, "\\/")}" \\(${r.op}\\)`,
      ),
    );
  });

  it("a node name with a newline stays on one line", () => {
    const type = protobuf.parse(ONNX_PROTO).root.lookupType("onnx.ModelProto");
    const model = type.toObject(type.decode(bytesOf("conv.onnx")), { longs: Number }) as {
      graph: { node: { name: string }[] };
    };
    model.graph.node[0]!.name = "evil\nline two";
    const bytes = type.encode(type.fromObject(model)).finish();
    expect(() => readOnnxNetwork(bytes, "evil.onnx")).toThrow(/^[^\n]*node "evil\\nline two"[^\n]*$/);
  });

  it("bytes that are not a model", () => {
    expect(() => readOnnxNetwork(new TextEncoder().encode("x1,x2,y\n1,2,3\n"), "train.csv")).toThrow(
      /^train.csv is not an ONNX model/,
    );
    expect(() => readOnnxNetwork(bytesOf("tanh-f64.onnx").subarray(0, 700), "cut.onnx")).toThrow(
      /^cut.onnx is not an ONNX model/,
    );
  });
});

describe("the Gelu operator of opset 20", () => {
  it("equals PyTorch's exported erf chain: the same numbers as mixed-f64 with one Gelu node in its place", () => {
    // Re-encode mixed-f64.onnx with its Div–Erf–Add–Mul–Mul chain replaced by Gelu (onnx 1.12,
    // which made the fixtures, has no Gelu op to export).
    const type = protobuf.parse(ONNX_PROTO).root.lookupType("onnx.ModelProto");
    const model = type.toObject(type.decode(bytesOf("mixed-f64.onnx")), { longs: Number }) as {
      graph: {
        node: { opType: string; name: string; input: string[]; output: string[]; attribute?: unknown[] }[];
      };
      opsetImport: { version: number }[];
    };
    const nodes = model.graph.node;
    const div = nodes.findIndex((n) => n.opType === "Div");
    const last = nodes.findIndex((n) => n.name === "/4/Mul_1");
    const x = nodes[div]!.input[0]!;
    const out = nodes[last]!.output[0]!;
    const chain = new Set(nodes.slice(div - 1, last + 1).map((n) => n.name));
    model.graph.node = nodes.filter((n) => !chain.has(n.name) || n.name === "/4/Mul_1");
    const gelu = model.graph.node.find((n) => n.name === "/4/Mul_1")!;
    Object.assign(gelu, { opType: "Gelu", name: "/4/Gelu", input: [x], output: [out], attribute: [] });
    model.opsetImport = [{ version: 20 }];
    const bytes = type.encode(type.fromObject(model)).finish();
    const net = readOnnxNetwork(bytes, "gelu.onnx");
    const m = golden.models["mixed-f64.onnx"]!;
    expect(net.activations).toEqual(m.activations);
    const r = measure(m, net.theta, net.sizes, net.activations);
    expect(relMax(r.g, m.grad0)).toBeLessThan(1e-10);
    expect(Math.abs(r.top - m.top[0]!) / m.top[0]!).toBeLessThan(1e-10);
  });
});

describe("Keras's Flatten as tf2onnx writes it: a Reshape to [-1, n] at the input", () => {
  type Graph = {
    node: { opType: string; name: string; input: string[]; output: string[] }[];
    initializer: { name: string; dims: number[]; dataType: number; rawData?: Uint8Array }[];
  };
  const type = protobuf.parse(ONNX_PROTO).root.lookupType("onnx.ModelProto");
  /** matmul-f32.onnx with Reshape(x, shape) in front, the shape stored as tf2onnx does (int64 raw_data). */
  function withReshape(shape: number[]): Uint8Array {
    const model = type.toObject(type.decode(bytesOf("matmul-f32.onnx")), { longs: Number }) as {
      graph: Graph;
    };
    const raw = new Uint8Array(8 * shape.length);
    const view = new DataView(raw.buffer);
    for (const [i, v] of shape.entries()) view.setBigInt64(8 * i, BigInt(v), true);
    model.graph.initializer.push({
      name: "sequential/flatten/Const:0",
      dims: [shape.length],
      dataType: 7,
      rawData: raw,
    });
    model.graph.node[0]!.input[0] = "sequential/flatten/Reshape:0";
    model.graph.node.unshift({
      opType: "Reshape",
      name: "sequential/flatten/Reshape",
      input: ["x", "sequential/flatten/Const:0"],
      output: ["sequential/flatten/Reshape:0"],
    });
    return type.encode(type.fromObject(model)).finish();
  }

  it("is read as a flatten: the same network and weights as without it", () => {
    const plain = readOnnxNetwork(bytesOf("matmul-f32.onnx"));
    for (const shape of [
      [-1, 5],
      [0, -1],
    ]) {
      const net = readOnnxNetwork(withReshape(shape), "flatten.onnx");
      expect(net.sizes).toEqual(plain.sizes);
      expect(Array.from(net.theta)).toEqual(Array.from(plain.theta));
    }
  });

  it("any other Reshape is refused, naming the node and the shape", () => {
    expect(() => readOnnxNetwork(withReshape([5, -1]), "r.onnx")).toThrow(
      /node "sequential\/flatten\/Reshape" \(Reshape\) is a Reshape to \[5, -1\] \(only flattening the input, to \[-1, n\]\)/,
    );
    expect(() => readOnnxNetwork(withReshape([-1, 4]), "r.onnx")).toThrow(/a Reshape to \[-1, 4\]/);
  });
});
