import { describe, expect, it } from "vitest";
import { trainToEnd } from "../analysis/training/train.js";
import { createRng } from "../core/rng.js";
import { initialParameters, mlpObjective } from "../nn/mlp/mlp.js";
import { createObjective } from "../objectives/registry.js";
import { synthetic } from "../objectives/synthetic.js";
import { run, Stepper } from "../run/runner.js";
import type { StepRecord } from "../run/types.js";
import { createOptimizer } from "./index.js";
import { parseSchedule, scheduleWithChanges } from "./schedule.js";
import {
  formatOptimizerSwitches,
  hyperWithSwitches,
  type OptimizerSwitch,
  parseOptimizerSwitches,
} from "./switches.js";

/*
 * An optimizer switched at step K is, by definition, a new torch.optim object over the same
 * weights: the run up to K with the first, then a fresh run of the second from x_K (each
 * optimizer's update is checked against torch.optim in optim.test.ts). These tests build that
 * composition by hand and ask the switched run to equal it bit for bit.
 */

const rosenbrock = createObjective({ f: "rosenbrock" });
const points = (trace: readonly StepRecord[]) => trace.map((r) => [...(r.x as Float64Array)]);

describe("optimizer switches part-way", () => {
  it("sgd, then adam from step 40 (fresh moments, the same rate), equals sgd for 40 steps and then adam from x₄₀", () => {
    const switched = run({
      objective: rosenbrock,
      optimizer: { name: "sgd", lr: 1e-3 },
      x0: [-1.2, 1],
      steps: 100,
      optimizerChanges: [{ step: 40, optimizer: { name: "adam" } }],
    });
    const first = run({
      objective: rosenbrock,
      optimizer: { name: "sgd", lr: 1e-3 },
      x0: [-1.2, 1],
      steps: 40,
    });
    const x40 = first.trace.at(-1)!.x as Float64Array;
    const second = run({ objective: rosenbrock, optimizer: { name: "adam", lr: 1e-3 }, x0: x40, steps: 60 });
    expect(points(switched.trace)).toEqual([...points(first.trace).slice(0, 40), ...points(second.trace)]);
    expect(switched.trace.map((r) => r.loss)).toEqual([
      ...first.trace.slice(0, 40).map((r) => r.loss),
      ...second.trace.map((r) => r.loss),
    ]);
    // Adam's steps differ from SGD's from there: the switch did something.
    const plain = run({
      objective: rosenbrock,
      optimizer: { name: "sgd", lr: 1e-3 },
      x0: [-1.2, 1],
      steps: 100,
    });
    expect(points(plain.trace)[41]).not.toEqual(points(switched.trace)[41]);
    expect(switched.optimizer.name).toBe("adam");
  });

  it("under a schedule and a moved rate, the new optimizer takes the rate in force at each step", () => {
    const lr = scheduleWithChanges(parseSchedule("cosine:80"), 0.002, [{ step: 25, lr: 0.001 }]);
    const switched = run({
      objective: rosenbrock,
      optimizer: { name: "sgd", lr: 0.002, momentum: 0.9 },
      x0: [-1.2, 1],
      steps: 80,
      schedule: lr,
      optimizerChanges: [{ step: 30, optimizer: { name: "rmsprop", alpha: 0.9 } }],
    });
    const first = run({
      objective: rosenbrock,
      optimizer: { name: "sgd", lr: 0.002, momentum: 0.9 },
      x0: [-1.2, 1],
      steps: 30,
      schedule: lr,
    });
    const second = run({
      objective: rosenbrock,
      optimizer: { name: "rmsprop", lr: 0.002, alpha: 0.9 },
      x0: first.trace.at(-1)!.x as Float64Array,
      steps: 50,
      schedule: (k) => lr(k + 30),
    });
    expect(points(switched.trace)).toEqual([...points(first.trace).slice(0, 30), ...points(second.trace)]);
  });

  it("a β changed before a switch is not carried to the next optimizer; one after it is that optimizer's", () => {
    const switches: OptimizerSwitch[] = [{ step: 20, optimizer: { name: "sgd", momentum: 0.9 } }];
    const changes = [
      { step: 10, key: "momentum", value: 0.5 },
      { step: 35, key: "momentum", value: 0.2 },
    ] as const;
    const base = { name: "sgd", lr: 1e-3, momentum: 0.9 } as const;
    const switched = run({
      objective: rosenbrock,
      optimizer: base,
      x0: [-1.2, 1],
      steps: 60,
      hyperChanges: changes,
      optimizerChanges: switches,
    });
    const first = run({
      objective: rosenbrock,
      optimizer: base,
      x0: [-1.2, 1],
      steps: 20,
      hyperChanges: [changes[0]],
    });
    const second = run({
      objective: rosenbrock,
      optimizer: base,
      x0: first.trace.at(-1)!.x as Float64Array,
      steps: 40,
      hyperChanges: [{ step: 15, key: "momentum", value: 0.2 }],
    });
    expect(points(switched.trace)).toEqual([...points(first.trace).slice(0, 20), ...points(second.trace)]);
    const config = createOptimizer(base, 2).config;
    expect((hyperWithSwitches(config, switches, changes, 19) as { momentum: number }).momentum).toBe(0.5);
    expect((hyperWithSwitches(config, switches, changes, 20) as { momentum: number }).momentum).toBe(0.9);
    expect((hyperWithSwitches(config, switches, changes, 35) as { momentum: number }).momentum).toBe(0.2);
  });

  it("a change the optimizer in use has no key for is refused in one sentence", () => {
    expect(() =>
      run({
        objective: rosenbrock,
        optimizer: { name: "sgd", lr: 1e-3, momentum: 0.9 },
        x0: [-1.2, 1],
        steps: 60,
        hyperChanges: [{ step: 50, key: "momentum", value: 0.5 }],
        optimizerChanges: [{ step: 40, optimizer: { name: "adam" } }],
      }),
    ).toThrow(/adam has no momentum \(it takes beta1, beta2\)/);
  });

  it("a rollback across a switch re-makes the old optimizer, and the switch is made again when its step comes round", () => {
    const config = {
      objective: rosenbrock,
      optimizer: { name: "sgd", lr: 1e-3, momentum: 0.9 },
      x0: [-1.2, 1],
      steps: 60,
      optimizerChanges: [{ step: 30, optimizer: { name: "adam" } }],
    } as const;
    const once = run(config);
    const stepper = new Stepper(config);
    for (let k = 0; k < 25; k++) stepper.next();
    const saved = stepper.save();
    for (let k = 25; k < 45; k++) stepper.next();
    stepper.restore(saved);
    const again: StepRecord[] = [];
    for (let r = stepper.next(); r !== null; r = stepper.next()) again.push(r);
    expect(points(again)).toEqual(points(once.trace.slice(25)));
  });

  it("train: minibatches, sgd then adam at step 30 equals a checkpoint at 30 resumed with a fresh adam (the sampler goes on)", () => {
    const set = synthetic("spiral", 120, 0, createRng(1));
    const data = { x: set.x, y: Float64Array.from(set.labels), rows: set.rows };
    const spec = { sizes: [2, 12, 1], activation: "tanh", loss: "mse" } as const;
    const objective = mlpObjective(spec, data, "spiral");
    const base = {
      objective,
      train: data,
      validation: null,
      theta0: initialParameters(spec.sizes, "pytorch", createRng(2)),
      optimizer: { name: "sgd", lr: 0.05 },
      steps: 80,
      batchSize: 16,
      seed: 3,
      logEvery: 1,
      sharpnessEvery: null,
    } as const;
    const switched = trainToEnd({ ...base, switchAt: (k) => (k === 30 ? { name: "adam" } : undefined) });
    let at30: Parameters<NonNullable<Parameters<typeof trainToEnd>[0]["onCheckpoint"]>>[0] | null = null;
    trainToEnd({ ...base, steps: 30, onCheckpoint: (c) => (at30 ??= c.step === 30 ? c : null) });
    const resumed = trainToEnd({
      ...base,
      optimizer: { name: "adam", lr: 0.05 },
      resume: { ...at30!, optimizer: createOptimizer({ name: "adam", lr: 0.05 }, objective.dim).snapshot() },
    });
    expect(switched.result.theta).toEqual(resumed.result.theta);
    const sgdOnly = trainToEnd(base);
    expect(sgdOnly.result.theta).not.toEqual(switched.result.theta);
    expect(switched.records.filter((r) => r.step > 30).map((r) => r.loss)).toEqual(
      resumed.records.filter((r) => r.step > 30).map((r) => r.loss),
    );
  });

  it("parses the CLI's form, formats it back, and says the form for anything else", () => {
    const text = "40:adam,60:sgd:momentum=0.9:nesterov=1,80:rmsprop:alpha=0.9,90:adam:beta1=0.8:beta2=0.99";
    const switches = parseOptimizerSwitches(text);
    expect(switches).toEqual([
      { step: 40, optimizer: { name: "adam" } },
      { step: 60, optimizer: { name: "sgd", momentum: 0.9, nesterov: true } },
      { step: 80, optimizer: { name: "rmsprop", alpha: 0.9 } },
      { step: 90, optimizer: { name: "adam", betas: [0.8, 0.99] } },
    ]);
    expect(formatOptimizerSwitches(switches)).toBe(text);
    expect(parseOptimizerSwitches("")).toEqual([]);
    expect(() => parseOptimizerSwitches("40:lion")).toThrow(/expected STEP:NAME\[:KEY=VALUE…\]/);
    expect(() => parseOptimizerSwitches("x:adam")).toThrow(/invalid switch 'x:adam'/);
    expect(() => parseOptimizerSwitches("40:adam:momentum=0.9")).toThrow(/momentum: adam has no such option/);
    expect(() => parseOptimizerSwitches("40:adam:beta1=1")).toThrow(/invalid switch '40:adam:beta1=1'/);
    expect(() => parseOptimizerSwitches("40:sgd:nesterov=2")).toThrow(/nesterov is 0 or 1/);
    expect(() => parseOptimizerSwitches("40:adam,40:sgd")).toThrow(/steps must increase/);
  });
});
