import { describe, expect, it } from "vitest";
import { symmetricEigen } from "./eigen.js";
import { createRng } from "./rng.js";
import { tridiagonalEigen } from "./tridiagonal.js";

describe("tridiagonalEigen (implicit QL) against Jacobi on the full matrix", () => {
  it.each([1, 2, 3, 10, 60])("random %i×%i", (n) => {
    const rng = createRng(n);
    const a = Array.from({ length: n }, () => 10 * rng.normal());
    const b = Array.from({ length: n - 1 }, () => rng.normal());
    const full = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      full[i * n + i] = a[i]!;
      if (i + 1 < n) full[i * n + i + 1] = full[(i + 1) * n + i] = b[i]!;
    }
    const ref = symmetricEigen(full, n);
    const all = Array.from({ length: n }, (_, r) => r);
    const got = tridiagonalEigen(a, b, all);
    for (let i = 0; i < n; i++) {
      expect(Math.abs(got.values[i]! - ref.values[i]!)).toBeLessThan(1e-12 * 30);
      // Eigenvectors are defined up to sign: compare the magnitude of the last component.
      expect(Math.abs(Math.abs(got.last[i]!) - Math.abs(ref.vectors[(n - 1) * n + i]!))).toBeLessThan(1e-10);
      // Every asked-for row: the whole eigenvector, with the sign fixed by its largest component.
      let big = 0;
      for (let r = 0; r < n; r++)
        if (Math.abs(ref.vectors[r * n + i]!) > Math.abs(ref.vectors[big * n + i]!)) big = r;
      const sign = Math.sign(got.rows[big]![i]!) * Math.sign(ref.vectors[big * n + i]!);
      for (let r = 0; r < n; r++)
        expect(Math.abs(sign * got.rows[r]![i]! - ref.vectors[r * n + i]!)).toBeLessThan(1e-10);
    }
  });

  it("a diagonal matrix is its own answer", () => {
    const r = tridiagonalEigen([3, 1, 2], [0, 0]);
    expect(Array.from(r.values)).toEqual([1, 2, 3]);
    expect(Array.from(r.last).map(Math.abs)).toEqual([0, 1, 0]);
  });
});
