import { describe, expect, it } from "vitest";
import { chartsDrawn, newPage, screenshot } from "./harness.js";
import { useLab } from "./use-lab.js";

/**
 * A first visit that works: a walk-through link lands in its step's state without a press, a
 * phone's first screen shows a chart on every panel, the learning-rate slider moves with the arrow
 * keys and has a name a screen reader reads, and the console stays empty (harness.ts counts
 * warnings, vega's among them, as problems).
 */
const lab = useLab();

describe("a first visit", () => {
  it("a walk-through link lands in its step's state before its control is pressed", async () => {
    const { page, problems } = await newPage(lab, 1280, 900);
    const verdict = (s: string) => page.textContent(s);
    await page.goto(`${lab.url}?tour=3`);
    await chartsDrawn(page, "seed");
    expect(await page.inputValue("#seed-lr")).toBe("1.125");
    expect(await verdict("#seed-verdict strong")).toMatch(/^Explodes/);

    await page.goto(`${lab.url}?tour=4`);
    await chartsDrawn(page, "plane");
    expect(await page.isVisible("#panel-plane")).toBe(true);
    expect(await page.isVisible("#panel-seed")).toBe(false);
    expect(await verdict("#plane-verdicts [data-optimizer=sgd]")).toMatch(/diverge/);
    await screenshot(page, "tour-4-landing-1280");

    await page.goto(`${lab.url}?tour=5`);
    expect(await page.isVisible("#panel-network")).toBe(true);
    expect(await page.inputValue("#network-lr")).toBe("0.2");

    // The step links carry their settings: from step 4's bowl, "← back" shows x² at η = 1.125.
    await page.goto(`${lab.url}?tour=4`);
    await page.click("text=← back");
    await chartsDrawn(page, "seed");
    expect(await page.isVisible("#panel-seed")).toBe(true);
    expect(await verdict("#seed-verdict strong")).toMatch(/^Explodes/);
    // A setting the learner changed after landing stays changed on a reload.
    await page.fill("#seed-lr", "0.1");
    await page.reload();
    await chartsDrawn(page, "seed");
    expect(await page.inputValue("#seed-lr")).toBe("0.1");
    expect(await verdict("#seed-verdict strong")).toMatch(/^Converges/);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it.each(["seed", "plane", "stability", "network"])(
    "at 360 × 780 the %s panel shows a chart on the first screen",
    async (panel) => {
      const { page, problems } = await newPage(lab, 360, 780);
      await page.goto(`${lab.url}?panel=${panel}`);
      const first = `#panel-${panel} .chart svg, #panel-${panel} .chart canvas`;
      await page.waitForSelector(first, { timeout: 30_000 });
      await page.evaluate("document.fonts.ready");
      // The first drawn chart's top, and how much of it is on the first screen.
      const box = (await page.$$eval(
        first,
        (els) =>
          els
            .map((e) => e.getBoundingClientRect())
            .filter((r) => r.width > 0)
            .map((r) => ({ top: r.top, height: r.height }))
            .sort((a, b) => a.top - b.top)[0],
      ))!;
      const visible = Math.min(780, box.top + box.height) - box.top;
      expect(box.top).toBeLessThan(780);
      expect(visible).toBeGreaterThan(Math.min(200, box.height));
      // No sideways scrolling of the page, and the active tab in view.
      expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(360);
      const tab = (await page.$eval(`#tab-${panel}`, (e) => {
        const r = e.getBoundingClientRect();
        return { left: r.left, right: r.right };
      }))!;
      expect(tab.left).toBeGreaterThanOrEqual(0);
      expect(tab.right).toBeLessThanOrEqual(360);
      await page.screenshot({
        path: (await screenshot(page, `first-screen-${panel}-360`)).replace(".png", "-top.png"),
      });
      expect(problems).toEqual([]);
      await page.close();
    },
    60_000,
  );

  it("the learning-rate slider moves with the arrow keys and is named for screen readers", async () => {
    const { page, problems } = await newPage(lab, 1280, 900);
    await page.goto(`${lab.url}?seed.lr=0.1`);
    await chartsDrawn(page, "seed");
    const slider = page.getByRole("slider", { name: "learning rate η (log scale)" });
    expect(await slider.getAttribute("aria-valuetext")).toBe("η = 0.1");
    await slider.focus();
    await page.keyboard.press("ArrowRight");
    const up = Number(await page.inputValue("#seed-lr"));
    expect(up).toBeGreaterThan(0.1);
    expect(up).toBeLessThan(0.11);
    expect(await slider.getAttribute("aria-valuetext")).toBe(`η = ${up}`);
    await page.keyboard.press("ArrowLeft");
    expect(Number(await page.inputValue("#seed-lr"))).toBe(0.1);
    // Many presses keep moving: from 0.1 past the critical rate 1 of x² in 110 presses (a press is ×10^0.01).
    for (let i = 0; i < 110; i++) await page.keyboard.press("ArrowUp");
    expect(Number(await page.inputValue("#seed-lr"))).toBeGreaterThan(1);
    expect(await page.textContent("#seed-verdict strong")).not.toMatch(/^Converges/);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
