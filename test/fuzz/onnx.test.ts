import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import { OnnxError, readOnnxNetwork } from "../../src/nn/onnx/dense.js";
import { damaged } from "./damage.js";

/**
 * Damaged model files (seeded byte changes and truncations of the exported fixtures): each read
 * either gives a network of finite weights or refuses with an OnnxError of one line — never another
 * exception (which the CLI would report as an internal error) and never a hang.
 */
const dir = new URL("../../src/nn/onnx/__golden__/", import.meta.url);
const files = ["tanh-f64.onnx", "mixed-f64.onnx", "matmul-f32.onnx", "relu-f32.onnx", "skip.onnx"];

describe("fuzz: damaged ONNX files", () => {
  it("1,000 seeded mutations: a network or one OnnxError line", () => {
    const originals = files.map((f) => new Uint8Array(readFileSync(new URL(f, dir))));
    const rng = createRng(2);
    const outcomes = { read: 0, refused: 0 };
    for (let t = 0; t < 1000; t++) {
      const bytes = damaged(originals[t % originals.length]!, rng);
      try {
        const net = readOnnxNetwork(bytes, "damaged.onnx");
        expect(net.theta.every(Number.isFinite)).toBe(true);
        outcomes.read++;
      } catch (e) {
        expect(e).toBeInstanceOf(OnnxError);
        expect((e as Error).message).not.toContain("\n");
        outcomes.refused++;
      }
    }
    // Both outcomes occur: the mutations reach the graph's structure and its weights.
    expect(outcomes.read).toBeGreaterThan(100);
    expect(outcomes.refused).toBeGreaterThan(100);
  });
});
