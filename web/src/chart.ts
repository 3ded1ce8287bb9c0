import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { type ChartSpec, fitToWidth } from "../../src/report/charts.js";
import { download } from "./export.js";

/**
 * A chart's live view: the spec with its inline data taken out ("shape"), and the data sets.
 * Redrawing a chart of the same shape only hands the view its new data (vega re-runs the dataflow
 * and patches the SVG it drew), instead of compiling and parsing the spec and rendering the whole
 * SVG again: a training panel redraws several times a second.
 */
interface Live {
  readonly view: vega.View;
  readonly shape: string;
  readonly renderer: Renderer;
}

/**
 * "svg" (the default: text a test or a screen reader can read, crisp at any zoom) or "canvas" (one
 * element however many marks: for charts of hundreds of cells redrawn while training, where
 * patching that many SVG nodes and restyling them costs the browser tens of milliseconds).
 */
export type Renderer = "svg" | "canvas";
const live = new WeakMap<HTMLElement, Live>();
/** The views drawInteractive made, for export. */
const interactive = new WeakMap<HTMLElement, vega.View>();

/**
 * A chart's export buttons, under it: its drawing as SVG (vega's own SVG of the view, the same
 * renderer the CLI's figures come from) and as PNG at twice its pixels. Made in the page.
 */
function exportBar(el: HTMLElement): HTMLElement {
  const bar = document.createElement("div");
  bar.className = "chart-export";
  for (const kind of ["svg", "png"] as const) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset["export"] = kind;
    b.textContent = kind.toUpperCase();
    b.setAttribute("aria-label", `save this chart as ${kind.toUpperCase()}`);
    b.addEventListener("click", () => void exportChart(el, kind));
    bar.append(b);
  }
  return bar;
}

/** Saves the chart drawn in `el` as overshoot-<chart>.svg or .png. */
export async function exportChart(el: HTMLElement, kind: "svg" | "png"): Promise<void> {
  const view = live.get(el)?.view ?? interactive.get(el);
  if (!view) return;
  const name = `overshoot-${el.id.replace(/-chart$/, "")}.${kind}`;
  if (kind === "svg") {
    download(new Blob([await view.toSVG()], { type: "image/svg+xml" }), name);
    return;
  }
  const canvas = (await view.toCanvas(2)) as unknown as HTMLCanvasElement;
  canvas.toBlob((blob) => {
    if (blob) download(blob, name);
  }, "image/png");
}
/** A redraw under way, and the newest spec asked for meanwhile: only that one is drawn next. */
const queued = new WeakMap<HTMLElement, { running: Promise<void>; pending: ChartSpec | null }>();

/**
 * The spec with what changes from redraw to redraw taken out: every inline `data: { values }`
 * becomes a named data set, every literal scale domain (the charts fit theirs to the data) a
 * parameter. What is left, the shape, is the same for every redraw of a training chart.
 */
function split(spec: ChartSpec): {
  spec: TopLevelSpec;
  shape: string;
  sets: unknown[][];
  domains: unknown[][];
} {
  const sets: unknown[][] = [];
  const domains: unknown[][] = [];
  const domainIndex = new Map<string, number>();
  const primitive = (v: unknown) => typeof v === "number" || typeof v === "string";
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      const values = (value as { values?: unknown } | null)?.values;
      if (key === "data" && Array.isArray(values)) {
        const { values: _, ...rest } = value as Record<string, unknown>;
        out[key] = { ...rest, name: `overshoot_${sets.length}` };
        sets.push(values);
      } else if (key === "domain" && Array.isArray(value) && value.every(primitive)) {
        // Equal domains share one parameter: the layers of a chart repeat their shared scale's
        // domain, and as distinct parameters vega-lite would take them for conflicting domains.
        const text = JSON.stringify(value);
        let i = domainIndex.get(text);
        if (i === undefined) {
          i = domains.length;
          domainIndex.set(text, i);
          domains.push(value);
        }
        out[key] = { expr: `overshoot_domain_${i}` };
      } else out[key] = walk(value);
    }
    return out;
  };
  const body = walk(spec) as Record<string, unknown>;
  const shape = JSON.stringify(body);
  const datasets = Object.fromEntries(sets.map((v, i) => [`overshoot_${i}`, v]));
  const params = [
    ...((body["params"] as unknown[] | undefined) ?? []),
    ...domains.map((value, i) => ({ name: `overshoot_domain_${i}`, value })),
  ];
  return {
    spec: { ...body, datasets, ...(params.length ? { params } : {}) } as unknown as TopLevelSpec,
    shape,
    sets,
    domains,
  };
}

function label(el: HTMLElement, spec: ChartSpec): void {
  const node = el.querySelector("svg, canvas");
  if (!node) return;
  node.setAttribute("role", "img");
  if (typeof spec["description"] === "string") node.setAttribute("aria-label", spec["description"]);
}

/**
 * Each chart element's latest drawing, redrawn when the column it sits in changes width: a panel
 * drawn while hidden (width 0) is laid out for its column when it is shown, and a phone turned
 * sideways gets its charts laid out again. The column (the element's parent, or the box it is laid
 * out in) is what is watched and measured: a chart in a row of flexible boxes is as wide as its drawing, so its own width would
 * follow the chart rather than lead it.
 */
