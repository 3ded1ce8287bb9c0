import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { denseHessian } from "../../../test/dense-hessian.js";
import { caseObjective, spectrumFixture } from "../../../test/spectrum-fixture.js";
import { symmetricEigen } from "../../core/eigen.js";
import { Graph } from "../../nn/graph.js";
import { graphObjective } from "../../nn/objective.js";
import { graphSpecFromJson, type JsonGraph } from "../../nn/spec-json.js";
import { blockCurvature, layerBlocks } from "./blocks.js";
import { densityMeasure, spectralDensity, wasserstein1 } from "./density.js";
import { hessianOperator } from "./hvp.js";
import { lanczos } from "./lanczos.js";
import { objectiveBlocks, spectrumAt } from "./spectrum.js";

/**
 * Networks of 501–721 parameters against their exact spectra: every eigenvalue of the dense
 * Hessian from PyTorch (torch.autograd.functional.hessian, then eigvalsh), by
 * scripts/fixtures/torch_spectrum.py.
 */
describe.each(spectrumFixture.cases.map((c) => [`${c.name} at ${c.point}`, c] as const))("%s", (_, c) => {
  const { f, theta } = caseObjective(c);
  const exact = c.eigenvalues;
  const n = exact.length;
  const spread = exact[n - 1]! - exact[0]!;

  it("SLQ's density is within a small Wasserstein-1 distance of the exact one; its trace within 3 standard errors", () => {
    const d = spectralDensity(hessianOperator(f, theta), { probes: 30, steps: 50, seed: 0 });
    expect(d.hvps).toBe(30 * 50);
    const w1 = wasserstein1(densityMeasure(d), { x: exact });
    // A network's spectrum piles up at zero, so a small W1 beside the spread is easy: the test is
    // against the best single point mass too (all eigenvalues at the median, W1 = the mean
    // absolute deviation), which SLQ must beat by 4×. Measured: 7–21% of it, 0.13–0.25% of the spread.
    const sorted = [...exact].sort((a, b) => a - b);
    const median = sorted[Math.floor(n / 2)]!;
    const pointMass = exact.reduce((s, v) => s + Math.abs(v - median), 0) / n;
    expect(w1 / spread).toBeLessThan(0.005);
    expect(w1 / pointMass).toBeLessThan(0.25);
    expect(Math.abs(d.trace.estimate - c.trace)).toBeLessThan(3 * d.trace.standardError!);
  });

  it("spectrumAt: the extremes' run is the density's first probe, its HVPs counted once; the density as close to the exact one", () => {
    // Reused by default past 2,000 parameters; asked for here on 501–721.
    const r = spectrumAt(f, theta, { seed: 0, reuseExtremes: true });
    expect(spectrumAt(f, theta, { seed: 0, layers: false }).density.reusedFirst).toBe(false);
    const d = r.density;
    expect(d.reusedFirst).toBe(true);
    expect(d.probes.length).toBe(16);
    expect(r.extremes.iterations).toBeGreaterThanOrEqual(50);
    expect(d.probes[0]!.nodes.length).toBe(r.extremes.iterations);
    expect(d.hvps).toBe(15 * 50);
    const blockHvps = r.blocks!.reduce((t, b) => t + b.hvps, 0);
    expect(r.hvps).toBe(r.extremes.hvps + d.hvps + blockHvps);
    expect(Math.abs(r.extremes.top[0]!.value - exact[n - 1]!)).toBeLessThan(1e-10 * spread);
    const sorted = [...exact].sort((a, b) => a - b);
    const median = sorted[Math.floor(n / 2)]!;
    const pointMass = exact.reduce((t, v) => t + Math.abs(v - median), 0) / n;
    const w1 = wasserstein1(densityMeasure(d), { x: exact });
    expect(w1 / spread).toBeLessThan(0.005);
    expect(w1 / pointMass).toBeLessThan(0.25);
    expect(Math.abs(d.trace.estimate - c.trace)).toBeLessThan(3 * d.trace.standardError!);
  });

  // Past the budget takes n + 30 × 20 > 1,050 with 20 modules of over 30 parameters: the 721-parameter nets.
  it.runIf(n >= 700)(
    "spectrumAt leaves the layers out by default past their budget, and gives λmax's shares",
    () => {
      const options = { seed: 0, probes: 2, steps: 20, maxHvps: 60 };
      // Its three layers are within the budget (at most 3 × 130 HVPs, under 1,050): measured.
      expect(spectrumAt(f, theta, options).blocks!.length).toBe(3);
      // The same net seen as 20 modules of about 36 parameters: 20 × 66 HVPs, past the budget.
      const size = Math.ceil(n / 20);
      const groups = Array.from({ length: 20 }, (_, i) => ({
        name: `m${i}`,
        start: i * size,
        end: Math.min(n, (i + 1) * size),
      }));
      const modules = Object.assign(Object.create(f), { groups }) as typeof f;
      const r = spectrumAt(modules, theta, options);
      expect(r.blocks).toBeNull();
      const out = r.layersLeftOut!;
      expect(out.blocks).toBe(20);
      expect(out.bound).toBe(
        groups.reduce((t, b) => t + Math.min(b.end - b.start, 100) + Math.min(b.end - b.start, 30), 0),
      );
      expect(out.budget).toBe(1050);
      expect(out.bound).toBeGreaterThan(out.budget);
      expect(out.shares.reduce((t, b) => t + b.share, 0)).toBeCloseTo(1, 12);
      // Asked for, they are measured, with the same shares.
      const all = spectrumAt(modules, theta, { ...options, layers: true });
      expect(all.layersLeftOut).toBeNull();
      expect(all.blocks!.map((b) => b.share)).toEqual(out.shares.map((b) => b.share));
      expect(spectrumAt(modules, theta, { ...options, layers: false }).layersLeftOut).toBeNull();
    },
  );

  it("λmax and λmin equal the dense eigenvalues; per-layer blocks and eigenvector shares equal PyTorch's", () => {
    const op = hessianOperator(f, theta);
    const s = lanczos(op, { k: 1, vectors: true });
    expect(Math.abs(s.top[0]!.value - exact[n - 1]!)).toBeLessThan(1e-10 * spread);
    expect(Math.abs(s.bottom!.value - exact[0]!)).toBeLessThan(1e-10 * spread);
    // Tighter than the defaults (1e-8, 100 HVPs a block, for speed on big networks): this is the accuracy test.
    const blocks = blockCurvature(op, layerBlocks(f.layout), s.vectors!.top[0]!, {
      tolerance: 1e-10,
      maxIterations: 300,
    });
    blocks.forEach((b, i) => {
      const ref = c.blocks[i]!;
      expect(Math.abs(b.top.value - ref.max)).toBeLessThan(1e-9 * spread);
      expect(Math.abs(b.bottom.value - ref.min)).toBeLessThan(1e-9 * spread);
      if (b.trace.exact) expect(Math.abs(b.trace.estimate - ref.trace)).toBeLessThan(1e-10 * spread);
      else expect(Math.abs(b.trace.estimate - ref.trace)).toBeLessThan(3 * b.trace.standardError);
      expect(Math.abs(b.share! - c.topEigenvector[i]!)).toBeLessThan(1e-8);
    });
  });
});

