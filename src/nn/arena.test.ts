import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRng } from "../core/rng.js";
import { floats, pooled } from "./arena.js";
import { Graph } from "./graph.js";
import { graphObjective } from "./objective.js";
import { graphSpecFromJson, type JsonGraph } from "./spec-json.js";

describe("the pass arena", () => {
  it("hands out fresh zeroed arrays outside a scope", () => {
    const a = floats(10_000);
    a[3] = 1;
    const b = floats(10_000);
    expect(b).not.toBe(a);
    expect(b.every((v) => v === 0)).toBe(true);
  });

  it("gives the next scope the arrays of the last one, zeroed; small arrays are never kept", () => {
    let first: Float64Array[] = [];
    pooled(() => {
      first = [floats(5000), floats(5000), floats(8000), floats(100)];
      for (const a of first) a.fill(7);
    });
    let second: Float64Array[] = [];
    pooled(() => {
      // A scope inside a scope is the outer one's.
      second = [floats(8000), pooled(() => floats(5000)), floats(5000), floats(100), floats(5000)];
    });
    expect(new Set(second.slice(0, 3))).toEqual(new Set([first[2], first[1], first[0]]));
    expect(second[3]).not.toBe(first[3]);
    expect(first.slice(0, 3)).not.toContain(second[4]);
    for (const a of second) expect(a.every((v) => v === 0)).toBe(true);
    // Only the last scope's arrays are kept: the first scope's 8000 (not asked for again) is gone.
    let third: Float64Array[] = [];
    pooled(() => {
      third = [floats(5000), floats(5000), floats(5000), floats(8000)];
    });
    expect(third[3]).toBe(second[0]);
  });

  it("leaves an objective's answers as they were: loss, gradient and H·v at θ₁, θ₂, θ₁ again (arrays reused between), bit for bit", () => {
    const file = JSON.parse(
      readFileSync(new URL("./__golden__/torch-graph.json", import.meta.url), "utf8"),
    ) as {
      cases: {
        id: string;
        opset: number;
        graph: JsonGraph & { inputs: { shape: (number | string)[] }[] };
        input: number[];
      }[];
    };
    const c = file.cases.find((k) => k.id === "transformer-dynamic")!;
    const graph = new Graph(graphSpecFromJson(c.graph, c.opset));
    const shape = c.graph.inputs[0]!.shape.slice(1) as number[];
    // 3 blocks of 128 sequences: arrays past the arena's small size, several scopes a call.
    const rows = 384;
    const rng = createRng(3);
    const x = Float64Array.from({ length: rows * shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
    const width = 3;
    const objective = graphObjective(
      graph,
      { x, y: Float64Array.from({ length: rows * width }, () => rng.uniform()), rows },
      { loss: "mse", inputShape: shape, rowsPerBlock: 128 },
    );
    const t1 = Float64Array.from({ length: graph.dim }, () => rng.normal() * 0.3);
    const t2 = Float64Array.from({ length: graph.dim }, () => rng.normal() * 0.3);
    const v = Float64Array.from({ length: graph.dim }, () => rng.normal());
    const at = (t: Float64Array) => {
      const g = new Float64Array(graph.dim);
      const hv = new Float64Array(graph.dim);
      const f = objective.gradient(t, g);
      objective.hessianVector(t, v, hv);
      return { f, g, hv, value: objective.value(t) };
    };
    const a = at(t1);
    const b = at(t2);
    const again = at(t1);
    expect(b.f).not.toBe(a.f);
    expect(again.f).toBe(a.f);
    expect(again.value).toBe(a.value);
    expect(Array.from(again.g)).toEqual(Array.from(a.g));
    expect(Array.from(again.hv)).toEqual(Array.from(a.hv));
  });
});
