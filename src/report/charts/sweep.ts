import { divergedStatus } from "../../run/divergence.js";
import { type ChartSpec, HEIGHT, logAxisFormat, nonFiniteName, ROLE, top, WIDTH } from "./style.js";

/** A swept cell as the charts need it. */
export interface SweepPoint {
  readonly lr: number;
  readonly momentum?: number;
  readonly status: string;
  readonly finalLoss: number;
  /** The seed of the cell's start, when the sweep repeats cells over seeds. */
  readonly seed?: number;
}

const seeded = (cells: readonly SweepPoint[]) => cells.some((c) => c.seed !== undefined);
const isDiverged = divergedStatus;

const STATUS_ORDER = [
  "converged",
  "converging",
  "trained",
  "catapult",
  "oscillating",
  "stalled",
  "failed",
  "diverging",
  "diverged",
  "nonfinite",
  "unbounded",
];
const STATUS_COLORS = [
  "#1b5e20",
  "#66bb6a",
  "#2e7d32",
  "#0277bd",
  "#ffb300",
  "#bdbdbd",
  "#8d6e63",
  "#ef6c00",
  "#d84315",
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
    ...(c.seed !== undefined ? { seed: c.seed } : {}),
  }));
  // Over seeds, a point per seed and the line through each rate's median (as drawn: a non-finite
  // loss at the top edge).
  const lineRows = seeded(cells)
    ? [...new Set(rows.map((r) => r.lr))].map((lr) => {
        const v = rows
          .filter((r) => r.lr === lr)
          .map((r) => r.loss)
          .sort((a, b) => a - b);
        const mid = v.length >> 1;
        return { lr, loss: v.length % 2 ? v[mid]! : Math.sqrt(v[mid - 1]! * v[mid]!) };
      })
    : rows;
  const x = {
    field: "lr",
    type: "quantitative",
    title: "learning rate η (log scale)",
    scale: { type: "log" },
    axis: { format: logAxisFormat(cells.map((c) => c.lr)) },
  };
  const layers: ChartSpec[] = [
    {
      data: { values: lineRows },
      mark: { type: "line", color: ROLE.curve, strokeWidth: 1 },
      encoding: {
        x,
        y: {
          field: "loss",
          type: "quantitative",
          title: "final loss (log scale)",
          scale: { type: "log", domain: [lo, hi] },
          axis: { format: logAxisFormat([lo, hi]) },
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
          ...(seeded(cells) ? [{ field: "seed", type: "quantitative" }] : []),
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
        mark: { type: "rule", color: ROLE.reference, strokeDash: [5, 4], strokeWidth: 1.5 },
        encoding: { x },
      },
      {
        data: { values: [{ lr: predicted.lr, text: predicted.label }] },
        mark: { type: "text", align: "left", dx: 6, fontSize: 11, color: ROLE.reference, y: HEIGHT - 10 },
        encoding: { x, text: { field: "text" } },
      },
    );
  }
  return top({
    title:
      options.title ??
      (seeded(cells)
        ? "Final loss against the learning rate: a point per seed, the line through the median"
        : "Final loss against the learning rate"),
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
  // Over seeds, one rectangle per (lr, momentum), shaded by the fraction of its seeds that diverged.
  const over = seeded(cells);
  const cellsAt = new Map<string, SweepPoint[]>();
  for (const c of cells) {
    const key = `${c.lr}|${c.momentum ?? 0}`;
    cellsAt.set(key, [...(cellsAt.get(key) ?? []), c]);
  }
  const rows = [...cellsAt.values()].map((group) => {
    const c = group[0]!;
    const i = lrs.indexOf(c.lr);
    const j = ms.indexOf(c.momentum ?? 0);
    const diverged = group.filter((g) => isDiverged(g.status)).length;
    return {
      lr: lrEdges[i]![0],
      lr2: lrEdges[i]![1],
      m: mEdges[j]![0],
      m2: mEdges[j]![1],
      status: c.status,
      at: c.lr,
      momentum: c.momentum ?? 0,
      ...(over ? { diverged: diverged / group.length, seeds: group.length } : {}),
    };
  });
  const xDomain = [lrEdges[0]![0], lrEdges[lrEdges.length - 1]![1]];
  const x = {
    field: "lr",
    type: "quantitative",
    title: "learning rate η (log scale)",
    scale: { type: "log", domain: xDomain, nice: false },
    axis: { format: logAxisFormat(xDomain as number[]) },
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
      text:
        options.title ??
        (over
          ? "Stability map: the fraction of seeds that diverged, per learning rate and momentum"
          : "Stability map: outcome per learning rate and momentum"),
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
          color: over
            ? {
                field: "diverged",
                type: "quantitative",
                title: "fraction of seeds diverged",
                // From the converged outcome's green to the non-finite red (no white).
                scale: { domain: [0, 1], range: ["#1b5e20", "#ffb300", "#c62828"] },
                legend: { format: ".0%", titleLimit: 400 },
              }
            : {
                field: "status",
                type: "nominal",
                title: null,
                scale: statusScale(cells),
              },
          tooltip: [
            { field: "at", type: "quantitative", title: "lr", format: ".4g" },
            { field: "momentum", type: "quantitative", format: ".3g" },
            over
              ? { field: "diverged", type: "quantitative", title: "diverged", format: ".0%" }
              : { field: "status", type: "nominal" },
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
