import { fmt } from "../core/format.js";
import type { StepRecord } from "../run/types.js";

/**
 * Vega-Lite specs for every chart overshoot draws. Pure data in, pure JSON out: the CLI renders
 * them to SVG/PNG (render.ts) and the web page hands the same specs to vega-embed.
 *
 * Vega cannot place NaN or ±Infinity, and a log axis cannot place 0, so every number that goes
 * into a spec is finite; where a run stopped on a non-finite value, the chart says so in words.
 */

/** A Vega-Lite spec as plain JSON (the types of vega-lite are not needed to build one). */
export type ChartSpec = Record<string, unknown>;

export interface ChartRun {
  readonly label: string;
  readonly trace: readonly StepRecord[];
}

export const CHART_FONT = "DejaVu Sans";
const WIDTH = 520;
const HEIGHT = 300;
const PANEL_WIDTH = 300;
const PANEL_HEIGHT = 240;
const ALARM = "#c62828";

/** The look every chart shares; fonts are named explicitly so PNGs match on every machine. */
export function chartConfig(): ChartSpec {
  return {
    font: CHART_FONT,
    background: "white",
    view: { stroke: "#ddd" },
    axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#eee" },
    legend: {
      labelFontSize: 11,
      titleFontSize: 12,
      orient: "bottom",
      direction: "horizontal",
      columns: 4,
      labelLimit: 320,
      symbolOpacity: 1,
    },
    title: { fontSize: 14, anchor: "start", offset: 8 },
  };
}

function top(spec: ChartSpec): ChartSpec {
  return { $schema: "https://vega.github.io/schema/vega-lite/v6.json", config: chartConfig(), ...spec };
}

const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

/** "NaN", "+∞" or "−∞" for a value that is not finite. */
export function nonFiniteName(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  return v > 0 ? "+∞" : "−∞";
}

/** The first non-finite quantity of a record, in words for a chart label ("loss +∞"), or null. */
function blowUp(record: StepRecord): string | null {
  const name = (v: number) => (Number.isNaN(v) ? "not a number" : nonFiniteName(v));
  if (!Number.isFinite(record.loss)) return `loss ${name(record.loss)}`;
  for (const v of record.x) if (!Number.isFinite(v)) return `x ${name(v)}`;
  for (const v of record.grad) if (!Number.isFinite(v)) return `gradient ${name(v)}`;
  return null;
}

const runOrder = (runs: readonly ChartRun[]) => runs.map((r) => r.label);

export interface LossChartOptions {
  readonly title?: string;
  /**
   * "symlog" spreads the first steps out (a catapult peaks in the first few) while still showing
   * the whole run; the axis title says which scale it is.
   */
  readonly stepScale?: "linear" | "symlog";
  /**
   * Losses above this are not drawn: the run leaves the chart there, with a marker saying at which
   * step and where it went (so a blow-up to 1e300 does not flatten the runs that train).
   */
  readonly clipAbove?: number;
  /** Horizontal reference lines, each labelled (e.g. the variance a dead network predicts). */
  readonly references?: readonly { readonly loss: number; readonly label: string }[];
}

/**
 * Loss per step on a log axis, one line per run. Losses ≤ 0 are drawn at the axis floor (a log
 * axis has no zero) and a run that reached NaN/∞ ends in a red marker at the top, labelled with
 * the step, so the chart still shows where it blew up.
 */
