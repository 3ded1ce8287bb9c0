import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import { Graph } from "../../src/nn/graph.js";
import { OnnxFormatError, readOnnxModel } from "../../src/nn/onnx/model.js";
import type { GraphNode } from "../../src/nn/ops/index.js";
import { GraphError, tensor } from "../../src/nn/tensor.js";
import { field, intField, str, varint } from "../onnx-bytes.js";
import { damaged } from "./damage.js";

/**
 * Hostile and damaged ONNX files against the graph reader (src/nn/onnx/model.ts): each is refused
 * in one line with bounded memory and time, or read into a graph — never a crash, never a hang.
 * The files are built here with a few lines of protobuf wire format.
 */

/** The GraphProto of one Relu node on input "x", with the node's and the graph's extra fields. */
function graphFields(extraGraph: number[] = [], nodeExtra: number[] = []): number[] {
  const node = [...field(1, str("x")), ...field(2, str("y")), ...field(4, str("Relu")), ...nodeExtra];
  const valueInfo = (name: string) => field(1, str(name));
  return [...field(1, node), ...field(11, valueInfo("x")), ...field(12, valueInfo("y")), ...extraGraph];
}

/** A model (ir_version 8, opset 17) of that graph. */
const model = (extraGraph: number[] = [], nodeExtra: number[] = []): Uint8Array =>
  Uint8Array.from([
    ...intField(1, 8),
    ...field(7, graphFields(extraGraph, nodeExtra)),
    ...field(8, [...intField(2, 17)]),
  ]);

/** A graph (as a model's only field) whose Add node reads x and the initializer w. */
const readingW = (init: number[]): Uint8Array => {
  const add = [...field(1, str("x")), ...field(1, str("w")), ...field(2, str("y")), ...field(4, str("Add"))];
  const g = [
    ...field(1, add),
    ...field(5, init),
    ...field(11, field(1, str("x"))),
    ...field(12, field(1, str("y"))),
  ];
  return Uint8Array.from(field(7, g));
};

