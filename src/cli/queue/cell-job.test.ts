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

function job(src: unknown) {
  const q = queuedCells(
    {
      source: src as ObjectiveSource,
      x0: new Array(dim).fill(0.1),
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