export function lossChart(runs: readonly ChartRun[], options: LossChartOptions = {}): ChartSpec {
  const clip = options.clipAbove ?? Number.POSITIVE_INFINITY;
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const r of runs) {
    for (const s of r.trace) {
      if (finite(s.loss) && s.loss > 0 && s.loss <= clip) {
        lo = Math.min(lo, s.loss);
        hi = Math.max(hi, s.loss);
      }
    }
  }
  if (!Number.isFinite(lo)) {
    lo = 1e-3;
    hi = 1;
  }
  const floor = lo / 10;
  const ceiling = Number.isFinite(clip) ? Math.max(hi, clip) : hi * 10;
  const longest = Math.max(0, ...runs.map((r) => r.trace.length));
  const points: ChartSpec[] = [];
  const markers: ChartSpec[] = [];
  for (const r of runs) {
    let left = false;
    for (const s of r.trace) {
      const what = blowUp(s);
      if (what !== null) {
        markers.push({
          run: r.label,
          step: s.step,
          loss: ceiling,
          text: left ? `non-finite at step ${s.step}` : `diverged at step ${s.step}: ${what}`,
        });
        break;
      }
      if (s.loss > clip) {
        if (!left) {
          // The step where it leaves, drawn on the edge so the line reaches it.
          points.push({ run: r.label, step: s.step, loss: ceiling, atFloor: false, actual: s.loss });
          left = true;
        }
        continue;
      }
      points.push({
        run: r.label,
        step: s.step,
        loss: s.loss > 0 ? s.loss : floor,
        atFloor: !(s.loss > 0),
        actual: s.loss,
      });
    }
    if (left && !markers.some((m) => m.run === r.label)) {
      const exit = points.filter((p) => p.run === r.label).pop()!;
      markers.push({
        run: r.label,
        step: exit.step,
        loss: ceiling,
        text: `leaves the chart at step ${exit.step}`,
      });
    } else if (left) {
      const exit = points.filter((p) => p.run === r.label).pop()!;
      const m = markers.find((x) => x.run === r.label)!;
      m.text = `leaves the chart at step ${exit.step}, ${m.text}`;
      m.step = exit.step;
    }
  }
  const color = {
    field: "run",
    type: "nominal",
    title: null,
    sort: runOrder(runs),
    scale: { domain: runOrder(runs) },
  };
  const symlog = options.stepScale === "symlog";
  const x = {
    field: "step",
    type: "quantitative",
    title: symlog ? "step k (symlog scale: the first steps spread out)" : "step k",
    ...(symlog ? { scale: { type: "symlog" } } : {}),
    axis: symlog ? { values: symlogTicks(longest), format: "d" } : { tickMinStep: 1, format: "d" },
  };
  const y = {
    field: "loss",
    type: "quantitative",
    title: "loss f(x_k)  (log scale)",
    scale: { type: "log", domain: [floor, ceiling * 3] },
    axis: { format: ".0e" },
  };
  const layers: ChartSpec[] = [
    {
      data: { values: points },
      mark: { type: "line", point: longest <= 80 ? { size: 30 } : false, strokeWidth: 2 },
      encoding: {
        x,
        y,
        color,
        tooltip: [
          { field: "run", type: "nominal" },
          { field: "step", type: "quantitative" },
          { field: "actual", type: "quantitative", title: "loss", format: ".4g" },
        ],
      },
    },
  ];
  const refs = (options.references ?? []).filter((r) => r.loss > 0 && Number.isFinite(r.loss));
  if (refs.length > 0) {
    layers.push(
      {
        data: { values: refs },
        mark: { type: "rule", color: "#616161", strokeDash: [2, 3], strokeWidth: 1.5 },
        encoding: { y },
      },
      {
        data: { values: refs },
        mark: { type: "text", color: "#424242", align: "right", dy: -6, x: WIDTH - 4, fontSize: 11 },
        encoding: { y, text: { field: "label" } },
      },
    );
  }
  if (markers.length > 0) {
    // Labels point inward so they never run over the axis: left of centre they read rightwards.
    const lastStep = Math.max(1, ...runs.flatMap((r) => r.trace.map((s) => s.step)));
    const mid = symlog ? Math.sqrt(lastStep) : lastStep / 2;
    const side = (left: boolean) => markers.filter((m) => (m.step as number) < mid === left);
    layers.push({
      data: { values: markers },
      mark: { type: "point", shape: "cross", size: 160, filled: true, color: ALARM },
      encoding: { x, y },
    });
    for (const left of [true, false]) {
      if (side(left).length === 0) continue;
      layers.push({
        data: { values: side(left) },
        mark: {
          type: "text",
          color: ALARM,
          align: left ? "left" : "right",
          dx: left ? 10 : -10,
          dy: -2,
          fontSize: 11,
          fontWeight: "bold",
        },
        encoding: { x, y, text: { field: "text" } },
      });
    }
  }
  return top({
    title: options.title ?? "Loss per step",
    width: WIDTH,
    height: HEIGHT,
    layer: layers,
  });
}

/** Tick values for a symlog step axis: 0, 1, 2, 5, 10, 20, 50, … up to the last step. */
function symlogTicks(last: number): number[] {
  const ticks = [0];
  for (let p = 1; p <= last; p *= 10) for (const m of [1, 2, 5]) if (m * p <= last) ticks.push(m * p);
  return ticks;
}

export interface PathChartOptions {
  readonly title?: string;
  /** Variable name for the axis (default "x"). */
  readonly name?: string;
  /** Largest |x| the curve is drawn to; a diverging path beyond it is cut, and the chart says so. */
  readonly maxExtent?: number;
}

/**
 * One run on the curve of a 1-D objective: the curve, the iterates as numbered points joined in
 * step order. Each run gets its own panel, so a path that converges on [−1, 0] and one that
 * bounces out to ±15 are both readable.
 */
export function pathChart1d(
  f: (x: number) => number,
  runs: readonly ChartRun[],
  options: PathChartOptions = {},
): ChartSpec {
  const name = options.name ?? "x";
  const panels = runs.map((r) => pathPanel(f, r, name, options.maxExtent ?? 1e6));
  return top({
    title: options.title ?? `The path on the curve f(${name})`,
    hconcat: panels,
    resolve: { scale: { x: "independent", y: "independent" } },
  });
}

