import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { loadMnist } from "../../src/cli/datasets.js";
import { createRng } from "../../src/core/rng.js";
import { cli } from "../cli-harness.js";
import { newPage, screenshot } from "./harness.js";
import { useLab } from "./use-lab.js";

/**
 * Your data in the page (issue 29, point 2): a CSV picked or dropped, a target, a linear model or
 * an MLP; the curvature at the start measured in a web worker with the CLI's library code — the
 * numbers checked against `overshoot spectrum` on the same file — and no request leaving the page.
 */
const lab = useLab();
const CARS = "examples/cars.csv";

const lambdaMaxOf = async (args: string[]) => {
  const r = await cli(["spectrum", ...args, "--json"]);
  expect(r.code).toBe(0);
  return (JSON.parse(r.out) as { extremes: { top: { value: number }[] } }).extremes.top[0]!.value;
};

/** The data panel with a CSV picked and its target chosen, once its columns are read. */
async function pick(page: Page, file: string, columns: number, target: string): Promise<void> {
  await page.goto(`${lab.url}?panel=data`);
  await page.setInputFiles("#data-file", file);
  await page.waitForFunction(`document.querySelector("#data-target").options.length === ${columns}`);
  await page.selectOption("#data-target", target);
}

/** Presses Measure and waits for the worker's verdict. */
async function measure(page: Page, verdict = "^At the start"): Promise<void> {
  await page.click("#data-measure");
  await page.waitForFunction(
    `/${verdict}/.test(document.querySelector("#data-verdict").textContent)`,
    undefined,
    { timeout: 60_000 },
  );
}

/** Presses Measure and returns the one line of error it gives. */
async function measureError(page: Page): Promise<string> {
  await page.click("#data-measure");
  await page.waitForFunction(`document.querySelector("#data-file-error").textContent !== ""`);
  const error = (await page.textContent("#data-file-error")) ?? "";
  expect(error.split("\n")).toHaveLength(1);
  return error;
}

