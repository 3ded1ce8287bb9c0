import { describe, expect, it } from "vitest";
import { queuedCells, validateCellJob } from "./cell-job.js";
import { CellThreads } from "./cell-threads.js";

/** A queued cell on f(x) = x² from x₀ = −1 at lr 0.1, as a worker decodes it. */
function cell(f = "x^2") {
  const q = queuedCells(
    {
      source: { kind: "spec", spec: { f } },
      x0: [-1],
      optimizer: { name: "sgd" },
      cells: [{ lr: 0.1 }],
      criteria: { horizon: 50 },
    } as never,
    "test",
  );
  return validateCellJob(q.jobs[0]!.data, q.blobs);
}

describe("a queued cell's thread has a budget", () => {
  it("a build past its deadline fails the job with the reason, and the thread is replaced", async () => {
    const threads = new CellThreads(1, { heapMb: 2048, buildMs: 1 });
    try {
      await expect(threads.run(cell(), "a")).rejects.toThrow(
        /^invalid job: building its objective took more than 0\.001 s, the limit for a queued job$/,
      );
    } finally {
      await threads.close();
    }
    // With time to build, the same cell runs: |1 − 2·0.1| = 0.8 a step, 0.64 on the loss.
    const roomy = new CellThreads(1, { heapMb: 2048, buildMs: 60_000 });
    try {
      const r = await roomy.run(cell(), "a");
      expect(r.status).toBe("converging");
      expect(r.finalLoss).toBeCloseTo(0.64 ** 50, 20);
      // A second cell of the same source on the kept objective: the deadline is met again.
      const again = await roomy.run(cell(), "a");
      expect(again.finalLoss).toBe(r.finalLoss);
    } finally {
      await roomy.close();
    }
  }, 60_000);

  it("a thread past its heap limit fails the job naming the limit, and a fresh thread takes the next one", async () => {
    // No valid job found here outgrows 2 GiB of heap (the expression compiler keeps a 280-factor
    // product's derivatives small), so the path is shown with a heap too small for the thread's
    // own modules: the same exit a cell past its budget takes.
    const big = Array.from({ length: 280 }, () => "sin(x)").join("*");
    const tight = new CellThreads(1, { heapMb: 4, buildMs: 60_000 });
    try {
      await expect(tight.run(cell(big), "a")).rejects.toThrow(
        /^invalid job: its cell ran past the 4 MiB heap a queued job's thread may use$/,
      );
      // The dead thread was replaced (with the same budget, so it fails the same way, not hangs).
      await expect(tight.run(cell(big), "b")).rejects.toThrow(/4 MiB heap/);
    } finally {
      await tight.close();
    }
  }, 60_000);
});
