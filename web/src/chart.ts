import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { ChartSpec } from "../../src/report/charts.js";

/**
 * Draws one of the library's Vega-Lite specs (the same specs the CLI renders to SVG/PNG) into an
 * element, replacing what was there. A chart that fails to build leaves the previous drawing in
 * place and reports the error to the caller instead of blanking the page.
 */
export async function drawChart(el: HTMLElement, spec: ChartSpec): Promise<void> {
  const runtime = vega.parse(compile(spec as unknown as TopLevelSpec).spec);
  const view = new vega.View(runtime, { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  el.innerHTML = svg;
  const node = el.querySelector("svg");
  if (node) {
    // Charts keep their natural size where there is room and shrink with the column (CSS
    // max-width, height auto) on a narrow screen, so their text is never blown up or lost.
    node.setAttribute("role", "img");
    if (typeof spec["description"] === "string") node.setAttribute("aria-label", spec["description"]);
  }
}
