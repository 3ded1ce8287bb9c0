import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { chartsDrawn, newPage, screenshot, type WatchedPage } from "./harness.js";
import { useLab } from "./use-lab.js";

/**
 * The seed panel in a real browser: the seed example's three verdicts, the exact numbers of a step,
 * bad input kept inside the page, and the URL as the whole state.
 */

const lab = useLab();

async function open(query = "", width = 1280): Promise<WatchedPage> {
  const w = await newPage(lab, width, 900);
  await w.page.goto(`${lab.url}${query}`);
  await chartsDrawn(w.page, "seed");
  return w;
}

const verdict = (page: Page) => page.textContent("#seed-verdict strong");

/** Types into a box the way a person does and commits it (the change event). */
async function type(page: Page, id: string, text: string): Promise<void> {
  await page.fill(`#${id}`, text);
  await page.dispatchEvent(`#${id}`, "change");
}

/** The table's value for a row whose label starts with `label`. */
async function cell(page: Page, label: string): Promise<string> {
  const rows = await page.$$eval("#seed-table tr", (trs) =>
    trs.map((tr) => [tr.querySelector("th")?.textContent ?? "", tr.querySelector("td")?.textContent ?? ""]),
  );
  const row = rows.find(([th]) => th!.startsWith(label));
  if (!row) throw new Error(`no row ${label} in ${JSON.stringify(rows)}`);
  return row[1]!;
}

