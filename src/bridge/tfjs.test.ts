import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { cli } from "../../test/cli-harness.js";
import { hessianOperator } from "../analysis/curvature/hvp.js";
import { lanczos } from "../analysis/curvature/lanczos.js";
import { loadCars } from "../cli/datasets.js";
import { symmetricEigen } from "../core/eigen.js";
import { createRng } from "../core/rng.js";
import { designFromTable } from "../objectives/table.js";
import {
  finiteDifferenceOperator,
  float64Objective,
  learningRateOf,
  mlpSpecOf,
  overshootCallback,
  parametersOf,
} from "./tfjs.js";

/**
 * The TF.js bridge against the float64 engine: the copied model computes TF.js's loss and gradients
 * (to float32 precision), its exact sharpness matches a dense finite-difference Hessian, the
 * finite-difference path on TF.js gradients agrees and says it is approximate, and the callback
 * turns a run that reaches NaN into one that finishes, logging each rollback.
 */

beforeAll(async () => {
  await tf.setBackend("cpu");
});

/** Unscaled regression: x in [0, 10], so plain SGD at 0.05 overshoots (seeded). */
function data(rows = 64): { x: tf.Tensor2D; y: tf.Tensor2D; xs: number[][]; ys: number[][] } {
  const rng = createRng(11);
  const xs = Array.from({ length: rows }, () => [10 * rng.uniform(), 10 * rng.uniform()]);
  const ys = xs.map(([a, b]) => [Math.sin(a! / 3) + 0.1 * b!]);
  return { x: tf.tensor2d(xs), y: tf.tensor2d(ys), xs, ys };
}

function model(lr: number, seed = 1, activation: "tanh" | "relu" | "linear" = "tanh"): tf.Sequential {
  const m = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 8,
        activation,
        inputShape: [2],
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
  m.compile({ optimizer: tf.train.sgd(lr), loss: "meanSquaredError" });
  return m;
}

