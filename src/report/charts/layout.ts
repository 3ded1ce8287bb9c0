import { type ChartSpec, strip, top } from "./style.js";

/** Panels side by side under one title (e.g. one delta chart per run). */
export function sideBySide(title: string, specs: readonly ChartSpec[]): ChartSpec {
  // One shared legend for the row, not one per panel.
  return top({
    title,
    hconcat: specs.map(strip),
    resolve: { scale: { y: "independent", color: "shared" }, legend: { color: "shared" } },
  });
}

/** Charts one above the other (e.g. the path and the loss of one run). */
export function stacked(specs: readonly ChartSpec[]): ChartSpec {
  return top({ vconcat: specs.map(strip), resolve: { scale: { color: "independent" } } });
}

/** Room a chart needs beside its plot: the y axis with its labels and title, and padding. */
const GUTTER = 84;
/** The narrowest plot worth drawing. */
const MIN_PLOT = 180;

/**
 * The spec laid out for a column `width` CSS pixels wide, so that it is drawn at its own size
 * (text at its font size, ≥ 11 px) instead of shrunk whole by the page: panels side by side are
 * stacked, a plot is narrowed to the column (heights kept), a legend at the side goes under the
 * plot and a legend's columns are fewer. A spec that fits already is returned as it is.
 */
export function fitToWidth(spec: ChartSpec, width: number): ChartSpec {
  if (!(width > 0) || naturalWidth(spec) <= width) return spec;
  const narrow = (s: ChartSpec): ChartSpec => {
    const out: ChartSpec = { ...s };
    if (Array.isArray(s["hconcat"])) {
      delete out["hconcat"];
      out["vconcat"] = (s["hconcat"] as ChartSpec[]).map(narrow);
    } else if (Array.isArray(s["vconcat"])) out["vconcat"] = (s["vconcat"] as ChartSpec[]).map(narrow);
    if (typeof s["width"] === "number")
      out["width"] = Math.max(MIN_PLOT, Math.min(s["width"], width - GUTTER));
    if (Array.isArray(s["layer"])) out["layer"] = (s["layer"] as ChartSpec[]).map(legendBelow);
    if (s["title"] !== undefined) out["title"] = wrapTitle(s["title"], width - 20);
    return out;
  };
  const fitted = narrow(spec);
  const config = (spec["config"] ?? {}) as ChartSpec;
  const legend = (config["legend"] ?? {}) as ChartSpec;
  // A phone's column holds one legend entry a row, a tablet's two.
  const columns = width < 420 ? 1 : 2;
  // Fewer ticks on a narrow x axis, and none whose label would touch its neighbour's.
  const axisX = {
    ...((config["axisX"] ?? {}) as ChartSpec),
    tickCount: Math.max(3, Math.floor(width / 70)),
    labelOverlap: true,
  };
  return { ...fitted, config: { ...config, axisX, legend: { ...legend, columns, labelLimit: width - 40 } } };
}

/** A layer whose legends sit at the right: the same legends under the plot (gradients included). */
function legendBelow(layer: ChartSpec): ChartSpec {
  const encoding = layer["encoding"] as Record<string, ChartSpec> | undefined;
  if (!encoding) return layer;
  const out: Record<string, ChartSpec> = {};
  for (const [channel, enc] of Object.entries(encoding)) {
    const legend = enc?.["legend"] as ChartSpec | null | undefined;
    out[channel] =
      legend && typeof legend === "object" && legend["orient"] === "right"
        ? {
            ...enc,
            legend: {
              ...legend,
              orient: "bottom",
              direction: "horizontal",
              gradientLength: 100,
              titleLimit: 140,
            },
          }
        : enc;
  }
  return { ...layer, encoding: out };
}

/** The width a spec asks for: its plots side by side, each with its gutter (a legend at the right adds 90). */
export function naturalWidth(spec: ChartSpec): number {
  if (Array.isArray(spec["hconcat"]))
    return (spec["hconcat"] as ChartSpec[]).reduce((w, s) => w + naturalWidth(s), 0);
  if (Array.isArray(spec["vconcat"])) return Math.max(...(spec["vconcat"] as ChartSpec[]).map(naturalWidth));
  const side = JSON.stringify(spec["layer"] ?? spec["encoding"] ?? {}).includes('"orient":"right"') ? 90 : 0;
  return (typeof spec["width"] === "number" ? spec["width"] : 300) + GUTTER + side;
}

/** Words into lines of at most `chars` characters (a longer word keeps a line of its own). */
function wrap(text: string, chars: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > chars) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/**
 * A title (and subtitle) broken into lines that fit `width` px: a title does not wrap by itself, and
 * one long line would keep the chart as wide as it is.
 */
function wrapTitle(title: unknown, width: number): unknown {
  const perLine = (size: number) => Math.max(12, Math.floor(width / (0.6 * size)));
  if (typeof title === "string") return { text: wrap(title, perLine(14)) };
  if (!title || typeof title !== "object") return title;
  const t = title as ChartSpec;
  const size = typeof t["fontSize"] === "number" ? t["fontSize"] : 14;
  return {
    ...t,
    ...(typeof t["text"] === "string" ? { text: wrap(t["text"], perLine(size)) } : {}),
    ...(typeof t["subtitle"] === "string" && t["subtitle"] !== ""
      ? { subtitle: wrap(t["subtitle"], perLine(12)) }
      : {}),
  };
}