function pathPanel(f: (x: number) => number, run: ChartRun, name: string, maxExtent: number): ChartSpec {
  const path: ChartSpec[] = [];
  let cut = 0;
  for (const s of run.trace) {
    const x = s.x[0];
    if (!finite(x) || !finite(s.loss) || Math.abs(x) > maxExtent) {
      cut++;
      continue;
    }
    path.push({ step: s.step, x, f: s.loss });
  }
  const xs = path.map((p) => p.x as number);
  let lo = Math.min(...xs, 0);
  let hi = Math.max(...xs, 0);
  if (!(hi > lo)) {
    lo -= 1;
    hi += 1;
  }
  const pad = 0.08 * (hi - lo);
  lo -= pad;
  hi += pad;
  const curve: ChartSpec[] = [];
  const samples = 240;
  for (let i = 0; i <= samples; i++) {
    const x = lo + ((hi - lo) * i) / samples;
    const y = f(x);
    if (Number.isFinite(y)) curve.push({ x, f: y });
  }
  const labelled = stepLabels(path);
  const x = {
    field: "x",
    type: "quantitative",
    title: name,
    scale: { domain: [lo, hi], nice: false, zero: false },
  };
  const y = { field: "f", type: "quantitative", title: `f(${name})`, scale: { zero: false } };
  const subtitle =
    cut > 0
      ? `${cut} later step${cut === 1 ? "" : "s"} off the chart (non-finite or beyond ±${maxExtent})`
      : "";
  return {
    title: { text: run.label, subtitle, subtitleColor: ALARM, fontSize: 13 },
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    layer: [
      {
        data: { values: curve },
        mark: { type: "line", color: "#9e9e9e", strokeWidth: 1.5 },
        encoding: { x, y },
      },
      {
        data: { values: path },
        mark: { type: "line", color: "#1565c0", strokeWidth: 1.2, opacity: 0.7 },
        encoding: { x, y, order: { field: "step", type: "quantitative" } },
      },
      {
        data: { values: path },
        mark: { type: "point", filled: true, size: 45 },
        encoding: {
          x,
          y,
          color: {
            field: "step",
            type: "quantitative",
            title: "step",
            scale: { scheme: "blues", domain: [0, Math.max(1, path.length - 1)] },
            legend: null,
          },
          stroke: { value: "#0d47a1" },
          tooltip: [
            { field: "step", type: "quantitative" },
            { field: "x", type: "quantitative", format: ".4g" },
            { field: "f", type: "quantitative", format: ".4g" },
          ],
        },
      },
      {
        data: { values: labelled },
        mark: { type: "text", dy: -10, fontSize: 10, color: "#0d47a1" },
        encoding: { x, y, text: { field: "label", type: "nominal" } },
      },
    ],
  };
}

/**
 * Step numbers for a path's points: iterates that land on the same spot (a 2-cycle) share one
 * label, "0, 2, 4, …", instead of overprinting each other. Later steps of a long path are left
 * unlabelled except the last.
 */
function stepLabels(path: readonly ChartSpec[]): ChartSpec[] {
  const groups = new Map<string, { x: number; f: number; steps: number[] }>();
  path.forEach((p, i) => {
    if (i >= 8 && i !== path.length - 1) return;
    const key = `${(p.x as number).toPrecision(6)},${(p.f as number).toPrecision(6)}`;
    const g = groups.get(key) ?? { x: p.x as number, f: p.f as number, steps: [] };
    g.steps.push(p.step as number);
    groups.set(key, g);
  });
  return [...groups.values()].map((g) => ({
    x: g.x,
    f: g.f,
    label: g.steps.length > 3 ? `${g.steps.slice(0, 3).join(", ")}, …` : g.steps.join(", "),
  }));
}

export interface ContourChartOptions {
  readonly title?: string;
  readonly names?: readonly string[];
  /** Grid cells per side (default 60). */
  readonly resolution?: number;
  /** Largest |coordinate| the map is drawn to. */
  readonly maxExtent?: number;
}

/**
 * The paths over a 2-D objective: a heat map of log(1 + f − min f) on a grid covering the finite
 * path points, with each path drawn on top in step order.
 */
