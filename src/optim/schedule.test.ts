import { describe, expect, it } from "vitest";
import { parseSchedule, schedule } from "./schedule.js";

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
