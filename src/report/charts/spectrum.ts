import { fmt } from "../../core/format.js";
import { type ChartSpec, HEIGHT, ROLE, RUN_COLORS, top, WIDTH } from "./style.js";

/** Densities under this fraction of the peak are drawn at it: a log axis has no zero. */
export const DENSITY_FLOOR = 1e-6;

/**
 * The Hessian's eigenvalue density on a log axis (the outliers a network's λmax comes from are
 * orders of magnitude rarer than the bulk near zero), with λmin, λmax and, given a learning rate,
 * the curvature 2/η at which plain GD stops being stable marked.
 */
export function spectrumChart(
  curve: { readonly x: ArrayLike<number>; readonly density: ArrayLike<number>; readonly sigma: number },
  marks: {
    readonly lambdaMax: number;
    readonly lambdaMin: number;
    /** The rate's limit on λ, drawn as a line: 2/η, or the heavy ball's 2(1+β)/η (named by `limitName`). */
    readonly twoOverLr?: number;
    readonly limitName?: string;
  },
  options: { title?: string; subtitle?: string | readonly string[] } = {},
): ChartSpec {
  let peak = 0;
  for (let i = 0; i < curve.density.length; i++) peak = Math.max(peak, curve.density[i]!);
  const floor = peak * DENSITY_FLOOR;
  const rows = Array.from({ length: curve.x.length }, (_, i) => ({
    eigenvalue: curve.x[i]!,
    density: Math.max(curve.density[i]!, floor),
  }));
  // Each mark is a rule named in the legend: labels beside the rules would meet each other (λmin
  // and λmax close on a narrow chart) and the density's curve, which reaches the top at its bulk.
  const markRows = [
    {
      eigenvalue: marks.lambdaMin,
      text: `λmin ${fmt(marks.lambdaMin, 3)}`,
      color: ROLE.reference,
      dash: [2, 3],
    },
    {
      eigenvalue: marks.lambdaMax,
      text: `λmax ${fmt(marks.lambdaMax, 3)}`,
      color: ROLE.reference,
      dash: [6, 3],
    },
    ...(marks.twoOverLr !== undefined && Number.isFinite(marks.twoOverLr)
      ? [
          {
            eigenvalue: marks.twoOverLr,
            text: `${marks.limitName ?? "2/η"} ${fmt(marks.twoOverLr, 3)}`,
            color: ROLE.alarm,
            dash: [8, 3, 2, 3],
          },
        ]
      : []),
  ];
  const x = {
    field: "eigenvalue",
    type: "quantitative",
    title: "eigenvalue of the Hessian",
    scale: { zero: false, nice: false },
  };
  return top({
    title: {
      text: options.title ?? "Hessian eigenvalue density",
      ...(options.subtitle
        ? { subtitle: options.subtitle, subtitleFontSize: 11, subtitleColor: "#555" }
        : {}),
    },
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: rows },
        mark: {
          type: "area",
          color: RUN_COLORS[0]!,
          opacity: 0.25,
          line: { color: RUN_COLORS[0]!, strokeWidth: 1.5 },
        },
        encoding: {
          x,
          y: {
            field: "density",
            type: "quantitative",
            title: "density (log scale)",
            scale: { type: "log", domainMin: floor },
            axis: { format: "~e" },
          },
          y2: { datum: floor },
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
            title: null,
            sort: null,
            scale: { domain: markRows.map((m) => m.text), range: markRows.map((m) => m.color) },
            legend: { symbolType: "stroke", symbolStrokeWidth: 2, orient: "bottom", labelLimit: 1000 },
          },
          strokeDash: {
            field: "text",
            type: "nominal",
            sort: null,
            scale: { domain: markRows.map((m) => m.text), range: markRows.map((m) => m.dash) },
          },
        },
      },
    ],
  });
}

/** Per layer: λmax of its Hessian block and the share of the full λmax eigenvector in it, side by side. */
export function layerCurvatureChart(
  layers: readonly { readonly name: string; readonly lambdaMax: number; readonly share: number | null }[],
  options: { title?: string; lambdaMax?: number } = {},
): ChartSpec {
  const rows = layers.map((l) => ({ layer: l.name, lambdaMax: l.lambdaMax, share: l.share ?? 0 }));
  const y = { field: "layer", type: "ordinal", title: null, sort: null };
  return top({
    title: options.title ?? "Which layer limits the learning rate",
    hconcat: [
      {
        width: 240,
        height: 24 * rows.length,
        data: { values: rows },
        mark: { type: "bar", color: RUN_COLORS[0]! },
        encoding: {
          y,
          // A narrow panel (the lab at 360 px, or beside another chart) drops labels that would touch.
          x: {
            field: "lambdaMax",
            type: "quantitative",
            title: "λmax of the layer's block",
            axis: { tickCount: 5, labelOverlap: "greedy", labelSeparation: 4 },
          },
        },
      },
      {
        width: 240,
        height: 24 * rows.length,
        data: { values: rows },
        mark: { type: "bar", color: RUN_COLORS[1]! },
        encoding: {
          y: { ...y, axis: null },
          x: {
            field: "share",
            type: "quantitative",
            title: "share of λmax's eigenvector",
            scale: { domain: [0, 1] },
            axis: { format: "~%", tickCount: 5, labelOverlap: "greedy", labelSeparation: 4 },
          },
        },
      },
    ],
  });
}
