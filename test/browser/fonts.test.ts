import { describe, expect, it } from "vitest";
import { newPage, screenshot } from "./harness.js";
import { useLab } from "./use-lab.js";

/**
 * Every panel's charts read at 360 px and at 1280 px: the text of every chart, as rendered (its
 * font size times the scale the page draws the SVG at), is at least 11 CSS px, and no chart is
 * wider than the page.
 */
const lab = useLab();

/** The smallest rendered chart text in the panel, and which it is; charts wider than the page. */
const MEASURE = `(() => {
  let smallest = { size: Infinity, text: "" };
  const wide = [];
  for (const svg of document.querySelectorAll(".panel:not([hidden]) .chart svg")) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0) continue;
    if (box.right > document.documentElement.clientWidth + 1) wide.push(svg.closest(".chart").id);
    const scale = box.width / Number(svg.getAttribute("width") || box.width);
    for (const t of svg.querySelectorAll("text")) {
      if (!t.textContent.trim() || t.getAttribute("opacity") === "0") continue;
      const size = parseFloat(t.getAttribute("font-size") || getComputedStyle(t).fontSize) * scale;
      if (size < smallest.size) smallest = { size, text: t.textContent, chart: svg.closest(".chart").id };
    }
  }
  return { smallest, wide };
})()`;

describe("chart text at phone and desktop widths", () => {
  for (const panel of ["seed", "plane", "stability", "network"])
    it.each([360, 1280])(
      `${panel} at %i px: every chart's text ≥ 11 px, no chart wider than the page`,
      async (width) => {
        const { page, problems } = await newPage(lab, width, 900);
        await page.goto(`${lab.url}?panel=${panel}`);
        await page.waitForFunction(
          `(() => { const c = [...document.querySelectorAll("#panel-${panel} .chart")].filter((e) => e.offsetParent !== null);
          return c.length > 0 && c.some((e) => e.querySelector("svg")); })()`,
          undefined,
          { timeout: 20_000 },
        );
        await page.waitForTimeout(500);
        const { smallest, wide } = (await page.evaluate(MEASURE)) as {
          smallest: { size: number; text: string; chart: string };
          wide: string[];
        };
        await screenshot(page, `fonts-${panel}-${width}`);
        expect(smallest.size, `"${smallest.text}" in #${smallest.chart}`).toBeGreaterThanOrEqual(11);
        expect(wide).toEqual([]);
        expect(problems).toEqual([]);
        await page.close();
      },
      60_000,
    );
});
