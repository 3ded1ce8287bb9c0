import { describe, expect, it } from "vitest";
import { LogWatch } from "../../src/analysis/diagnosis/watch.js";
import { endsBelowStart, labelledSet, type SetName } from "./labelled.js";

/**
 * `overshoot watch` reads a log, which has the loss and the rate but not the curvature along the
 * steps: the detector from the loss alone, its bound 10⁶ × the first loss. On the labelled sets
 * (labelled.ts: 359 runs that ended below their start, 154 that diverged; the optimizer stated, as
 * `watch --optimizer` states it), judged, not tuned: the detector is unchanged from the one the
 * training loops run.
 */
describe("watch's reading (the loss alone) on the labelled run sets", () => {
  it("warns on every divergence by its step; a false warning only on catapults that peaked ×100 or more over their start", () => {
    let calm = 0;
    let diverged = 0;
    let warnedBy = 0;
    const falseAlarms: string[] = [];
    for (const set of ["zoo", "holdout", "torch", "torch-b", "torch-c"] as SetName[]) {
      for (const run of labelledSet(set)) {
        const w = new LogWatch({ optimizer: run.optimizer });
        w.feed(run.loss.map((loss, k) => ({ step: k, loss, lr: run.optimizer.lr })));
        const first = w.detection.firstWarningStep;
        if (endsBelowStart(run)) {
          calm++;
          if (first !== null) {
            falseAlarms.push(
              `${set} ${run.id}: peak ×${run.peakRatio.toPrecision(3)}, warned at step ${first}`,
            );
            expect(run.peakRatio).toBeGreaterThan(100);
          }
        }
        if (run.label === "diverged") {
          diverged++;
          if (first !== null && first <= run.divergedStep!) warnedBy++;
        }
      }
    }
    console.log(
      `watch on the labelled sets: ${warnedBy} of ${diverged} divergences warned by their step; ${falseAlarms.length} of ${calm} runs that ended below their start warned:\n  ${falseAlarms.join("\n  ")}`,
    );
    expect([calm, diverged]).toEqual([359, 154]);
    expect(warnedBy).toBe(diverged);
    expect(falseAlarms.length).toBeLessThanOrEqual(5);
  });
});
