import { type ChartSpec, top } from "./style.js";

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
