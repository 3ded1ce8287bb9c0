import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../../test/cli-harness.js";
import { denseHessian } from "../../test/dense-hessian.js";
import { featureAxis } from "../analysis/diagnosis/data-causes.js";
import { symmetricEigen } from "../core/eigen.js";
import { createRng } from "../core/rng.js";
import { Graph } from "../nn/graph.js";
import { graphObjective } from "../nn/objective.js";
import { readOnnxModel } from "../nn/onnx/model.js";
import { splitRows } from "../objectives/synthetic.js";
import { loadMnist } from "./datasets.js";
import { packageRoot } from "./lab-site.js";

/**
 * Networks that are not a chain of dense layers, from their ONNX files (torch.onnx.export,
 * scripts/fixtures/torch_graph.py) through the graph engine on the command line.
 */
const root = packageRoot();
const dir = join(root, "src/nn/__golden__/onnx");
const tmp = mkdtempSync(join(tmpdir(), "overshoot-graph-"));
const fixtures = JSON.parse(readFileSync(join(root, "src/nn/__golden__/torch-graph.json"), "utf8")) as {
  cases: {
    id: string;
    input: number[];
    targets: number[];
    lossValue: number;
    params: { name: string; grad: number[] }[];
    ghost?: { rows: number; lossValue: number; params: { grad: number[] }[] };
  }[];
};

/**
 * The fixture's rows as a CSV: the flattened input, then the target. With `shuffled`, placed where
 * the CLI's seeded split (seed 0, --validation 0) takes them from, so that its training rows are the
 * fixture's in the fixture's order (for BatchNorm's blocks of rows).
 */
function csv(id: string, width: number, shuffled = false): string {
  const c = fixtures.cases.find((k) => k.id === id)!;
  const rows = c.targets.length;
  const head = [...Array.from({ length: width }, (_v, i) => `x${i}`), "y"].join(",");
  const at = Array.from({ length: rows }, (_v, r) => r);
  if (shuffled)
    splitRows(rows, 0, createRng(1)).train.forEach((from, k) => {
      at[from] = k;
    });
  const lines = Array.from({ length: rows }, (_v, r) =>
    [...c.input.slice(at[r]! * width, (at[r]! + 1) * width), c.targets[at[r]!]].join(","),
  );
  const path = join(tmp, `${id}${shuffled ? "-shuffled" : ""}.csv`);
  writeFileSync(path, `${[head, ...lines].join("\n")}\n`);
  return path;
}

