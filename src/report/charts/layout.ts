import { type ChartSpec, strip, top } from "./style.js";

/** Panels side by side under one title (e.g. one delta chart per run). */
export function sideBySide(title: string, specs: readonly ChartSpec[]): ChartSpec {
  // One shared legend for the row, not one per panel.
  return top({
    title,
    hconcat: specs.map(strip),
    resolve: { scale: { y: "independent", color: "shared" }, legend: { color: "shared" } },
  });
}

/** Charts one above the other (e.g. the path and the loss of one run). */
export function stacked(specs: readonly ChartSpec[]): ChartSpec {
  return top({ vconcat: specs.map(strip), resolve: { scale: { color: "independent" } } });
}
