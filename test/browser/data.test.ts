import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
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

describe("your data", () => {
  it("a picked CSV: an MLP's λmax at the start is the CLI's, in a worker; a linear model's limit is exact", async () => {
    const { page, problems, outside } = await newPage(lab, 1280, 900);
    await page.goto(`${lab.url}?panel=data`);
    await page.setInputFiles("#data-file", CARS);
    await page.waitForFunction(`document.querySelector("#data-target").options.length === 6`);
    await page.selectOption("#data-target", "mpg");
    await page.fill("#data-hidden", "8");
    await page.fill("#data-lr", "0.5");
    await page.click("#data-measure");
    await page.waitForFunction(
      `/^At the start/.test(document.querySelector("#data-verdict").textContent)`,
      undefined,
      {
        timeout: 60_000,
      },
    );
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
    expect(Math.abs(ours - theirs) / theirs).toBeLessThan(1e-6);
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
    await page.click("#data-measure");
    await page.waitForFunction(
      `/everywhere/.test(document.querySelector("#data-verdict").textContent)`,
      undefined,
      {
        timeout: 60_000,
      },
    );
    const linear = Number(await page.getAttribute("#data-verdict", "data-lambda-max"));
    const cliLinear = await lambdaMaxOf(["--data", CARS, "--target", "mpg", "--standardize"]);
    expect(Math.abs(linear - cliLinear) / cliLinear).toBeLessThan(1e-9);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 120_000);

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
