/** A self-contained HTML report of a training run: the charts inline as SVG, the verdict, the settings. */
export interface TrainPageInput {
  readonly title: string;
  readonly settings: readonly string[];
  readonly verdict: string;
  /** Chart captions and their SVG. */
  readonly charts: readonly { readonly caption: string; readonly svg: string }[];
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function trainPage(input: TrainPageInput): string {
  const figures = input.charts
    .map((c) => `<figure>${c.svg}<figcaption>${escapeHtml(c.caption)}</figcaption></figure>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>
body{font-family:"DejaVu Sans",system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.45}
figure{display:inline-block;margin:0 1rem 1rem 0;vertical-align:top}figcaption{font-size:.85rem;color:#555;max-width:560px}
svg{max-width:100%;height:auto}.verdict{font-weight:bold}li{font-variant-numeric:tabular-nums}
</style></head><body>
<h1>${escapeHtml(input.title)}</h1>
<p class="verdict">${escapeHtml(input.verdict)}</p>
<ul>${input.settings.map((s) => `<li>${escapeHtml(s)}</li>`).join("")}</ul>
${figures}
</body></html>
`;
}
