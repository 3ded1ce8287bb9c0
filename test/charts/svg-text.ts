// The text of a rendered chart as boxes on the page, for the overlap check of the golden tests:
// vega's SVG places every text by `translate(x,y)` (axis titles add `rotate(-90)`) inside groups
// that are translated too, so a stack of offsets gives each text its absolute anchor. The box is
// estimated from the font size and DejaVu Sans's advances (about 0.58 em a lower-case letter, 0.64
// a digit, 0.31 a space or narrow letter, bold 8% wider); a line is 1 em high, its baseline 0.8 em
// down.

import { crosses as segmentCrosses } from "../../src/report/charts/place.js";

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

/** A straight piece of a drawn line or rule, in page coordinates. */
export interface Segment {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

/** The points of a path's polyline commands (M, L, H, V, absolute; Z closes): vega's lines and rules. */
function polyline(d: string, ox: number, oy: number): Segment[] {
  const out: Segment[] = [];
  let x = 0;
  let y = 0;
  let start: [number, number] = [0, 0];
  for (const [, cmd, args] of d.matchAll(/([MLHVZ])([^MLHVZA-Za-z]*)/g)) {
    const n = (args ?? "").split(/[ ,]+/).filter(Boolean).map(Number);
    if (cmd === "Z") {
      out.push({ x0: ox + x, y0: oy + y, x1: ox + start[0], y1: oy + start[1] });
      [x, y] = start;
      continue;
    }
    const points: [number, number][] =
      cmd === "H" ? n.map((v) => [v, y]) : cmd === "V" ? n.map((v) => [x, v]) : [];
    if (cmd === "M" || cmd === "L") for (let i = 0; i + 1 < n.length; i += 2) points.push([n[i]!, n[i + 1]!]);
    points.forEach(([px, py], i) => {
      if (cmd === "M" && i === 0) start = [px, py];
      else out.push({ x0: ox + x, y0: oy + y, x1: ox + px, y1: oy + py });
      [x, y] = [px, py];
    });
  }
  return out;
}

/**
 * The data's lines and rules as segments in page coordinates (vega draws a line mark as one path of
 * straight pieces, a rule as a <line> translated to its start), and the texts drawn as marks in the
 * plot (annotations and labels, not axes or legends), each with its box and the plot it is drawn
 * in (the view's background rectangle, `M0.5,0.5hWvHh-WZ`).
 */
export function plotMarks(svg: string): {
  segments: Segment[];
  labels: (TextBox & { frame: TextBox | null })[];
} {
  const segments: Segment[] = [];
  const labels: (TextBox & { frame: TextBox | null })[] = [];
  interface Level {
    x: number;
    y: number;
    kind: string;
    frame: TextBox | null;
  }
  const stack: Level[] = [{ x: 0, y: 0, kind: "", frame: null }];
  const tags = /<(\/?)(g|text|path|line)\b([^>]*)>([^<]*)/g;
  for (let m = tags.exec(svg); m !== null; m = tags.exec(svg)) {
    const [, close, tag, attrs] = m;
    const top = stack[stack.length - 1]!;
    if (tag === "g") {
      if (close) stack.pop();
      else if (!attrs!.endsWith("/")) {
        const [dx, dy] = translate(/transform="([^"]*)"/.exec(attrs!)?.[1]);
        const kind = /class="mark-(line|rule|text) role-mark/.exec(attrs!)?.[1] ?? top.kind;
        stack.push({ x: top.x + dx, y: top.y + dy, kind, frame: top.frame });
      }
      continue;
    }
    if (close) continue;
    const [tx, ty] = translate(/transform="([^"]*)"/.exec(attrs!)?.[1]);
    const background = /class="background"[^>]*\sd="M0\.5,0\.5h([\d.]+)v([\d.]+)h/.exec(attrs!);
    if (tag === "path" && background) {
      // The view this group draws: its children's plot. Set on the enclosing level and below.
      const frame = {
        text: "",
        x0: top.x,
        y0: top.y,
        x1: top.x + Number(background[1]),
        y1: top.y + Number(background[2]),
      };
      for (let i = stack.length - 1; i >= 0 && stack[i]!.x === top.x && stack[i]!.y === top.y; i--)
        stack[i]!.frame = frame;
    } else if (tag === "path" && top.kind === "line") {
      const d = /\sd="([^"]*)"/.exec(attrs!)?.[1] ?? "";
      segments.push(...polyline(d, top.x + tx, top.y + ty));
    } else if (tag === "line" && top.kind === "rule") {
      const n = (a: string) => Number(new RegExp(`\\s${a}="([-\\d.e]+)"`).exec(attrs!)?.[1] ?? 0);
      const [x, y] = [top.x + tx, top.y + ty];
      segments.push({ x0: x + n("x1"), y0: y + n("y1"), x1: x + n("x2"), y1: y + n("y2") });
    } else if (tag === "text" && top.kind === "text") {
      // The same estimate as textBoxes, on the text alone inside its groups' offset.
      const box = textBoxes(`<g transform="translate(${top.x},${top.y})">${m[0]}</text></g>`)[0];
      if (box) labels.push({ ...box, frame: top.frame });
    }
  }
  return { segments, labels };
}

/**
 * Whether a segment passes through a box shrunk by `slack` px on every side: the placement's own
 * clipping (place.ts `crosses`, checked against sampling in place.test.ts).
 */
function crosses(s: Segment, b: TextBox, slack: number): boolean {
  const box = { x0: b.x0 + slack, x1: b.x1 - slack, y0: b.y0 + slack, y1: b.y1 - slack };
  if (box.x0 >= box.x1 || box.y0 >= box.y1) return false;
  return segmentCrosses([s.x0, s.y0, s.x1, s.y1], box);
}

/** Labels drawn as marks that stick out of their plot by more than `slack` px. */
export function labelsOutside(svg: string, slack = 2): string[] {
  return plotMarks(svg).labels.flatMap((b) =>
    b.frame &&
    (b.x0 < b.frame.x0 - slack ||
      b.x1 > b.frame.x1 + slack ||
      b.y0 < b.frame.y0 - slack ||
      b.y1 > b.frame.y1 + slack)
      ? [b.text]
      : [],
  );
}

/** Labels in the plot that a line or a rule runs through (`slack` px forgiven each side). */
export function crossedLabels(svg: string, slack = 2): { text: string; by: number }[] {
  const { segments, labels } = plotMarks(svg);
  return labels.flatMap((b) => {
    const by = segments.filter((s) => crosses(s, b, slack)).length;
    return by > 0 ? [{ text: b.text, by }] : [];
  });
}