export function contourChart2d(
  f: (x: number, y: number) => number,
  runs: readonly ChartRun[],
  options: ContourChartOptions = {},
): ChartSpec {
  const [nx, ny] = options.names ?? ["x", "y"];
  const maxExtent = options.maxExtent ?? 1e6;
  const path: ChartSpec[] = [];
  let cut = 0;
  for (const r of runs) {
    for (const s of r.trace) {
      const [a, b] = [s.x[0], s.x[1]];
      if (!finite(a) || !finite(b) || Math.abs(a) > maxExtent || Math.abs(b) > maxExtent) {
        cut++;
        continue;
      }
      path.push({ run: r.label, step: s.step, x: a, y: b });
    }
  }
  const box = (key: "x" | "y"): [number, number] => {
    const vs = path.map((p) => p[key] as number);
    let lo = vs.length > 0 ? Math.min(...vs) : -1;
    let hi = vs.length > 0 ? Math.max(...vs) : 1;
    if (!(hi - lo > 1e-9)) {
      lo -= 1;
      hi += 1;
    }
    const pad = 0.15 * (hi - lo);
    return [lo - pad, hi + pad];
  };
  const [x0, x1] = box("x");
  const [y0, y1] = box("y");
  const n = options.resolution ?? 60;
  const cells: { x: number; x2: number; y: number; y2: number; f: number }[] = [];
  let fmin = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const xa = x0 + ((x1 - x0) * i) / n;
      const ya = y0 + ((y1 - y0) * j) / n;
      const v = f(xa + (x1 - x0) / (2 * n), ya + (y1 - y0) / (2 * n));
      if (!Number.isFinite(v)) continue;
      fmin = Math.min(fmin, v);
      // Cells overlap by 1% so anti-aliasing leaves no seams between them.
      cells.push({ x: xa, x2: xa + (1.01 * (x1 - x0)) / n, y: ya, y2: ya + (1.01 * (y1 - y0)) / n, f: v });
    }
  }
  const grid = cells.map((c) => ({ ...c, level: Math.log10(1 + c.f - fmin) }));
  const xEnc = {
    field: "x",
    type: "quantitative",
    title: nx,
    scale: { domain: [x0, x1], nice: false, zero: false },
  };
  const yEnc = {
    field: "y",
    type: "quantitative",
    title: ny,
    scale: { domain: [y0, y1], nice: false, zero: false },
  };
  const color = {
    field: "run",
    type: "nominal",
    title: null,
    scale: { domain: runOrder(runs), range: ["#d32f2f", "#ffffff", "#ffb300", "#00e5ff"] },
  };
  const subtitle =
    cut > 0 ? `${cut} point${cut === 1 ? "" : "s"} off the map (non-finite or beyond ±${maxExtent})` : "";
  return top({
    title: { text: options.title ?? `Paths over f(${nx}, ${ny})`, subtitle, subtitleColor: ALARM },
    width: 420,
    height: 380,
    layer: [
      {
        data: { values: grid },
        mark: { type: "rect", stroke: null },
        encoding: {
          x: xEnc,
          x2: { field: "x2" },
          y: yEnc,
          y2: { field: "y2" },
          color: {
            field: "level",
            type: "quantitative",
            title: "log₁₀(1 + f − min)",
            scale: { scheme: "viridis" },
            legend: { orient: "right", direction: "vertical", gradientLength: 200 },
          },
        },
      },
      {
        data: { values: path },
        mark: { type: "line", strokeWidth: 2, point: { size: 28, filled: true } },
        encoding: { x: xEnc, y: yEnc, order: { field: "step", type: "quantitative" }, color },
      },
    ],
    resolve: { scale: { color: "independent" } },
  });
}

/**
 * Per step of one run: the actual change ΔC beside the first-order prediction ∇fᵀΔx (−η‖g‖² for
 * plain gradient descent, never positive) and the second-order one (exact on a quadratic). A
 * symlog axis keeps both small and geometric growth readable.
 */
export function deltaChart(
  run: ChartRun,
  options: { title?: string; scale?: "linear" | "symlog" } = {},
): ChartSpec {
  const series = [
    ["actual ΔC", "deltaLoss"],
    ["1st order ∇fᵀΔx", "firstOrder"],
    ["2nd order + ½ΔxᵀHΔx", "secondOrder"],
  ] as const;
  const rows: ChartSpec[] = [];
  for (const s of run.trace) {
    for (const [label, key] of series) {
      const v = s[key];
      if (finite(v)) rows.push({ step: s.step, series: label, value: v });
    }
  }
  const names = series.map((s) => s[0]);
  const scale = options.scale === "symlog" ? { type: "symlog", constant: 1e-3 } : { zero: true };
  // The actual change is drawn wide and pale underneath, so where the 2nd-order prediction is exact
  // (a quadratic) both stay visible, one inside the other.
  const style = {
    "actual ΔC": { strokeWidth: 7, opacity: 0.35, dash: [1, 0] },
    "1st order ∇fᵀΔx": { strokeWidth: 2, opacity: 1, dash: [6, 3] },
    "2nd order + ½ΔxᵀHΔx": { strokeWidth: 2, opacity: 1, dash: [2, 2] },
  } as const;
  return top({
    title: options.title ?? run.label,
    width: PANEL_WIDTH,
    height: PANEL_HEIGHT,
    layer: [
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: "rule", color: "#616161" },
        encoding: { y: { field: "zero", type: "quantitative" } },
      },
      ...names.map((name) => ({
        data: { values: rows.filter((r) => r.series === name) },
        mark: {
          type: "line",
          point: { size: style[name].strokeWidth > 3 ? 60 : 24, filled: true },
          strokeWidth: style[name].strokeWidth,
          opacity: style[name].opacity,
          strokeDash: style[name].dash,
        },
        encoding: {
          x: { field: "step", type: "quantitative", title: "step k", axis: { tickMinStep: 1, format: "d" } },
          y: { field: "value", type: "quantitative", title: "change of the loss", scale },
          color: {
            field: "series",
            type: "nominal",
            title: null,
            sort: names,
            scale: { domain: names, range: ["#c62828", "#1565c0", "#2e7d32"] },
          },
          tooltip: [
            { field: "series", type: "nominal" },
            { field: "step", type: "quantitative" },
            { field: "value", type: "quantitative", format: ".4g" },
          ],
        },
      })),
    ],
  });
}

