import { describe, expect, it } from "vitest";
import { createRng } from "../../src/core/rng.js";
import { fuzz, WIDE } from "./expressions.js";

describe("fuzz: seeded random expressions", () => {
  it("10,000 of the small family: values equal mathjs's, gradients and Hessians the exact jet's, every case compiled quickly", () => {
    const c = fuzz(createRng(20261202), 10_000);
    console.log(
      `fuzz: ${c.cases} expressions, ${c.compared} points compared, ${c.nonFinite} non-finite skipped; worst value ${c.worstValue.toExponential(1)}, gradient ${c.worstGradient.toExponential(1)}, Hessian ${c.worstHessian.toExponential(1)}; slowest case ${c.slowestMs.toFixed(0)} ms`,
    );
    expect(c.failure).toBeNull();
    expect(c.compared).toBeGreaterThan(0.9 * 2 * c.cases);
    // A bound against pathological compiles (a hang, an exponential blow-up), not a speed target.
    expect(c.slowestMs).toBeLessThan(2000);
  }, 120_000);

  it("the wide family (x^110, exp(25x), their quotients at x in [1.5, 8]): finite and exact where the jet is", () => {
    const c = fuzz(createRng(20261203), 2_000, WIDE);
    console.log(
      `fuzz (wide): ${c.cases} expressions, ${c.compared} points compared, ${c.nonFinite} skipped; worst gradient ${c.worstGradient.toExponential(1)}, Hessian ${c.worstHessian.toExponential(1)}`,
    );
    expect(c.failure).toBeNull();
    expect(c.compared).toBeGreaterThan(0.9 * 2 * c.cases);
  }, 120_000);
});
