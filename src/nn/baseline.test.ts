import { describe, expect, it } from "vitest";
import { trivialBaseline } from "./baseline.js";
import { mlpObjective } from "./mlp/mlp.js";

// The trivial baseline is the loss of the best constant prediction; each case is checked against
// its closed form, and against the network's own loss at that constant (zero weights, the
// constant in the bias), so the two share the loss's definition and normalization.
describe("the trivial baseline", () => {
  it("mse: the targets' variance (mean over rows and outputs), half-mse half of it", () => {
    const y = Float64Array.of(1, 2, 3, 4);
    expect(trivialBaseline("mse", y, 4, 1).loss).toBeCloseTo(1.25, 15);
    expect(trivialBaseline("half-mse", y, 4, 1).loss).toBeCloseTo(0.625, 15);
    // Two outputs: the mean of the two variances (1.25 and 0).
    expect(trivialBaseline("mse", Float64Array.of(1, 5, 2, 5, 3, 5, 4, 5), 4, 2).loss).toBeCloseTo(0.625, 15);
    expect(trivialBaseline("mse", y, 4, 1).accuracy).toBeUndefined();
  });

  it("cross-entropy: the class-prior entropy; bce: the binary entropy of the positive rate; the majority's accuracy", () => {
    const ce = trivialBaseline("cross-entropy", Float64Array.of(1, 0, 0, 1, 0, 1, 0, 1), 4, 2);
    const h = -(0.25 * Math.log(0.25) + 0.75 * Math.log(0.75));
    expect(ce.loss).toBeCloseTo(h, 14);
    expect(ce.accuracy).toBe(0.75);
    const bce = trivialBaseline("bce", Float64Array.of(1, 0, 0, 0), 4, 1);
    expect(bce.loss).toBeCloseTo(h, 14);
    expect(bce.accuracy).toBe(0.75);
    // mse on one-hot labels is a classifier too (its accuracy is reported).
    expect(trivialBaseline("mse", Float64Array.of(1, 0, 0, 1), 2, 2).accuracy).toBe(0.5);
    // A class that never occurs costs nothing: the entropy of the rest.
    expect(trivialBaseline("cross-entropy", Float64Array.of(1, 0, 0, 0, 1, 0), 2, 3).loss).toBeCloseTo(
      Math.LN2,
      14,
    );
  });

  it.each(["mse", "half-mse", "bce"] as const)(
    "%s: the network's own loss at the constant prediction equals it",
    (loss) => {
      const rows = 6;
      const x = Float64Array.from({ length: rows * 2 }, (_, i) => Math.sin(i));
      const y = loss === "bce" ? Float64Array.of(1, 0, 1, 1, 0, 1) : Float64Array.of(0.5, 2, -1, 3, 1, 0);
      const f = mlpObjective({ sizes: [2, 1], activation: "identity", loss }, { x, y, rows });
      const mean = y.reduce((a, b) => a + b, 0) / rows;
      const bias = loss === "bce" ? Math.log(mean / (1 - mean)) : mean;
      expect(f.value(Float64Array.of(0, 0, bias))).toBeCloseTo(f.baseline!.loss, 14);
    },
  );
});
