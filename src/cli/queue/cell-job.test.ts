import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readOnnxModel } from "../../nn/onnx/model.js";
import type { ObjectiveSource } from "../../objectives/source.js";
import { queuedCells, validateCellJob } from "./cell-job.js";

/**
 * A graph network's sweep cell as a queue job: it round-trips through the wire form and the
 * validator; a job whose graph is damaged or oversized fails naming the field, before anything is
 * built from it.
 */
const model = readOnnxModel(
  new Uint8Array(readFileSync(new URL("../../nn/onnx/__golden__/layernorm.onnx", import.meta.url))),
  "layernorm.onnx",
);
const rows = 4;
const source: ObjectiveSource = {
  kind: "graph",
  graph: model.graph,
  inputShape: [3],
  loss: "mse",
  data: {
    x: Float64Array.from({ length: rows * 3 }, (_v, i) => Math.sin(i)),
    y: new Float64Array(rows),
    rows,
  },
  description: "layernorm",
};
const dim = model.graph.initializers.reduce((s, i) => s + i.values.length, 0);

/** A thunk validating the job of one cell on `src` from `x0` (the layernorm net's size by default). */
function job(src: unknown, x0: number[] = new Array(dim).fill(0.1)) {
  const q = queuedCells(
    {
      source: src as ObjectiveSource,
      x0,
      optimizer: { name: "sgd" },
      cells: [{ lr: 0.1 }],
      criteria: { horizon: 10 },
    } as never,
    "test",
  );
  return () => validateCellJob(q.jobs[0]!.data, q.blobs);
}

describe("graph networks as queue jobs", () => {
  it("round-trip: the worker gets the graph, its tensors and the rows back", () => {
    const decoded = job(source)();
    const s = decoded.source as Extract<ObjectiveSource, { kind: "graph" }>;
    expect(s.graph.nodes.map((n) => n.op)).toEqual(model.graph.nodes.map((n) => n.op));
    expect(Array.from(s.data.x)).toEqual(Array.from(source.kind === "graph" ? source.data.x : []));
  });

  it("an operator the engine does not run, a shape that lies about its values, a wrong row count: refused by field", () => {
    const g = model.graph;
    expect(
      job({ ...source, graph: { ...g, nodes: [{ ...g.nodes[0]!, op: "LSTM" }, ...g.nodes.slice(1)] } }),
    ).toThrow(/invalid job: source\.graph\.nodes\[0\] must be an operator the engine runs/);
    const init = g.initializers[0]!;
    expect(
      job({
        ...source,
        graph: {
          ...g,
          initializers: [{ ...init, dims: [1_000_000, 1_000_000] }, ...g.initializers.slice(1)],
        },
      }),
    ).toThrow(/invalid job: source\.graph holds more than 50000000 values/);
    expect(job({ ...source, data: { ...(source as { data: object }).data, rows: 5 } })).toThrow(
      /invalid job: source\.data\.x has 12 values, 15 expected/,
    );
  });
});

describe("what a job may ask of a worker", () => {
  const cellOf = (src: unknown, x0: number[] = [1]) => job(src, x0);

  it("a quadratic of 30,000 eigenvalues (a dense 30,000² matrix, 7 GB) is refused before it is built; 2,000 pass", () => {
    const spec = (n: number) => ({
      kind: "spec",
      spec: { f: "quadratic", eigenvalues: Array.from({ length: n }, (_v, i) => 1 + i), rotate: 1 },
    });
    expect(cellOf(spec(30_000), new Array(30_000).fill(1))).toThrow(
      "invalid job: source.spec.eigenvalues must be at most 2000 numbers (a dense 2000² matrix)",
    );
    expect(() => cellOf(spec(2_000), new Array(2_000).fill(1))()).not.toThrow();
  });

  it("an expression past 10,000 characters, a dimension past 10,000 and an MLP past 2 GiB of working memory are refused", () => {
    expect(cellOf({ kind: "spec", spec: { f: `x${"+x".repeat(6000)}` } })).toThrow(
      "invalid job: source.spec.f must be an expression of at most 10000 characters or a built-in name",
    );
    expect(cellOf({ kind: "spec", spec: { f: "rastrigin", dim: 100_000 } })).toThrow(
      "invalid job: source.spec.dim must be a whole number from 1 to 10000",
    );
    const wide = {
      kind: "mlp",
      spec: { sizes: [2, 50_000, 50_000, 1], activation: "tanh", loss: "mse" },
      data: { x: new Float64Array(8), y: new Float64Array(4), rows: 4 },
      description: "wide",
    };
    expect(cellOf(wide)).toThrow(
      "invalid job: source.spec.sizes 2-50000-50000-1 on 4 rows need more than 2 GiB",
    );
  });
});
