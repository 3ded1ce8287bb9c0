import { describe, expect, it } from "vitest";
import type { Objective } from "../../core/objective.js";
import { createRng } from "../../core/rng.js";
import { initialParameters, type MlpObjective, mlpObjective } from "../../nn/mlp/mlp.js";
import { compileExpression } from "../../objectives/expression.js";
import { synthetic } from "../../objectives/synthetic.js";
import { guardedRun } from "./guard.js";
import { trainToEnd } from "./train.js";

/**
 * One-off faults, as a flaky device or a bad batch gives them: at the n-th gradient evaluation
 * (the optimizer's step n − 1 on the first pass) the loss and gradient are NaN, or the loss is
 * +Infinity, or the gradient is 10⁴× too large — finite, so the step throws the point far
 * out, where the next steps diverge. Each of the 3 kinds at each of the first 80 steps: 240
 * faults, which both guards must recover from (finish, and end where a fault-free run ends).
 */
type Fault = "nan" | "inf" | "spike";
const FAULTS: [Fault, number][] = (["nan", "inf", "spike"] as const).flatMap((kind) =>
  Array.from({ length: 80 }, (_, s) => [kind, s + 1] as [Fault, number]),
);

function inject<T extends { gradient: Objective["gradient"] }>(f: T, kind: Fault, at: number): T {
  let calls = 0;
  return {
    ...f,
    gradient(x: Float64Array, out: Float64Array) {
      const loss = f.gradient(x, out);
      if (++calls !== at) return loss;
      if (kind === "nan") {
        out.fill(Number.NaN);
        return Number.NaN;
      }
      if (kind === "inf") return Number.POSITIVE_INFINITY;
      for (let i = 0; i < out.length; i++) out[i]! *= 1e4;
      return loss;
    },
  };
}

