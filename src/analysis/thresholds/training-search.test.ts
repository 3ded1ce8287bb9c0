import { describe, expect, it } from "vitest";
import { quadraticFromEigenvalues } from "../../objectives/quadratic.js";
import { type RateOutcome, trainingLrSearch } from "./training-search.js";

/**
 * The search's logic on scripted outcomes (options.evaluate): which rates it asks for and what it
 * concludes, whatever a real run would have done there.
 */
/**
 * A scripted search on ½xᵀdiag(1, 2)x (λmax = 2: the curvature's limit 2/λ0 = 1, the first rate
 * tried 0.5) with a baseline of 1: rates up to `trainsUpTo` train (final 0.01), from there to 4
 * every run stalls at the baseline, past 4 they diverge.
 */
async function scripted(trainsUpTo: number) {
  const base = quadraticFromEigenvalues([1, 2]);
  const objective = { ...base, baseline: { loss: 1, description: "a scripted baseline" } };
  const asked: number[] = [];
  const evaluate = async (rates: readonly number[]): Promise<RateOutcome[]> =>
    rates.map((lr) => {
      asked.push(lr);
      const common = { lr, steps: 100, peakLoss: 1.5, peakStep: 0 };
      if (lr <= trainsUpTo) return { ...common, status: "trained", finalLoss: 0.01 };
      if (lr < 4) return { ...common, status: "stalled", finalLoss: 0.999 };
      return { ...common, status: "diverged", finalLoss: 1e9, peakLoss: 1e9, peakStep: 5 };
    });
  const r = await trainingLrSearch(
    objective,
    [1, 1],
    { name: "sgd" },
    { evaluate, horizon: 100, parallel: 2 },
  );
  return { r, asked };
}

describe("the training search's walk down", () => {
  it("walks down past rates that all stall at the baseline to one that trains, and reports that", async () => {
    // As on an untrained LeNet at half its limit, the first rates all stall: before, the lone
    // first run was the best run of the search, counted as trained, and the search reported
    // 0.5·√2ᵏ rates "that train" with a final loss at the baseline.
    const { r, asked } = await scripted(0.1);
    expect(asked[0]).toBeCloseTo(0.5, 12);
    expect(Math.min(...asked)).toBeLessThanOrEqual(0.1);
    expect(r.trains).not.toBeNull();
    expect(r.trains!.below).toBeLessThanOrEqual(0.1);
    expect(r.trains!.above).toBeGreaterThan(0.1);
    expect(r.trains!.above).toBeLessThanOrEqual(0.5);
    expect(r.runs.filter((o) => o.lr > 0.1 && o.lr < 4).every((o) => o.status === "stalled")).toBe(true);
  });

  it("goes at most ×4⁵ below its first rate on a model that never leaves the baseline", async () => {
    const { asked } = await scripted(0);
    expect(Math.min(...asked)).toBeCloseTo(0.5 / 4 ** 5, 12);
  });
});
