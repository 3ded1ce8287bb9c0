import { describe, expect, it } from "vitest";
import { blowUpBound, boundText, divergedStatus, divergence, factorText } from "./divergence.js";

describe("the blow-up bound: 10⁶ × max(|f(x₀)|, baseline)", () => {
  it.each([
    // start, baseline → B
    [0.5, 0.7, 7e5],
    [2, 0.25, 2e6],
    [-9, null, 9e6],
    [3, null, 3e6],
  ] as const)("start %s, baseline %s: B = %s", (start, baseline, value) => {
    const b = blowUpBound(start, baseline);
    expect(b.value).toBeCloseTo(value, 6);
    expect(b.factor).toBe(1e6);
  });

  it("a start at 0 with no baseline takes 1 for its scale, and says so", () => {
    const b = blowUpBound(0, null);
    expect(b.value).toBe(1e6);
    expect(boundText(b)).toBe("10⁶ × 1 (f(x₀) = 0) = 1e6");
  });

  it("states itself: the factor as a power of ten, both scales, the value", () => {
    expect(boundText(blowUpBound(0.6525, 0.25))).toBe("10⁶ × max(|f(x₀)| 0.6525, baseline 0.25) = 652500");
    expect(boundText(blowUpBound(1, null, 1e300))).toBe("1e300 × |f(x₀)| 1 = 1e300");
    expect(factorText(1e12)).toBe("10¹²");
    expect(factorText(2.5e7)).toBe("2.5e7");
  });

  it("refuses a factor that is not > 1", () => {
    expect(() => blowUpBound(1, null, 1)).toThrow(/invalid blow-up: 1 \(a factor > 1/);
    expect(() => blowUpBound(1, null, Number.POSITIVE_INFINITY)).toThrow(/invalid blow-up/);
  });

  it("diverged: non-finite (the loss or the gradient), or past B; B itself is not past it", () => {
    const b = blowUpBound(1, null);
    expect(divergence(1e6, 1, b)).toBeNull();
    expect(divergence(1.0000001e6, 1, b)).toBe("bound");
    expect(divergence(Number.NaN, 1, b)).toBe("nonfinite");
    expect(divergence(1, Number.POSITIVE_INFINITY, b)).toBe("nonfinite");
    expect(divergence(Number.NEGATIVE_INFINITY, 1, b)).toBe("nonfinite");
    expect(divergedStatus("diverged")).toBe(true);
    expect(divergedStatus("nonfinite")).toBe(true);
    expect(divergedStatus("diverging")).toBe(false);
  });
});
