import { fmt } from "../../core/format.js";
import { type ChartSpec, HEIGHT, logAxisFormat, ROLE, RUN_COLORS, top, WIDTH } from "./style.js";

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
    axis: { format: logAxisFormat(points.map((p) => p.lr)) },
  };
  // Each suggestion is a dashed rule named in a legend of its own: beside the rules, a label
  // wider than the gap to the next one would cross it.
  const markRows = marks
    .filter((m) => Number.isFinite(m.lr))
    .map((m) => ({ lr: m.lr, text: `${m.label} ${fmt(m.lr, 3)}` }))
    .sort((a, b) => a.lr - b.lr);
  return top({
    title: options.title ?? "Learning-rate range test",
    width: WIDTH,
    height: HEIGHT,
    resolve: { scale: { color: "independent", strokeDash: "independent" } },
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
          color: {
            field: "series",
            type: "nominal",
            title: null,
            scale: { range: [ROLE.curve, RUN_COLORS[0]!] },
          },
        },
      },
      {
        data: { values: markRows },
        mark: { type: "rule", strokeWidth: 1.5 },
        encoding: {
          x,
          color: {
            field: "text",
            type: "nominal",
            title: "suggested rates",
            sort: null,
            scale: { range: SUGGESTION_COLORS },
            // In the rules' order, left to right; in a column of its own beside the loss's.
            legend: { symbolType: "stroke", symbolStrokeWidth: 2, columns: 1, orient: "right" },
          },
          strokeDash: {
            field: "text",
            type: "nominal",
            sort: null,
            scale: {
              range: [
                [6, 3],
                [2, 2],
                [8, 3, 2, 3],
                [4, 4],
                [1, 3],
              ],
            },
            title: "suggested rates",
          },
        },
      },
    ],
  });
}

/** Reds and purples for the suggestion rules, apart from the loss's grey and blue. */
const SUGGESTION_COLORS = ["#c62828", "#6a1b9a", "#ef6c00", "#2e7d32", "#ad1457", "#00838f"];
