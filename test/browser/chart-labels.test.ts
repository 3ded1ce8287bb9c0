import { describe, expect, it } from "vitest";
import { chartsDrawn, newPage, screenshot, trainToEnd } from "./harness.js";
import { labelProblems } from "./label-check.js";
import { useLab } from "./use-lab.js";

/**
 * The lab's charts as drawn (vega's SVG in the page) pass the checks every figure the CLI writes
 * passes (test/charts): no two texts overlap, no line or rule of the data runs through a label,
 * and no label leaves its plot — on every panel and at every step of the walk-through, at 1280
 * and at 360 px.
 */
const lab = useLab();

const STATES = [
  ["seed", "?panel=seed"],
  ["seed at η = 1.125", "?tour=3"],
  ["plane", "?panel=plane"],
  ["plane, tour step 4", "?tour=4"],
  ["stability", "?panel=stability"],
  ["network, trained", "?panel=network&network.steps=400&network.every=50"],
] as const;

describe("the lab's charts", () => {
  it.each(STATES.flatMap(([name, query]) => [1280, 360].map((w) => [name, w, query] as const)))(
    "%s at %i px: no overlapping texts, no label crossed by a line, none outside its plot",
    async (name, width, query) => {
      const { page, problems } = await newPage(lab, width, 900);
      await page.goto(`${lab.url}${query}`);
      const panel = query.includes("tour=3")
        ? "seed"
        : query.includes("tour=4")
          ? "plane"
          : /panel=(\w+)/.exec(query)![1]!;
      if (panel === "stability")
        await page.waitForFunction(
          `document.querySelector("#panel-stability").dataset.computed !== undefined`,
          undefined,
          { timeout: 60_000 },
        );
      if (panel === "seed" || panel === "plane") await chartsDrawn(page, panel);
      else await page.waitForSelector(`#panel-${panel} .chart svg`, { timeout: 30_000 });
      // The network trained to the end, its charts drawn from every step.
      if (panel === "network") await trainToEnd(page);
      // A chart that redraws (a run animating) settles first.
      await page.waitForTimeout(500);
      expect((await page.$$(`#panel-${panel} .chart svg`)).length).toBeGreaterThan(0);
      const found = await labelProblems(page, panel);
      await screenshot(page, `chart-labels-${name.replace(/\W+/g, "-")}-${width}`);
      expect(found, name).toEqual([]);
      expect(problems).toEqual([]);
      await page.close();
    },
    120_000,
  );
});
