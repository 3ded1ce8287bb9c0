import { fmt } from "../core/format.js";
import type { Objective } from "../core/objective.js";
import type { RunResult } from "../run/index.js";
import { cell } from "./table.js";

export interface DemoPageInput {
  readonly objective: Objective;
  readonly runs: readonly { label: string; lr: number; result: RunResult }[];
  /** The critical step 2/f''. */
  readonly critical: number;
  /** Chart files by name; SVGs are inlined so the page stands alone. */
  readonly files: Readonly<Record<string, string | Uint8Array>>;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A self-contained HTML page for `overshoot demo`: the charts, and per run its steps, ΔC beside both predictions, and the verdict. */
export function demoPage(input: DemoPageInput): string {
  const svgs = Object.entries(input.files).filter(([name]) => name.endsWith(".svg"));
  const figures = svgs
    .map(
      ([name, svg]) =>
        `<figure>${typeof svg === "string" ? svg : ""}<figcaption><a href="${escapeHtml(name)}">${escapeHtml(name)}</a> · <a href="${escapeHtml(name.replace(/\.svg$/, ".png"))}">PNG</a></figcaption></figure>`,
    )
    .join("\n");
  const tables = input.runs
    .map((r) => {
      const rows = r.result.trace
        .map(
          (s) =>
            `<tr><td>${s.step}</td><td>${cell(s.x[0])}</td><td>${cell(s.loss)}</td><td class="${(s.deltaLoss ?? 0) > 0 ? "up" : ""}">${cell(s.deltaLoss)}</td><td>${cell(s.firstOrder)}</td><td>${cell(s.secondOrder)}</td></tr>`,
        )
        .join("");
      return `<section><h2>${escapeHtml(r.label)} — ${escapeHtml(r.result.verdict.status)}</h2>
<p>${escapeHtml(r.result.verdict.reason)}</p>
<table><thead><tr><th>step</th><th>x</th><th>f(x)</th><th>ΔC actual</th><th>−η‖g‖² (1st order)</th><th>2nd order</th></tr></thead><tbody>${rows}</tbody></table></section>`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>overshoot demo — gradient descent on x²</title>
<style>
body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
figure{display:inline-block;margin:0 1rem 1rem 0;vertical-align:top}figcaption{font-size:.85rem;color:#555}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.9rem}td,th{padding:.2rem .6rem;text-align:right;border-bottom:1px solid #ddd}
td.up{color:#b00020;font-weight:bold}svg{max-width:100%;height:auto}
</style></head><body>
<h1>Why did the loss go up?</h1>
<p>Gradient descent on f(x) = x² from x₀ = −1: each step is x ← x − η·2x = (1 − 2η)·x. The first-order prediction of the change,
ΔC ≈ −η‖∇C‖², is never positive. The exact change on this quadratic is −η‖g‖² + η²/2·gᵀHg: the curvature term wins once
η exceeds the critical step <strong>2/f'' = ${escapeHtml(fmt(input.critical))}</strong>.</p>
${figures}
${tables}
</body></html>
`;
}
