import type { Page } from "playwright-core";
import { crossedLabels, labelsOutside, overlaps, textBoxes } from "../charts/svg-text.js";

/**
 * The checks every figure the CLI writes passes (test/charts), on a panel's charts as the page
 * drew them: no two texts overlap, no line or rule of the data runs through a label, no label
 * leaves its plot. Each problem as one line naming the chart.
 */
export async function labelProblems(page: Page, panel: string): Promise<string[]> {
  await page.evaluate("document.fonts.ready");
  const svgs = await page.$$eval(`#panel-${panel} .chart svg`, (els) =>
    els.map((e) => ({ id: e.closest("[id]")?.id ?? "", svg: e.outerHTML })),
  );
  return svgs.flatMap(({ id, svg }) => [
    // Vega places an axis title from the labels' widths as the page measures them; the boxes
    // here are estimated from the font's advances, a pixel or two off: 3 px forgiven.
    ...overlaps(textBoxes(svg), 3).map(([a, b]) => `${id}: "${a.text}" × "${b.text}"`),
    ...crossedLabels(svg).map((c) => `${id}: "${c.text}" crossed by ${c.by} segments`),
    ...labelsOutside(svg).map((t) => `${id}: "${t}" outside its plot`),
  ]);
}