describe("the guards recover from 240 one-off injected faults", () => {
  it("run --guard (guardedRun): a quartic bowl, where a point thrown far out diverges", () => {
    // Curvature 3x² + 1: lr 0.1 is stable for |x| < 2.5 and the minimum is 0 at the origin.
    const bowl = compileExpression("(x^4 + y^4)/4 + (x^2 + y^2)/2");
    const config = { optimizer: { name: "sgd", lr: 0.1 }, x0: [1, -1], steps: 250 } as const;
    const clean = guardedRun({ ...config, objective: bowl });
    expect(clean.interventions).toHaveLength(0);
    const failed: string[] = [];
    for (const [kind, at] of FAULTS) {
      const r = guardedRun({ ...config, objective: inject(bowl, kind, at) });
      const last = r.trace[r.trace.length - 1]!;
      const ok =
        r.guardStatus === "finished" &&
        r.trace.length === config.steps + 1 &&
        last.loss < 1e-9 &&
        r.trace.every((t) => Number.isFinite(t.loss));
      if (!ok)
        failed.push(
          `${kind} at call ${at}: ${r.guardStatus}, ${r.interventions.length} rollbacks, loss ${last.loss}`,
        );
    }
    expect(failed).toEqual([]);
  });

  it("run --guard --guard-action skip and clip: the same faults past the statistics' warm-up (calls 41 to 80) are passed over or clipped, and the run ends where a clean one does", () => {
    const bowl = compileExpression("(x^4 + y^4)/4 + (x^2 + y^2)/2");
    const config = { optimizer: { name: "sgd", lr: 0.1 }, x0: [1, -1], steps: 250 } as const;
    // The clean run stops at its tolerance before the last step; a skipped step costs one more.
    const clean = guardedRun({ ...config, objective: bowl }).trace.at(-1)!.step;
    const failed: string[] = [];
    let spikesSkipped = 0;
    for (const action of ["skip", "clip"] as const)
      for (const kind of ["nan", "inf", "spike"] as const)
        for (let at = 41; at <= 80; at++) {
          const r = guardedRun({ ...config, objective: inject(bowl, kind, at) }, { action });
          const last = r.trace[r.trace.length - 1]!;
          // The fault is at gradient call `at`: the start's evaluation is call 1, step k's point call k + 1.
          const ok =
            r.guardStatus === "finished" &&
            // skip costs the one step it passed over; clip moves the point, so it may take longer.
            last.step <= (action === "skip" && r.skipped.length > 0 ? clean + 1 : config.steps) &&
            last.loss < 1e-9 &&
            r.interventions.length === 0 &&
            // Never a clean step passed over; a non-finite one always; a finite spike when it is past
            // 6σ of the window (late in the run the window's early, large norms widen it, and the
            // spike is taken — the run must then still end converged).
            r.skipped.every((k) => k.step === at - 1) &&
            (kind !== "spike" ? r.skipped.length === 1 : true) &&
            (action === "clip" && kind === "spike" ? r.clipped >= 1 : true);
          if (!ok)
            failed.push(
              `${action}, ${kind} at call ${at}: ${r.guardStatus}, last step ${last.step}, loss ${last.loss}, skipped ${r.skipped.map((s) => s.step).join(",")}, clipped ${r.clipped}`,
            );
          if (action === "skip" && kind === "spike" && r.skipped.length === 1) spikesSkipped++;
        }
    expect(failed).toEqual([]);
    expect(spikesSkipped).toBeGreaterThanOrEqual(30);
  });

  it("run --guard --guard-action skip: a spike that is the function's own (there again when evaluated afresh) is passed over once, then taken", () => {
    const bowl = compileExpression("(x^4 + y^4)/4 + (x^2 + y^2)/2");
    const config = { optimizer: { name: "sgd", lr: 0.1 }, x0: [1, -1], steps: 100 } as const;
    const at = guardedRun({ ...config, objective: bowl }).trace[50]!.x;
    // The gradient ×10⁴ wherever the point is the one step 50 starts from: the same at every evaluation.
    const cliff = {
      ...bowl,
      gradient(x: Float64Array, out: Float64Array) {
        const loss = bowl.gradient(x, out);
        if (x.every((v, i) => v === at[i])) for (let i = 0; i < out.length; i++) out[i]! *= 1e4;
        return loss;
      },
    };
    const r = guardedRun({ ...config, objective: cliff }, { action: "skip" });
    // (The point it lands on is far out, with a gradient past 6σ again: passed over once too.)
    expect(r.skipped[0]!.step).toBe(50);
    // Step 51 starts from the same point, with the same gradient, and takes it.
    const taken = r.trace.find((t) => t.step === 51)!;
    expect(Array.from(taken.x)).toEqual(Array.from(at));
    expect(taken.gradNorm).toBeGreaterThan(1e3 * r.trace.find((t) => t.step === 49)!.gradNorm);
  });

  it("run --guard --guard-action rollback-skip: back 20 steps or more at the same rate, it recovers from every one-off fault; a rate too high it cannot cure, and gives up", () => {
    const bowl = compileExpression("(x^4 + y^4)/4 + (x^2 + y^2)/2");
    const config = { optimizer: { name: "sgd", lr: 0.1 }, x0: [1, -1], steps: 250 } as const;
    const failed: string[] = [];
    for (const [kind, at] of FAULTS) {
      const r = guardedRun(
        { ...config, objective: inject(bowl, kind, at) },
        { action: "rollback-skip", rollbackSteps: 20 },
      );
      const last = r.trace[r.trace.length - 1]!;
      const ok =
        r.guardStatus === "finished" &&
        last.loss < 1e-9 &&
        r.interventions.every(
          (i) => i.newLr === i.oldLr && i.atStep - i.rolledBackTo >= Math.min(20, i.atStep),
        );
      if (!ok) failed.push(`${kind} at call ${at}: ${r.guardStatus}, loss ${last.loss}`);
    }
    expect(failed).toEqual([]);
    // x² at η = 1.5: |1 − 2η| = 2, every step doubles the distance; only a lower rate cures it.
    const steep = compileExpression("x^2");
    const run = { objective: steep, optimizer: { name: "sgd", lr: 1.5 }, x0: [1], steps: 200 } as const;
    expect(guardedRun(run, { action: "rollback-skip" }).guardStatus).toBe("gave-up");
    expect(guardedRun(run).guardStatus).toBe("finished");
  });

  it("train --guard: a 2-16-1 tanh MLP on the spiral, full batch", () => {
    const set = synthetic("spiral", 60, 0, createRng(1));
    const data = { x: set.x, y: Float64Array.from(set.labels), rows: set.rows };
    const spec = { sizes: [2, 16, 1], activation: "tanh", loss: "mse" } as const;
    const net = mlpObjective(spec, data, "spiral");
    const theta0 = initialParameters(spec.sizes, "pytorch", createRng(2));
    const config = {
      train: data,
      validation: null,
      theta0,
      optimizer: { name: "sgd", lr: 0.2 },
      steps: 200,
      batchSize: null,
      seed: 3,
      logEvery: 200,
      sharpnessEvery: null,
      guard: {},
    } as const;
    const clean = trainToEnd({ ...config, objective: net });
    expect(clean.result.interventions).toHaveLength(0);
    const cleanLoss = clean.records[clean.records.length - 1]!.loss;
    const failed: string[] = [];
    for (const [kind, at] of FAULTS) {
      const { records, result } = trainToEnd({ ...config, objective: inject<MlpObjective>(net, kind, at) });
      const last = records[records.length - 1]!;
      const ok = result.status === "finished" && last.step === config.steps && last.loss < 1.05 * cleanLoss;
      if (!ok)
        failed.push(
          `${kind} at call ${at}: ${result.status}, ${result.interventions.length} rollbacks, loss ${last.loss} (clean ${cleanLoss})`,
        );
    }
    expect(failed).toEqual([]);
  }, 60_000);
});