describe("graph networks from ONNX on the command line", () => {
  it("stability on an MLP with two biases merged through an Identity (the MLP importer refused it): λmax and λmin equal the exact Hessian's eigenvalues", async () => {
    const model = join(dir, "mlp-zero-biases.onnx");
    const data = csv("mlp-zero-biases", 3);
    const r = await cli([
      "stability",
      "--model-onnx",
      model,
      "--data",
      data,
      "--target",
      "y",
      "--validation",
      "0",
      "--json",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    // The exact Hessian, column by column from the engine's H·eᵢ, eigen-decomposed (Jacobi).
    const m = readOnnxModel(new Uint8Array(readFileSync(model)), "m");
    const g = new Graph(m.graph);
    const c = fixtures.cases.find((k) => k.id === "mlp-zero-biases")!;
    const f = graphObjective(
      g,
      { x: Float64Array.from(c.input), y: Float64Array.from(c.targets), rows: 8 },
      {
        loss: "mse",
        inputShape: [3],
      },
    );
    const theta = new Float64Array(g.dim);
    for (const p of g.parameters)
      theta.set(m.graph.initializers.find((i) => i.name === p.name)!.values, p.offset);
    const n = g.dim;
    const H = denseHessian(f, theta);
    const eig = symmetricEigen(H, n);
    const top = eig.values[n - 1]!;
    const bottom = eig.values[0]!;
    expect(Math.abs(j.spectrum.top[0].value - top) / top).toBeLessThan(1e-9);
    expect(Math.abs(j.spectrum.min.value - bottom)).toBeLessThan(1e-9 * top);
    expect(j.criticalLr ?? j.stability?.criticalLr ?? 2 / top).toBeCloseTo(2 / top, 6);
  });

  it("--threads 2 splits the rows: stability's and spectrum's answers equal one thread's; refused where the rows cannot be split or there are none", async () => {
    const lenet = [
      ...["--model-onnx", join(dir, "lenet.onnx"), "--data", csv("lenet", 784), "--target", "y"],
      ...["--loss", "cross-entropy", "--validation", "0", "--json"],
    ];
    const one = JSON.parse((await cli(["stability", ...lenet, "--layers"])).out);
    const two = await cli(["stability", ...lenet, "--layers", "--threads", "2"]);
    expect(two.err).toBe("");
    const j = JSON.parse(two.out);
    // The same Lanczos on H·v equal to the rounding of one more sum: the eigenvalues to 1e-10.
    for (const [i, e] of one.spectrum.top.entries())
      expect(Math.abs(j.spectrum.top[i].value - e.value)).toBeLessThan(1e-10 * Math.abs(e.value));
    expect(j.layers.map((l: { name: string }) => l.name)).toEqual(
      one.layers.map((l: { name: string }) => l.name),
    );
    for (const [i, l] of one.layers.entries())
      expect(Math.abs(j.layers[i].lambdaMax.value - l.lambdaMax.value)).toBeLessThan(
        1e-9 * Math.abs(l.lambdaMax.value),
      );
    const s1 = JSON.parse((await cli(["spectrum", ...lenet, "--probes", "3", "--lanczos-steps", "10"])).out);
    const s2 = JSON.parse(
      (await cli(["spectrum", ...lenet, "--probes", "3", "--lanczos-steps", "10", "--threads", "2"])).out,
    );
    expect(Math.abs(s2.extremes.top[0].value - s1.extremes.top[0].value)).toBeLessThan(
      1e-10 * s1.extremes.top[0].value,
    );
    expect(Math.abs(s2.trace.estimate - s1.trace.estimate)).toBeLessThan(
      1e-8 * Math.abs(s1.trace.estimate) + 1e-12,
    );
    const fn = await cli(["stability", "--f", "x^2 + y^2", "--x0", "1,1", "--threads", "2"]);
    expect(fn.code).toBe(2);
    expect(fn.err).toBe(
      "overshoot: --threads splits a network's rows over threads: add --data … --model mlp, or --model-onnx\n",
    );
    // BatchNorm in training mode takes its statistics over all the rows at once.
    const bn = await cli([
      "stability",
      ...["--model-onnx", join(dir, "bn-residual-cnn.onnx"), "--data", csv("bn-residual-cnn", 192)],
      ...["--target", "y", "--loss", "cross-entropy", "--validation", "0", "--threads", "2"],
    ]);
    expect(bn.code).toBe(2);
    expect(bn.err).toMatch(
      /^overshoot: --threads 2: .*cannot be split over threads; add --bn-batch B to take them over blocks of B rows, each whole in one thread\n$/,
    );
  });

  it("stability --layers on a LeNet names the modules (the parameter groups) and the limiting layer", async () => {
    const r = await cli([
      "stability",
      "--model-onnx",
      join(dir, "lenet.onnx"),
      "--data",
      csv("lenet", 784),
      "--target",
      "y",
      "--loss",
      "cross-entropy",
      "--validation",
      "0",
      "--layers",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /each row reshaped to 1×28×28; model .*lenet\.onnx \(4298 parameters in 8 tensors; float64 weights; ONNX opset 17/,
    );
    expect(r.out).toMatch(/Per layer/);
    for (const name of ["1", "4", "8", "10"]) expect(r.out).toMatch(new RegExp(`\\n  ${name} +\\d+ `));
    expect(r.out).toMatch(/λmax's direction lies \d+% in \d+: that layer limits the learning rate/);
  });

  it("train on a BatchNorm residual CNN (batch statistics): step 0's loss and ‖g‖ are PyTorch's; the run trains; --save-weights names each tensor", async () => {
    const c = fixtures.cases.find((k) => k.id === "bn-residual-cnn")!;
    const weights = join(tmp, "bn-weights.json");
    const r = await cli([
      "train",
      "--model-onnx",
      join(dir, "bn-residual-cnn.onnx"),
      "--data",
      csv("bn-residual-cnn", 192),
      "--target",
      "y",
      "--loss",
      "cross-entropy",
      "--validation",
      "0",
      "--lr",
      "0.5",
      "--steps",
      "30",
      "--save-weights",
      weights,
      "--json",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.model.parameters).toBe(c.params.reduce((s, p) => s + p.grad.length, 0));
    expect(j.data).toMatch(
      /BatchNormalization in training mode: the statistics of the rows measured, as model\.train\(\)/,
    );
    const first = j.records[0];
    expect(Math.abs(first.loss - c.lossValue) / c.lossValue).toBeLessThan(1e-12);
    const norm = Math.sqrt(c.params.reduce((s, p) => s + p.grad.reduce((t, g) => t + g * g, 0), 0));
    expect(Math.abs(first.gradNorm - norm) / norm).toBeLessThan(1e-9);
    expect(j.result.status).toBe("finished");
    expect(j.result.outcome.status).toBe("trained");
    const saved = JSON.parse(readFileSync(weights, "utf8")) as Record<string, number[]>;
    expect(Object.keys(saved)).toEqual(c.params.map((p) => p.name));
  });

  it("--bn-batch: BatchNorm's statistics over blocks of rows are PyTorch's block-by-block model.train(); a block past the memory budget is refused before any work, naming the fix", async () => {
    const c = fixtures.cases.find((k) => k.id === "bn-residual-cnn")!;
    const ghost = c.ghost!;
    const base = [
      "--model-onnx",
      join(dir, "bn-residual-cnn.onnx"),
      "--data",
      csv("bn-residual-cnn", 192, true),
    ];
    const flags = ["--target", "y", "--loss", "cross-entropy", "--validation", "0", "--lr", "0.1"];
    // A pass over 2 rows and over 4 counts what a row needs (about 0.33 MiB here): all 6 rows at
    // once need about 2.15 MiB, blocks of 4 about 1.49 MiB.
    const limit = process.env["OVERSHOOT_MEMORY_LIMIT"];
    process.env["OVERSHOOT_MEMORY_LIMIT"] = "1.8M";
    try {
      const refused = await cli(["train", ...base, ...flags, "--steps", "1"]);
      expect(refused.code).toBe(2);
      expect(refused.out).toBe("");
      expect(refused.err).toMatch(
        /^overshoot: BatchNormalization in training mode over all 6 rows \(one pass holds them at once\) needs about [\d.]+ MiB, past the 1\.8 MiB a command may use here \(OVERSHOOT_MEMORY_LIMIT\): give --bn-batch B \(each block of B rows takes its own statistics, as a minibatch of B does in model\.train\(\)\), or --batch-norm eval\n$/,
      );
      const r = await cli([
        "train",
        ...base,
        ...flags,
        "--steps",
        "1",
        "--bn-batch",
        String(ghost.rows),
        "--json",
      ]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      const j = JSON.parse(r.out);
      expect(j.data).toMatch(
        /BatchNormalization in training mode: the statistics of each block of 4 rows on its own, as model\.train\(\)/,
      );
      const first = j.records[0];
      expect(Math.abs(first.loss - ghost.lossValue) / ghost.lossValue).toBeLessThan(1e-12);
      const norm = Math.sqrt(ghost.params.reduce((s, p) => s + p.grad.reduce((t, g) => t + g * g, 0), 0));
      expect(Math.abs(first.gradNorm - norm) / norm).toBeLessThan(1e-9);
    } finally {
      if (limit === undefined) delete process.env["OVERSHOOT_MEMORY_LIMIT"];
      else process.env["OVERSHOOT_MEMORY_LIMIT"] = limit;
    }
    // --batch-size sets the blocks where --bn-batch is not given, and the description says so.
    const mini = await cli(["train", ...base, ...flags, "--steps", "2", "--batch-size", "4", "--json"]);
    expect(mini.code).toBe(0);
    expect(JSON.parse(mini.out).data).toMatch(
      /each block of 4 rows on its own \(--batch-size; --bn-batch sets it\)/,
    );
    const bad = await cli(["train", ...base, ...flags, "--bn-batch", "0"]);
    expect([bad.code, bad.err]).toEqual([
      2,
      "overshoot: invalid --bn-batch: 0 (rows per block of BatchNorm statistics, a whole number ≥ 1)\n",
    ]);
    const noBn = await cli([
      "stability",
      "--model-onnx",
      join(dir, "lenet.onnx"),
      "--data",
      "mnist",
      "--n",
      "8",
      "--bn-batch",
      "4",
    ]);
    expect(noBn.code).toBe(2);
    expect(noBn.err).toMatch(
      /^overshoot: --bn-batch: .*lenet\.onnx has no BatchNormalization in training mode, whose statistics it sets; drop it\n$/,
    );
  });

  it("a model exported for a fixed batch is refused in one line naming dynamic_axes, found on the first block of rows", async () => {
    const c = fixtures.cases.find((k) => k.id === "transformer")!;
    // Its file fixes 4 rows; 7 rows (the fixture's 4, then 3 of them again) fit no block.
    const width = 48;
    const lines = Array.from({ length: 7 }, (_v, r) =>
      [...c.input.slice((r % 4) * width, ((r % 4) + 1) * width), c.targets[r % 4]].join(","),
    );
    const path = join(tmp, "transformer-7.csv");
    const head = [...Array.from({ length: width }, (_v, i) => `x${i}`), "y"].join(",");
    writeFileSync(path, `${[head, ...lines].join("\n")}\n`);
    const r = await cli([
      "stability",
      ...["--model-onnx", join(dir, "transformer.onnx"), "--data", path, "--target", "y"],
      ...["--loss", "cross-entropy", "--validation", "0"],
    ]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(
      /^overshoot: .*transformer\.onnx: .* — the model was exported for batches of 4 rows: export it with dynamic_axes=\{"input": \{0: "batch"\}\} so any number of rows fits\n$/,
    );
  });

  it("--batch-norm eval on a training-mode export: the running statistics (said so), the engine's eval numbers; refused where there is no BatchNorm", async () => {
    const c = fixtures.cases.find((k) => k.id === "bn-residual-cnn")!;
    const file = join(dir, "bn-residual-cnn.onnx");
    const r = await cli([
      "train",
      ...["--model-onnx", file, "--batch-norm", "eval", "--data", csv("bn-residual-cnn", 192)],
      ...[
        "--target",
        "y",
        "--loss",
        "cross-entropy",
        "--validation",
        "0",
        "--lr",
        "0.1",
        "--steps",
        "1",
        "--json",
      ],
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.data).toMatch(/BatchNormalization in eval mode: its running statistics, as model\.eval\(\)/);
    // The engine's own eval mode on the file as read, on the same rows (one-hot labels).
    const model = readOnnxModel(new Uint8Array(readFileSync(file)), file);
    const graph = new Graph(model.graph, { batchNorm: "eval" });
    const rows = c.targets.length;
    const y = new Float64Array(rows * 5);
    c.targets.forEach((label, i) => {
      y[i * 5 + label] = 1;
    });
    const f = graphObjective(
      graph,
      { x: Float64Array.from(c.input), y, rows },
      {
        loss: "cross-entropy",
        inputShape: [3, 8, 8],
      },
    );
    const theta = new Float64Array(graph.dim);
    for (const p of graph.parameters)
      theta.set(model.graph.initializers.find((i) => i.name === p.name)!.values, p.offset);
    expect(Math.abs(j.records[0].loss - f.value(theta))).toBeLessThan(1e-12 * f.value(theta));
    expect(Math.abs(j.records[0].loss - c.lossValue)).toBeGreaterThan(1e-3);

    const fused = await cli([
      "stability",
      ...["--model-onnx", join(dir, "bn-residual-cnn-eval.onnx"), "--batch-norm", "train"],
      ...["--data", csv("bn-residual-cnn", 192), "--target", "y"],
    ]);
    expect(fused.code).toBe(2);
    expect(fused.err).toMatch(
      /^overshoot: --batch-norm train: .*bn-residual-cnn-eval\.onnx has no BatchNormalization layer \(an export in eval mode may have folded it into the convolutions\); drop it\n$/,
    );
    const bad = await cli(["stability", "--model-onnx", file, "--batch-norm", "running", "--data", "xor"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^overshoot: invalid --batch-norm: "?running"? \(train: .*; eval: .*\)\n$/);
    const none = await cli(["stability", "--model", "mlp", "--data", "xor", "--batch-norm", "eval"]);
    expect(none.code).toBe(2);
    expect(none.err).toMatch(
      /^overshoot: --batch-norm applies to a network with BatchNormalization from --model-onnx; drop it\n$/,
    );
  });

  it("train --checkpoint then --resume on a graph network gives the uninterrupted run's weights bit for bit; another graph is refused", async () => {
    const base = [
      "train",
      "--model-onnx",
      join(dir, "bn-residual-cnn.onnx"),
      "--data",
      csv("bn-residual-cnn", 192),
      "--target",
      "y",
      "--loss",
      "cross-entropy",
      "--validation",
      "0",
      "--optimizer",
      "sgd",
      "--momentum",
      "0.9",
      "--lr",
      "0.1",
      "--batch-size",
      "3",
    ];
    const whole = join(tmp, "whole.json");
    const resumed = join(tmp, "resumed.json");
    const checkpoint = join(tmp, "graph-checkpoint.json");
    expect((await cli([...base, "--steps", "12", "--save-weights", whole])).code).toBe(0);
    const first = await cli([...base, "--steps", "5", "--checkpoint", checkpoint]);
    expect(first.err).toBe("");
    const second = await cli([...base, "--steps", "12", "--resume", checkpoint, "--save-weights", resumed]);
    expect(second.err).toBe("");
    expect(second.code).toBe(0);
    expect(readFileSync(resumed, "utf8")).toBe(readFileSync(whole, "utf8"));
    const other = await cli([
      ...base.map((a) => (a.endsWith("bn-residual-cnn.onnx") ? join(dir, "bn-residual-cnn-eval.onnx") : a)),
      "--steps",
      "12",
      "--resume",
      checkpoint,
    ]);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(/cannot resume from .*: it holds another graph \(fingerprint/);
  });

  it("rows from NumPy files (np.savez of float64 N×1×28×28 images and int64 labels; a float32 .npy pair) give what the same rows from a CSV give", async () => {
    const model = ["stability", "--model-onnx", join(dir, "lenet.onnx"), "--validation", "0", "--json"];
    const golden = join(root, "src/nn/data/__golden__");
    const fromCsv = await cli([
      ...model,
      "--data",
      csv("lenet", 784),
      "--target",
      "y",
      "--loss",
      "cross-entropy",
    ]);
    const fromNpz = await cli([
      ...model,
      "--data",
      join(golden, "lenet-rows.npz"),
      "--features",
      "images",
      "--target",
      "labels",
    ]);
    expect(fromNpz.err).toBe("");
    expect(fromNpz.code).toBe(0);
    const a = JSON.parse(fromCsv.out);
    const b = JSON.parse(fromNpz.out);
    expect(b.rows).toBe(6);
    expect(b.spectrum.top[0].value).toBe(a.spectrum.top[0].value);
    const pair = await cli([
      ...model.slice(0, -1),
      "--data",
      join(golden, "lenet-x.npy"),
      "--target",
      join(golden, "lenet-y.npy"),
    ]);
    expect(pair.code).toBe(0);
    expect(pair.out).toMatch(
      /lenet-x\.npy, .*lenet-y\.npy: 6 rows of 1×28×28 \(<f4, widened to float64 exactly\)/,
    );
    const missing = await cli([...model, "--data", join(golden, "lenet-rows.npz")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(
      /has no array 'x' \(it holds images, labels\): name the inputs with --features and the targets with --target/,
    );
  });

  it("refusals are one line: not a regular file, a row of the wrong width, an operator out of scope", async () => {
    const zero = await cli(["stability", "--model-onnx", "/dev/zero", "--data", "xor"]);
    expect(zero.code).toBe(2);
    expect(zero.err).toMatch(/^overshoot: cannot read --model-onnx \/dev\/zero: not a regular file/);
    const wide = await cli(["stability", "--model-onnx", join(dir, "lenet.onnx"), "--data", "xor"]);
    expect(wide.code).toBe(2);
    expect(wide.err).toMatch(/lenet\.onnx takes rows of 1×28×28 = 784 values; --data xor gives 2/);
    expect(wide.err.trim().split("\n")).toHaveLength(1);
  });
});

describe("the MLP path and the graph engine on the same network", () => {
  it("examples/model.onnx (2-32-32-1 tanh, float32 weights) through both: loss, gradient and H·v agree to 1e-12", async () => {
    const { readOnnxNetwork } = await import("../nn/onnx/dense.js");
    const { mlpObjective } = await import("../nn/mlp/mlp.js");
    const bytes = new Uint8Array(readFileSync(join(root, "examples/model.onnx")));
    const net = readOnnxNetwork(bytes, "model.onnx");
    const rows = 50;
    const x = Float64Array.from({ length: rows * 2 }, (_v, i) => Math.sin(1.7 * i));
    const y = Float64Array.from({ length: rows }, (_v, i) => Math.cos(0.3 * i));
    const mlp = mlpObjective(
      { sizes: net.sizes, activation: net.activations[0]!, activations: net.activations, loss: "mse" },
      { x, y, rows },
    );
    const m = readOnnxModel(bytes, "model.onnx");
    const g = new Graph(m.graph);
    const graph = graphObjective(g, { x, y, rows }, { loss: "mse", inputShape: [2] });
    // θ in each one's layout: the MLP's W (out × in) then b per layer; the graph's tensors as the file has them.
    const thetaG = new Float64Array(g.dim);
    for (const p of g.parameters)
      thetaG.set(m.graph.initializers.find((i) => i.name === p.name)!.values, p.offset);
    const thetaM = Float64Array.from(net.theta);
    // torch's Gemm stores each weight out × in, as the MLP lays W out: the two vectors are one.
    expect(Array.from(thetaG)).toEqual(Array.from(thetaM));
    expect(Math.abs(graph.value(thetaG) - mlp.value(thetaM)) / mlp.value(thetaM)).toBeLessThan(1e-12);
    const gm = new Float64Array(mlp.dim);
    const gg = new Float64Array(g.dim);
    mlp.gradient(thetaM, gm);
    graph.gradient(thetaG, gg);
    const close = (a: Float64Array, b: Float64Array) => {
      const scale = Math.max(...Array.from(b, Math.abs));
      let worst = 0;
      a.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v - b[i]!));
      });
      expect(worst).toBeLessThan(1e-12 * scale);
    };
    close(gg, gm);
    // H·v along the gradient.
    const hm = new Float64Array(mlp.dim);
    const hg = new Float64Array(g.dim);
    mlp.hessianVector(thetaM, gm, hm);
    graph.hessianVector(thetaG, gg, hg);
    close(hg, hm);
  });
});

describe("diagnose --data on a graph network", () => {
  it("measures the curvature raw and standardized per channel: stability's numbers on the same rows, as given and standardized by hand", async () => {
    const lenet = join(root, "examples/lenet.onnx");
    const log = join(tmp, "lenet-diverged.jsonl");
    const base = ["--model-onnx", lenet, "--data", "mnist", "--n", "32", "--validation", "0"];
    const trained = await cli(["train", ...base, "--lr", "1000", "--steps", "5", "--log", log]);
    expect(trained.code).toBe(0);
    const d = await cli(["diagnose", log, ...base, "--lr", "1000", "--json"]);
    expect(d.err).toBe("");
    expect(d.code).toBe(0);
    const j = JSON.parse(d.out);
    expect(j.cause).toBe("curvature-overshoot");
    const scaling = j.measured.scaling;
    expect(scaling.features.map((f: { name: string }) => f.name)).toEqual(["channel 1"]);
    // stability with diagnose's own settings (λmax and λmin, k = 1, tolerance 1e-8), no per-layer blocks.
    const same = ["--k", "1", "--tolerance", "1e-8", "--layers=false"];
    const raw = JSON.parse((await cli(["stability", ...base, ...same, "--json"])).out);
    expect(Math.abs(scaling.raw.lambdaMax - raw.spectrum.top[0].value)).toBeLessThan(
      1e-6 * raw.spectrum.top[0].value,
    );
    // The same 32 digits standardized by hand (one channel: every pixel of every row), as a CSV.
    const digits = loadMnist(32);
    const mean = digits.x.reduce((a, b) => a + b, 0) / digits.x.length;
    const std = Math.sqrt(digits.x.reduce((a, b) => a + (b - mean) ** 2, 0) / digits.x.length);
    expect(scaling.features[0].mean).toBeCloseTo(mean, 12);
    expect(scaling.features[0].std).toBeCloseTo(std, 12);
    const path = join(tmp, "mnist-standardized.csv");
    const head = [...Array.from({ length: 784 }, (_v, i) => `p${i}`), "y"].join(",");
    const lines = Array.from({ length: 32 }, (_v, r) =>
      [
        ...Array.from(digits.x.subarray(r * 784, (r + 1) * 784), (v) => (v - mean) / std),
        digits.labels[r],
      ].join(","),
    );
    writeFileSync(path, `${[head, ...lines].join("\n")}\n`);
    const standardized = JSON.parse(
      (
        await cli([
          "stability",
          ...["--model-onnx", lenet, "--data", path, "--target", "y", "--loss", "cross-entropy"],
          ...["--validation", "0", ...same, "--json"],
        ])
      ).out,
    );
    expect(Math.abs(scaling.standardized.lambdaMax - standardized.spectrum.top[0].value)).toBeLessThan(
      1e-6 * standardized.spectrum.top[0].value,
    );
  }, 180_000);

  it("refuses --batch-size where BatchNorm's batch statistics couple the rows, in one line; the feature axis of a row's shape", async () => {
    const r = await cli([
      "diagnose",
      join(tmp, "lenet-diverged.jsonl"),
      ...[
        "--model-onnx",
        join(dir, "bn-residual-cnn.onnx"),
        "--data",
        csv("bn-residual-cnn", 192),
        "--target",
        "y",
      ],
      ...["--loss", "cross-entropy", "--lr", "1", "--batch-size", "2"],
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^overshoot: diagnose --batch-size on a model with BatchNorm in training mode: .*--batch-norm eval\n$/,
    );
    expect([[1, 28, 28], [28, 28, 1], [3, 32, 32], [6, 8], [5]].map(featureAxis)).toEqual([0, 2, 0, 1, 0]);
  });
});
