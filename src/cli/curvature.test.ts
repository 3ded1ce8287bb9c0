import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../../test/cli-harness.js";
import { field, str } from "../../test/onnx-bytes.js";
import { layersFromParameters } from "../nn/mlp/mlp.js";
import { packageRoot } from "./lab-site.js";

/**
 * The curvature suite from the command line: `spectrum`, `stability --trace` and per-layer blocks,
 * minibatch curvature, and networks from ONNX files in stability, critical-lr, spectrum and train —
 * checked against PyTorch's numbers for the README's example model (scripts/fixtures/torch_onnx.py).
 */
const root = packageRoot();
const golden = JSON.parse(readFileSync(join(root, "src/nn/onnx/__golden__/torch-onnx.json"), "utf8")) as {
  example: { sizes: number[]; theta: number[]; loss0: number; top: number[]; min: number; trace: number };
};
const ex = golden.example;
const tmp = mkdtempSync(join(tmpdir(), "overshoot-curvature-"));
/** The README's example: a 2-32-32-1 tanh net exported by torch.onnx.export, on all 300 rows of train.csv. */
const onnx = [
  "--model-onnx",
  join(root, "examples/model.onnx"),
  "--data",
  join(root, "examples/train.csv"),
  "--target",
  "y",
  "--validation",
  "0",
];
const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

interface LayerJson {
  name: string;
  parameters: number;
  lambdaMax: { value: number; residual: number };
  trace: { estimate: number; standardError: number; exact: boolean };
  criticalLr: number | null;
  share: number;
}

function checkLayers(layers: LayerJson[], lambdaMax: number) {
  expect(layers.map((l) => l.parameters)).toEqual([96, 1056, 33]);
  expect(layers.reduce((s, l) => s + l.share, 0)).toBeCloseTo(1, 9);
  for (const l of layers) {
    // Cauchy interlacing: no diagonal block's λmax exceeds the whole Hessian's.
    expect(l.lambdaMax.value).toBeLessThanOrEqual(lambdaMax * (1 + 1e-12));
    expect(l.criticalLr).toBeCloseTo(2 / l.lambdaMax.value, 12);
  }
}

