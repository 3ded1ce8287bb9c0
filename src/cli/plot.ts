import type { Objective } from "../core/objective.js";
import {
  type ChartRun,
  type ChartSpec,
  contourChart2d,
  deltaChart,
  lossChart,
  pathChart1d,
  sideBySide,
  stacked,
} from "../report/charts.js";
import { specToSvg, svgToPng } from "../report/render.js";
import type { RunResult } from "../run/index.js";

/** f as a function of plain numbers, for sampling a curve or a grid. */
function sampler(objective: Objective): (...xs: number[]) => number {
  const point = new Float64Array(objective.dim);
  return (...xs) => {
    point.set(xs);
    return objective.value(point);
  };
}

/** The chart of `overshoot run --plot`: the path (1-D curve or 2-D map) above the loss per step. */
export function runFigureSpec(
  objective: Objective,
  runs: readonly { label: string; result: RunResult }[],
): ChartSpec {
  const chartRuns: ChartRun[] = runs.map((r) => ({ label: r.label, trace: r.result.trace }));
  const f = sampler(objective);
  const parts: ChartSpec[] = [];
  if (objective.dim === 1) parts.push(pathChart1d((x) => f(x), chartRuns, { name: objective.names[0]! }));
  if (objective.dim === 2)
    parts.push(contourChart2d((x, y) => f(x, y), chartRuns, { names: objective.names }));
  parts.push(lossChart(chartRuns));
  return parts.length === 1 ? parts[0]! : stacked(parts);
}

export async function renderRunFigure(
  objective: Objective,
  runs: readonly { label: string; result: RunResult }[],
  format: "svg" | "png",
): Promise<string | Uint8Array> {
  const svg = await specToSvg(runFigureSpec(objective, runs));
  return format === "svg" ? svg : svgToPng(svg);
}

/** The demo's charts by file name: the paths on the curve, the loss per step, ΔC against its predictions. */
export async function renderDemoCharts(
  objective: Objective,
  runs: readonly { label: string; lr: number; result: RunResult }[],
): Promise<Record<string, string | Uint8Array>> {
  const chartRuns: ChartRun[] = runs.map((r) => ({ label: r.label, trace: r.result.trace }));
  const f = sampler(objective);
  const specs: Record<string, ChartSpec> = {
    path: pathChart1d((x) => f(x), chartRuns, { title: "Gradient descent on f(x) = x² from x₀ = −1" }),
    loss: lossChart(chartRuns, { title: "Loss per step: converges, bounces, diverges" }),
    delta: sideBySide(
      "Actual ΔC beside the 1st-order prediction −η‖g‖² and the 2nd-order one",
      chartRuns.map((r) => deltaChart(r)),
    ),
  };
  const files: Record<string, string | Uint8Array> = {};
  for (const [name, spec] of Object.entries(specs)) Object.assign(files, await figureFiles(name, spec));
  return files;
}

/** The files figureFiles writes for a figure called `name`. */
export function figureNames(name: string): string[] {
  return [`${name}.svg`, `${name}.png`, `${name}.vl.json`];
}

/**
 * A demo's figure as files: the SVG, the PNG drawn from it, and the Vega-Lite spec with the data
 * it draws (open it in the Vega editor to restyle the chart, or read exactly what was plotted:
 * the tests check each demo's sentences against it). Non-finite values are null in the JSON.
 */
export async function figureFiles(
  name: string,
  spec: ChartSpec,
): Promise<Record<string, string | Uint8Array>> {
  const svg = await specToSvg(spec);
  return {
    [`${name}.svg`]: svg,
    [`${name}.png`]: svgToPng(svg),
    [`${name}.vl.json`]: `${JSON.stringify(spec)}\n`,
  };
}