/** Panels side by side under one title (e.g. one delta chart per run). */
export function sideBySide(title: string, specs: readonly ChartSpec[]): ChartSpec {
  const strip = (s: ChartSpec): ChartSpec => {
    const { $schema: _s, config: _c, ...rest } = s;
    return rest;
  };
  // One shared legend for the row, not one per panel.
  return top({
    title,
    hconcat: specs.map(strip),
    resolve: { scale: { y: "independent", color: "shared" }, legend: { color: "shared" } },
  });
}

/** Charts one above the other (e.g. the path and the loss of one run). */
export function stacked(specs: readonly ChartSpec[]): ChartSpec {
  const strip = (s: ChartSpec): ChartSpec => {
    const { $schema: _s, config: _c, ...rest } = s;
    return rest;
  };
  return top({ vconcat: specs.map(strip), resolve: { scale: { color: "independent" } } });
}

/** A swept cell as the charts need it. */
export interface SweepPoint {
  readonly lr: number;
  readonly momentum?: number;
  readonly status: string;
  readonly finalLoss: number;
}

const STATUS_ORDER = [
  "converged",
  "converging",
  "trained",
  "catapult",
  "oscillating",
  "failed",
  "diverging",
  "nonfinite",
  "unbounded",
];
const STATUS_COLORS = [
  "#1b5e20",
  "#66bb6a",
  "#2e7d32",
  "#0277bd",
  "#ffb300",
  "#8d6e63",
  "#ef6c00",
  "#c62828",
  "#6a1b9a",
];

/** A fixed colour per outcome, with only the outcomes present in the legend. */
function statusScale(cells: readonly SweepPoint[]): { domain: string[]; range: string[] } {
  const present = STATUS_ORDER.map((s, i) => [s, STATUS_COLORS[i]!] as const).filter(([s]) =>
    cells.some((c) => c.status === s),
  );
  return { domain: present.map(([s]) => s), range: present.map(([, c]) => c) };
}

/**
 * Final loss against the learning rate (both log), coloured by outcome, with the predicted
 * critical rate drawn as a vertical rule. Non-finite and non-positive losses sit on the top and
 * bottom edges, so every cell is visible.
 */
export function sweepChart(
  cells: readonly SweepPoint[],
  predicted: { readonly lr: number; readonly label: string } | null,
  options: { title?: string } = {},
): ChartSpec {
  const finiteLosses = cells.map((c) => c.finalLoss).filter((v) => Number.isFinite(v) && v > 0);
  const lo = finiteLosses.length > 0 ? Math.min(...finiteLosses) / 10 : 1e-3;
  const hi = finiteLosses.length > 0 ? Math.max(...finiteLosses) * 10 : 1;
  const rows = cells.map((c) => ({
    lr: c.lr,
    status: c.status,
    loss: Number.isFinite(c.finalLoss) ? (c.finalLoss > 0 ? c.finalLoss : lo) : hi,
    shown: Number.isFinite(c.finalLoss) ? c.finalLoss : nonFiniteName(c.finalLoss),
  }));
  const x = {
    field: "lr",
    type: "quantitative",
    title: "learning rate η (log scale)",
    scale: { type: "log" },
    axis: { format: ".0e" },
  };
  const layers: ChartSpec[] = [
    {
      data: { values: rows },
      mark: { type: "line", color: "#9e9e9e", strokeWidth: 1 },
      encoding: {
        x,
        y: {
          field: "loss",
          type: "quantitative",
          title: "final loss (log scale)",
          scale: { type: "log", domain: [lo, hi] },
          axis: { format: ".0e" },
        },
      },
    },
    {
      data: { values: rows },
      mark: { type: "point", filled: true, size: 55 },
      encoding: {
        x,
        y: { field: "loss", type: "quantitative", scale: { type: "log", domain: [lo, hi] } },
        color: {
          field: "status",
          type: "nominal",
          title: null,
          scale: statusScale(cells),
        },
        tooltip: [
          { field: "lr", type: "quantitative", format: ".4g" },
          { field: "status", type: "nominal" },
          { field: "shown", type: "nominal", title: "final loss" },
        ],
      },
    },
  ];
  if (predicted && Number.isFinite(predicted.lr)) {
    layers.push(
      {
        data: { values: [{ lr: predicted.lr }] },
        mark: { type: "rule", color: "#212121", strokeDash: [5, 4], strokeWidth: 1.5 },
        encoding: { x },
      },
      {
        data: { values: [{ lr: predicted.lr, text: predicted.label }] },
        mark: { type: "text", align: "left", dx: 6, fontSize: 11, color: "#212121", y: HEIGHT - 10 },
        encoding: { x, text: { field: "text" } },
      },
    );
  }
  return top({
    title: options.title ?? "Final loss against the learning rate",
    width: WIDTH,
    height: HEIGHT,
    layer: layers,
  });
}

