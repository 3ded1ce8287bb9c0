import { type ChartRun, type ChartSpec, finite, PANEL_HEIGHT, PANEL_WIDTH, ROLE, top } from "./style.js";

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
        mark: { type: "rule", color: ROLE.reference },
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
            scale: { domain: names, range: [ROLE.actual, ROLE.firstOrder, ROLE.secondOrder] },
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