describe("the float64 copy of a TF.js model", () => {
  it("maps Dense layers and the loss, and computes TF.js's loss and gradient", () => {
    const m = model(0.01);
    const mapped = mlpSpecOf(m);
    expect("spec" in mapped && mapped.spec).toEqual({ sizes: [2, 8, 1], activation: "tanh", loss: "mse" });
    const d = data();
    const f = float64Objective((mapped as { spec: never }).spec, d);
    const theta = parametersOf(m);
    const g = new Float64Array(f.dim);
    const loss = f.gradient(theta, g);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(d.y, m.predict(d.x) as tf.Tensor) as tf.Scalar,
      m.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    expect(loss).toBeCloseTo(value.dataSync()[0]!, 4);
    expect(Math.abs(loss - value.dataSync()[0]!) / loss).toBeLessThan(1e-5);
    // TF.js kernel [in, out] → overshoot W (out × in): W[i][j] = kernel[j][i].
    const k1 = grads[(m.trainableWeights[0]!.read() as tf.Variable).name]!.dataSync();
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 2; j++) expect(g[i * 2 + j]!).toBeCloseTo(k1[j * 8 + i]!, 4);
    const b2 = grads[(m.trainableWeights[3]!.read() as tf.Variable).name]!.dataSync();
    expect(g[f.dim - 1]!).toBeCloseTo(b2[0]!, 4);
  });

  it("copies a model whose hidden layers differ in activation, with TF.js's loss and gradient", () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({
          units: 6,
          activation: "relu",
          inputShape: [2],
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
          biasInitializer: tf.initializers.constant({ value: 0.1 }),
        }),
        tf.layers.dense({
          units: 5,
          activation: "sigmoid",
          kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }),
        }),
        tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }),
      ],
    });
    m.compile({ optimizer: tf.train.sgd(0.01), loss: "meanSquaredError" });
    const mapped = mlpSpecOf(m);
    expect("spec" in mapped && mapped.spec).toEqual({
      sizes: [2, 6, 5, 1],
      activation: "relu",
      activations: ["relu", "sigmoid"],
      loss: "mse",
    });
    const d = data();
    const f = float64Objective((mapped as { spec: never }).spec, d);
    const g = new Float64Array(f.dim);
    const loss = f.gradient(parametersOf(m), g);
    const { value, grads } = tf.variableGrads(
      () => tf.losses.meanSquaredError(d.y, m.predict(d.x) as tf.Tensor) as tf.Scalar,
      m.trainableWeights.map((w) => w.read() as tf.Variable),
    );
    expect(Math.abs(loss - value.dataSync()[0]!) / loss).toBeLessThan(1e-5);
    // The second layer's kernel [6, 5] → W2 (5 × 6) after W1 (12) and b1 (6).
    const k2 = grads[(m.trainableWeights[2]!.read() as tf.Variable).name]!.dataSync();
    const scale = Math.max(...Array.from(k2, Math.abs));
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 6; j++)
        expect(Math.abs(g[18 + i * 6 + j]! - k2[j * 5 + i]!) / scale).toBeLessThan(1e-4);
  });

  it("refuses what it cannot copy, naming why", () => {
    const m = tf.sequential({
      layers: [
        tf.layers.dense({ units: 2, inputShape: [2], activation: "elu" }),
        tf.layers.dense({ units: 1 }),
      ],
    });
    m.compile({ optimizer: "sgd", loss: "meanSquaredError" });
    expect(mlpSpecOf(m)).toEqual({
      reason: "layer 1's activation elu is not one of tanh, relu, sigmoid, linear",
    });
    const c = model(0.01);
    c.compile({ optimizer: "sgd", loss: "meanAbsoluteError" });
    expect("reason" in mlpSpecOf(c)).toBe(true);
  });

  it("gives the exact sharpness: λmax of a dense finite-difference Hessian of the float64 engine", () => {
    const m = model(0.01);
    const d = data();
    const spec = (mlpSpecOf(m) as { spec: never }).spec;
    const f = float64Objective(spec, d);
    const theta = parametersOf(m);
    const n = f.dim;
    const h = new Float64Array(n * n);
    const gp = new Float64Array(n);
    const gm = new Float64Array(n);
    const eps = 1e-5;
    for (let j = 0; j < n; j++) {
      const tp = Float64Array.from(theta);
      const tm = Float64Array.from(theta);
      tp[j]! += eps;
      tm[j]! -= eps;
      f.gradient(tp, gp);
      f.gradient(tm, gm);
      for (let i = 0; i < n; i++) h[i * n + j] = (gp[i]! - gm[i]!) / (2 * eps);
    }
    for (let i = 0; i < n; i++)
      for (let j = 0; j < i; j++) h[i * n + j] = h[j * n + i] = (h[i * n + j]! + h[j * n + i]!) / 2;
    const dense = Math.max(...symmetricEigen(h, n).values);
    const exact = lanczos(hessianOperator(f, theta), {
      k: 1,
      bottom: false,
      tolerance: 1e-10,
      maxIterations: n,
    }).top[0]!.value;
    expect(Math.abs(exact - dense) / dense).toBeLessThan(1e-6);
    expect(overshootCallback(m, { measure: d }).report.engine).toBe("float64-exact");
  });
});

