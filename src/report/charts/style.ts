import type { StepRecord } from "../../run/types.js";

/**
 * What every chart shares: the spec types, the sizes, the font, one colour per role (the actual
 * change, the first- and second-order predictions, a divergence marker, a reference line), one per
 * optimizer and an ordered palette for runs — none white or near white, so every mark and legend
 * swatch shows on a white page and on a heat map — and the helpers every family uses. The chart
 * families are one module each beside this one (loss.ts, paths.ts, …), as Observable Plot keeps a
 * file per mark; charts.ts gathers them.
 *
 * Vega cannot place NaN or ±Infinity, and a log axis cannot place 0, so every number that goes
 * into a spec is finite; where a run stopped on a non-finite value, the chart says so in words.
 */

/** A Vega-Lite spec as plain JSON (the types of vega-lite are not needed to build one). */
export type ChartSpec = Record<string, unknown>;

export interface ChartRun {
  readonly label: string;
  readonly trace: readonly StepRecord[];
  /** Its colour where it has one of its own (an optimizer's, OPTIMIZER_COLORS); else the run palette's. */
  readonly color?: string;
  /**
   * The blow-up bound B of a run that stopped where its loss passed it (run/divergence.ts): the
   * loss chart marks that step "diverged" as it marks a non-finite one.
   */
  readonly bound?: number;
}

export const CHART_FONT = "DejaVu Sans";
export const WIDTH = 520;
export const HEIGHT = 300;
export const PANEL_WIDTH = 300;
export const PANEL_HEIGHT = 240;

/** One colour per role, the same in every chart of the CLI and the lab. */
export const ROLE = {
  /** The loss change that happened, and anything that went wrong. */
  actual: "#c62828",
  firstOrder: "#1565c0",
  secondOrder: "#2e7d32",
  /** A run that diverged or went non-finite: its marker and label. */
  alarm: "#c62828",
  /** Reference lines and rules (a predicted threshold, 2/η). */
  reference: "#424242",
  /** The objective's own curve under a path. */
  curve: "#9e9e9e",
} as const;
export const ALARM = ROLE.alarm;

/**
 * Runs in order: saturated, distinct, readable on white and on the viridis heat map. Red is not
 * among them: it means "diverged".
 */
export const RUN_COLORS = [
  "#1565c0",
  "#ef6c00",
  "#2e7d32",
  "#6a1b9a",
  "#00838f",
  "#6d4c41",
  "#ad1457",
  "#455a64",
];

/** One colour per optimizer, wherever an optimizer is drawn (the lab's map and its loss chart alike). */
export const OPTIMIZER_COLORS: Readonly<Record<string, string>> = {
  sgd: "#1565c0",
  momentum: "#ef6c00",
  nesterov: "#6d4c41",
  adam: "#6a1b9a",
  adamw: "#ad1457",
  rmsprop: "#2e7d32",
  adagrad: "#00838f",
};

/** A colour scale for series labelled `labels`, in the run palette's order. */
export function runColors(labels: readonly string[]): { domain: string[]; range: string[] } {
  return { domain: [...labels], range: labels.map((_, i) => RUN_COLORS[i % RUN_COLORS.length]!) };
}

/** The colour scale of a chart's runs: each run's own colour, else the palette's in run order. */
export function runScale(runs: readonly ChartRun[]): { domain: string[]; range: string[] } {
  return {
    domain: runs.map((r) => r.label),
    range: runs.map((r, i) => r.color ?? RUN_COLORS[i % RUN_COLORS.length]!),
  };
}

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

export function top(spec: ChartSpec): ChartSpec {
  return { $schema: "https://vega.github.io/schema/vega-lite/v6.json", config: chartConfig(), ...spec };
}

export const finite = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v);

/** "NaN", "+∞" or "−∞" for a value that is not finite. */
export function nonFiniteName(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  return v > 0 ? "+∞" : "−∞";
}

/** The first non-finite quantity of a record, in words for a chart label ("loss +∞"), or null. */
export function blowUp(record: StepRecord): string | null {
  const name = (v: number) => (Number.isNaN(v) ? "not a number" : nonFiniteName(v));
  if (!Number.isFinite(record.loss)) return `loss ${name(record.loss)}`;
  for (const v of record.x) if (!Number.isFinite(v)) return `x ${name(v)}`;
  for (const v of record.grad) if (!Number.isFinite(v)) return `gradient ${name(v)}`;
  return null;
}

export const runOrder = (runs: readonly ChartRun[]) => runs.map((r) => r.label);

/** Tick values for a symlog step axis: 0, 1, 2, 5, 10, 20, 50, … up to the last step. */
export function symlogTicks(last: number): number[] {
  const ticks = [0];
  for (let p = 1; p <= last; p *= 10) for (const m of [1, 2, 5]) if (m * p <= last) ticks.push(m * p);
  return ticks;
}

/**
 * One number format for every log axis: plain numbers (0.01, 0.3, 20, 1000) when every tick reads
 * so, e-notation (1e-7, 3e+12) when the axis reaches past 1e-3 or 1e5 — so two panels of one
 * figure that cover the same range label it the same way.
 */
export function logAxisFormat(values: readonly number[]): string {
  const v = values.filter((x) => Number.isFinite(x) && x > 0);
  if (v.length === 0) return "~g";
  return Math.min(...v) >= 1e-3 && Math.max(...v) <= 1e5 ? "~g" : "~e";
}

/** A spec without its top-level $schema and config, to sit inside a concatenation. */
export function strip(s: ChartSpec): ChartSpec {
  const { $schema: _s, config: _c, ...rest } = s;
  return rest;
}
