import { describe, expect, it } from "vitest";
import { createRng } from "../core/rng.js";
import { gemm, gemmJs, HEAP_BUDGET } from "./gemm.js";

describe("gemm past the heap budget", () => {
  const rng = createRng(11);
  const random = (n: number) => Float64Array.from({ length: n }, () => rng.normal());

  it.each([
    ["A·B", 4000, 300, 300, false, false],
    ["A·Bᵀ", 4000, 300, 300, false, true],
    ["Aᵀ·B", 100, 100, 12000, true, false],
  ] as const)("%s in slices equals the plain loops bit for bit", (_n, m, n, k, tA, tB) => {
    expect(m * k + k * n + m * n).toBeGreaterThan(HEAP_BUDGET);
    const A = random(m * k);
    const B = random(k * n);
    // Accumulated A·Bᵀ is left out: gemmJs adds each finished dot product to the old value where the
    // kernel adds each product in turn, a difference of rounding older than the slicing.
    for (const accumulate of tB ? [false] : [false, true]) {
      const start = random(m * n);
      const got = Float64Array.from(start);
      const want = Float64Array.from(start);
      gemm(m, n, k, A, 0, tA, B, 0, tB, got, 0, accumulate);
      gemmJs(m, n, k, A, 0, tA, B, 0, tB, want, 0, accumulate);
      // The first entry that differs (vitest's deep equality is too slow on 10⁶ entries).
      expect(got.findIndex((g, i) => !Object.is(g, want[i]))).toBe(-1);
    }
  });
});
