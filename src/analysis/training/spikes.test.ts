import { describe, expect, it } from "vitest";
import { createRng } from "../../core/rng.js";
import { initialParameters, type MlpObjective, mlpObjective } from "../../nn/mlp/mlp.js";
import { synthetic } from "../../objectives/synthetic.js";
import { ZClip, ZScoreSkip } from "./spikes.js";
import { type GuardAction, trainToEnd } from "./train.js";

describe("the spike statistics", () => {
  it("ZScoreSkip: a value past 6σ of the last steps is skipped and kept out of the window; non-finite always", () => {
    const s = new ZScoreSkip({ window: 8, threshold: 6, warmup: 4 });
    const losses = [1, 1.1, 0.9, 1, 1.05, 0.95];
    for (const l of losses) expect(s.judge(l, 2)).toBeNull();
    // The window's mean 1 and σ = √(0.0175/6·…): by hand over the six values.
    const mean = losses.reduce((a, b) => a + b, 0) / 6;
    const sd = Math.sqrt(losses.reduce((a, b) => a + (b - mean) ** 2, 0) / 6);
    expect(s.judge(mean + 5.9 * sd, 2)).toBeNull();
    const after = [...losses, mean + 5.9 * sd];
    const m2 = after.reduce((a, b) => a + b, 0) / 7;
    const sd2 = Math.sqrt(after.reduce((a, b) => a + (b - m2) ** 2, 0) / 7);
    expect(s.judge(m2 + 6.01 * sd2, 2)).toMatch(/the loss .* is 6\.01σ above the mean over the last 7 steps/);
    // Skipped values do not enter the window: the same spike is skipped again.
    expect(s.judge(m2 + 6.01 * sd2, 2)).not.toBeNull();
    expect(s.judge(Number.NaN, 2)).toMatch(/non-finite/);
    expect(s.judge(1, Number.POSITIVE_INFINITY)).toMatch(/non-finite/);
  });

  it("ZClip: plain statistics over the warm-up, then EMAs; a norm past 2.5σ clipped to μ + (2.5²/z)σ", () => {
    const c = new ZClip({ alpha: 0.9, threshold: 2.5, warmup: 4 });
    const warm = [1, 2, 3, 2];
    for (const g of warm) expect(c.clipTo(g)).toBe(g);
    let mean = 2;
    let variance = warm.reduce((a, b) => a + (b - 2) ** 2, 0) / 4; // 0.5
    // Within 2.5σ: unclipped, and the EMAs move by it.
    expect(c.clipTo(3)).toBe(3);
    mean = 0.9 * mean + 0.1 * 3;
    variance = 0.9 * variance + 0.1 * (3 - mean) ** 2;
    const sigma = Math.sqrt(variance);
    const g = mean + 10 * sigma; // z = 10
    expect(c.clipTo(g)).toBeCloseTo(mean + (6.25 / 10) * sigma, 12);
    expect(Number.isNaN(c.clipTo(Number.NaN))).toBe(true);
  });
});

/**
 * A bad batch, as a mislabelled or rescaled one gives it: at the `at`-th minibatch gradient the
 * loss and the gradient are `scale`× what they are.
 */
function badBatch(f: MlpObjective, at: number, scale: number): MlpObjective {
  let calls = 0;
  return {
    ...f,
    gradientOn(x, out, rows) {
      const loss = f.gradientOn(x, out, rows);
      if (++calls !== at) return loss;
      for (let i = 0; i < out.length; i++) out[i]! *= scale;
      return loss * scale;
    },
  } as MlpObjective;
}

describe("train's guard actions on a bad batch (minibatches of 16, a 2-16-1 tanh net on the spiral)", () => {
  const set = synthetic("spiral", 200, 0, createRng(1));
  const data = { x: set.x, y: Float64Array.from(set.labels), rows: set.rows };
  const spec = { sizes: [2, 16, 1], activation: "tanh", loss: "mse" } as const;
  const net = mlpObjective(spec, data, "spiral");
  const config = {
    train: data,
    validation: null,
    theta0: initialParameters(spec.sizes, "pytorch", createRng(2)),
    optimizer: { name: "sgd", lr: 0.1 },
    steps: 400,
    batchSize: 16,
    seed: 3,
    logEvery: 1,
    sharpnessEvery: null,
  } as const;
  const end = (r: ReturnType<typeof trainToEnd>) =>
    r.records.filter((x) => x.trainLoss !== undefined).at(-1)!;

  it("a gradient ×10⁴ at step 200: unguarded it is lost; skip and clip step over it and end where the clean run ends; the rollbacks save it", () => {
    const clean = end(trainToEnd({ ...config, objective: net }));
    expect(clean.step).toBe(400);
    const bare = trainToEnd({ ...config, objective: badBatch(net, 201, 1e4) });
    expect(bare.result.status === "finished" ? end(bare).trainLoss! > 2 * clean.trainLoss! : true).toBe(true);
    const outcome = (action: GuardAction) => {
      const r = trainToEnd({ ...config, objective: badBatch(net, 201, 1e4), guard: { action } });
      return { r, last: end(r), skipped: r.records.filter((x) => x.skipped !== undefined) };
    };
    const skip = outcome("skip");
    expect(skip.r.result.status).toBe("finished");
    expect(skip.skipped.map((x) => x.step)).toEqual([200]);
    expect(skip.skipped[0]!.skipped).toMatch(/σ above the mean/);
    expect(skip.last.trainLoss!).toBeLessThan(1.1 * clean.trainLoss!);
    const clip = outcome("clip");
    expect(clip.r.result.status).toBe("finished");
    const clipped = clip.r.records.find((x) => x.step === 200)!;
    expect(clipped.clippedTo!).toBeLessThan(clipped.gradNorm / 1000);
    expect(clip.last.trainLoss!).toBeLessThan(1.1 * clean.trainLoss!);
    for (const action of ["rollback", "rollback-skip"] as const) {
      const r = outcome(action);
      expect(r.r.result.status, action).toBe("finished");
      expect(Number.isFinite(r.last.trainLoss!)).toBe(true);
    }
  });
});