// A graph network (a Conv1d net without biases, exported by torch.onnx.export; its H·v is
// PyTorch's to 1e-9 in nn/graph.test.ts): λmax, λmin and each module's block by Lanczos against
// the Jacobi eigenvalues of the Hessian assembled from H·eᵢ, whole and block by block.
describe("a graph network's spectrum and per-module blocks", () => {
  it("equal the exact decomposition of its Hessian", () => {
    const file = JSON.parse(
      readFileSync(new URL("../../nn/__golden__/torch-graph.json", import.meta.url), "utf8"),
    ) as { cases: { id: string; opset: number; graph: JsonGraph; input: number[]; targets: number[] }[] };
    const c = file.cases.find((k) => k.id === "conv1d-nobias")!;
    const spec = graphSpecFromJson(c.graph, c.opset);
    const g = new Graph(spec);
    const inputShape = c.graph.inputs[0]!.shape.slice(1) as number[];
    const rows = c.input.length / inputShape.reduce((a, b) => a * b, 1);
    const f = graphObjective(
      g,
      { x: Float64Array.from(c.input), y: Float64Array.from(c.targets), rows },
      { loss: "mse", inputShape },
    );
    const theta = new Float64Array(g.dim);
    for (const p of g.parameters)
      theta.set(spec.initializers.find((i) => i.name === p.name)!.values, p.offset);
    const n = g.dim;
    const H = denseHessian(f, theta);
    const exact = symmetricEigen(H, n).values;
    const spread = exact[n - 1]! - exact[0]!;
    const op = hessianOperator(f, theta);
    const s = lanczos(op, { k: 1, vectors: true });
    expect(Math.abs(s.top[0]!.value - exact[n - 1]!)).toBeLessThan(1e-10 * spread);
    expect(Math.abs(s.bottom!.value - exact[0]!)).toBeLessThan(1e-10 * spread);
    const blocks = objectiveBlocks(f)!;
    expect(blocks.length).toBeGreaterThan(1);
    const measured = blockCurvature(op, blocks, s.vectors!.top[0]!, { tolerance: 1e-12, maxIterations: 200 });
    let shares = 0;
    for (const b of measured) {
      const size = b.block.end - b.block.start;
      const sub = new Float64Array(size * size);
      for (let a = 0; a < size; a++)
        for (let d = 0; d < size; d++) sub[a * size + d] = H[(b.block.start + a) * n + b.block.start + d]!;
      const blockEig = symmetricEigen(sub, size).values;
      expect(Math.abs(b.top.value - blockEig[size - 1]!), b.block.name).toBeLessThan(1e-9 * spread);
      shares += b.share!;
    }
    expect(Math.abs(shares - 1)).toBeLessThan(1e-12);
  });
});
