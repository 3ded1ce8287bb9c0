import { describe, expect, it } from "vitest";
import { newPage, screenshot } from "./harness.js";
import { useLab } from "./use-lab.js";

/**
 * The walk-through, as a learner takes it from the masthead's link: each step's one control sets
 * the lab up, and the lab then shows what the step's sentence says — converges, bounces, explodes
 * on x², a bowl's rate past 2/λmax diverging, a network's sharpness climbing to 2/η.
 */
const lab = useLab();

describe("the walk-through", () => {
  it("five steps from the masthead's link, each one sentence and one control, the lab showing what it says", async () => {
    const { page, problems } = await newPage(lab, 1280, 900);
    await page.goto(lab.url);
    expect(await page.isVisible("#tour")).toBe(false);
    await page.click("text=Take the five-step walk-through.");
    await page.waitForSelector("#tour:not([hidden])");
    const text = (s: string) => page.textContent(s);
    const step = async (k: number) => {
      expect(await text("#tour .tour-step")).toBe(`Walk-through, step ${k} of 5`);
      expect(await page.$$eval("#tour button", (b) => b.length)).toBe(1); // one control
      await page.click("#tour-control");
    };
    const seed = () => text("#seed-verdict strong");

    await step(1);
    expect(await page.inputValue("#seed-lr")).toBe("0.1");
    expect(await seed()).toMatch(/^Converges/);
    await page.click("text=next →");
    await step(2);
    expect(await seed()).toBe("Bounces between x = -1 and x = 1 forever");
    await page.click("text=next →");
    await step(3);
    expect(await seed()).toMatch(/^Explodes/);
    expect(await text("#tour-sentence")).toContain("η²/2·gᵀHg");
    await page.click("text=next →");
    await step(4);
    expect(await page.isVisible("#panel-plane")).toBe(true);
    expect(await text("#plane-verdicts [data-optimizer=sgd]")).toMatch(/diverge/);
    expect(await text("#plane-verdicts [data-optimizer=sgd]")).toContain(
      "critical rate from λmax at the start is 0.1 ",
    );
    await page.click("text=next →");
    await step(5);
    expect(await page.isVisible("#panel-network")).toBe(true);
    // Training has started at η = 0.2; the sharpness reaches 2/η = 10 within a few thousand steps.
    await page.waitForFunction(
      `/^(Trained|Stalled|Failed)/.test(document.querySelector("#network-verdict").textContent)`,
      undefined,
      { timeout: 60_000 },
    );
    expect(await text("#network-verdict")).toMatch(/against 2\/η = 10/);
    const sharp = Number(/λmax ([\d.]+) against 2\/η = 10/.exec((await text("#network-verdict"))!)?.[1]);
    expect(sharp).toBeGreaterThan(8);
    await screenshot(page, "tour-5-1280");
    // A step is a link of its own, and back returns to the one before.
    await page.goto(`${lab.url}?tour=4`);
    expect(await text("#tour .tour-step")).toBe("Walk-through, step 4 of 5");
    await page.click("text=← back");
    expect(await text("#tour .tour-step")).toBe("Walk-through, step 3 of 5");
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