/** Byte arrays end to end, and a length-delimited field around one: for inputs too large for number[]. */
function joined(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
const bigField = (number: number, bytes: Uint8Array): Uint8Array =>
  joined(Uint8Array.from([...varint((number << 3) | 2), ...varint(bytes.length)]), bytes);

/** TensorProto: name, dims, data type, and raw data. */
const tensorProto = (name: string, dims: number[], type: number, raw: ArrayLike<number>): number[] => [
  ...dims.flatMap((d) => intField(1, d)),
  ...intField(2, type),
  ...field(8, str(name)),
  ...field(9, raw),
];

const refusal = (bytes: Uint8Array): string => {
  try {
    readOnnxModel(bytes, "hostile.onnx");
  } catch (e) {
    expect(e).toBeInstanceOf(OnnxFormatError);
    expect((e as Error).message).not.toContain("\n");
    return (e as Error).message;
  }
  return "read";
};

describe("hostile ONNX files", () => {
  it("the well-formed model reads", () => {
    const m = readOnnxModel(model(), "ok.onnx");
    expect(m.graph.nodes.map((n) => n.op)).toEqual(["Relu"]);
    expect(m.opset).toBe(17);
  });

  it("40 MB of repeated empty attributes: refused at the cap, with little memory", () => {
    // 20 million empty AttributeProto fields on one node (protobufjs expanded each into an object).
    const one = [0x2a, 0x00];
    const attrs = new Uint8Array(40_000_000);
    for (let i = 0; i < attrs.length; i += 2) attrs.set(one, i);
    const node = Uint8Array.from([...field(1, str("x")), ...field(2, str("y")), ...field(4, str("Relu"))]);
    const graphField = bigField(7, bigField(1, joined(node, attrs)));
    const before = process.memoryUsage().heapUsed;
    const t = performance.now();
    expect(refusal(graphField)).toMatch(/has more than 10000 attributes/);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(200e6);
  });

  it("a 33-byte raw_data for 8 float32 values is refused, naming the sizes", () => {
    const init = tensorProto("w", [8], 1, new Uint8Array(33));
    expect(refusal(readingW(init))).toMatch(/has 33 bytes of data for 8 float32 values \(32 bytes\)/);
  });

  it("a declared shape of 10¹² elements is refused before anything is allocated", () => {
    const init = tensorProto("w", [1_000_000, 1_000_000], 1, new Uint8Array(4));
    expect(refusal(readingW(init))).toMatch(/declares 1000000000000 values, past the/);
  });

  it("an unused initializer of 20 MB of float_data is never decoded", () => {
    // float_data unpacked, one FIXED32 field each (5 million of them), read by no node.
    const n = 5_000_000;
    const data = new Uint8Array(n * 5);
    for (let i = 0; i < n; i++) data[5 * i] = (4 << 3) | 5;
    const head = Uint8Array.from([...intField(1, n), ...intField(2, 1), ...field(8, str("unused"))]);
    // The small graph with the initializer appended, as a model's only field.
    const bytes = bigField(7, joined(Uint8Array.from(graphFields()), bigField(5, joined(head, data))));
    const t = performance.now();
    const m = readOnnxModel(bytes, "big.onnx");
    expect(m.graph.initializers).toEqual([]);
    expect(performance.now() - t).toBeLessThan(3000);
  });

  it("control flow, other operator sets, several inputs: one line each, naming what to do", () => {
    const ifNode = [
      ...field(1, str("x")),
      ...field(2, str("y")),
      ...field(4, str("If")),
      ...field(5, [...field(1, str("then_branch")), ...field(6, [])]),
    ];
    const g = [...field(1, ifNode), ...field(11, field(1, str("x"))), ...field(12, field(1, str("y")))];
    expect(refusal(Uint8Array.from(field(7, g)))).toMatch(
      /sub-graph \(control flow: If, Loop, Scan\): out of scope/,
    );
    expect(refusal(model([], field(7, str("com.microsoft"))))).toMatch(/operator set com\.microsoft/);
    expect(refusal(model(field(11, field(1, str("z")))))).toMatch(/2 data inputs \("x", "z"\)/);
    expect(refusal(Uint8Array.of(0x3a, 0x05, 0x01))).toMatch(/is not an ONNX model \(.*declares 5 bytes/);
  });
});

describe("fuzz: damaged exported graphs", () => {
  const dir = new URL("../../src/nn/__golden__/onnx/", import.meta.url);
  const files = ["lenet.onnx", "transformer-dynamic.onnx", "bn-residual-cnn.onnx", "preln-mlp-opset13.onnx"];
  it("800 seeded mutations: a graph, or one line (OnnxFormatError or GraphError)", () => {
    const originals = files.map((f) => new Uint8Array(readFileSync(new URL(f, dir))));
    const rng = createRng(5);
    const outcomes = { read: 0, refused: 0 };
    for (let t = 0; t < 800; t++) {
      const bytes = damaged(originals[t % originals.length]!, rng);
      try {
        const m = readOnnxModel(bytes, "damaged.onnx");
        new Graph(m.graph);
        outcomes.read++;
      } catch (e) {
        if (!(e instanceof OnnxFormatError || e instanceof GraphError)) throw e;
        expect((e as Error).message).not.toContain("\n");
        outcomes.refused++;
      }
    }
    expect(outcomes.read).toBeGreaterThan(50);
    expect(outcomes.refused).toBeGreaterThan(50);
  });
});

describe("shapes from a file that would allocate without bound", () => {
  it("ConstantOfShape [10⁶, 10⁶], a broadcast to 10¹⁰, a Range of 10¹²: one GraphError line each", () => {
    const int = (values: number[]) => tensor([values.length], Float64Array.from(values), "int");
    const run = (nodes: GraphNode[]) => {
      const g = new Graph({
        opset: 17,
        inputs: [{ name: "x", shape: ["N", 1] }],
        outputs: [{ name: "y" }],
        initializers: [{ name: "w", dims: [1], dtype: "float64", values: [1] }],
        nodes,
      });
      return () => g.run(Float64Array.of(1), tensor([100_000, 1], new Float64Array(100_000)), null);
    };
    const constant = (name: string, values: number[]): GraphNode => ({
      op: "Constant",
      name,
      inputs: [],
      outputs: [name],
      attrs: { value: int(values) },
    });
    expect(
      run([
        constant("s", [1e6, 1e6]),
        { op: "ConstantOfShape", name: "big", inputs: ["s"], outputs: ["b"], attrs: {} },
        { op: "Mul", name: "y", inputs: ["b", "w"], outputs: ["y"], attrs: {} },
      ]),
    ).toThrow(/ConstantOfShape node "big": a tensor of \[1000000, 1000000\] would hold 1000000000000 values/);
    expect(
      run([
        { op: "Transpose", name: "t", inputs: ["x"], outputs: ["xt"], attrs: { perm: [1, 0] } },
        { op: "Add", name: "y", inputs: ["x", "xt"], outputs: ["y"], attrs: {} },
      ]),
    ).toThrow(/Add node "y": a tensor of \[100000, 100000\] would hold 10000000000 values/);
    expect(
      run([
        constant("a", [0]),
        constant("b", [1e12]),
        constant("d", [1]),
        { op: "Range", name: "r", inputs: ["a", "b", "d"], outputs: ["y"], attrs: {} },
      ]),
    ).toThrow(/Range node "r": a range of 1000000000000 values/);
  });
});
