import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Objective } from "../core/objective.js";
import { rosenbrock } from "../objectives/builtins.js";
import { quadraticFromEigenvalues } from "../objectives/quadratic.js";
import { run } from "../run/runner.js";
import { checkHyperChanges, formatHyperChanges, type HyperChange, parseHyperChanges } from "./hyper.js";
import { createOptimizer, OPTIMIZER_NAMES, type OptimizerOptions, resolveOptimizerConfig } from "./index.js";

interface TorchStep {
  x: number[];
  grad: number[];
  loss: number;
}
interface TorchCase {
  objective: "bowl" | "rosenbrock";
  optimizer: OptimizerOptions;
  steps: TorchStep[];
  /** Set as `param_groups[0][key] = value` before the step of that index (hyper.ts). */
  changes?: HyperChange[];
}
const golden = JSON.parse(
  readFileSync(new URL("./__golden__/torch-optim.json", import.meta.url), "utf8"),
) as {
  torch: string;
  steps: number;
  cases: TorchCase[];
  changed: TorchCase[];
};

const REL = 1e-12;
const label = (c: TorchCase) => `${c.optimizer.name} ${JSON.stringify(c.optimizer)} on ${c.objective}`;

/** |a − b| ≤ rel·max(|a|, |b|), with an absolute floor far below anything the traces reach. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const err = Math.abs(a - e);
    const scale = Math.max(Math.abs(a), Math.abs(e), 1e-300);
    if (!(err <= REL * scale || err <= 1e-300)) {
      expect.fail(`${what}[${i}]: ${a} vs torch ${e} (relative error ${(err / scale).toExponential(2)})`);
    }
  }
}

describe("optimizers against torch.optim traces", () => {
  it("the fixture covers every optimizer and option, 60 float64 steps each", () => {
    expect(golden.steps).toBe(60);
    const seen = new Set<string>();
    for (const c of golden.cases) {
      expect(c.steps).toHaveLength(61);
      seen.add(c.optimizer.name);
      for (const key of Object.keys(c.optimizer)) seen.add(`${c.optimizer.name}.${key}`);
    }
    for (const name of OPTIMIZER_NAMES) expect(seen.has(name)).toBe(true);
    for (const option of [
      "sgd.momentum",
      "sgd.dampening",
      "sgd.nesterov",
      "sgd.weightDecay",
      "adam.amsgrad",
      "adam.weightDecay",
      "adam.betas",
      "adam.eps",
      "adamw.weightDecay",
      "adamw.amsgrad",
      "rmsprop.momentum",
      "rmsprop.centered",
      "rmsprop.alpha",
      "rmsprop.weightDecay",
      "rmsprop.eps",
      "adagrad.lrDecay",
      "adagrad.initialAccumulatorValue",
      "adagrad.weightDecay",
      "adagrad.eps",
    ]) {
      expect(seen, option).toContain(option);
    }
  });

  // The update rule alone: every step starts from torch's x_k and gradient, so one step's rounding
  // cannot be amplified by the next (feeding torch's gradient at our own x would not contract).
  it.each(golden.cases.map((c) => [label(c), c] as const))("update rule matches every step: %s", (_, c) => {
    const opt = createOptimizer(c.optimizer, 2);
    const x = new Float64Array(2);
    for (let k = 0; k < 60; k++) {
      x.set(c.steps[k]!.x);
      opt.step(x, Float64Array.from(c.steps[k]!.grad));
      expectClose(x, c.steps[k + 1]!.x, `step ${k + 1} x`);
    }
    expect(opt.stepCount).toBe(60);
  });

  // The whole run with overshoot's own objectives: gradients and the update together.
  const objectives: Record<TorchCase["objective"], Objective> = {
    bowl: quadraticFromEigenvalues([2, 20]), // ½xᵀ diag(2, 20) x = x² + 10y²
    rosenbrock: rosenbrock(),
  };
  it.each(golden.cases.map((c) => [label(c), c] as const))("whole run matches every step: %s", (_, c) => {
    const f = objectives[c.objective];
    const opt = createOptimizer(c.optimizer, 2);
    const x = Float64Array.from(c.steps[0]!.x);
    const g = new Float64Array(2);
    for (let k = 0; k <= 60; k++) {
      const loss = f.gradient(x, g);
      expectClose([loss], [c.steps[k]!.loss], `step ${k} loss`);
      expectClose(g, c.steps[k]!.grad, `step ${k} grad`);
      if (k < 60) opt.step(x, g);
      expectClose(x, c.steps[Math.min(k + 1, 60)]!.x, `step ${k + 1} x`);
    }
  });
});

// Momentum, a beta or alpha edited between steps, every buffer kept: PyTorch's param_groups
// semantics, including momentum set to 0 (the buffer kept, unused) and back on from the stale one.
describe("hyper-parameters changed part-way, against torch.optim", () => {
  const objectives: Record<TorchCase["objective"], Objective> = {
    bowl: quadraticFromEigenvalues([2, 20]),
    rosenbrock: rosenbrock(),
  };
  const changedLabel = (c: TorchCase) => `${label(c)}, ${formatHyperChanges(c.changes!)}`;
  it("the fixture changes every key, momentum to 0 and back", () => {
    const keys = new Set(
      golden.changed.flatMap((c) => c.changes!.map((h) => `${c.optimizer.name}.${h.key}`)),
    );
    for (const k of [
      "sgd.momentum",
      "adam.beta1",
      "adam.beta2",
      "adamw.beta1",
      "rmsprop.alpha",
      "rmsprop.momentum",
    ])
      expect(keys).toContain(k);
    expect(golden.changed.some((c) => c.changes!.some((h) => h.key === "momentum" && h.value === 0))).toBe(
      true,
    );
  });
  it.each(golden.changed.map((c) => [changedLabel(c), c] as const))("update rule: %s", (_, c) => {
    const opt = createOptimizer(c.optimizer, 2);
    const x = new Float64Array(2);
    for (let k = 0; k < 60; k++) {
      for (const h of c.changes!) if (h.step === k) opt.setHyperparameter(h.key, h.value);
      x.set(c.steps[k]!.x);
      opt.step(x, Float64Array.from(c.steps[k]!.grad));
      expectClose(x, c.steps[k + 1]!.x, `step ${k + 1} x`);
    }
  });
  it.each(golden.changed.map((c) => [changedLabel(c), c] as const))("run with hyperChanges: %s", (_, c) => {
    const sixty = (hyperChanges: readonly HyperChange[]) =>
      run({
        objective: objectives[c.objective],
        optimizer: c.optimizer,
        x0: c.steps[0]!.x,
        steps: 60,
        tolerance: 0,
        hyperChanges,
      });
    const r = sixty(c.changes!);
    expect(r.trace).toHaveLength(61);
    r.trace.forEach((rec, k) => {
      expectClose([rec.loss], [c.steps[k]!.loss], `step ${k} loss`);
      expectClose(rec.x, c.steps[k]!.x, `step ${k} x`);
    });
    // Without the changes the run is another one: the changes are what the fixture tests.
    const plain = sixty([]);
    expect(plain.trace[60]!.loss).not.toBe(r.trace[60]!.loss);
  });
  it("refuses a key the optimizer lacks, and values outside PyTorch's ranges, in one sentence", () => {
    expect(() => checkHyperChanges("adagrad", parseHyperChanges("3:momentum=0.5"))).toThrow(
      "invalid change '3:momentum=0.5': adagrad has no momentum (it has none to change besides η)",
    );
    expect(() => checkHyperChanges("sgd", parseHyperChanges("3:beta1=0.5"))).toThrow(
      "sgd has no beta1 (it takes momentum)",
    );
    expect(() => parseHyperChanges("3:beta2=1")).toThrow("beta2 must be a number in [0, 1)");
    expect(() => parseHyperChanges("3:momentum=-1")).toThrow("momentum must be a finite number ≥ 0");
    expect(() => parseHyperChanges("x:momentum=1")).toThrow("expected STEP:KEY=VALUE");
    expect(() => parseHyperChanges("3:lr=1")).toThrow("expected STEP:KEY=VALUE");
    expect(parseHyperChanges("40:momentum=0.5, 60:beta1=0.8")).toEqual([
      { step: 40, key: "momentum", value: 0.5 },
      { step: 60, key: "beta1", value: 0.8 },
    ]);
    expect(() =>
      run({
        objective: objectives.bowl,
        optimizer: { name: "adam" },
        x0: [1, 1],
        steps: 3,
        hyperChanges: [{ step: 1, key: "alpha", value: 0.5 }],
      }),
    ).toThrow("adam has no alpha (it takes beta1, beta2)");
  });
});

describe("optimizer configuration", () => {
  it("fills in PyTorch's defaults", () => {
    expect(resolveOptimizerConfig({ name: "adam" })).toEqual({
      name: "adam",
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
    });
    expect(resolveOptimizerConfig({ name: "adamw" })).toMatchObject({ weightDecay: 1e-2 });
    expect(resolveOptimizerConfig({ name: "rmsprop" })).toEqual({
      name: "rmsprop",
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
    });
    expect(resolveOptimizerConfig({ name: "adagrad" })).toEqual({
      name: "adagrad",
      lr: 1e-2,
      lrDecay: 0,
      weightDecay: 0,
      initialAccumulatorValue: 0,
      eps: 1e-10,
    });
    expect(resolveOptimizerConfig({ name: "sgd", lr: 0.1 })).toEqual({
      name: "sgd",
      lr: 0.1,
      momentum: 0,
      dampening: 0,
      nesterov: false,
      weightDecay: 0,
    });
  });

  it.each([
    [{ name: "sgd" }, /invalid lr: sgd needs a learning rate/],
    [{ name: "sgd", lr: -1 }, /invalid lr: -1/],
    [{ name: "sgd", lr: Number.NaN }, /invalid lr: NaN/],
    [{ name: "sgd", lr: 0.1, nesterov: true }, /Nesterov momentum needs momentum > 0/],
    [{ name: "sgd", lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }, /dampening = 0/],
    [
      { name: "adam", momentum: 0.9 },
      /invalid momentum: adam has no such option \(adam takes lr, betas, eps, weightDecay, amsgrad\)/,
    ],
    [{ name: "adam", betas: [0.9, 1] }, /invalid betas: beta2 = 1/],
    [{ name: "rmsprop", alpha: -0.1 }, /invalid alpha: -0.1 \(a number ≥ 0\)/],
    [{ name: "adagrad", eps: Number.POSITIVE_INFINITY }, /invalid eps: Infinity/],
    [{ name: "lbfgs" }, /invalid optimizer: lbfgs \(valid: sgd, adam, adamw, rmsprop, adagrad\)/],
  ])("refuses %j", (options, message) => {
    expect(() => resolveOptimizerConfig(options as OptimizerOptions)).toThrow(message);
  });

  it("snapshot and restore replay the same steps", () => {
    for (const options of [
      { name: "sgd", lr: 0.01, momentum: 0.9 },
      { name: "adam", amsgrad: true },
      { name: "rmsprop", centered: true, momentum: 0.5 },
      { name: "adagrad" },
    ] as OptimizerOptions[]) {
      const opt = createOptimizer(options, 2);
      const f = rosenbrock();
      const g = new Float64Array(2);
      const x = Float64Array.of(-1.2, 1);
      for (let k = 0; k < 5; k++) {
        f.gradient(x, g);
        opt.step(x, g);
      }
      const saved = opt.snapshot();
      const xSaved = Float64Array.from(x);
      const walk = () => {
        for (let k = 0; k < 5; k++) {
          f.gradient(x, g);
          opt.step(x, g);
        }
        return Array.from(x);
      };
      const first = walk();
      opt.restore(saved);
      x.set(xSaved);
      expect(walk()).toEqual(first);
      expect(opt.stepCount).toBe(10);
      opt.reset();
      expect(opt.stepCount).toBe(0);
    }
  });
});