/**
 * The lr × momentum stability map: one cell per run, coloured by outcome, with the exact boundary
 * of the quadratic model (e.g. η = 2(1+β)/λmax for heavy ball) drawn over it.
 */
export function stabilityMap(
  cells: readonly SweepPoint[],
  boundary: readonly { readonly momentum: number; readonly lr: number }[],
  options: { title?: string; boundaryLabel?: string } = {},
): ChartSpec {
  const lrs = [...new Set(cells.map((c) => c.lr))].sort((a, b) => a - b);
  const ms = [...new Set(cells.map((c) => c.momentum ?? 0))].sort((a, b) => a - b);
  // Each cell spans halfway to its neighbours (in log space for the learning rate).
  const edges = (v: readonly number[], log: boolean): [number, number][] => {
    const t = (a: number) => (log ? Math.log(a) : a);
    const u = (a: number) => (log ? Math.exp(a) : a);
    const w = v.map(t);
    const half = w.length > 1 ? (w[1]! - w[0]!) / 2 : log ? Math.log(1.5) : 0.5;
    return w.map((c, i) => [
      u(i > 0 ? (w[i - 1]! + c) / 2 : c - half),
      u(i < w.length - 1 ? (c + w[i + 1]!) / 2 : c + (i > 0 ? (c - w[i - 1]!) / 2 : half)),
    ]);
  };
  const lrEdges = edges(lrs, true);
  const mEdges = edges(ms, false);
  const rows = cells.map((c) => {
    const i = lrs.indexOf(c.lr);
    const j = ms.indexOf(c.momentum ?? 0);
    return {
      lr: lrEdges[i]![0],
      lr2: lrEdges[i]![1],
      m: mEdges[j]![0],
      m2: mEdges[j]![1],
      status: c.status,
      at: c.lr,
      momentum: c.momentum ?? 0,
    };
  });
  const xDomain = [lrEdges[0]![0], lrEdges[lrEdges.length - 1]![1]];
  const x = {
    field: "lr",
    type: "quantitative",
    title: "learning rate η (log scale)",
    scale: { type: "log", domain: xDomain, nice: false },
    axis: { format: ".0e" },
  };
  const y = {
    field: "m",
    type: "quantitative",
    title: "momentum β",
    scale: { domain: [mEdges[0]![0], mEdges[mEdges.length - 1]![1]], nice: false, zero: false },
  };
  const line = boundary
    .filter((b) => Number.isFinite(b.lr) && b.lr >= xDomain[0]! && b.lr <= xDomain[1]!)
    .map((b) => ({ lr: b.lr, m: b.momentum }));
  return top({
    title: {
      text: options.title ?? "Stability map: outcome per learning rate and momentum",
      subtitle: options.boundaryLabel ? `dashed: ${options.boundaryLabel}` : "",
    },
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: rows },
        mark: { type: "rect", stroke: null },
        encoding: {
          x,
          x2: { field: "lr2" },
          y,
          y2: { field: "m2" },
          color: {
            field: "status",
            type: "nominal",
            title: null,
            scale: statusScale(cells),
          },
          tooltip: [
            { field: "at", type: "quantitative", title: "lr", format: ".4g" },
            { field: "momentum", type: "quantitative", format: ".3g" },
            { field: "status", type: "nominal" },
          ],
        },
      },
      {
        data: { values: line },
        mark: { type: "line", color: "#000", strokeWidth: 2.5, strokeDash: [6, 4] },
        encoding: { x, y, order: { field: "m", type: "quantitative" } },
      },
    ],
  });
}

/** One training run's curvature measurements, for the edge-of-stability chart. */
export interface SharpnessRun {
  readonly label: string;
  readonly lr: number;
  readonly points: readonly { readonly step: number; readonly sharpness: number }[];
}

/**
 * λmax of the Hessian against the step, one line per run, with each run's 2/η drawn as a dashed
 * line in the same colour: gradient descent is locally stable only below it, and at the edge of
 * stability the sharpness climbs to it and stays there.
 */
