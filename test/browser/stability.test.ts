import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { cli } from "../cli-harness.js";
import { newPage, screenshot, type WatchedPage } from "./harness.js";
import { useLab } from "./use-lab.js";

/** The stability panel: cells computed in web workers agree with the exact quadratic threshold. */

const lab = useLab();

async function computed(page: Page, after = ""): Promise<void> {
  await page.waitForFunction(
    `(() => { const c = document.querySelector("#panel-stability").dataset.computed; return c !== undefined && c !== ${JSON.stringify(after)}; })()`,
    undefined,
    { timeout: 60_000 },
  );
  await page.waitForSelector("#stability-map-chart svg");
}

async function open(query = "", width = 1280): Promise<WatchedPage> {
  const w = await newPage(lab, width, 900);
  await w.page.goto(`${lab.url}?panel=stability${query}`);
  await computed(w.page);
  return w;
}

describe("the stability panel", () => {
  it("computes the η × β map in workers; it matches 2(1+β)/λmax cell by cell on the quadratic (λmax = 20)", async () => {
    const { page, problems, outside } = await open();
    expect(await page.textContent("#stability-threshold")).toContain("2/λmax = 0.1,");
    const cells = (await page.getAttribute("#stability-map-chart", "data-cells"))!.split(";").map((c) => {
      const [lr, m, status] = c.split(",");
      return { lr: Number(lr), m: Number(m), status: status! };
    });
    expect(cells.length).toBe(40 * 20);
    let checked = 0;
    for (const c of cells) {
      const limit = (2 * (1 + c.m)) / 20;
      // 500-step runs near the threshold may not have decided yet: the band [0.95, 1.25]× is left out.
      if (c.lr < 0.95 * limit) {
        expect(["converged", "converging"]).toContain(c.status);
        checked++;
      } else if (c.lr > 1.25 * limit) {
        expect(["diverged", "nonfinite"]).toContain(c.status);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(700);
    expect(await page.textContent("#stability-status")).toMatch(/^800 runs of 500 steps in [\d.]+ s/);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 90_000);

  // Your CSV on the stability panel: the map over the model on it, cell by cell the CLI's
  // `overshoot sweep --data FILE` (the same library runs in the workers), and for linear regression
  // (a constant Hessian) the exact boundary 2(1+β)/λmax.
  it("a CSV dropped on the panel: the map of a linear model on it is `overshoot sweep --data`'s, cell by cell", async () => {
    const { page, problems, outside } = await open(
      "&stability.lr=1e-3:1:12&stability.momentum=0:0.9:4&stability.steps=200",
    );
    const before = await page.getAttribute("#panel-stability", "data-computed");
    await page.setInputFiles("#stability-file", "examples/cars.csv");
    await computed(page, before ?? "");
    // The map's stamp before the choice: read after it, a map finished in between would be taken
    // for the old one, and the wait would last until its timeout (CI, 2026-12-07).
    const second = await page.getAttribute("#panel-stability", "data-computed");
    await page.selectOption("#stability-target", "mpg");
    await computed(page, second ?? "");
    expect(await page.inputValue("#stability-x0")).toBe("the model's initial weights");
    const cells = (await page.getAttribute("#stability-map-chart", "data-cells"))!.split(";").map((c) => {
      const [lr, m, status] = c.split(",");
      return { lr: Number(lr), m: Number(m), status: status! };
    });
    const r = await cli([
      "sweep",
      "--data",
      "examples/cars.csv",
      "--target",
      "mpg",
      "--standardize",
      "--lr",
      "1e-3:1:12",
      "--momentum",
      "0:0.9:4",
      "--steps",
      "200",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const theirs = JSON.parse(r.out) as {
      lambdaMax: number;
      cells: { lr: number; momentum: number; status: string }[];
    };
    expect(cells.map((c) => c.status)).toEqual(theirs.cells.map((c) => c.status));
    expect(cells.map((c) => c.lr)).toEqual(theirs.cells.map((c) => c.lr));
    // A constant Hessian: past 2(1+β)/λmax (with a margin for 200 steps) every cell diverged.
    for (const c of cells)
      if (c.lr > 1.25 * ((2 * (1 + c.m)) / theirs.lambdaMax))
        expect(["diverged", "nonfinite"]).toContain(c.status);
    expect(await page.textContent("#stability-threshold")).toContain(
      `2/λmax = ${Number((2 / theirs.lambdaMax).toPrecision(4))}`,
    );
    await screenshot(page, "stability-csv-1280");
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 120_000);

  it("shows the run of the cell under the pointer", async () => {
    const { page, problems } = await open();
    const box = (await (await page.$("#stability-map-chart svg"))!.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.4);
    await page.waitForFunction(`document.querySelector("#stability-hover").textContent.startsWith("η =")`);
    await page.waitForSelector("#stability-run-chart svg");
    expect(await page.textContent("#stability-hover")).toMatch(
      /^η = [\d.e-]+, β = [\d.]+: (converged|converging|oscillating|diverging|nonfinite)/,
    );
    // The keyboard reaches every cell too: the arrows walk η and β.
    await page.focus("#stability-map-chart");
    const before = (await page.textContent("#stability-hover"))!;
    await page.keyboard.press("ArrowRight");
    await page.waitForFunction(
      `document.querySelector("#stability-hover").textContent !== ${JSON.stringify(before)}`,
    );
    const eta = (t: string | null) => Number(/^η = ([\d.e-]+)/.exec(t ?? "")![1]);
    expect(eta(await page.textContent("#stability-hover"))).toBeGreaterThan(eta(before));
    expect(problems).toEqual([]);
    await screenshot(page, "stability-1280");
    await page.close();
  }, 90_000);

  it("shows bad grids under their boxes, keeps the URL and the last map", async () => {
    const { page, problems } = await open();
    const url = page.url();
    await page.fill("#stability-lr", "0:1:10");
    await page.dispatchEvent("#stability-lr", "change");
    expect(await page.textContent("#stability-lr-error")).toContain("a log grid needs values > 0");
    await page.fill("#stability-f", "x^2 +* y");
    await page.dispatchEvent("#stability-f", "change");
    expect(await page.textContent("#stability-f-error")).toMatch(/position \d+/);
    expect(page.url()).toBe(url);
    expect(await page.$("#stability-map-chart svg")).not.toBeNull();
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it("round-trips its settings through the URL and reads at 360 px", async () => {
    const { page, problems } = await open(
      "&stability.f=x%5E2%2By%5E2&stability.x0=1,1&stability.lr=1e-2:3:12&stability.momentum=0:0.9:4",
      360,
    );
    expect(await page.inputValue("#stability-f")).toBe("x^2+y^2");
    expect(await page.textContent("#stability-threshold")).toContain("2/λmax = 1,");
    expect(await page.textContent("#stability-status")).toMatch(/^48 runs/);
    expect(await page.evaluate("document.documentElement.scrollWidth - 360")).toBeLessThanOrEqual(0);
    await screenshot(page, "stability-360");
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});
