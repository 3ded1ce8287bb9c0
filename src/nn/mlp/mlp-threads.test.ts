import { describe, expect, it } from "vitest";
import { createRng } from "../../core/rng.js";
import { maxRelativeError } from "../../core/vec.js";
import { initialParameters, mlpObjective } from "./mlp.js";
import { threadedMlp } from "./mlp-threads.js";

describe("the MLP split by rows over threads", () => {
  it.each([
    ["cross-entropy", 3],
    ["mse", 2],
  ] as const)(
    "%s: loss, gradient and HVP equal one thread's to 1e-13 (%i threads)",
    async (loss, threads) => {
      const rng = createRng(5);
      const rows = 301;
      const sizes = [12, 9, 4];
      const x = Float64Array.from({ length: rows * 12 }, () => (rng.uniform() < 0.5 ? 0 : rng.normal()));
      const y = new Float64Array(rows * 4);
      for (let r = 0; r < rows; r++)
        if (loss === "cross-entropy") y[r * 4 + Math.floor(rng.uniform() * 4)] = 1;
        else for (let o = 0; o < 4; o++) y[r * 4 + o] = rng.normal();
      const spec = { sizes, activation: "tanh" as const, loss };
      const one = mlpObjective(spec, { x, y, rows });
      const many = await threadedMlp(spec, { x, y, rows }, threads);
      try {
        expect(many.threads).toBe(threads);
        const theta = initialParameters(sizes, "pytorch", createRng(6));
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
  );
});
