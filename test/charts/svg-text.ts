// The text of a rendered chart as boxes on the page, for the overlap check of the golden tests:
// vega's SVG places every text by `translate(x,y)` (axis titles add `rotate(-90)`) inside groups
// that are translated too, so a stack of offsets gives each text its absolute anchor. The box is
// estimated from the font size and DejaVu Sans's advances (about 0.58 em a lower-case letter, 0.64
// a digit, 0.31 a space or narrow letter, bold 8% wider); a line is 1 em high, its baseline 0.8 em
// down.

export interface TextBox {
  readonly text: string;
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
}

const translate = (t: string | undefined): [number, number] => {
  const m = t ? /translate\(([-\d.e]+)[ ,]+([-\d.e]+)\)/.exec(t) : null;
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
};

/** A character's advance in DejaVu Sans, in em (near enough: the widths of its common glyphs). */
function advance(c: string): number {
  if (" iljtf.,:;'|!()[]".includes(c)) return 0.31;
  if ("mwMW".includes(c)) return 0.92;
  if (c >= "0" && c <= "9") return 0.64;
  if (c >= "A" && c <= "Z") return 0.7;
  return 0.58;
}

/** Every visible text of an SVG as a box in page coordinates. */
export function textBoxes(svg: string): TextBox[] {
  const boxes: TextBox[] = [];
  const stack: [number, number][] = [[0, 0]];
  const tags = /<(\/?)(g|text)\b([^>]*)>([^<]*)/g;
  for (let m = tags.exec(svg); m !== null; m = tags.exec(svg)) {
    const [, close, tag, attrs, content] = m;
    const [ox, oy] = stack[stack.length - 1]!;
    if (tag === "g") {
      if (close) stack.pop();
      else if (!attrs!.endsWith("/")) {
        const [dx, dy] = translate(/transform="([^"]*)"/.exec(attrs!)?.[1]);
        stack.push([ox + dx, oy + dy]);
      }
      continue;
    }
    if (close || !content || content.trim() === "") continue;
    if (/opacity="0"/.test(attrs!)) continue;
    const transform = /transform="([^"]*)"/.exec(attrs!)?.[1];
    const [tx, ty] = translate(transform);
    const size = Number(/font-size="([\d.]+)px"/.exec(attrs!)?.[1] ?? 11);
    const anchor = /text-anchor="(\w+)"/.exec(attrs!)?.[1] ?? "start";
    const text = content.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">");
    const bold = /font-weight="bold"/.test(attrs!) ? 1.08 : 1;
    const width = bold * size * [...text].reduce((w, c) => w + advance(c), 0);
    const left = anchor === "middle" ? -width / 2 : anchor === "end" ? -width : 0;
    const x = ox + tx;
    const y = oy + ty;
    if (transform && /rotate\(-90\)/.test(transform)) {
      // Read upwards: the run of characters goes up the page from the anchor.
      const [, ay] = translate(transform.replace(/^.*rotate\(-90\)/, ""));
      boxes.push({
        text,
        x0: x - 0.8 * size + ay,
        x1: x + 0.2 * size + ay,
        y0: y - left - width,
        y1: y - left,
      });
    } else boxes.push({ text, x0: x + left, x1: x + left + width, y0: y - 0.8 * size, y1: y + 0.2 * size });
  }
  return boxes;
}

/** Pairs of boxes that overlap by more than `slack` px each way (estimates are not exact). */
export function overlaps(boxes: readonly TextBox[], slack = 1): [TextBox, TextBox][] {
  const out: [TextBox, TextBox][] = [];
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i]!, boxes[j]!];
      if (a.x0 + slack < b.x1 && b.x0 + slack < a.x1 && a.y0 + slack < b.y1 && b.y0 + slack < a.y1)
        out.push([a, b]);
    }
  return out;
}

/**
 * A rendered chart's outline, for its golden file: the size, every text with its place (rounded to
 * a pixel), size and colour, how many marks of each kind and role, and the colours filled or
 * stroked. Small enough to read in a diff (a 2-D map's SVG is a megabyte of cells), and it
 * changes when a label, a colour, a layout or a mark count does.
 */
export function outline(svg: string): string {
  const size = /<svg[^>]*width="([\d.]+)" height="([\d.]+)"/.exec(svg);
  const lines = [`size ${size?.[1]} × ${size?.[2]}`];
  const marks = new Map<string, number>();
  for (const m of svg.matchAll(/class="(mark-[a-z]+ role-[a-z-]+)/g))
    marks.set(m[1]!, (marks.get(m[1]!) ?? 0) + 1);
  const items = new Map<string, number>();
  // The drawn items inside marks: paths, lines, rects, texts.
  for (const m of svg.matchAll(/<(path|line|rect|text|circle)\b/g))
    items.set(m[1]!, (items.get(m[1]!) ?? 0) + 1);
  lines.push(
    `marks ${[...marks]
      .sort()
      .map(([k, n]) => `${k} ×${n}`)
      .join(", ")}`,
  );
  lines.push(
    `items ${[...items]
      .sort()
      .map(([k, n]) => `${k} ×${n}`)
      .join(", ")}`,
  );
  const colours = new Set<string>();
  for (const m of svg.matchAll(/(?:fill|stroke)="(#[0-9a-fA-F]{3,6}|[a-z]+)"/g))
    if (m[1] !== "none") colours.add(m[1]!.toLowerCase());
  lines.push(`colours ${[...colours].sort().join(" ")}`);
  for (const b of textBoxes(svg))
    lines.push(`text ${Math.round(b.x0)},${Math.round(b.y0)} ${JSON.stringify(b.text)}`);
  return `${lines.join("\n")}\n`;
}

/**
 * The SVG as a golden file compares it (after Observable Plot's snapshot tests): one element per
 * line, every decimal rounded to 0.1 px (a rendering that moves nothing visibly compares equal,
 * anything that moves a mark by a tenth of a pixel or changes a text, a colour or an attribute
 * does not).
 */
export function normalizeSvg(svg: string): string {
  return `${svg
    .replace(/-?\d+\.\d+(?:e-?\d+)?/g, (d) => {
      const v = Math.round(Number(d) * 10) / 10;
      return String(v === 0 ? 0 : v);
    })
    .replace(/>\s*</g, ">\n<")
    .trim()}\n`;
}