describe("the seed panel", () => {
  it("loads with no console error and no request outside 127.0.0.1", async () => {
    const { page, problems, outside } = await open();
    expect(await page.inputValue("#seed-f")).toBe("x^2");
    expect(await verdict(page)).toMatch(/^Converges/);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  });

  it("shows converge, bounce ±1 and explode for η = 0.1, 1, 1.125 on x² from −1, typed into the box", async () => {
    const { page, problems } = await open();
    const seen: Record<string, string | null> = {};
    for (const lr of ["0.1", "1", "1.125"]) {
      await type(page, "seed-lr", lr);
      await chartsDrawn(page, "seed");
      seen[lr] = await verdict(page);
      await screenshot(page, `seed-lr-${lr}-1280`);
    }
    expect(seen["0.1"]).toMatch(/^Converges/);
    expect(seen["1"]).toBe("Bounces between x = -1 and x = 1 forever");
    expect(seen["1.125"]).toMatch(/^Explodes/);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows the same three verdicts from links, and the preset buttons", async () => {
    for (const [lr, expected] of [
      ["0.1", /^Converges/],
      ["1", /^Bounces between x = -1 and x = 1/],
      ["1.125", /^Explodes/],
    ] as const) {
      const { page, problems } = await open(`?seed.lr=${lr}`);
      expect(await page.inputValue("#seed-lr")).toBe(lr);
      expect(await verdict(page)).toMatch(expected);
      await page.click(`.presets button[data-lr="0.1"]`);
      expect(await verdict(page)).toMatch(/^Converges/);
      expect(problems).toEqual([]);
      await page.close();
    }
  });

  it("puts ΔC beside −η‖g‖² and the 2nd-order prediction, exact on x² (closed form)", async () => {
    const { page } = await open("?seed.lr=1.125&seed.k=1");
    // From x₀ = −1 with g = f'(x₀) = −2: x₁ = −1 + 1.125·2 = 1.25, so ΔC = 1.25² − 1 = 0.5625,
    // −η g² = −4.5 and −η g² + η²/2·g·f''·g = −4.5 + 0.6328125·8 = 0.5625 (exact for a quadratic).
    const eta = 1.125;
    const g = -2;
    const x1 = -1 - eta * g;
    expect(Number(await cell(page, "actual ΔC"))).toBeCloseTo(x1 * x1 - 1, 12);
    expect(Number(await cell(page, "1st order"))).toBeCloseTo(-eta * g * g, 12);
    expect(Number(await cell(page, "2nd order"))).toBeCloseTo(-eta * g * g + (eta * eta * g * 2 * g) / 2, 12);
    expect(Number(await cell(page, "critical step"))).toBe(1);
    expect(await page.textContent("#seed-critical-mark span")).toBe("2/f'' = 1");
    expect(await page.textContent("#seed-critical")).toContain("above it");
    await page.close();
  });

  it("marks the critical step 2/f''(x₀) for another function: x⁴ + x² at x₀ = 1 has f'' = 14", async () => {
    const { page } = await open("?seed.f=x%5E4%20%2B%20x%5E2&seed.x0=1&seed.lr=0.1");
    expect(await page.textContent("#seed-critical-mark span")).toBe(
      `2/f'' = ${Number((2 / 14).toPrecision(4))}`,
    );
    expect(await page.textContent("#seed-critical")).toContain("below it");
    await page.close();
  });

  it("shows a broken expression's message with its position under the box and keeps the last good plot", async () => {
    const { page, problems } = await open();
    const before = await page.innerHTML("#seed-path-chart");
    await type(page, "seed-f", "x^2 + (3*x");
    const message = await page.textContent("#seed-f-error");
    expect(message).toMatch(/position \d+/);
    expect(message).toContain("^");
    expect(await page.getAttribute("#seed-f", "aria-invalid")).toBe("true");
    expect(await page.innerHTML("#seed-path-chart")).toBe(before);
    await type(page, "seed-f", "x^2 + y^2");
    expect(await page.textContent("#seed-f-error")).toContain("one variable");
    await type(page, "seed-x0", "abc");
    expect(await page.textContent("#seed-x0-error")).toContain("x₀ must be a finite number");
    await type(page, "seed-lr", "-1");
    expect(await page.textContent("#seed-lr-error")).toContain("η must be a number > 0");
    expect(await page.innerHTML("#seed-path-chart")).toBe(before);
    expect(problems).toEqual([]);
    await screenshot(page, "seed-bad-input-1280");
    await page.close();
  });

  it("says 'diverged at step k' when the numbers overflow, with no NaN on the charts", async () => {
    const { page, problems } = await open("?seed.f=x%5E4&seed.x0=10&seed.lr=0.1");
    expect(await verdict(page)).toMatch(/^Diverged at step \d+/);
    const loss = await page.textContent("#seed-loss-chart");
    expect(loss).toMatch(/diverged at step \d+/);
    for (const id of ["seed-path-chart", "seed-loss-chart", "seed-delta-chart", "seed-table"])
      expect(await page.textContent(`#${id}`)).not.toContain("NaN");
    expect(problems).toEqual([]);
    await screenshot(page, "seed-overflow-1280");
    await page.close();
  });

  it("keeps every setting in the URL: a link reproduces the view, back and forward work", async () => {
    const { page, problems } = await open();
    await type(page, "seed-f", "x^4 + x^2");
    await type(page, "seed-x0", "2");
    await type(page, "seed-lr", "0.03");
    await type(page, "seed-steps", "12");
    const link = page.url();
    const view = await verdict(page);
    const again = await newPage(lab);
    await again.page.goto(link);
    await chartsDrawn(again.page, "seed");
    expect(await again.page.inputValue("#seed-f")).toBe("x^4 + x^2");
    expect(await again.page.inputValue("#seed-x0")).toBe("2");
    expect(await again.page.inputValue("#seed-lr")).toBe("0.03");
    expect(await again.page.inputValue("#seed-steps")).toBe("12");
    expect(await verdict(again.page)).toBe(view);
    await again.page.close();

    await type(page, "seed-lr", "0.2");
    const diverged = await verdict(page);
    await page.goBack();
    await page.waitForFunction(`document.querySelector("#seed-lr").value === "0.03"`);
    expect(await verdict(page)).toBe(view);
    await page.goForward();
    await page.waitForFunction(`document.querySelector("#seed-lr").value === "0.2"`);
    expect(await verdict(page)).toBe(diverged);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("works from the keyboard: the slider moves η, Step and Play animate the path", async () => {
    const { page, problems } = await open("?seed.lr=0.1");
    await page.focus("#seed-lr-slider");
    await page.keyboard.press("End");
    expect(await page.inputValue("#seed-lr")).toBe("10");
    expect(await verdict(page)).toMatch(/^Explodes|^Diverged/);
    await page.keyboard.press("Home");
    expect(await page.inputValue("#seed-lr")).toBe("0.0001");
    await page.focus("#seed-reset");
    await page.keyboard.press("Enter");
    expect(await page.textContent("#seed-position")).toBe("step 0 of 30");
    await page.focus("#seed-step");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Enter");
    expect(await page.textContent("#seed-position")).toBe("step 2 of 30");
    expect(page.url()).toContain("seed.k=2");
    await page.click("#seed-play");
    await page.waitForFunction(`document.querySelector("#seed-position").textContent === "step 4 of 30"`);
    await page.click("#seed-play");
    expect(await page.textContent("#seed-play")).toBe("Play");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("reads at 360 px wide and on a wide screen (screenshots)", async () => {
    for (const width of [360, 1280]) {
      const { page, problems } = await open("?seed.lr=1", width);
      const overflow = await page.evaluate(`document.documentElement.scrollWidth - ${width}`);
      expect(overflow).toBeLessThanOrEqual(0);
      console.log(await screenshot(page, `seed-${width}`));
      expect(problems).toEqual([]);
      await page.close();
    }
  });
});