const redrawers = new WeakMap<HTMLElement, () => unknown>();
const widths = new WeakMap<HTMLElement, number>();
const charts = new Map<Element, Set<HTMLElement>>();
const observer =
  typeof ResizeObserver === "undefined"
    ? null
    : new ResizeObserver((entries) => {
        for (const entry of entries)
          for (const el of charts.get(entry.target) ?? []) {
            const width = room(el);
            if (Math.abs(width - (widths.get(el) ?? 0)) < 8) continue;
            widths.set(el, width);
            void redrawers.get(el)?.();
          }
      });

function refitOnResize(el: HTMLElement, redrawNow: () => unknown): void {
  // Both the parent and the one above it are watched: on a phone the panel's columns dissolve
  // (display: contents, style.css) and the panel itself is the column.
  const watched = [el.parentElement, el.parentElement?.parentElement].filter((c) => c != null);
  if (watched.length > 0 && !redrawers.has(el)) {
    widths.set(el, room(el));
    for (const column of watched) {
      if (!charts.has(column)) {
        charts.set(column, new Set());
        observer?.observe(column);
      }
      charts.get(column)!.add(el);
    }
  }
  redrawers.set(el, redrawNow);
}

/** The box a chart is laid out in: its parent, or the first ancestor that draws a box (not display: contents). */
function columnOf(el: HTMLElement): HTMLElement | null {
  let column = el.parentElement;
  while (column && getComputedStyle(column).display === "contents") column = column.parentElement;
  return column;
}

/** The CSS pixels a chart may take in its column, less its own padding and border (0 while hidden). */
function room(el: HTMLElement): number {
  const column = columnOf(el);
  if (!column) return el.clientWidth;
  const c = getComputedStyle(column);
  const own = getComputedStyle(el);
  const px = (v: string) => Number.parseFloat(v) || 0;
  return (
    column.clientWidth -
    px(c.paddingLeft) -
    px(c.paddingRight) -
    px(own.paddingLeft) -
    px(own.paddingRight) -
    px(own.borderLeftWidth) -
    px(own.borderRightWidth)
  );
}

async function redraw(el: HTMLElement, given: ChartSpec, renderer: Renderer): Promise<void> {
  // Laid out for the column it is in, so text keeps its size on a phone (fitToWidth).
  // The column's width as last measured (refitOnResize keeps it): not measured again at every redraw.
  const spec = fitToWidth(given, widths.get(el) ?? room(el));
  const parts = split(spec);
  const current = live.get(el);
  if (
    current &&
    current.shape === parts.shape &&
    current.renderer === renderer &&
    el.contains(current.view.container())
  ) {
    for (const [i, values] of parts.sets.entries()) current.view.data(`overshoot_${i}`, values as object[]);
    for (const [i, domain] of parts.domains.entries()) current.view.signal(`overshoot_domain_${i}`, domain);
    await current.view.runAsync();
    label(el, spec);
    return;
  }
  const runtime = vega.parse(compile(parts.spec).spec);
  const view = new vega.View(runtime, { renderer, hover: false });
  const host = document.createElement("div");
  await view.initialize(host).runAsync();
  current?.view.finalize();
  el.replaceChildren(host, exportBar(el));
  live.set(el, { view, shape: parts.shape, renderer });
  label(el, spec);
}

/**
 * Draws one of the library's Vega-Lite specs (the same specs the CLI renders to SVG/PNG) into an
 * element. A chart that fails to build leaves the previous drawing in place and reports the error
 * to the caller instead of blanking the page. Charts keep their natural size where there is room;
 * in a narrow column they are laid out again to fit it (fitToWidth: panels stacked, plots
 * narrowed), so their text stays at its own size; CSS max-width is only the last resort.
 */
export function drawChart(el: HTMLElement, spec: ChartSpec, renderer: Renderer = "svg"): Promise<void> {
  refitOnResize(el, () => drawChart(el, spec, renderer));
  const busy = queued.get(el);
  if (busy) {
    busy.pending = spec;
    return busy.running;
  }
  const entry = { running: Promise.resolve(), pending: null as ChartSpec | null };
  entry.running = (async () => {
    try {
      let next: ChartSpec | null = spec;
      while (next) {
        const drawing: ChartSpec = next;
        entry.pending = null;
        await redraw(el, drawing, renderer);
        next = entry.pending;
      }
    } finally {
      queued.delete(el);
    }
  })();
  queued.set(el, entry);
  return entry.running;
}

/**
 * Draws a spec as a live vega view (SVG renderer) and reports clicks and pointer moves in data
 * coordinates, for charts you act on (the 2-D map sets the start; the stability map shows the run
 * under the pointer). The chart may be shrunk by CSS on a narrow screen, so pointer positions are
 * scaled back to the view's own pixels.
 */
export async function drawInteractive(
  el: HTMLElement,
  given: ChartSpec,
  handlers: { click?: (x: number, y: number) => void; move?: (x: number, y: number) => void },
): Promise<void> {
  refitOnResize(el, () => drawInteractive(el, given, handlers));
  // The column's width as last measured (refitOnResize keeps it): not measured again at every redraw.
  const spec = fitToWidth(given, widths.get(el) ?? room(el));
  const runtime = vega.parse(compile(spec as unknown as TopLevelSpec).spec);
  const view = new vega.View(runtime, { renderer: "svg", hover: false });
  const host = document.createElement("div");
  await view.initialize(host).runAsync();
  el.replaceChildren(host, exportBar(el));
  interactive.set(el, view);
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