describe("a network from PyTorch via ONNX: the README's example against PyTorch's own numbers", () => {
  it("stability: λ1…λ3 and λmin equal PyTorch's to 1e-10; the trace by Hutchinson within 3 standard errors; the layers", async () => {
    const r = await cli(["stability", ...onnx, "--trace", "--probes", "300", "--json"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.rows).toBe(300);
    for (const [i, e] of (j.spectrum.top as { value: number }[]).entries())
      expect(rel(e.value, ex.top[i]!)).toBeLessThan(1e-10);
    expect(rel(j.spectrum.min.value, ex.min)).toBeLessThan(1e-10);
    expect(j.trace.probes).toBe(300);
    expect(j.trace.hvps).toBe(300);
    expect(Math.abs(j.trace.estimate - ex.trace)).toBeLessThan(3 * j.trace.standardError);
    checkLayers(j.layers, ex.top[0]!);
  });

  it("stability --threads 2 (an MLP's rows split over a worker): λ1…λ3 and λmin still PyTorch's to 1e-10, the layers whole", async () => {
    const r = await cli(["stability", ...onnx, "--threads", "2", "--json"]);
    expect(r.err).toBe("");
    const j = JSON.parse(r.out);
    for (const [i, e] of (j.spectrum.top as { value: number }[]).entries())
      expect(rel(e.value, ex.top[i]!)).toBeLessThan(1e-10);
    expect(rel(j.spectrum.min.value, ex.min)).toBeLessThan(1e-10);
    checkLayers(j.layers, ex.top[0]!);
  });

  it("stability's text names the rows, the trace's probes and the limiting layer", async () => {
    const r = await cli(["stability", ...onnx.slice(0, 6), "--trace"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /on all 240 training rows \(60 held out for validation; --validation 0 measures on all 300\)/,
    );
    expect(r.out).toMatch(/trace = \S+ ± \S+ \(Hutchinson, 64 Rademacher probes = 64 HVPs/);
    expect(r.out).toMatch(/λmax's direction lies \d+% in layer \d: that layer limits the learning rate/);
    expect(r.out).toMatch(
      /model .*model\.onnx \(2-32-32-1, tanh\/tanh; float32 weights widened to float64; ONNX opset 14/,
    );
  });

  it("spectrum: extremes equal PyTorch's, the trace within 3 standard errors, every HVP counted, the chart written", async () => {
    const plot = join(tmp, "spectrum.svg");
    const r = await cli([
      "spectrum",
      ...onnx,
      "--probes",
      "20",
      "--lanczos-steps",
      "30",
      "--plot",
      plot,
      "--json",
    ]);
    expect(r.err).toBe("");
    const j = JSON.parse(r.out);
    expect(rel(j.extremes.top[0].value, ex.top[0]!)).toBeLessThan(1e-10);
    expect(rel(j.extremes.min.value, ex.min)).toBeLessThan(1e-10);
    expect(j.density.probes).toBe(20);
    expect(j.density.hvps).toBe(20 * 30);
    for (const p of j.density.quadrature) {
      expect(p.nodes.length).toBe(30);
      expect(p.weights.reduce((s: number, w: number) => s + w, 0)).toBeCloseTo(1, 12);
      // Ritz values lie inside the spectrum.
      expect(Math.max(...p.nodes)).toBeLessThanOrEqual(ex.top[0]! * (1 + 1e-10));
      expect(Math.min(...p.nodes)).toBeGreaterThanOrEqual(ex.min * (1 + 1e-10));
    }
    expect(Math.abs(j.trace.estimate - ex.trace)).toBeLessThan(3 * j.trace.standardError);
    const layerHvps = j.layers.reduce((s: number, l: { hvps: number }) => s + l.hvps, 0);
    expect(j.hvps).toBe(j.extremes.hvps + j.density.hvps + layerHvps);
    checkLayers(j.layers, ex.top[0]!);
    const svg = readFileSync(plot, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("Hessian eigenvalue density");
    expect(svg).toContain("λmax 6.17");
    expect(svg).toContain("Which layer limits the learning rate");
  });

  it("critical-lr answers exactly as for the same architecture and weights given as a weights file", async () => {
    const weights = join(tmp, "weights.json");
    writeFileSync(weights, JSON.stringify(layersFromParameters(ex.sizes, Float64Array.from(ex.theta))));
    const data = onnx.slice(2);
    const a = await cli(["critical-lr", ...onnx, "--steps", "60", "--json"]);
    const b = await cli([
      "critical-lr",
      ...data,
      "--model",
      "mlp",
      "--hidden",
      "32,32",
      "--init",
      weights,
      "--steps",
      "60",
      "--json",
    ]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const strip = (t: string) => {
      const j = JSON.parse(t);
      delete j.objective;
      delete j.seconds;
      return j;
    };
    expect(strip(a.out)).toEqual(strip(b.out));
  });

  it("train --init model.onnx starts at PyTorch's loss; --layers adds each layer's block to the curvature records", async () => {
    const args = onnx.map((a) => (a === "--model-onnx" ? "--init" : a));
    const r = await cli([
      "train",
      ...args,
      "--lr",
      "0.05",
      "--steps",
      "4",
      "--log-every",
      "1",
      "--sharpness-every",
      "2",
      "--layers",
      "--json",
    ]);
    expect(r.err).toBe("");
    const j = JSON.parse(r.out);
    expect(rel(j.records[0].loss, ex.loss0)).toBeLessThan(1e-12);
    // Lanczos to 1e-6 in training's monitor.
    expect(rel(j.records[0].sharpness, ex.top[0]!)).toBeLessThan(1e-6);
    const layers = j.records[0].layers as { lambdaMax: number; share: number }[];
    expect(layers).toHaveLength(3);
    expect(layers.reduce((s, l) => s + l.share, 0)).toBeCloseTo(1, 6);
    expect(j.records[1].layers).toBeUndefined();
    expect(j.records[2].layers).toHaveLength(3);
  });

  it("train measures on every training row by default, or on a stated sample with --curvature-rows", async () => {
    const base = [
      "train",
      "--data",
      "spiral",
      "--n",
      "600",
      "--hidden",
      "8",
      "--lr",
      "0.1",
      "--steps",
      "2",
      "--sharpness-every",
      "1",
    ];
    const all = await cli(base);
    expect(all.out).toMatch(/curvature every 1 step \(Lanczos on exact HVPs, on all 480 training rows\)/);
    const some = await cli([...base, "--curvature-rows", "100", "--json"]);
    const j = JSON.parse(some.out);
    const full = JSON.parse((await cli([...base, "--json"])).out);
    expect(j.records[0].sharpness).not.toBeCloseTo(full.records[0].sharpness, 6);
    const text = await cli([...base, "--curvature-rows", "100"]);
    expect(text.out).toMatch(/on 100 of the 480 training rows, a seeded sample drawn once/);
  });

  it("stability and spectrum measure on the sample train measures on, with --curvature-rows, and say so", async () => {
    const net = ["--data", "spiral", "--n", "600", "--hidden", "8"];
    const t = JSON.parse(
      (
        await cli([
          "train",
          ...net,
          "--lr",
          "0.1",
          "--steps",
          "1",
          "--sharpness-every",
          "1",
          "--curvature-rows",
          "100",
          "--json",
        ])
      ).out,
    );
    const s = JSON.parse(
      (await cli(["stability", ...net, "--model", "mlp", "--curvature-rows", "100", "--json"])).out,
    );
    expect(s.rows).toBe(100);
    expect(rel(s.spectrum.top[0].value, t.records[0].sharpness)).toBeLessThan(1e-6);
    const text = await cli([
      "spectrum",
      ...net,
      "--model",
      "mlp",
      "--curvature-rows",
      "100",
      "--probes",
      "2",
    ]);
    expect(text.out).toMatch(/on 100 of the 480 training rows, a seeded sample drawn once \(--seed 0\)/);
  });

  it("--report draws the layers' curvature and shares", async () => {
    const report = join(tmp, "report.html");
    const r = await cli([
      "train",
      "--data",
      "spiral",
      "--hidden",
      "8",
      "--lr",
      "0.1",
      "--steps",
      "20",
      "--sharpness-every",
      "5",
      "--layers",
      "--report",
      report,
    ]);
    expect(r.code).toBe(0);
    const html = readFileSync(report, "utf8");
    expect(html).toContain("Curvature per layer");
    expect(html).toContain("direction lies");
  });
});

describe("spectrum and the trace against closed forms", () => {
  it("past 2,000 parameters: fewer probes, the extremes' run the first of them, and the layers left out past their budget", async () => {
    // 2-64×8-2: 29,442 parameters, ⌈32,000/n⌉ = 2 probes; 9 layers at up to 130 HVPs each, past
    // the 1,050 the blocks may take unasked.
    const base = ["spectrum", "--data", "spiral", "--model", "mlp", "--hidden", "64,64,64,64,64,64,64,64"];
    const r = await cli([...base, "--json"]);
    expect(r.err).toBe("");
    const j = JSON.parse(r.out);
    expect(j.objective.dim).toBe(29_442);
    expect(j.density.probes).toBe(2);
    expect(j.density.firstProbe).toBe("the extremes' Lanczos run");
    expect(j.density.quadrature[0].nodes.length).toBeGreaterThanOrEqual(50);
    expect(j.density.hvps).toBe(50);
    expect(j.hvps).toBe(j.extremes.hvps + 50);
    expect(j.layers).toBeNull();
    expect(j.layersLeftOut.blocks).toBe(9);
    expect(j.layersLeftOut.bound).toBe(9 * 130);
    expect(j.layersLeftOut.budget).toBe(1050);
    const shares = j.layersLeftOut.shares.map((s: { share: number }) => s.share);
    expect(shares.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 12);
    const text = await cli(base);
    expect(text.out).toMatch(
      /Per layer: not measured by default here — the 9 blocks could take up to 1170 more HVPs, past the 1050 they may take unasked; --layers measures them\. λmax's eigenvector lies [\d.]+% in layer \d, /,
    );
    expect(text.out).toMatch(
      /2 probes × 50 steps \(seed 1; the first probe is the extremes' Lanczos run of \d+ steps, 50 HVPs for the others\)/,
    );
    // --layers measures them, with the same shares.
    const asked = JSON.parse((await cli([...base, "--layers", "--json"])).out);
    expect(asked.layersLeftOut).toBeUndefined();
    expect(asked.layers.map((l: { share: number }) => l.share)).toEqual(shares);
    // stability leaves them out by the same budget, with λmax's shares from its own Lanczos run.
    const st = await cli(["stability", ...base.slice(1)]);
    expect(st.out).toMatch(
      /Per layer: not measured by default here — the 9 blocks could take up to 1170 more HVPs, past the 1050 they may take unasked/,
    );
    const sj = JSON.parse((await cli(["stability", ...base.slice(1), "--json"])).out);
    expect(sj.layers).toBeUndefined();
    expect(sj.layersLeftOut.bound).toBe(9 * 130);
    expect(sj.layersLeftOut.budget).toBe(1050);
    expect(sj.layersLeftOut.shares.reduce((a: number, b: { share: number }) => a + b.share, 0)).toBeCloseTo(
      1,
      12,
    );
  });

  it("x² + 3y²: every probe's quadrature is {2, 6}; the trace 8 with no spread (zᵀHz = 8 for every Rademacher z)", async () => {
    const r = await cli(["spectrum", "--f", "x^2 + 3*y^2", "--x0", "1,1", "--json"]);
    const j = JSON.parse(r.out);
    for (const p of j.density.quadrature) {
      expect(p.nodes[0]).toBeCloseTo(2, 12);
      expect(p.nodes[1]).toBeCloseTo(6, 12);
    }
    expect(j.trace.estimate).toBeCloseTo(8, 12);
    expect(j.trace.standardError).toBeCloseTo(0, 12);
    expect(j.layers).toBeNull();
  });

  it("--csv writes the drawn density, which integrates to 1; an unwritable --csv is refused before any work", async () => {
    const csv = join(tmp, "density.csv");
    const r = await cli([
      "spectrum",
      "--f",
      "x^2 + 3*y^2 + 0.5*z^2",
      "--x0",
      "1,1,1",
      "--sigma",
      "0.1",
      "--csv",
      csv,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`wrote ${csv}`);
    const lines = readFileSync(csv, "utf8").trim().split("\n");
    expect(lines[0]).toBe("eigenvalue,density");
    const points = lines.slice(1).map((l) => l.split(",").map(Number) as [number, number]);
    let area = 0;
    for (let i = 1; i < points.length; i++) area += (points[i]![0] - points[i - 1]![0]) * points[i]![1];
    // The grid stops 3σ past the outermost nodes: what lies beyond (under 0.3% of their mass) is cut.
    expect(area).toBeGreaterThan(0.995);
    expect(area).toBeLessThan(1 + 1e-9);
    const bad = await cli(["spectrum", "--f", "x^2", "--x0", "1", "--csv", join(tmp, "no/such/dir/d.csv")]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--csv/);
  });

  it("stability --trace is exact on a small Hessian (the unit vectors) and Hutchinson's within 3 SE on a large one", async () => {
    const small = JSON.parse(
      (
        await cli([
          "stability",
          "--f",
          "quadratic",
          "--eigenvalues",
          "1,2,3,40",
          "--rotate",
          "1",
          "--x0",
          "0,0,0,0",
          "--trace",
          "--json",
        ])
      ).out,
    );
    expect(small.trace.exact).toBe(true);
    expect(small.trace.estimate).toBeCloseTo(46, 10);
    const eig = Array.from({ length: 200 }, (_, i) => 1 + (i % 17));
    const big = JSON.parse(
      (
        await cli([
          "stability",
          "--f",
          "quadratic",
          "--eigenvalues",
          eig.join(","),
          "--rotate",
          "3",
          "--x0",
          eig.map(() => 0).join(","),
          "--trace",
          "--probes",
          "100",
          "--json",
        ])
      ).out,
    );
    expect(big.trace.exact).toBe(false);
    const exact = eig.reduce((s, v) => s + v, 0);
    expect(Math.abs(big.trace.estimate - exact)).toBeLessThan(3 * big.trace.standardError);
    expect(big.trace.standardError).toBeGreaterThan(0);
  });

  it("minibatch curvature: batches of every row are the full data, so every batch's λmax is the full λmax", async () => {
    const xor = async (batchSize: number, batches: number) =>
      JSON.parse(
        (
          await cli(
            `stability --data xor --model mlp --hidden 6 --n 100 --batch-size ${batchSize} --batches ${batches} --json`.split(
              " ",
            ),
          )
        ).out,
      );
    const j = await xor(80, 4);
    expect(j.minibatch.lambdas).toHaveLength(4);
    for (const l of j.minibatch.lambdas) expect(rel(l, j.spectrum.top[0].value)).toBeLessThan(1e-8);
    const small = await xor(8, 16);
    // Batches of 8 differ from each other and, on average, are sharper than the full data.
    expect(small.minibatch.sd).toBeGreaterThan(0);
    expect(small.minibatch.quantiles.max).toBeGreaterThan(small.spectrum.top[0].value);
  });
});

describe("bad input to the curvature suite: one line, exit 2", () => {
  const model = join(root, "examples/model.onnx");
  it.each([
    [["spectrum", "--f", "x^2", "--x0", "1", "--probes", "0"], /invalid --probes: 0 \(a whole number from 1/],
    [
      ["spectrum", "--f", "x^2+y^2", "--x0", "1,1", "--lanczos-steps", "3"],
      /invalid --lanczos-steps: 3 \(a whole number from 1 to 2\)/,
    ],
    [["spectrum", "--f", "x^2", "--x0", "1", "--sigma", "-1"], /invalid --sigma: -1/],
    [["spectrum", "--f", "x^2", "--x0", "1", "--layers"], /--layers applies to a network/],
    [
      ["stability", "--f", "x^2", "--x0", "1", "--curvature-rows", "10"],
      /--curvature-rows applies to a network/,
    ],
    [["stability", "--f", "x^2", "--x0", "1", "--batch-size", "4"], /--batch-size applies to a network/],
    [
      ["stability", "--f", "x^2", "--x0", "1", "--probes", "4"],
      /--probes sets the trace estimate: add --trace/,
    ],
    [
      ["stability", "--data", "xor", "--model", "mlp", "--batches", "4"],
      /--batches sets the minibatch curvature: add --batch-size/,
    ],
    [
      ["stability", "--data", "xor", "--model", "mlp", "--batch-size", "5000"],
      /invalid --batch-size: 5000 \(a whole number from 1 to the 320 training rows\)/,
    ],
    [
      ["train", "--data", "xor", "--lr", "0.1", "--layers"],
      /--layers applies to the curvature: add --sharpness-every K/,
    ],
    [
      ["train", "--data", "xor", "--lr", "0.1", "--sharpness-every", "2", "--curvature-rows", "0"],
      /invalid --curvature-rows: 0/,
    ],
    [["stability", "--model-onnx", model], /--model-onnx needs the rows to measure the loss on/],
    [
      ["stability", "--model-onnx", model, "--data", "iris"],
      /model\.onnx takes 2 inputs; --data iris gives 4\n/,
    ],
    [
      ["stability", "--model-onnx", model, "--data", "xor", "--hidden", "4"],
      /--hidden comes from the model in .*model\.onnx: drop it/,
    ],
    [
      ["stability", "--model-onnx", model, "--data", "xor", "--model", "linear"],
      /is a network: drop --model linear/,
    ],
    [
      ["stability", "--model-onnx", join(root, "examples/train.csv"), "--data", "xor"],
      /train\.csv is not an ONNX model/,
    ],
    [
      ["stability", "--model-onnx", join(root, "nope.onnx"), "--data", "xor"],
      /cannot read --model-onnx .*nope\.onnx: ENOENT/,
    ],
    [
      [
        "stability",
        "--model-onnx",
        join(root, "src/nn/onnx/__golden__/relu-f32.onnx"),
        "--data",
        "xor",
        "--loss",
        "mse",
      ],
      /invalid --loss: mse, but .* ends in Softmax, which overshoot takes as cross-entropy/,
    ],
    [
      ["train", "--model-onnx", model, "--init", "he", "--data", "xor", "--lr", "0.1"],
      /give --model-onnx or --init, not both/,
    ],
    [
      ["sweep", ...onnx.slice(0, 6), "--lr", "0.1:1:3", "--seeds", "0:3"],
      /--seeds draws a network's initial weights; --model-onnx brings its own/,
    ],
    [
      ["stability", "--model-onnx", model, "--data", "xor"],
      /model\.onnx has 1 output; --data xor with cross-entropy needs 2 \(one per class; one output fits --loss bce on 0\/1 labels\)/,
    ],
  ])("%j", async (args, message) => {
    const r = await cli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toMatch(message as RegExp);
  });

  it("refuses a model with an operator out of scope, naming it and its node", async () => {
    // A one-node model (ONNX wire format by hand): input x → LSTM "lstm" → y.
    const node = [
      ...field(1, str("x")),
      ...field(2, str("y")),
      ...field(3, str("lstm")),
      ...field(4, str("LSTM")),
    ];
    const graph = [...field(1, node), ...field(11, field(1, str("x"))), ...field(12, field(1, str("y")))];
    const path = join(tmp, "lstm.onnx");
    writeFileSync(path, Uint8Array.from([...field(7, graph), ...field(8, [0x10, 17])]));
    const r = await cli(["spectrum", "--model-onnx", path, "--data", "xor"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unsupported operator LSTM \(node "lstm"\): recurrent layers are out of scope/);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(existsSync(join(tmp, "none.svg"))).toBe(false);
  });
});
