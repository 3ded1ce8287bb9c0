import { describe, expect, it } from "vitest";
import { caseObjective, spectrumFixture } from "../../../test/spectrum-fixture.js";
import { blockCurvature, layerBlocks } from "./blocks.js";
import { densityMeasure, spectralDensity, wasserstein1 } from "./density.js";
import { hessianOperator } from "./hvp.js";
import { lanczos } from "./lanczos.js";

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
