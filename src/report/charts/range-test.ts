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
        mark: { type: "rule", strokeDash: [5, 4], color: ROLE.alarm },
        encoding: { x },
      },
      {
        data: { values: markRows },
        mark: { type: "text", align: "left", dx: 4, baseline: "top", fontSize: 11, color: ROLE.alarm },
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