describe("overshootCallback during model.fit", () => {
  it("measures sharpness exactly beside 2/η, and the finite-difference path agrees within 2%, flagged approximate", async () => {
    const d = data();
    const m = model(0.005);
    const exact = overshootCallback(m, { measure: d, sharpnessEvery: 4, quiet: true, log: false });
    await m.fit(d.x, d.y, {
      epochs: 1,
      batchSize: 16,
      shuffle: false,
      verbose: 0,
      callbacks: [exact.callback],
    });
    expect(exact.report.sharpness.length).toBe(1);
    const s = exact.report.sharpness[0]!;
    expect(s.approximate).toBe(false);
    expect(s.twoOverLr).toBeCloseTo(400, 6);
    // Same weights through the finite-difference path (a custom loss makes the model unmappable).
    const spec = (mlpSpecOf(m) as { spec: never }).spec;
    const f = float64Objective(spec, d);
    const lambda = lanczos(hessianOperator(f, parametersOf(m)), {
      k: 1,
      bottom: false,
      tolerance: 1e-10,
      maxIterations: f.dim,
    }).top[0]!.value;
    expect(s.lambdaMax).toBeCloseTo(lambda, 4);
    const fd = lanczos(finiteDifferenceOperator(m, d), {
      k: 1,
      bottom: false,
      tolerance: 1e-6,
      maxIterations: 20,
    }).top[0]!.value;
    expect(Math.abs(fd - lambda) / lambda).toBeLessThan(0.02);
    // A model the float64 engine cannot copy (an elu layer) is measured the same way, and says so.
    const elu = tf.sequential({
      layers: [
        tf.layers.dense({
          units: 4,
          activation: "elu",
          inputShape: [2],
          kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
        }),
        tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
      ],
    });
    elu.compile({ optimizer: tf.train.sgd(0.001), loss: "meanSquaredError" });
    const other = overshootCallback(elu, { measure: d, sharpnessEvery: 4, quiet: true, log: false });
    expect(other.report.engine).toBe("tfjs-finite-differences");
    expect(other.report.unsupported).toContain("elu");
    await elu.fit(d.x, d.y, {
      epochs: 1,
      batchSize: 16,
      shuffle: false,
      verbose: 0,
      callbacks: [other.callback],
    });
    expect(other.report.sharpness[0]!.approximate).toBe(true);
    expect(other.report.sharpness[0]!.lambdaMax).toBeGreaterThan(0);
  }, 60_000);

  it("turns a run that reaches NaN into one that finishes: rolled back, lr lowered, each intervention logged", async () => {
    const d = data();
    const lr = 0.2;
    const bare = model(lr);
    const h = await bare.fit(d.x, d.y, { epochs: 20, batchSize: 16, shuffle: false, verbose: 0 });
    const bareLoss = h.history["loss"] as number[];
    expect(bareLoss.some((l) => !Number.isFinite(l) || l > 1e6)).toBe(true);

    const guarded = model(lr);
    const events: string[] = [];
    const { callback, report } = overshootCallback(guarded, {
      measure: d,
      quiet: true,
      log: false,
      onEvent: (e) => events.push(e.kind),
    });
    const g = await guarded.fit(d.x, d.y, {
      epochs: 20,
      batchSize: 16,
      shuffle: false,
      verbose: 0,
      callbacks: [callback],
    });
    const loss = g.history["loss"] as number[];
    expect(Number.isFinite(loss[loss.length - 1]!)).toBe(true);
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]!);
    expect(report.status).toBe("finished");
    expect(report.interventions.length).toBeGreaterThan(0);
    const i = report.interventions[0]!;
    expect(i.oldLr).toBeCloseTo(lr, 6);
    expect(i.newLr).toBeLessThan(lr);
    expect(i.rolledBackTo).toBeLessThan(i.atBatch);
    expect(i.reason.length).toBeGreaterThan(10);
    expect(i.how).toMatch(/critical rate|×/);
    expect(learningRateOf(guarded)).toBeCloseTo(
      report.interventions[report.interventions.length - 1]!.newLr,
      6,
    );
    expect(events).toContain("rollback");
  }, 60_000);

  it("restores the optimizer's momentum with the weights, so a momentum run recovers too", async () => {
    const d = data();
    const make = () => {
      const m = model(0.5);
      m.compile({ optimizer: tf.train.momentum(0.5, 0.9), loss: "meanSquaredError" });
      return m;
    };
    const bare = await make().fit(d.x, d.y, { epochs: 10, batchSize: 16, shuffle: false, verbose: 0 });
    expect((bare.history["loss"] as number[]).some((l) => !Number.isFinite(l) || l > 1e6)).toBe(true);
    const m = make();
    const { callback, report } = overshootCallback(m, { measure: d, quiet: true, log: false });
    const h = await m.fit(d.x, d.y, {
      epochs: 10,
      batchSize: 16,
      shuffle: false,
      verbose: 0,
      callbacks: [callback],
    });
    const loss = h.history["loss"] as number[];
    expect(report.interventions.length).toBeGreaterThan(0);
    expect(report.interventions[0]!.how).toMatch(/critical rate/);
    expect(Number.isFinite(loss[loss.length - 1]!)).toBe(true);
  }, 60_000);

  it("flags ReLU units that die without any overflow, as TF.js's own activations show them", async () => {
    const d = data();
    const m = model(0.1, 1, "relu");
    const events: string[] = [];
    const { callback, report } = overshootCallback(m, {
      measure: d,
      quiet: true,
      log: false,
      onEvent: (e) => events.push(e.kind),
    });
    const h = await m.fit(d.x, d.y, {
      epochs: 10,
      batchSize: 16,
      shuffle: false,
      verbose: 0,
      callbacks: [callback],
    });
    expect(h.history["loss"]!.every((l) => Number.isFinite(l as number))).toBe(true);
    expect(events).toContain("units");
    expect(report.units).toMatchObject({ kind: "dead", layer: 1, cause: "learning-rate" });
    expect(report.units!.summary).toMatch(
      /of layer 1's units are dead \([\d.]+% at batch 1, [\d.]+% by batch \d+\)/,
    );
    // Not rolled back by default: a collapse is reported, the guard acts on it only when asked.
    expect(report.interventions).toEqual([]);
    // TF.js's own hidden activations at the end: most units are zero on every row.
    const hidden = (m.layers[0]!.apply(d.x) as tf.Tensor2D).arraySync();
    const dead = hidden[0]!.filter((_, u) => hidden.every((row) => row[u] === 0)).length / hidden[0]!.length;
    expect(dead).toBeGreaterThan(0.5);
    expect(dead).toBeCloseTo(report.units!.atEnd, 10);
  });

  it("stops with a clear report after the allowed rollbacks", async () => {
    const d = data();
    // No measurement batch, so no curvature to find a safe rate, and momentum, so no rate read off
    // the rise either: each rollback only takes ×0.99.
    const m = model(1e3);
    m.compile({ optimizer: tf.train.momentum(1e3, 0.5), loss: "meanSquaredError" });
    const events: string[] = [];
    const { callback, report } = overshootCallback(m, {
      measure: false,
      quiet: true,
      log: false,
      maxRetries: 2,
      factor: 0.99,
      onEvent: (e) => events.push(e.kind),
    });
    expect(report.engine).toBe("none");
    await m.fit(d.x, d.y, { epochs: 50, batchSize: 16, shuffle: false, verbose: 0, callbacks: [callback] });
    expect(report.status).toBe("gave-up");
    expect(report.interventions.length).toBe(2);
    expect(report.interventions[1]!.newLr).toBeCloseTo(1e3 * 0.99 * 0.99, 6);
    expect(events).toEqual(["rollback", "rollback", "gave-up"]);
  }, 60_000);
});

