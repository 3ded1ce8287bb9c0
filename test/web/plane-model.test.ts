import { describe, expect, it } from "vitest";
import {
  changesByOptimizer,
  formatPlaneChanges,
  optimizerOptions,
  parsePlaneChanges,
  planeObjective,
  rateAgainstLimit,
  runPaths,
} from "../../web/src/plane/model.js";

/**
 * The 2-D panel's model apart from the DOM: a setting moved part-way (η, β, β₁, β₂, α), kept in
 * the link, run with every buffer kept, and the limit the rate chart draws moving with β.
 */
describe("the 2-D panel's changes while the paths play", () => {
  it("a switch in the link's form: the target's η becomes a rate change at its step, its other settings the fresh optimizer's", () => {
    const changes = parsePlaneChanges("12:sgd:0.05,30:sgd:optimizer=adam,31:momentum:optimizer=rmsprop");
    expect(changes[1]).toEqual({ step: 30, id: "sgd", key: "optimizer", to: "adam" });
    expect(formatPlaneChanges(changes)).toBe(
      "12:sgd:0.05,30:sgd:optimizer=adam,31:momentum:optimizer=rmsprop",
    );
    const moved = changesByOptimizer(changes);
    expect(moved["sgd"]).toEqual({
      rates: [
        { step: 12, lr: 0.05 },
        { step: 30, lr: 0.1 },
      ],
      hyper: [],
      switches: [{ step: 30, optimizer: { name: "adam", betas: [0.9, 0.999] } }],
    });
    expect(moved["momentum"]!.switches).toEqual([{ step: 31, optimizer: { name: "rmsprop", alpha: 0.99 } }]);
    expect(() => parsePlaneChanges("30:sgd:optimizer=lion")).toThrow(
      /expected STEP:OPTIMIZER:optimizer=OPTIMIZER/,
    );
    // The path: SGD's up to 30, then a fresh Adam at η 0.1 from x₃₀ (the runner's semantics).
    const f = planeObjective("quadratic");
    const [switched] = runPaths(
      f,
      [1, 1],
      60,
      [{ id: "sgd", options: optimizerOptions("sgd", { lr: 0.03 }) }],
      20,
      null,
      {
        sgd: changesByOptimizer(parsePlaneChanges("30:sgd:optimizer=adam"))["sgd"]!,
      },
    );
    const [sgd] = runPaths(
      f,
      [1, 1],
      30,
      [{ id: "sgd", options: optimizerOptions("sgd", { lr: 0.03 }) }],
      20,
    );
    const [adam] = runPaths(
      f,
      [sgd!.trace[30]!.x[0]!, sgd!.trace[30]!.x[1]!],
      30,
      [{ id: "adam", options: optimizerOptions("adam", { lr: 0.1, beta1: 0.9, beta2: 0.999 }) }],
      20,
    );
    expect(switched!.trace.map((r) => r.loss)).toEqual([
      ...sgd!.trace.slice(0, 30).map((r) => r.loss),
      ...adam!.trace.map((r) => r.loss),
    ]);
  });

  it("reads and writes the link's form, η alone or KEY=VALUE, and refuses a setting the optimizer lacks", () => {
    const text = "20:sgd:0.11,30:momentum:momentum=0.3,40:adam:beta1=0.5,41:rmsprop:alpha=0.9";
    const changes = parsePlaneChanges(text);
    expect(changes).toEqual([
      { step: 20, id: "sgd", key: "lr", value: 0.11 },
      { step: 30, id: "momentum", key: "momentum", value: 0.3 },
      { step: 40, id: "adam", key: "beta1", value: 0.5 },
      { step: 41, id: "rmsprop", key: "alpha", value: 0.9 },
    ]);
    expect(formatPlaneChanges(changes)).toBe(text);
    expect(changesByOptimizer(changes)["momentum"]).toEqual({
      rates: [],
      hyper: [{ step: 30, key: "momentum", value: 0.3 }],
      switches: [],
    });
    for (const bad of [
      "20:sgd:momentum=0.3",
      "20:adam:beta2=1",
      "20:sgd:0",
      "x:sgd:0.1",
      "20:adagrad:alpha=0.5",
    ])
      expect(() => parsePlaneChanges(bad), bad).toThrow(
        /expected STEP:OPTIMIZER:η or STEP:OPTIMIZER:KEY=VALUE/,
      );
  });

  // Heavy ball on the rotated bowl with λ = 1 and 20 (λmax = 20 at every point): its limit is
  // 2(1 + β)/λmax, 0.19 at β = 0.9 and 0.13 at β = 0.3. At η = 0.15 it converges with 0.9 and,
  // β moved to 0.3 at step 25, diverges from there; the velocity is kept (the step after the
  // change is not the one a fresh β = 0.3 run from that point would take).
  it("β moved part-way moves the critical rate with it and keeps the velocity", () => {
    const objective = planeObjective("quadratic");
    const options = optimizerOptions("momentum", { lr: 0.15, momentum: 0.9 });
    const hyper = [{ step: 25, key: "momentum" as const, value: 0.3 }];
    const [steady] = runPaths(objective, [1, 1], 100, [{ id: "momentum", options }], 20);
    const [moved] = runPaths(objective, [1, 1], 100, [{ id: "momentum", options }], 20, null, {
      momentum: { rates: [], hyper },
    });
    expect(steady!.verdict.status).toMatch(/converg/);
    expect(moved!.verdict.status).toMatch(/diverg/);
    for (let k = 0; k <= 25; k++) expect(moved!.trace[k]!.loss).toBe(steady!.trace[k]!.loss);
    // x_26 = x_25 − η·(0.3·b_24 + g_25): the buffer carried over, not restarted from g_25.
    const x24 = steady!.trace[24]!.x;
    const x25 = steady!.trace[25]!.x;
    const g25 = steady!.trace[25]!.grad;
    for (let i = 0; i < 2; i++) {
      const b24 = (x24[i]! - x25[i]!) / 0.15; // the heavy ball's x_{k+1} = x_k − η·b_k
      expect(moved!.trace[26]!.x[i]).toBeCloseTo(x25[i]! - 0.15 * (0.3 * b24 + g25[i]!), 12);
    }
    const limits = rateAgainstLimit(objective, moved!, options, null, { rates: [], hyper });
    for (const p of limits.slice(0, 25)) expect(p.limit).toBeCloseTo((2 * 1.9) / 20, 10);
    for (const p of limits.slice(25, 40)) expect(p.limit).toBeCloseTo((2 * 1.3) / 20, 10);
    expect(limits.every((p) => p.value === 0.15)).toBe(true);
  });
});