export function sharpnessChart(
  runs: readonly SharpnessRun[],
  options: { title?: string; stepScale?: "linear" | "symlog" } = {},
): ChartSpec {
  const labels = runs.map((r) => r.label);
  const rows = runs.flatMap((r) =>
    r.points
      .filter((p) => Number.isFinite(p.sharpness))
      .map((p) => ({ run: r.label, step: p.step, sharpness: p.sharpness })),
  );
  const limits = runs.map((r) => ({ run: r.label, limit: 2 / r.lr, text: `2/η = ${fmt(2 / r.lr)}` }));
  const color = { field: "run", type: "nominal", title: null, scale: { domain: labels } };
  const y = { type: "quantitative", title: "sharpness λmax (log scale)", scale: { type: "log" } };
  return top({
    title: options.title ?? "Sharpness against 2/η",
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: rows },
        mark: { type: "line", point: { size: 20 }, strokeWidth: 2 },
        encoding: {
          x:
            options.stepScale === "symlog"
              ? {
                  field: "step",
                  type: "quantitative",
                  title: "step k (symlog scale: the first steps spread out)",
                  scale: { type: "symlog" },
                  axis: {
                    values: symlogTicks(Math.max(1, ...rows.map((r) => r.step))),
                    format: "d",
                  },
                }
              : { field: "step", type: "quantitative", title: "step k" },
          y: { field: "sharpness", ...y },
          color,
        },
      },
      {
        data: { values: limits },
        mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y: { field: "limit", ...y }, color },
      },
      {
        data: { values: limits },
        mark: { type: "text", align: "right", dy: -6, x: WIDTH - 4, fontSize: 11 },
        encoding: { y: { field: "limit", ...y }, text: { field: "text" }, color },
      },
    ],
  });
}

/**
 * A measured quantity against the limit it must stay under, both per step (the limit moves when
 * the rate does: a schedule, a guard's cap): λmax against 2/η_k for SGD, the preconditioned
 * sharpness against its bound for Adam and RMSprop.
 */
export function limitChart(
  points: readonly { readonly step: number; readonly value: number; readonly limit: number }[],
  options: { title: string; valueLabel: string; limitLabel: string; yTitle: string },
): ChartSpec {
  const rows = points.flatMap((p) => [
    ...(Number.isFinite(p.value) && p.value > 0
      ? [{ series: options.valueLabel, step: p.step, value: p.value }]
      : []),
    ...(Number.isFinite(p.limit) && p.limit > 0
      ? [{ series: options.limitLabel, step: p.step, value: p.limit }]
      : []),
  ]);
  const domain = [options.valueLabel, options.limitLabel];
  return top({
    title: options.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    mark: { type: "line", strokeWidth: 2, point: points.length <= 80 ? { size: 20 } : false },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step k" },
      y: { field: "value", type: "quantitative", title: options.yTitle, scale: { type: "log" } },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain, range: ["#1f77b4", "#212121"] },
      },
      // The same field on colour and dash: one legend showing both.
      strokeDash: {
        field: "series",
        type: "nominal",
        title: null,
        scale: {
          domain,
          range: [
            [1, 0],
            [6, 4],
          ],
        },
      },
    },
  });
}

/**
 * The learning rate the run used at each logged step (log axis), with each of the guard's
 * rollbacks as a vertical rule labelled with the rate before and after.
 */
export function rateChart(
  points: readonly { readonly step: number; readonly lr: number }[],
  rollbacks: readonly { readonly step: number; readonly from: number; readonly to: number }[],
  options: { title?: string } = {},
): ChartSpec {
  const x = { field: "step", type: "quantitative", title: "step k" };
  const y = {
    field: "lr",
    type: "quantitative",
    title: "learning rate η (log scale)",
    scale: { type: "log" },
  };
  const layers: ChartSpec[] = [
    {
      data: { values: points.filter((p) => p.lr > 0 && Number.isFinite(p.lr)) },
      mark: { type: "line", strokeWidth: 2, interpolate: "step-after", color: "#1f77b4" },
      encoding: { x, y },
    },
  ];
  if (rollbacks.length > 0) {
    const marks = rollbacks.map((r, i) => ({
      step: r.step,
      text: `rollback ${i + 1}: η ${fmt(r.from, 3)} → ${fmt(r.to, 3)}`,
      // Stagger the labels down the chart so neighbouring rollbacks never overprint.
      dy: 14 * (i % 6),
    }));
    layers.push(
      {
        data: { values: marks },
        mark: { type: "rule", color: ALARM, strokeDash: [4, 3], strokeWidth: 1.5 },
        encoding: { x },
      },
      ...marks.map((m) => ({
        data: { values: [m] },
        mark: { type: "text", color: ALARM, align: "left", dx: 4, y: 12 + m.dy, fontSize: 11 },
        encoding: { x, text: { field: "text" } },
      })),
    );
  }
  return top({
    title: options.title ?? "Learning rate per step",
    width: WIDTH,
    height: HEIGHT,
    layer: layers,
  });
}