describe("your data", () => {
  it("a picked CSV: an MLP's λmax at the start is the CLI's, in a worker; a linear model's limit is exact", async () => {
    const { page, problems, outside } = await newPage(lab, 1280, 900);
    await pick(page, CARS, 6, "mpg");
    await page.fill("#data-hidden", "8");
    await page.fill("#data-lr", "0.5");
    await measure(page);
    const ours = Number(await page.getAttribute("#data-verdict", "data-lambda-max"));
    const theirs = await lambdaMaxOf([
      "--data",
      CARS,
      "--target",
      "mpg",
      "--model",
      "mlp",
      "--hidden",
      "8",
      "--activation",
      "tanh",
      "--loss",
      "mse",
      "--seed",
      "0",
      "--standardize",
      "--validation",
      "0",
    ]);
    // The same rows in the same order (the CLI shuffles even with --validation 0): the same sums.
    expect(Math.abs(ours - theirs) / theirs).toBeLessThan(1e-12);
    const verdict = (await page.textContent("#data-verdict")) ?? "";
    expect(verdict).toContain(`2/λmax = `);
    expect(verdict).toMatch(/Your η = 0\.5 is (below|above) it/);
    expect(await page.textContent("#data-spectrum-chart")).toContain(
      "Hessian eigenvalue density at the start, cars.csv",
    );
    expect(await page.textContent("#data-layers-chart")).toContain("layer 2");
    // The commands say where the same numbers come from.
    await page.click("#data-export-cli");
    const command = (await page.textContent("#data-command code")) ?? "";
    expect(command).toContain("overshoot spectrum --data cars.csv --target mpg --model mlp --hidden 8");
    expect(command).toContain("overshoot critical-lr --data cars.csv");
    await screenshot(page, "data-mlp-1280");

    // Linear regression: its Hessian is constant, so 2/λmax is the exact limit, said so.
    await page.selectOption("#data-model", "linear");
    await measure(page, "everywhere");
    const linear = Number(await page.getAttribute("#data-verdict", "data-lambda-max"));
    const cliLinear = await lambdaMaxOf(["--data", CARS, "--target", "mpg", "--standardize"]);
    expect(Math.abs(linear - cliLinear) / cliLinear).toBeLessThan(1e-9);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 120_000);

  // The catapult window in the page: the library's training search in a worker, the same runs
  // as `overshoot critical-lr --workers 1` with the page's steps and tolerance — so the same
  // outcomes and brackets (full-batch runs from the same start, in float64).
  it("finds η_max and the catapult window in a worker, the numbers the CLI's critical-lr prints", async () => {
    const { page, problems, outside } = await newPage(lab, 1280, 900);
    await pick(page, CARS, 6, "mpg");
    await page.fill("#data-hidden", "8");
    await page.fill("#data-steps", "200");
    await page.fill("#data-tolerance", "0.02");
    await measure(page);
    await page.click("#data-window-find");
    await page.waitForFunction(
      `document.querySelector("#data-window").dataset.etaMax !== undefined`,
      undefined,
      {
        timeout: 120_000,
      },
    );
    const ours = {
      etaMax: Number(await page.getAttribute("#data-window", "data-eta-max")),
      trains: Number(await page.getAttribute("#data-window", "data-trains")),
    };
    const words = (await page.textContent("#data-window")) ?? "";
    expect(words).toContain("catapult window");
    expect(words).toContain("η_max, the smallest rate that diverges");
    expect(await page.textContent("#data-window-chart")).toContain(
      "Final loss of each run of the search, 200 steps",
    );
    // The command the page shows runs the same search; its JSON has the same boundaries.
    await page.click("#data-export-cli");
    const command = (await page.textContent("#data-command code")) ?? "";
    const line = command.split("\n").find((l) => l.startsWith("overshoot critical-lr"))!;
    expect(line).toBe(
      "overshoot critical-lr --data cars.csv --target mpg --model mlp --hidden 8 --activation tanh --loss mse --seed 0 --standardize --validation 0 --steps 200 --tolerance 0.02 --workers 1",
    );
    const args = line
      .split(" ")
      .slice(1)
      .map((a) => (a === "cars.csv" ? CARS : a));
    const r = await cli([...args, "--json"]);
    expect(r.code).toBe(0);
    const theirs = JSON.parse(r.out) as {
      etaMax: { estimate: number } | null;
      largestTrained: { estimate: number } | null;
    };
    expect(theirs.etaMax).not.toBeNull();
    // The same runs to the same outcomes. Not to the last bit: chromium 150's V8 rounds Math.tanh
    // and Math.pow differently from Node 20's (checked: hashes of both over 2·10⁵ arguments
    // differ, exp, log, sqrt and the rest agree), and a run at 6.7 × 2/λ0 amplifies that over 200
    // steps — the catapult's peak differs by about 1% — while the brackets hold.
    expect(Math.abs(ours.etaMax / theirs.etaMax!.estimate - 1)).toBeLessThan(1e-12);
    expect(Math.abs(ours.trains / theirs.largestTrained!.estimate - 1)).toBeLessThan(1e-12);
    await screenshot(page, "data-catapult-window-1280");
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 240_000);

  // The catapult window of a graph, not a chain of dense layers: a pre-LN residual MLP (LayerNorm,
  // a skip connection, GELU; exported by torch.onnx, its own weights the start; three logits) on
  // 48 rows of a fixed-seed three-class problem. The page runs the library's training search on the graph engine in a
  // worker; `overshoot critical-lr --model-onnx … --workers 1` runs the same search.
  it("finds the catapult window of a graph model (a residual LayerNorm MLP's ONNX) in a worker, as critical-lr does", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-graph-window-"));
    try {
      const rng = createRng(7);
      const lines = Array.from({ length: 48 }, () => {
        const x = Array.from({ length: 6 }, () => rng.normal());
        // Three classes, for the model's three logits: where x₀ + 0.5·x₁x₂ falls.
        const t = x[0]! + 0.5 * x[1]! * x[2]!;
        return [...x, t < -0.4 ? 0 : t < 0.4 ? 1 : 2].join(",");
      });
      const csv = join(dir, "classes.csv");
      writeFileSync(csv, `a,b,c,d,e,f,class\n${lines.join("\n")}\n`);
      const model = "src/nn/__golden__/onnx/preln-mlp.onnx";
      const { page, problems, outside } = await newPage(lab, 1280, 900);
      await pick(page, csv, 7, "class");
      await page.selectOption("#data-model", "onnx");
      await page.uncheck("#data-standardize");
      await page.setInputFiles("#data-onnx", model);
      await page.fill("#data-steps", "100");
      await page.fill("#data-tolerance", "0.05");
      await measure(page);
      expect(await page.textContent("#data-status")).toMatch(/preln-mlp\.onnx: a graph/);
      await page.click("#data-window-find");
      await page.waitForFunction(
        `document.querySelector("#data-window").dataset.etaMax !== undefined`,
        undefined,
        {
          timeout: 150_000,
        },
      );
      const ours = {
        etaMax: Number(await page.getAttribute("#data-window", "data-eta-max")),
        trains: Number(await page.getAttribute("#data-window", "data-trains")),
      };
      const words = (await page.textContent("#data-window")) ?? "";
      expect(words).toContain("η_max, the smallest rate that diverges");
      expect(words).toMatch(/catapult window\s*[\d.]+ … [\d.]+: rose above the start and trained/);
      await page.click("#data-export-cli");
      const line = ((await page.textContent("#data-command code")) ?? "")
        .split("\n")
        .find((l) => l.startsWith("overshoot critical-lr"))!;
      expect(line).toBe(
        "overshoot critical-lr --model-onnx preln-mlp.onnx --data classes.csv --target class --loss cross-entropy --seed 0 --validation 0 --steps 100 --tolerance 0.05 --workers 1",
      );
      const args = line
        .split(" ")
        .slice(1)
        .map((a) => (a === "classes.csv" ? csv : a === "preln-mlp.onnx" ? model : a));
      const r = await cli([...args, "--json"]);
      expect(r.code, r.err).toBe(0);
      const theirs = JSON.parse(r.out) as {
        etaMax: { estimate: number } | null;
        largestTrained: { estimate: number } | null;
      };
      // The same runs to the same outcomes; to 1e-12, as chromium's Math.tanh and Math.pow round
      // differently from Node's in the last bit (see the MLP's window above).
      expect(Math.abs(ours.etaMax / theirs.etaMax!.estimate - 1)).toBeLessThan(1e-12);
      expect(Math.abs(ours.trains / theirs.largestTrained!.estimate - 1)).toBeLessThan(1e-12);
      await screenshot(page, "data-graph-window-1280");
      expect(problems).toEqual([]);
      expect(outside).toEqual([]);
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);

  // Your ONNX model with its data: read in the page by the library's ONNX reader, its own weights
  // the start; λmax is `overshoot spectrum --model-onnx`'s on the same files.
  it("an ONNX model with its CSV: λmax at its weights is the CLI's; a classifier is refused in one line", async () => {
    const { page, problems, outside } = await newPage(lab, 1280, 900);
    await pick(page, "examples/train.csv", 3, "y");
    await page.selectOption("#data-model", "onnx");
    await page.uncheck("#data-standardize");
    await page.setInputFiles("#data-onnx", "examples/model.onnx");
    await measure(page);
    const ours = Number(await page.getAttribute("#data-verdict", "data-lambda-max"));
    const theirs = await lambdaMaxOf([
      "--model-onnx",
      "examples/model.onnx",
      "--data",
      "examples/train.csv",
      "--target",
      "y",
      "--loss",
      "mse",
      "--seed",
      "0",
      "--validation",
      "0",
    ]);
    expect(Math.abs(ours - theirs) / theirs).toBeLessThan(1e-12);
    await page.click("#data-export-cli");
    expect((await page.textContent("#data-command code")) ?? "").toContain(
      "overshoot spectrum --model-onnx model.onnx --data train.csv --target y --loss mse --seed 0 --validation 0",
    );
    await screenshot(page, "data-onnx-1280");
    // LeNet on a two-column CSV: its input count is named, in one line.
    await page.setInputFiles("#data-onnx", "examples/lenet.onnx");
    expect(await measureError(page)).toMatch(
      /^lenet\.onnx takes rows of 1×28×28 = 784 values; the CSV gives 2 features besides the target/,
    );
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 120_000);

  // A graph, not a chain of dense layers: LeNet-5 (convolutions, pooling, ten logits) on a CSV
  // of 12 MNIST digits, each row its 784 pixels and a class. The page runs it on the graph engine
  // with cross-entropy on the logits (its ten outputs), as `overshoot spectrum --model-onnx` does
  // on the same files: λmax equal, each layer's block drawn, and the command shown gives it.
  it("a CNN's ONNX with a CSV of images: λmax on the graph engine is the CLI's; the loss follows the model", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-digits-"));
    try {
      const digits = loadMnist(12);
      const header = [...Array.from({ length: 784 }, (_, i) => `p${i}`), "label"].join(",");
      const lines = Array.from({ length: digits.rows }, (_, r) =>
        [...digits.x.subarray(r * 784, (r + 1) * 784), digits.labels[r]!].join(","),
      );
      const csv = join(dir, "digits.csv");
      writeFileSync(csv, `${header}\n${lines.join("\n")}\n`);
      const { page, problems, outside } = await newPage(lab, 1280, 900);
      await pick(page, csv, 785, "label");
      await page.selectOption("#data-model", "onnx");
      await page.uncheck("#data-standardize");
      await page.setInputFiles("#data-onnx", "examples/lenet.onnx");
      await measure(page);
      expect(await page.textContent("#data-status")).toMatch(/lenet\.onnx: a graph .*cross-entropy/);
      const ours = Number(await page.getAttribute("#data-verdict", "data-lambda-max"));
      const args = [
        "--model-onnx",
        "examples/lenet.onnx",
        "--data",
        csv,
        "--target",
        "label",
        "--loss",
        "cross-entropy",
        "--seed",
        "0",
        "--validation",
        "0",
      ];
      // λmax is the extremes' Lanczos, apart from the density: one short probe keeps the CLI quick.
      const theirs = await lambdaMaxOf([...args, "--probes", "1", "--lanczos-steps", "10"]);
      expect(theirs).toBeGreaterThan(0);
      expect(Math.abs(ours - theirs) / theirs).toBeLessThan(1e-12);
      await page.click("#data-export-cli");
      expect((await page.textContent("#data-command code")) ?? "").toContain(
        "overshoot spectrum --model-onnx lenet.onnx --data digits.csv --target label --loss cross-entropy --seed 0 --validation 0",
      );
      await screenshot(page, "data-onnx-lenet-1280");
      await page.setViewportSize({ width: 360, height: 780 });
      await screenshot(page, "data-onnx-lenet-360");
      await page.setViewportSize({ width: 1280, height: 900 });
      // Squared error on ten logits against one number a row: one line naming both.
      await page.selectOption("#data-loss", "mse");
      expect(await measureError(page)).toBe(
        "lenet.onnx has 10 outputs a row; squared error on the column 'label' takes one — choose cross-entropy for a class column",
      );
      expect(problems).toEqual([]);
      expect(outside).toEqual([]);
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it("a dropped CSV is read in the page; a bad cell is one line naming its row and column", async () => {
    const { page, problems, outside } = await newPage(lab, 1280, 900);
    await page.goto(`${lab.url}?panel=data`);
    const drop = async (name: string, text: string) =>
      page.evaluate(
        `(() => { const dt = new DataTransfer(); dt.items.add(new File([${JSON.stringify(text)}], ${JSON.stringify(name)}, { type: "text/csv" }));
          document.querySelector("#panel-data").dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true })); })()`,
      );
    await drop("cars.csv", readFileSync(CARS, "utf8"));
    await page.waitForFunction(
      `/cars\\.csv: 392 rows, 6 columns/.test(document.querySelector("#data-status").textContent)`,
    );
    expect(await page.inputValue("#data-target")).toBe("year");
    await drop("bad.csv", "a,b\n1,2\n3,x\n");
    await page.waitForFunction(`document.querySelector("#data-file-error").textContent !== ""`);
    const error = (await page.textContent("#data-file-error")) ?? "";
    expect(error.split("\n")).toHaveLength(1);
    expect(error).toMatch(/row 3.*column 'b'|column 'b'.*row 3/);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 60_000);
});
