import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRng } from "../core/rng.js";
import { maxRelativeError } from "../core/vec.js";
import { Graph } from "./graph.js";
import { threadedGraph } from "./graph-threads.js";
import { graphObjective } from "./objective.js";
import { readOnnxModel } from "./onnx/model.js";

const model = (name: string) =>
  readOnnxModel(
    new Uint8Array(readFileSync(new URL(`./__golden__/onnx/${name}.onnx`, import.meta.url))),
    name,
  ).graph;

/*
 * The graph objective split by rows over threads is the same function: its loss, gradient and
 * H·v equal one thread's to the rounding of one more sum (1e-13), on a CNN (LeNet, convolutions
 * and pooling) and a pre-LN residual MLP (LayerNorm, GELU, a skip), for cross-entropy and mse;
 * and a BatchNorm residual CNN whose statistics are over blocks of 4 rows (statsRows), split
 * between blocks (14 rows: blocks of 4, 4, 4 and 2, shares of 8 and 6).
 */
describe("the graph objective split by rows over threads", () => {
  it.each([
    ["lenet-f32", [1, 28, 28], 10, "cross-entropy", 2, 37, undefined],
    ["preln-mlp", [6], 3, "mse", 3, 101, undefined],
    ["bn-residual-cnn", [3, 8, 8], 5, "cross-entropy", 2, 14, 4],
  ] as const)(
    "%s: loss, gradient and H·v equal one thread's to 1e-13",
    async (name, shape, outs, loss, threads, rows, statsRows) => {
      const spec = model(name);
      const rng = createRng(11);
      const width = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      const x = Float64Array.from({ length: rows * width }, () => rng.normal());
      const y = new Float64Array(rows * outs);
      for (let r = 0; r < rows; r++)
        if (loss === "cross-entropy") y[r * outs + Math.floor(rng.uniform() * outs)] = 1;
        else for (let o = 0; o < outs; o++) y[r * outs + o] = rng.normal();
      const data = { x, y, rows };
      const options = { loss, inputShape: [...shape], ...(statsRows ? { statsRows } : {}) } as const;
      const one = graphObjective(new Graph(spec), data, options);
      const many = await threadedGraph(spec, {}, data, options, threads);
      try {
        expect(many.threads).toBe(threads);
        const theta = Float64Array.from({ length: one.dim }, () => 0.1 * rng.normal());
        const v = Float64Array.from({ length: one.dim }, () => rng.normal());
        const [g1, g2, h1, h2] = [0, 1, 2, 3].map(() => new Float64Array(one.dim));
        const l1 = one.gradient(theta, g1!);
        // Twice: the second call reuses the woken workers.
        for (let k = 0; k < 2; k++) {
          expect(Math.abs(many.gradient(theta, g2!) / l1 - 1)).toBeLessThan(1e-13);
          expect(maxRelativeError(g2!, g1!)).toBeLessThan(1e-13);
        }
        expect(Math.abs(many.value(theta) / one.value(theta) - 1)).toBeLessThan(1e-13);
        one.hessianVector(theta, v, h1!);
        many.hessianVector(theta, v, h2!);
        expect(maxRelativeError(h2!, h1!)).toBeLessThan(1e-13);
      } finally {
        await many.close();
      }
    },
    60_000,
  );

  it("refuses a graph whose BatchNorm takes its statistics over the whole batch, in one sentence", async () => {
    const spec = model("op-batchnorm2d-train");
    const data = { x: new Float64Array(6 * 48), y: new Float64Array(6 * 48), rows: 6 };
    await expect(
      threadedGraph(spec, { batchNorm: "train" }, data, { loss: "mse", inputShape: [3, 4, 4] }, 2),
    ).rejects.toThrow(/statistics over all its rows at once .* cannot be split over threads/);
  });
});
