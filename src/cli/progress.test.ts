import { afterEach, describe, expect, it, vi } from "vitest";
import { LongWork } from "./progress.js";

/*
 * The rate a long job states: from its first tick on, so that work before the first unit ends
 * (train reads the data and evaluates the start over every row) is not taken for units' time.
 * The clock is vitest's fake Date.
 */
describe("LongWork's estimate", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("measures the rate from the first tick once a second one comes", () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const lines: string[] = [];
    const work = new LongWork(63, "step", (t) => lines.push(t), false, { interruptible: false });
    // Step 1 ends after 78 s, 73 of them the start's evaluation; then a step takes 5 s.
    vi.setSystemTime(78_000);
    work.tick(1);
    vi.setSystemTime(83_000);
    work.tick(2);
    vi.setSystemTime(88_000);
    work.tick(3);
    work.finish();
    expect(lines).toHaveLength(3);
    // One tick: all the time so far over the one step, the best there is.
    expect(lines[0]).toMatch(/step 1 of 63 .* 78 s so far, about 81 min left at 78 s a step/);
    // Then 5 s a step: 61 steps left are about 5 min, 60 about 5 min.
    expect(lines[1]).toMatch(/step 2 of 63 .* 83 s so far, about 5 min left at 5 s a step/);
    expect(lines[2]).toMatch(/step 3 of 63 .* 88 s so far, about 5 min left at 5 s a step/);
  });

  it("is silent for the first 2 s, and a job that ticks from the start is timed from its first tick", () => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
    const lines: string[] = [];
    const work = new LongWork(1000, "step", (t) => lines.push(t), false, { interruptible: false });
    for (let k = 1; k <= 99; k++) {
      vi.setSystemTime(k * 20);
      work.tick(k);
    }
    expect(lines).toEqual([]);
    vi.setSystemTime(2_020);
    work.tick(101);
    work.finish();
    // (2.02 − 0.02) s over 100 steps: 20 ms a step, 899 left ≈ 18 s.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/step 101 of 1,000 .* about 18 s left at 20 ms a step/);
  });
});
