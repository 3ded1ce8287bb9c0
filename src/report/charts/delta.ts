import { type ChartRun, type ChartSpec, finite, PANEL_HEIGHT, PANEL_WIDTH, ROLE, top } from "./style.js";

/**
 * Per step of one run: the actual change ΔC beside the first-order prediction ∇fᵀΔx (−η‖g‖² for
 * plain gradient descent, never positive) and the second-order one (exact on a quadratic). A
 * symlog axis keeps both small and geometric growth readable.
 */
export function deltaChart(
  run: ChartRun,
  options: { title?: string; scale?: "linear" | "symlog" | "auto" } = {},
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
  // "auto" (the default): symlog when the changes have both signs and span more than two decades —
  // an overshooting run's first-order prediction (−600 by step 11 at η = 1.125 on x²) would
  // otherwise flatten its actual ΔC of +0.56 at step 0 onto the zero line.
  const values = rows.map((r) => r.value as number);
  const sizes = values.map(Math.abs).filter((v) => v > 0);
  const spread = sizes.length > 0 ? Math.max(...sizes) / Math.min(...sizes) : 1;
  const bothSigns = values.some((v) => v > 0) && values.some((v) => v < 0);
  const symlog =
    options.scale === "symlog" || ((options.scale ?? "auto") === "auto" && bothSigns && spread > 100);
  const y = symlog
    ? {
        field: "value",
        type: "quantitative",
        // Short, so the rotated title never outgrows the panel (and lifts its title off the row).
        title: "ΔC (symlog scale)",
        scale: { type: "symlog", constant: symlogConstant(sizes) },
        axis: {
          values: symlogValues(values),
          // 0 reads "0", not "0e+0".
          labelExpr: `datum.value === 0 ? "0" : format(datum.value, "${tickFormat(values)}")`,
          labelOverlap: "greedy",
        },
      }
    : { field: "value", type: "quantitative", title: "change of the loss", scale: { zero: true } };
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
          y,
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

/** The symlog scale's linear band: a third of the smallest change drawn (it must not swallow it). */
function symlogConstant(sizes: readonly number[]): number {
  return sizes.length > 0 ? Math.max(1e-12, Math.min(...sizes) / 3) : 1e-3;
}

/** Plain numbers (0.1, 10, −100) where every tick reads so; powers of ten in e-notation otherwise. */
function tickFormat(values: readonly number[]): string {
  const sizes = values.map(Math.abs).filter((v) => v > 0);
  return sizes.length > 0 && Math.min(...sizes) >= 1e-3 && Math.max(...sizes) < 1e5 ? "~r" : "~e";
}

/**
 * Labelled ticks for a symlog axis: 0 and ±10^k across the data's decades on each side that has
 * data, every decade or every few so that a side has at most four.
 */
export function symlogValues(values: readonly number[]): number[] {
  const ticks = [0];
  for (const sign of [1, -1]) {
    const side = values.map((v) => sign * v).filter((v) => v > 0);
    if (side.length === 0) continue;
    // From the first power of ten past the smallest value (one below it would crowd the 0 tick).
    const hi = Math.ceil(Math.log10(Math.max(...side)));
    const lo = Math.min(hi, Math.ceil(Math.log10(Math.min(...side))));
    const step = Math.max(1, Math.ceil((hi - lo) / 3));
    for (let k = hi; k >= lo; k -= step) ticks.push(sign * 10 ** k);
  }
  return ticks.sort((a, b) => a - b);
}
