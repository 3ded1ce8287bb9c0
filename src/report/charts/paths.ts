import { type Box, firstClear, polylineSegments, textWidth } from "./place.js";
import {
  ALARM,
  type ChartRun,
  type ChartSpec,
  finite,
  PANEL_HEIGHT,
  PANEL_WIDTH,
  ROLE,
  runScale,
  top,
} from "./style.js";

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
  // Headroom above the highest point for its step label, so no label sticks out of the panel (and
  // every panel's title sits at the same height).
  const fs = [...curve.map((c) => c.f as number), ...path.map((p) => p.f as number)];
  const fLo = Math.min(...fs);
  const fHi = Math.max(...fs) + 0.12 * (Math.max(...fs) - Math.min(...fs) || 1);
  const labelled = stepLabels(path, [lo, hi], [fLo, fHi], [curve, path]);
  const x = {
    field: "x",
    type: "quantitative",
    title: name,
    scale: { domain: [lo, hi], nice: false, zero: false },
  };
  const y = {
    field: "f",
    type: "quantitative",
    title: `f(${name})`,
    scale: { domain: [fLo, fHi], nice: false, zero: false },
  };
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
        mark: { type: "line", color: ROLE.curve, strokeWidth: 1.5 },
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
      // One layer per place a label took (vega-lite offsets a text only by the mark's dx, dy).
      ...[...new Set(labelled.map((l) => `${l.dx},${l.dy}`))].map((place) => {
        const [dx, dy] = place.split(",").map(Number);
        return {
          data: { values: labelled.filter((l) => `${l.dx},${l.dy}` === place) },
          mark: { type: "text", baseline: "middle", dx, dy, fontSize: 11, color: "#0d47a1" },
          encoding: { x, y, text: { field: "label", type: "nominal" } },
        };
      }),
    ],
  };
}

/**
 * Step numbers for a path's points: iterates that land on the same spot (a 2-cycle) share one
 * label, "0, 2, 4, …", instead of overprinting each other. Each label goes above its point (centred,
 * then to the right, then the left), or else below it likewise, or else beside it — the first place, on the panel's pixel grid, where its box
 * touches no label already placed (in step order), no point and no line drawn (`lines`: the curve
 * and the path, in data coordinates); a label with no such place is left out — near a minimum the
 * points crowd, and "2" beside "0" must not read as "20". Later steps of a long path are left
 * unlabelled except the last.
 */
export function stepLabels(
  path: readonly ChartSpec[],
  xDomain: readonly [number, number],
  fDomain: readonly [number, number],
  lines: readonly (readonly ChartSpec[])[] = [],
): ChartSpec[] {
  const groups = new Map<string, { x: number; f: number; steps: number[] }>();
  path.forEach((p, i) => {
    if (i >= 8 && i !== path.length - 1) return;
    const key = `${(p.x as number).toPrecision(6)},${(p.f as number).toPrecision(6)}`;
    const g = groups.get(key) ?? { x: p.x as number, f: p.f as number, steps: [] };
    g.steps.push(p.step as number);
    groups.set(key, g);
  });
  const fSpan = fDomain[1] - fDomain[0] || 1;
  const px = (x: number) => ((x - xDomain[0]) / (xDomain[1] - xDomain[0])) * PANEL_WIDTH;
  const py = (f: number) => (1 - (f - fDomain[0]) / fSpan) * PANEL_HEIGHT;
  const segments = lines.flatMap((line) =>
    polylineSegments(line.map((p) => [px(p.x as number), py(p.f as number)])),
  );
  // Every point as a 9 px square (its symbol), so no label sits on another iterate.
  const placed: Box[] = path.map((p) => {
    const [x, y] = [px(p.x as number), py(p.f as number)];
    return { x0: x - 4.5, x1: x + 4.5, y0: y - 4.5, y1: y + 4.5 };
  });
  const out: ChartSpec[] = [];
  for (const g of groups.values()) {
    const label = g.steps.length > 3 ? `${g.steps.slice(0, 3).join(", ")}, …` : g.steps.join(", ");
    // 13 px high; the offsets are the box's centre from its point.
    const w = textWidth(label) + 2;
    const h = 15;
    const [x, y] = [px(g.x), py(g.f)];
    // Above, then above to either side, below likewise, then beside.
    const [up, down, side] = [-(h / 2 + 6), h / 2 + 6, w / 2 + 7];
    const offsets = [
      [0, up],
      [side - 2, up],
      [2 - side, up],
      [0, down],
      [side - 2, down],
      [2 - side, down],
      [side, 0],
      [-side, 0],
    ] as const;
    const boxes = offsets.map(([dx, dy]) => ({
      x0: x + dx - w / 2,
      x1: x + dx + w / 2,
      y0: y + dy - h / 2,
      y1: y + dy + h / 2,
    }));
    const i = firstClear(boxes, { width: PANEL_WIDTH, height: PANEL_HEIGHT }, { boxes: placed, segments });
    if (i < 0) continue;
    placed.push(boxes[i]!);
    out.push({ x: g.x, f: g.f, label, dx: offsets[i]![0], dy: offsets[i]![1] });
  }
  return out;
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
    scale: runScale(runs),
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
            // A light grey ramp (white at the minimum): the runs' colours read on all of it.
            scale: { scheme: { name: "greys", extent: [0.02, 0.42] } },
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
