/**
 * Where a label can go: boxes and segments on a plot's pixel grid (origin top left, y down), a
 * text's width estimated from DejaVu Sans's advances, and the first candidate box that stays in
 * the plot and touches no obstacle. Specs are written in data coordinates; the chart maps them to
 * pixels itself (an explicit domain, nice: false) so that it can choose here.
 */
export interface Box {
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly y1: number;
}

/** A straight piece of a drawn line: [x0, y0, x1, y1] in pixels. */
export type Segment = readonly [number, number, number, number];

export const touches = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/** Whether the segment passes through the box (Liang–Barsky clipping). */
export function crosses([x0, y0, x1, y1]: Segment, b: Box): boolean {
  const dx = x1 - x0;
  const dy = y1 - y0;
  let t0 = 0;
  let t1 = 1;
  for (const [p, q] of [
    [-dx, x0 - b.x0],
    [dx, b.x1 - x0],
    [-dy, y0 - b.y0],
    [dy, b.y1 - y0],
  ] as const) {
    if (p === 0) {
      if (q < 0) return false;
      continue;
    }
    const t = q / p;
    if (p < 0) t0 = Math.max(t0, t);
    else t1 = Math.min(t1, t);
    if (t0 > t1) return false;
  }
  return true;
}

/** The segments of a polyline given as pixel points (a gap, null, breaks it as vega's line does). */
export function polylineSegments(points: readonly ([number, number] | null)[]): Segment[] {
  const out: Segment[] = [];
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    if (a && b) out.push([a[0], a[1], b[0], b[1]]);
  }
  return out;
}

/** A text's width in px at `size` px in DejaVu Sans (its common glyphs' advances; bold 8% wider), rounded up. */
export function textWidth(text: string, size = 11, bold = false): number {
  let em = 0;
  for (const c of text) {
    if (" iljtf.,:;'|!()[]".includes(c)) em += 0.31;
    else if ("mwMW".includes(c)) em += 0.92;
    else if (c >= "0" && c <= "9") em += 0.64;
    else if (c >= "A" && c <= "Z") em += 0.7;
    else em += 0.6;
  }
  return Math.ceil(em * size * (bold ? 1.08 : 1)) + 2;
}

/**
 * The index of the first candidate that lies inside the plot (width × height) and touches none of
 * the boxes and none of the segments, or −1.
 */
export function firstClear(
  candidates: readonly Box[],
  plot: { readonly width: number; readonly height: number },
  obstacles: { readonly boxes?: readonly Box[]; readonly segments?: readonly Segment[] },
): number {
  return candidates.findIndex(
    (c) =>
      c.x0 >= 0 &&
      c.x1 <= plot.width &&
      c.y0 >= 0 &&
      c.y1 <= plot.height &&
      !(obstacles.boxes ?? []).some((b) => touches(b, c)) &&
      !(obstacles.segments ?? []).some((s) => crosses(s, c)),
  );
}
