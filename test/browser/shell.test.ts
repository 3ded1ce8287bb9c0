import { describe, expect, it } from "vitest";
import { newPage, screenshot } from "./harness.js";
import { useLab } from "./use-lab.js";

/** The lab's shell: every panel's tab loads its panel without an error, from a click or a link. */

const lab = useLab();

describe("the lab's shell", () => {
  it("opens every panel from its tab, by keyboard, and from ?panel= with no console error", async () => {
    const { page, problems, outside } = await newPage(lab);
    await page.goto(lab.url);
    const ids = await page.$$eval("#tabs [role=tab]", (tabs) => tabs.map((t) => t.id.replace(/^tab-/, "")));
    expect(ids[0]).toBe("seed");
    for (const id of ids) {
      await page.click(`#tab-${id}`);
      expect(await page.isVisible(`#panel-${id}`)).toBe(true);
      expect(page.url()).toContain(`panel=${id}`);
      // Exactly one panel shows (a CSS display rule must not override the hidden attribute).
      for (const other of ids) expect(await page.isVisible(`#panel-${other}`)).toBe(other === id);
    }
    // Arrow keys move between tabs (WAI-ARIA tabs pattern), wrapping around.
    await page.click(`#tab-${ids[0]}`);
    await page.keyboard.press("ArrowLeft");
    expect(await page.evaluate("document.activeElement.id")).toBe(`tab-${ids[ids.length - 1]}`);
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate("document.activeElement.id")).toBe(`tab-${ids[0]}`);
    await page.goBack();
    expect(await page.isVisible(`#panel-${ids[ids.length - 1]}`)).toBe(true);

    for (const id of ids) {
      for (const width of [360, 1280]) {
        const fresh = await newPage(lab, width, 900);
        await fresh.page.goto(`${lab.url}?panel=${id}`);
        expect(await fresh.page.isVisible(`#panel-${id}`)).toBe(true);
        await fresh.page.waitForTimeout(300);
        await screenshot(fresh.page, `panel-${id}-${width}`);
        expect(fresh.problems).toEqual([]);
        expect(fresh.outside).toEqual([]);
        await fresh.page.close();
      }
    }
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 120_000);
});
