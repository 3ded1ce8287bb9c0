import { createRequire } from "node:module";
import type { TopLevelSpec } from "vega-lite";
import type { ChartSpec } from "./charts.js";

/**
 * Vega-Lite spec → SVG (vega's headless renderer: no DOM, no canvas) → PNG (resvg). The PNG's
 * only font is the DejaVu Sans file from the dejavu-fonts-ttf package, loaded explicitly with
 * system fonts off, so a chart renders the same on every machine.
 *
 * vega, vega-lite and resvg are loaded on the first chart, not at start-up: a command that draws
 * nothing does not pay for them (about 0.2 s and 40 MB).
 */

const require = createRequire(import.meta.url);

/** Absolute path of the font every PNG is drawn with. */
export function fontFile(): string {
  return require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf");
}

export async function specToSvg(spec: ChartSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, options: { scale?: number } = {}): Uint8Array {
  // A native addon with a CommonJS entry: required synchronously, on first use.
  const { Resvg } = require("@resvg/resvg-js") as typeof import("@resvg/resvg-js");
  const resvg = new Resvg(svg, {
    font: { fontFiles: [fontFile()], loadSystemFonts: false, defaultFontFamily: "DejaVu Sans" },
    fitTo: { mode: "zoom", value: options.scale ?? 2 },
    background: "white",
  });
  return resvg.render().asPng();
}
