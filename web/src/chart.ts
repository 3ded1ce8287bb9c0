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

/**
 * Draws a spec as a live vega view (SVG renderer) and reports clicks and pointer moves in data
 * coordinates, for charts you act on (the 2-D map sets the start; the stability map shows the run
 * under the pointer). The chart may be shrunk by CSS on a narrow screen, so pointer positions are
 * scaled back to the view's own pixels.
 */
export async function drawInteractive(
  el: HTMLElement,
  spec: ChartSpec,
  handlers: { click?: (x: number, y: number) => void; move?: (x: number, y: number) => void },
): Promise<void> {
  const runtime = vega.parse(compile(spec as unknown as TopLevelSpec).spec);
  const view = new vega.View(runtime, { renderer: "svg", hover: false });
  const host = document.createElement("div");
  await view.initialize(host).runAsync();
  el.replaceChildren(host);
  const svg = host.querySelector("svg");
  if (!svg) return;
  svg.setAttribute("role", "img");
  if (typeof spec["description"] === "string") svg.setAttribute("aria-label", spec["description"]);
  svg.style.maxWidth = "100%";
  svg.style.height = "auto";
  if (handlers.click) svg.style.cursor = "crosshair";
  const at = (event: MouseEvent): [number, number] | null => {
    const box = svg.getBoundingClientRect();
    const natural = Number(svg.getAttribute("width")) || box.width;
    const ratio = natural / box.width;
    const [ox, oy] = view.origin();
    const px = (event.clientX - box.left) * ratio - ox;
    const py = (event.clientY - box.top) * ratio - oy;
    if (px < 0 || py < 0 || px > view.width() || py > view.height()) return null;
    const x = view.scale("x")?.invert(px);
    const y = view.scale("y")?.invert(py);
    return typeof x === "number" && typeof y === "number" ? [x, y] : null;
  };
  const { click, move } = handlers;
  if (click)
    svg.addEventListener("click", (event) => {
      const p = at(event);
      if (p) click(p[0], p[1]);
    });
  if (move)
    svg.addEventListener("mousemove", (event) => {
      const p = at(event);
      if (p) move(p[0], p[1]);
    });
}
