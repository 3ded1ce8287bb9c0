import { describe, expect, it } from "vitest";
import { compileExpression } from "../objectives/expression.js";
import { run } from "../run/runner.js";
import {
  formatRateChanges,
  parseRateChanges,
  parseSchedule,
  schedule,
  scheduleWithChanges,
} from "./schedule.js";

describe("learning-rate schedules (PyTorch's closed forms)", () => {
  const at = (text: string, lr: number, steps: number[]) =>
    steps.map((k) => schedule(parseSchedule(text), lr)(k));

  it("step, exponential, cosine, warmup", () => {
    expect(at("step:10,0.5", 1, [0, 9, 10, 25])).toEqual([1, 1, 0.5, 0.25]);
    expect(at("exp:0.9", 2, [0, 1, 3])).toEqual([2, 1.8, 2 * 0.9 ** 3]);
    const c = at("cosine:100,0.01", 1, [0, 50, 100, 150]);
    expect(c[0]).toBe(1);
    expect(c[1]).toBeCloseTo(0.505, 14);
    expect(c[2]).toBeCloseTo(0.01, 14);
    expect(c[3]).toBeCloseTo(0.01, 14);
    expect(at("warmup:4", 0.8, [0, 1, 3, 10])).toEqual([0.2, 0.4, 0.8, 0.8]);
    expect(at("constant", 0.3, [0, 1000])).toEqual([0.3, 0.3]);
  });

  it("one-cycle rises from lr/25 to lr, then falls to lr/25/1e4", () => {
    const [first, peak, last] = at("onecycle:101,0.3", 1, [0, 29.3, 100]);
    expect(first).toBeCloseTo(1 / 25, 14);
    expect(peak).toBeCloseTo(1, 14);
    expect(last).toBeCloseTo(1 / 25 / 1e4, 14);
  });

  it.each([
    ["cosin:100", /invalid schedule: 'cosin:100' \(valid: constant, step:S,G/],
    ["cosine", /invalid schedule: 'cosine'/],
    ["step:10", /invalid schedule: 'step:10'/],
    ["step:0,0.5", /whole number of steps ≥ 1/],
    ["exp:-1", /needs a factor > 0/],
    ["onecycle:100,1.5", /PCT must be in \(0, 1\)/],
  ])("refuses %s", (text, message) => {
    expect(() => parseSchedule(text)).toThrow(message);
  });
});

describe("scheduleWithChanges", () => {
  it("keeps the base rate until a change, then the changed one, under the schedule's shape", () => {
    const flat = scheduleWithChanges(null, 0.1, [
      { step: 30, lr: 0.5 },
      { step: 12, lr: 1.1 },
    ]);
    expect([0, 11, 12, 29, 30, 99].map(flat)).toEqual([0.1, 0.1, 1.1, 1.1, 0.5, 0.5]);
    // Cosine over 100 steps (closed form η/2·(1 + cos(πk/100))) with η halved at step 40.
    const cos = scheduleWithChanges(parseSchedule("cosine:100"), 1, [{ step: 40, lr: 0.5 }]);
    expect(cos(20)).toBeCloseTo((1 + Math.cos((Math.PI * 20) / 100)) / 2, 15);
    expect(cos(60)).toBeCloseTo((0.5 * (1 + Math.cos((Math.PI * 60) / 100))) / 2, 15);
    // cosine's MIN is a rate of its own, not scaled with the base.
    const floor = scheduleWithChanges(parseSchedule("cosine:10,0.01"), 1, [{ step: 5, lr: 2 }]);
    expect(floor(10)).toBeCloseTo(0.01, 15);
  });

  it("reads and writes the lab's STEP:η lists, refusing anything else in one sentence", () => {
    expect(parseRateChanges("12:0.5,30:1.1")).toEqual([
      { step: 12, lr: 0.5 },
      { step: 30, lr: 1.1 },
    ]);
    expect(formatRateChanges(parseRateChanges("12:0.5,30:1.1"))).toBe("12:0.5,30:1.1");
    expect(parseRateChanges(" ")).toEqual([]);
    for (const bad of ["12", "1.5:0.1", "3:-1", "x:y", "4:0"])
      expect(() => parseRateChanges(bad)).toThrow(/expected STEP:η/);
  });
});

describe("a schedule that reaches 0", () => {
  it("cosine:10 over 20 steps of x²: the steps past 10 stand still, as PyTorch's lr = 0 does", () => {
    const r = run({
      objective: compileExpression("x^2"),
      optimizer: { name: "sgd", lr: 0.1 },
      x0: [-1],
      steps: 20,
      schedule: schedule(parseSchedule("cosine:10"), 0.1),
    });
    // Closed form: x_{k+1} = (1 − 2η_k)·x_k with η_k = 0.1·(1 + cos(πk/10))/2, and η_k = 0 from k = 10.
    let x = -1;
    for (let k = 0; k < 10; k++) x *= 1 - 2 * ((0.1 * (1 + Math.cos((Math.PI * k) / 10))) / 2);
    expect(r.trace[10]!.x[0]).toBeCloseTo(x, 14);
    expect(r.trace[20]!.x[0]).toBe(r.trace[10]!.x[0]);
    expect(r.verdict.reason).toMatch(/rate is 0 here \(η = 0\), so the steps no longer move x/);
  });
});
