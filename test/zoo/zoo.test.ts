import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SweepPool } from "../../src/analysis/thresholds/sweep-pool.js";
import { trainingCriteria, trainingLrSearch } from "../../src/analysis/thresholds/training-search.js";
import { createOptimizer } from "../../src/optim/index.js";
import { judgeSet, endsBelowStart as labelledEndsBelow, labelledSet } from "./labelled.js";
import { buildNet, guardedZooRun, replayDetector, ZOO_MULTIPLES, ZOO_NETS } from "./nets.js";

// The labelled zoo (scripts/fixtures/zoo.ts): 14 networks × 7 rates, and 8 held-out networks the
// detector's thresholds were not chosen on; PyTorch's loss curves for a subset (torch_zoo.py).
interface ZooRun {
  multiple: number;
  lr: number;
  label: "diverged" | "failed" | "catapult" | "edge-of-stability" | "no-rise";
  nonfiniteStep: number | null;
  loss: (number | string)[];
  curvature: (number | string)[];
}
interface Zoo {
  horizon: number;
  nets: { id: string; runs: ZooRun[] }[];
}
const read = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./__golden__/${name}`, import.meta.url), "utf8")) as T;
const zoo = read<Zoo>("zoo.json");
const torch = read<{
  nets: { id: string; runs: { multiple: number; lr: number; loss: (number | string)[] }[] }[];
}>("zoo-torch.json");
const num = Number;
const endsBelowStart = (r: ZooRun) =>
  r.label === "catapult" || r.label === "edge-of-stability" || r.label === "no-rise";

describe("the zoo", () => {
  it("covers what the issue asks: ≥ 30 runs, tanh/relu/gelu, mse and cross-entropy, widths 16–256, depths 1–3, every label", () => {
    const runs = zoo.nets.flatMap((n) => n.runs);
    expect(runs.length).toBeGreaterThanOrEqual(30);
    expect(new Set(ZOO_NETS.map((n) => n.activation))).toEqual(new Set(["tanh", "relu", "gelu"]));
    expect(new Set(ZOO_NETS.map((n) => n.loss))).toEqual(new Set(["mse", "cross-entropy"]));
    expect(Math.min(...ZOO_NETS.flatMap((n) => n.hidden))).toBe(16);
    expect(Math.max(...ZOO_NETS.flatMap((n) => n.hidden))).toBe(256);
    expect(new Set(ZOO_NETS.map((n) => n.hidden.length))).toEqual(new Set([1, 2, 3]));
    expect(new Set(runs.map((r) => r.label))).toEqual(
      new Set(["diverged", "failed", "catapult", "edge-of-stability", "no-rise"]),
    );
    expect(new Set(runs.map((r) => r.multiple))).toEqual(new Set(ZOO_MULTIPLES));
  });

  it("is what our engine computes: two small nets re-run at every rate give the stored curves", () => {
    let worst = 0;
    for (const id of ["tanh-ce-16-xor-s5", "relu-mse-16-xor-s12"]) {
      const net = ZOO_NETS.find((n) => n.id === id)!;
      const { objective: f, theta0 } = buildNet(net);
      for (const run of zoo.nets.find((n) => n.id === id)!.runs) {
        const opt = createOptimizer({ name: "sgd", lr: run.lr }, f.dim);
        const x = Float64Array.from(theta0);
        const g = new Float64Array(f.dim);
        for (let k = 0; k < run.loss.length; k++) {
          const loss = f.gradient(x, g);
          const stored = num(run.loss[k]);
          // The fixture keeps 9 significant digits: within half a unit of the 9th, plus rounding.
          if (Number.isFinite(stored)) worst = Math.max(worst, Math.abs(loss - stored) / Math.abs(stored));
          else expect(String(loss)).toBe(String(stored));
          opt.step(x, g);
        }
      }
    }
    console.log("zoo re-run: worst relative difference", worst);
    expect(worst).toBeLessThanOrEqual(6e-9);
  });

  it("matches PyTorch float64 step for step on the subset (relative 1e-9), overflow at the same step", () => {
    let compared = 0;
    for (const tnet of torch.nets) {
      const { objective: f, theta0 } = buildNet(ZOO_NETS.find((n) => n.id === tnet.id)!);
      for (const run of tnet.runs) {
        const opt = createOptimizer({ name: "sgd", lr: run.lr }, f.dim);
        const x = Float64Array.from(theta0);
        const g = new Float64Array(f.dim);
        for (let k = 0; k < run.loss.length; k++) {
          const ours = f.gradient(x, g);
          const theirs = num(run.loss[k]);
          if (Number.isFinite(theirs)) {
            expect(Math.abs(ours - theirs) / Math.abs(theirs)).toBeLessThan(1e-9);
            compared++;
          } else expect(Number.isFinite(ours)).toBe(false);
          opt.step(x, g);
        }
      }
    }
    expect(compared).toBeGreaterThan(3000);
  });
});

describe("the detector on the zoo and the held-out nets", () => {
  // The one definition of divergence (src/run/divergence.ts) labels every run: diverged at the
  // first step past 10⁶ × max(start loss, trivial baseline) or non-finite. On the sets the rule
  // was chosen on, no run that ends below its start is warned about, none is left `diverging`,
  // and every diverged run is warned about no later than the step it diverged (strictly before
  // on most: the bench prints the lead times). The PyTorch sets are checked the same way.
  it.each(["zoo", "holdout", "torch", "torch-b", "torch-c"] as const)(
    "%s: no warning on a run that ends below its start; every divergence warned by its step",
    (name) => {
      const judged = judgeSet(labelledSet(name));
      const quiet = judged.filter(
        (j) => labelledEndsBelow(j.run) && j.replay.detection.firstWarningStep !== null,
      );
      const stuck = judged.filter(
        (j) => labelledEndsBelow(j.run) && j.replay.detection.state === "diverging",
      );
      const late = judged.filter(
        (j) =>
          j.run.divergedStep !== null &&
          (j.replay.detection.firstWarningStep === null ||
            j.replay.detection.firstWarningStep > j.run.divergedStep),
      );
      expect(quiet.map((j) => `${j.run.id}: ${j.replay.detection.reason}`)).toEqual([]);
      expect(stuck).toEqual([]);
      expect(late.map((j) => j.run.id)).toEqual([]);
      const diverged = judged.filter((j) => j.run.divergedStep !== null);
      const ahead = diverged.filter((j) => j.lead !== null);
      console.log(`${name}: ${ahead.length} of ${diverged.length} divergences warned strictly before`);
      expect(judged.filter((j) => labelledEndsBelow(j.run)).length).toBeGreaterThan(30);
      expect(diverged.length).toBeGreaterThan(10);
    },
  );

  /**
   * A blind set's judgement as asserted below: the runs that ended below their start (calm), those
   * of them warned about, the divergences, and those warned late or never.
   */
  const blind = (name: "torch-d" | "torch-e" | "torch-f") => {
    const judged = judgeSet(labelledSet(name));
    const calm = judged.filter((j) => labelledEndsBelow(j.run));
    const diverged = judged.filter((j) => j.run.divergedStep !== null);
    return {
      calm,
      stuck: calm.filter((j) => j.replay.detection.state === "diverging"),
      warned: calm.filter((j) => j.replay.detection.firstWarningStep !== null),
      diverged,
      late: diverged.filter(
        (j) =>
          j.replay.detection.firstWarningStep === null ||
          j.replay.detection.firstWarningStep > j.run.divergedStep!,
      ),
      ahead: diverged.filter((j) => j.lead !== null),
    };
  };

  // Set D was made blind to the rule and judged once, unchanged (labelled.ts). What it showed is
  // asserted as it is, failure included, so that a change to the rule shows up here: every
  // divergence warned by its step, no run left `diverging`, and exactly three false warnings,
  // all on Adam catapults that came within a factor of 10 of the bound (issue 24, point 4: open).
  it("torch-d (blind): every divergence warned by its step; three Adam catapults near the bound warned", () => {
    const { calm, stuck, warned, diverged, late, ahead } = blind("torch-d");
    expect(stuck).toEqual([]);
    expect(warned.map((j) => j.run.kind)).toEqual(["adam", "adam", "adam"]);
    for (const j of warned) expect(j.run.peakRatio).toBeGreaterThan(9e4);
    expect(late.map((j) => j.run.id)).toEqual([]);
    expect(diverged.length).toBe(74);
    expect(calm.length).toBe(71);
    console.log(`torch-d: ${ahead.length} of 74 divergences warned strictly before`);
  });

  // Set E, by a fifth generator blind to the rule (labelled.ts), judged once on the rule as it is:
  // asserted as measured, failures included — every divergence warned by its step, none left
  // `diverging`, and two false warnings, both gd runs that peaked ×10⁴ or more over their
  // start (issue 24, point 4: open).
  it("torch-e (blind): every divergence warned by its step; two gd runs that peaked ×10⁴ and came back below their start warned", () => {
    const { calm, stuck, warned, diverged, late, ahead } = blind("torch-e");
    expect(stuck).toEqual([]);
    expect(warned.map((j) => j.run.kind)).toEqual(["gd", "gd"]);
    for (const j of warned) expect(j.run.peakRatio).toBeGreaterThan(1e4);
    expect(late.map((j) => j.run.id)).toEqual([]);
    expect(diverged.length).toBe(57);
    expect(calm.length).toBe(95);
    expect(ahead.length).toBe(36);
  });

  // Set F, by a sixth, independent generator written blind to the detector (labelled.ts), judged
  // once on the rule as it is: no false warning, every divergence warned by its step, 27 of 48
  // strictly before (issue 24, point 4 asks for all of them: open).
  it("torch-f (blind): no warning on a run that ends below its start; every divergence warned by its step", () => {
    const { calm, stuck, warned, diverged, late, ahead } = blind("torch-f");
    expect(warned.map((j) => j.run.id)).toEqual([]);
    expect(stuck).toEqual([]);
    expect(late.map((j) => j.run.id)).toEqual([]);
    expect(diverged.length).toBe(48);
    expect(calm.length).toBe(98);
    expect(ahead.length).toBe(27);
  });

  it("the PyTorch set: every divergence warned by the step it diverged, whatever the optimizer", () => {
    const judged = judgeSet(labelledSet("torch"));
    expect(new Set(judged.map((j) => j.run.kind))).toEqual(
      new Set(["gd", "momentum", "adam", "minibatch sgd"]),
    );
    const late = judged.filter(
      (j) =>
        j.run.divergedStep !== null &&
        (j.replay.detection.firstWarningStep === null ||
          j.replay.detection.firstWarningStep > j.run.divergedStep),
    );
    expect(late.map((j) => j.run.id)).toEqual([]);
  });

  it("names the catapults it saw", () => {
    const net = zoo.nets.find((n) => n.id === "gelu-mse-256-gaussian-s6")!;
    const run = net.runs.find((r) => r.multiple === 3)!;
    expect(run.label).toBe("catapult");
    const detection = replayDetector(run);
    expect(detection.state).toBe("catapult");
    expect(detection.reason).toMatch(/its start\) at step 2 and came back below its start: a catapult/);
  });
});

describe("the guard on the zoo's small nets, live", () => {
  // Every rate of four nets of 82–354 parameters: runs that trained are never rolled back, runs
  // that overflowed are rescued (finite, ending below their start).
  it.each(["tanh-mse-16x16-spiral-s0", "relu-mse-64-spiral-s1", "tanh-ce-16-xor-s5", "relu-mse-16-xor-s12"])(
    "%s",
    (id) => {
      const built = buildNet(ZOO_NETS.find((n) => n.id === id)!);
      for (const run of zoo.nets.find((n) => n.id === id)!.runs) {
        const { result, finalLoss } = guardedZooRun(built, run.lr, zoo.horizon);
        const f0 = num(run.loss[0]);
        if (endsBelowStart(run)) expect(result.interventions, `${id} ${run.multiple}×`).toEqual([]);
        if (run.label === "diverged") {
          expect(result.interventions.length, `${id} ${run.multiple}×`).toBeGreaterThan(0);
          expect(result.status).toBe("finished");
          expect(finalLoss).toBeLessThan(f0);
        }
      }
    },
    60_000,
  );
});

describe("critical-lr on the zoo", () => {
  // The search's η_max (the smallest rate that diverges within the zoo's horizon) must fall between
  // the zoo's largest rate that did not diverge and its smallest that did, and every zoo rate
  // must be on the side of the boundary its label says.
  it.each(["relu-mse-16-xor-s12", "tanh-mse-16x16-spiral-s0", "tanh-ce-16-xor-s5"])(
    "%s: η_max matches the labels' boundary",
    async (id) => {
      const net = ZOO_NETS.find((n) => n.id === id)!;
      const { objective, theta0, x, y, sizes } = buildNet(net);
      const runs = zoo.nets.find((n) => n.id === id)!.runs;
      const pool = new SweepPool(2);
      try {
        const criteria = trainingCriteria(zoo.horizon);
        const source = {
          kind: "mlp" as const,
          spec: { sizes, activation: net.activation, loss: net.loss },
          data: { x, y, rows: x.length / 2 },
          description: id,
        };
        const r = await trainingLrSearch(
          objective,
          theta0,
          { name: "sgd" },
          {
            horizon: zoo.horizon,
            relativeTolerance: 1e-3,
            evaluate: pool.evaluator({
              source,
              x0: Array.from(theta0),
              optimizer: { name: "sgd" },
              criteria,
            }),
          },
        );
        // Labelled by the one definition: past the blow-up bound or non-finite.
        const labelled = labelledSet("zoo").filter((z) => z.id.startsWith(`${id} lr `));
        expect(labelled).toHaveLength(runs.length);
        const diverged = labelled.filter((z) => z.divergedStep !== null).map((z) => z.optimizer.lr);
        const survived = labelled.filter((z) => z.divergedStep === null).map((z) => z.optimizer.lr);
        if (diverged.length === 0) {
          // No zoo rate overflowed: nor may any rate the search tried up to the largest of them.
          if (r.etaMax) expect(r.etaMax.below).toBeGreaterThanOrEqual(Math.max(...survived));
        } else {
          expect(r.etaMax).not.toBeNull();
          expect(r.etaMax!.above).toBeLessThanOrEqual(Math.min(...diverged) * (1 + 1e-9));
          expect(r.etaMax!.below).toBeGreaterThanOrEqual(
            Math.max(...survived.filter((lr) => lr < Math.min(...diverged))),
          );
        }
        // The curvature's limit is the zoo's: its 0.5× rate is 0.5 · 2/λ0 = 1/λ0.
        expect(r.atStart!.lambdaMax * runs[0]!.lr).toBeCloseTo(1, 6);
      } finally {
        await pool.close();
      }
    },
    120_000,
  );
});