/** Several named series against the step, e.g. the update-to-weight ratio of each layer. */
export function seriesChart(
  series: readonly {
    readonly label: string;
    readonly points: readonly { readonly step: number; readonly value: number }[];
  }[],
  options: { title: string; yTitle: string; log?: boolean },
): ChartSpec {
  const rows = series.flatMap((s) =>
    s.points
      .filter((p) => Number.isFinite(p.value) && (!options.log || p.value > 0))
      .map((p) => ({ series: s.label, step: p.step, value: p.value })),
  );
  return top({
    title: options.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    mark: { type: "line", strokeWidth: 2 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step k" },
      y: {
        field: "value",
        type: "quantitative",
        title: options.yTitle,
        scale: options.log ? { type: "log" } : { zero: false },
      },
      color: { field: "series", type: "nominal", title: null, scale: { domain: series.map((s) => s.label) } },
    },
  });
}

/** The range test: loss and smoothed loss against the ramped learning rate, with every suggestion and the curvature bound marked. */
export function rangeTestChart(
  points: readonly { readonly lr: number; readonly loss: number; readonly smoothed: number }[],
  marks: readonly { readonly label: string; readonly lr: number }[],
  options: { title?: string } = {},
): ChartSpec {
  const positive = points.every((p) => p.loss > 0 && p.smoothed > 0);
  const rows = points.flatMap((p) => [
    { lr: p.lr, value: p.loss, series: "loss" },
    { lr: p.lr, value: p.smoothed, series: "smoothed (EMA, debiased)" },
  ]);
  const x = {
    field: "lr",
    type: "quantitative",
    title: "learning rate (log scale)",
    scale: { type: "log" },
    axis: { format: ".0e" },
  };
  const markRows = marks
    .filter((m) => Number.isFinite(m.lr))
    .map((m, i) => ({ lr: m.lr, text: `${m.label} ${fmt(m.lr, 3)}`, dy: 12 + 14 * i }));
  return top({
    title: options.title ?? "Learning-rate range test",
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: rows },
        mark: { type: "line", strokeWidth: 2 },
        encoding: {
          x,
          y: {
            field: "value",
            type: "quantitative",
            title: `loss${positive ? " (log scale)" : ""}`,
            scale: positive ? { type: "log" } : { zero: false },
          },
          color: { field: "series", type: "nominal", title: null, scale: { range: ["#90a4ae", "#1565c0"] } },
        },
      },
      {
        data: { values: markRows },
        mark: { type: "rule", strokeDash: [5, 4], color: "#c62828" },
        encoding: { x },
      },
      {
        data: { values: markRows },
        mark: { type: "text", align: "left", dx: 4, baseline: "top", fontSize: 10, color: "#c62828" },
        encoding: {
          x,
          y: { value: 0 },
          yOffset: { field: "dy", type: "quantitative", scale: null },
          text: { field: "text" },
        },
      },
    ],
  });
}

/**
 * A classifier on the plane: the network's score on a grid as a heat map (its decision boundary
 * where the colour turns) and the labelled data points on top.
 */
export function decisionChart(
  cells: readonly {
    readonly x: number;
    readonly x2: number;
    readonly y: number;
    readonly y2: number;
    readonly p: number;
  }[],
  points: readonly { readonly x: number; readonly y: number; readonly label: number }[],
  options: { title?: string; scoreTitle?: string } = {},
): ChartSpec {
  const xs = cells.flatMap((c) => [c.x, c.x2]);
  const ys = cells.flatMap((c) => [c.y, c.y2]);
  const x = {
    field: "x",
    type: "quantitative",
    title: "x₁",
    scale: { domain: [Math.min(...xs), Math.max(...xs)], nice: false, zero: false },
  };
  const y = {
    field: "y",
    type: "quantitative",
    title: "x₂",
    scale: { domain: [Math.min(...ys), Math.max(...ys)], nice: false, zero: false },
  };
  return top({
    title: options.title ?? "Decision boundary",
    width: 360,
    height: 360,
    layer: [
      {
        data: { values: cells.filter((c) => Number.isFinite(c.p)) },
        mark: { type: "rect", stroke: null },
        encoding: {
          x,
          x2: { field: "x2" },
          y,
          y2: { field: "y2" },
          color: {
            field: "p",
            type: "quantitative",
            title: options.scoreTitle ?? "P(class 1)",
            scale: { scheme: "blueorange", domain: [0, 1] },
            legend: { orient: "right", direction: "vertical", gradientLength: 160 },
          },
        },
      },
      {
        data: { values: points.map((p) => ({ ...p, cls: `class ${p.label}` })) },
        mark: { type: "point", filled: true, size: 22, stroke: "white", strokeWidth: 0.6 },
        encoding: {
          x,
          y,
          color: {
            field: "cls",
            type: "nominal",
            title: null,
            scale: { domain: ["class 0", "class 1"], range: ["#0d47a1", "#e65100"] },
          },
          shape: { field: "cls", type: "nominal", title: null, legend: null },
        },
      },
    ],
    resolve: { scale: { color: "independent" } },
  });
}
