import { describe, expect, it } from "vitest";
import { cellStatus, parseGrid, sweepCell } from "./sweep.js";
import { runSweep, type SweepJob } from "./sweep-pool.js";

describe("grids", () => {
  it("log grids are geometric, linear grids arithmetic, lists as given", () => {
    const log = parseGrid("1e-4:10:6", "lr", "log");
    expect(log.scale).toBe("log");
    for (const [i, v] of log.values.entries()) expect(v).toBeCloseTo(10 ** (-4 + i), 10 - i);
    expect(parseGrid("0:0.9:4", "momentum", "linear").values.map((v) => Number(v.toFixed(12)))).toEqual([
      0, 0.3, 0.6, 0.9,
    ]);
    expect(parseGrid("lin:0.1:0.3:3", "lr", "log").values.map((v) => Number(v.toFixed(12)))).toEqual([
      0.1, 0.2, 0.3,
    ]);
    expect(parseGrid("0.1,0.5", "lr", "log").values).toEqual([0.1, 0.5]);
  });

  it.each([
    ["0:1:10", /a log grid needs values > 0, got 0 \(use lin:… for a linear grid\)/],
    ["-1e-3,0.1", /a log grid needs values > 0, got -0\.001/],
    ["1e-3:1", /'1e-3:1' \(a grid start:stop:count/],
    ["1e-3:1:1", /count a whole number from 2 to 100000/],
    ["fast", /'fast'/],
  ])("refuses %s", (text, message) => {
    expect(() => parseGrid(text, "lr", "log")).toThrow(message);
  });
});

describe("runSweep", () => {
  const job: SweepJob = {
    source: { kind: "spec", spec: { f: "quadratic", eigenvalues: [1, 10], rotate: 2 } },
    x0: [1, 1],
    optimizer: { name: "sgd", momentum: 0.5 },
    cells: parseGrid("1e-2:1:24", "lr", "log").values.map((lr) => ({ lr })),
    criteria: { horizon: 3000 },
  };

  it("gives the same cells in worker threads as in this thread, in grid order", async () => {
    let calls = 0;
    const serial = await runSweep(job, { workers: 1 });
    const parallel = await runSweep(job, { workers: 2, onProgress: () => calls++ });
    expect(parallel).toEqual(serial);
    expect(calls).toBe(24);
    expect(serial.map((c) => c.index)).toEqual([...Array(24).keys()]);
  }, 30_000);

  it("on a quadratic, cells diverge exactly past 2(1+β)/λmax", async () => {
    const cells = await runSweep(job, { workers: 1 });
    const limit = (2 * 1.5) / 10;
    for (const c of cells) {
      // Within 2% of the limit a 3000-step run may not have decided yet.
      if (Math.abs(c.lr / limit - 1) < 0.02) continue;
      expect(c.status === "diverged" || c.status === "nonfinite").toBe(c.lr > limit);
    }
  });
});

describe("runSweep on an expression", () => {
  it("workers load the expression compiler only for expressions, and agree with this thread", async () => {
    const job: SweepJob = {
      source: { kind: "spec", spec: { f: "x^4 + x^2" } },
      x0: [2],
      optimizer: { name: "sgd" },
      cells: [0.05, 0.1, 0.11, 0.12, 0.5].map((lr) => ({ lr })),
      criteria: { horizon: 2000 },
    };
    const serial = await runSweep(job, { workers: 1 });
    expect(await runSweep(job, { workers: 2 })).toEqual(serial);
    // x⁴ + x² from 2 diverges exactly above 1/9 (x₁ = 2 − 36η = −2 at η = 1/9).
    expect(serial.map((c) => c.status === "diverged" || c.status === "nonfinite")).toEqual([
      false,
      false,
      false,
      true,
      true,
    ]);
  }, 30_000);
});

describe("cell outcomes for a model trained on data", () => {
  // The uv model (Lewkowycz et al. 2020), L = (uv − 1)²/2 from (2, 0.1): λ0 = 4.088, 2/λ0 = 0.4892.
  // Marked as a training objective it is judged by where its loss ends, not by ‖∇f‖.
  it("trained below 2/λ0, catapult above it, diverged past η_max, failed when it ends at its start", async () => {
    const expressionF = (await import("../../objectives/expression.js")).compileExpression;
    const uv = { ...expressionF("(u*v - 1)^2/2"), training: true };
    const crit = 0.48920416114583926;
    const at = (m: number, steps: number) =>
      sweepCell(uv, [2, 0.1], { name: "sgd" }, { lr: m * crit }, 0, { horizon: steps });
    expect(at(0.3, 8).status).toBe("trained");
    const catapult = at(1.5, 30);
    expect(catapult.status).toBe("catapult");
    expect(catapult.peakStep).toBe(2);
    expect(catapult.peakLoss).toBeCloseTo(1.3407592643873751, 12);
    // Past the blow-up bound 10⁶ × f0 = 3.2e5 while still finite: diverged, settled early.
    const past = at(1.8, 300);
    expect(past.status).toBe("diverged");
    expect(past.steps).toBeLessThan(100);
    const bounce = sweepCell({ ...expressionF("x^2"), training: true }, [-1], { name: "sgd" }, { lr: 1 }, 0, {
      horizon: 40,
    });
    expect(bounce.status).toBe("failed");
  });
});

describe("cellStatus", () => {
  const probe = (outcome: "converged" | "undecided", finalLoss: number) => ({
    outcome,
    steps: 10,
    startLoss: 1,
    finalLoss,
    peakLoss: 1,
    peakStep: 0,
    finalX: new Float64Array(0),
  });
  it("a network that converged at the trivial baseline (its gradient gone with its units) stalled", () => {
    expect(cellStatus(probe("converged", 0.5), true, 0.5)).toBe("stalled");
    expect(cellStatus(probe("converged", 0.1), true, 0.5)).toBe("converged");
    expect(cellStatus(probe("converged", 0.5), false)).toBe("converged");
    expect(cellStatus(probe("undecided", 0.49), true, 0.5)).toBe("stalled");
    expect(cellStatus(probe("undecided", 0.3), true, 0.5)).toBe("trained");
  });
});