/**
 * The seed's setting: mpg of 392 cars from model year and acceleration, raw units, in a seeded
 * random order (the file is sorted by year: unshuffled batches are not samples of the data).
 */
function cars(): { x: tf.Tensor2D; y: tf.Tensor2D } {
  const design = designFromTable(loadCars().table, "mpg", ["year", "acceleration"]);
  const rng = createRng(7);
  const order = Array.from({ length: design.rows }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return {
    x: tf.tensor2d(order.map((i) => [design.x[2 * i]!, design.x[2 * i + 1]!])),
    y: tf.tensor2d(order.map((i) => [design.y[i]!])),
  };
}

/** The model's mean squared error on all rows. */
const fullLoss = (m: tf.LayersModel, d: { x: tf.Tensor; y: tf.Tensor }) =>
  (m.evaluate(d.x, d.y) as tf.Scalar).dataSync()[0]!;

/** A 2-8-1 dense net with linear hidden units (as `demo network`), SGD at lr 1e-3: the seed's. */
const carNet = (seed: number) => model(1e-3, seed, "linear");

describe("overshootCallback by default: one line of wiring", () => {
  it("callbacks: [overshootCallback(model)] prints its events, measures the first batch exactly, and writes a log diagnose reads", async () => {
    const d = cars();
    const m = carNet(1);
    const log = join(mkdtempSync(join(tmpdir(), "overshoot-tfjs-")), "run.jsonl");
    const lines: string[] = [];
    const spy = vi.spyOn(console, "log").mockImplementation((t: string) => {
      lines.push(t);
    });
    let cb: ReturnType<typeof overshootCallback>;
    let h: tf.History;
    try {
      cb = overshootCallback(m, { log, sharpnessEvery: 13 });
      h = await m.fit(d.x, d.y, { epochs: 3, batchSize: 32, shuffle: false, verbose: 0, callbacks: [cb] });
    } finally {
      spy.mockRestore();
    }
    const loss = h.history["loss"] as number[];
    expect(Number.isFinite(loss.at(-1)!)).toBe(true);
    // The first batch (32 cars) became the measurement batch: exact curvature, the rate from it.
    expect(cb.report.engine).toBe("float64-exact");
    expect(cb.report.interventions.length).toBeGreaterThan(0);
    expect(cb.report.interventions[0]!.how).toMatch(/critical rate .* measured at the restored weights/);
    expect(cb.report.sharpness.every((s) => !s.approximate)).toBe(true);
    expect(cb.callback).toBe(cb);
    // Every event on the console, one line each.
    expect(lines.filter((l) => / rolled back to batch \d+, learning rate /.test(l))).toHaveLength(
      cb.report.interventions.length,
    );
    expect(lines.every((l) => l.startsWith("overshoot: batch "))).toBe(true);
    // The log: a record a batch, the rollbacks among them, read by diagnose as a guard's save.
    const records = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(records.map((r) => r.step)).toEqual(Array.from({ length: 3 * 13 }, (_, i) => i + 1));
    expect(records.filter((r) => r.intervention).length).toBe(cb.report.interventions.length);
    const r = await cli(["diagnose", log]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("the guard saved it");
    expect(r.out).toMatch(/cause: curvature-overshoot/);
  }, 60_000);

  it("a callback made for another model, or no model, is a clear error", async () => {
    const d = cars();
    expect(() => overshootCallback(undefined as unknown as tf.LayersModel)).toThrow(
      /give the tf\.LayersModel you will fit/,
    );
    const cb = overshootCallback(carNet(1), { quiet: true, log: false });
    await expect(
      carNet(2).fit(d.x, d.y, { epochs: 1, batchSize: 32, verbose: 0, callbacks: [cb] }),
    ).rejects.toThrow(/was made for another model/);
  });

  it("the seed's setting without a measurement (lr 1e-3, raw cars, minibatches of 32): 10 of 10 repeats train, none ends at Infinity", async () => {
    const d = cars();
    const outcomes: string[] = [];
    let fromRise = 0;
    let rollbacks = 0;
    for (let seed = 0; seed < 10; seed++) {
      const bare = await carNet(seed).fit(d.x, d.y, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
      // Unguarded, each repeat is lost within its first epochs.
      expect((bare.history["loss"] as number[]).some((l) => !Number.isFinite(l) || l > 1e9)).toBe(true);
      const m = carNet(seed);
      const start = fullLoss(m, d);
      const cb = overshootCallback(m, { measure: false, quiet: true, log: false });
      expect(cb.report.engine).toBe("none");
      const h = await m.fit(d.x, d.y, {
        epochs: 10,
        batchSize: 32,
        shuffle: false,
        verbose: 0,
        callbacks: [cb],
      });
      const loss = h.history["loss"] as number[];
      // Trained: it held after its rollbacks, finite to the end, the loss on all rows far below its start's.
      const end = fullLoss(m, d);
      expect(cb.report.status).toBe("finished");
      expect(Number.isFinite(loss.at(-1)!)).toBe(true);
      expect(end).toBeLessThan(start / 2);
      expect(cb.report.interventions.length).toBeGreaterThan(0);
      for (const i of cb.report.interventions) expect(i.newLr).toBeLessThan(i.oldLr);
      // Each new rate is the halving or, lower, the one the rise implies (plain SGD, no curvature measured).
      for (const i of cb.report.interventions)
        expect(i.how).toMatch(
          /^(× 0\.5 \(no curvature measured\)|0\.9 × 2\/λ̂ with λ̂ = \(1 \+ √r\)\/η = .* from the rise's first step)/,
        );
      fromRise += cb.report.interventions.filter((i) => i.how.includes("λ̂")).length;
      rollbacks += cb.report.interventions.length;
      outcomes.push(
        `${seed}: ${cb.report.interventions.length} rollback(s), η → ${cb.report.interventions.map((i) => `${i.newLr.toPrecision(2)}${i.how.includes("λ̂") ? " (rise)" : ""}`).join(", ")}; loss on all rows ${start.toPrecision(4)} → ${end.toPrecision(4)}`,
      );
    }
    // The rise sets most rates: its estimate is below the halving when the first step grew ×9 or more.
    expect(fromRise).toBeGreaterThan(rollbacks / 2);
    console.log(
      `${fromRise} of ${rollbacks} rates from the rise; the seed's setting without a measurement:\n  ${outcomes.join("\n  ")}`,
    );
  }, 120_000);
});

describe("overshootCallback's actions on a bad batch (targets ×100 in one batch of 40, shuffle off)", () => {
  /** Ten passes over the 64 rows as one epoch of 40 batches; batch 31's targets ×100 when `bad`. */
  function stream(bad: boolean, scale = 100): { x: tf.Tensor2D; y: tf.Tensor2D } {
    const d = data();
    const xs = Array.from({ length: 10 }, () => d.xs).flat();
    const ys = Array.from({ length: 10 }, () => d.ys)
      .flat()
      .map((r, i) => (bad && i >= 480 && i < 496 ? [scale * r[0]!] : r));
    return { x: tf.tensor2d(xs), y: tf.tensor2d(ys) };
  }
  const trainWith = async (
    bad: boolean,
    action?: "rollback" | "skip" | "clip" | "rollback-skip",
    scale = 100,
  ) => {
    const m = model(0.02);
    const s = stream(bad, scale);
    const cb = action
      ? overshootCallback(m, { action, measure: false, quiet: true, log: false, rollbackBatches: 8 })
      : null;
    await m.fit(s.x, s.y, {
      epochs: 1,
      batchSize: 16,
      shuffle: false,
      verbose: 0,
      callbacks: cb ? [cb] : [],
    });
    const d = data();
    return { loss: fullLoss(m, d), report: cb?.report };
  };

  it("skip undoes exactly the bad batch and ends where the clean run ends; clip damps it", async () => {
    const clean = await trainWith(false);
    const none = await trainWith(true);
    const skip = await trainWith(true, "skip");
    const clip = await trainWith(true, "clip");
    console.log(
      `loss on the 64 rows after the epoch: clean ${clean.loss.toPrecision(4)}, bad batch unguarded ${none.loss.toPrecision(4)}, skip ${skip.loss.toPrecision(4)} (undone: ${skip.report!.skipped.join(", ")}), clip ${clip.loss.toPrecision(4)} (${clip.report!.clipped} steps clipped)`,
    );
    expect(none.loss).toBeGreaterThan(2 * clean.loss);
    expect(skip.report!.skipped).toEqual([31]);
    expect(Math.abs(skip.loss - clean.loss) / clean.loss).toBeLessThan(0.05);
    expect(clip.report!.clipped).toBeGreaterThan(0);
    expect(clip.loss).toBeLessThan(none.loss);
    expect(Number.isFinite(clip.loss)).toBe(true);
  }, 60_000);

  it("rollback-skip: a batch ×10⁴ that throws the run into divergence is gone past; the rate is kept", async () => {
    const clean = await trainWith(false);
    const none = await trainWith(true, undefined, 1e4);
    const back = await trainWith(true, "rollback-skip", 1e4);
    const lowered = await trainWith(true, "rollback", 1e4);
    console.log(
      `batch 31 ×10⁴: unguarded ${none.loss.toPrecision(4)}, rollback-skip ${back.loss.toPrecision(4)} (${back.report!.interventions.map((i) => `${i.atBatch} → ${i.rolledBackTo}, lr ${i.newLr}`).join("; ")}), rollback ${lowered.loss.toPrecision(4)} (lr → ${lowered.report!.interventions.map((i) => i.newLr.toPrecision(3)).join(", ")}), clean ${clean.loss.toPrecision(4)}`,
    );
    expect(!Number.isFinite(none.loss) || none.loss > 10 * clean.loss).toBe(true);
    expect(back.report!.status).toBe("finished");
    expect(back.report!.interventions.length).toBeGreaterThan(0);
    for (const i of back.report!.interventions) {
      expect(i.newLr).toBe(i.oldLr);
      expect(i.atBatch - i.rolledBackTo).toBeGreaterThanOrEqual(8);
    }
    expect(back.loss).toBeLessThan(2 * clean.loss);
  }, 60_000);
});
