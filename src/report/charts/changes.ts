import { type ChartSpec, ROLE } from "./style.js";

/**
 * A change made to a run while it ran — its learning rate, momentum or optimizer, from this step
 * on — drawn on a per-step chart as a dotted vertical rule with what changed written beside it.
 */
export interface ChartChange {
  readonly step: number;
  /** What changed, short: "η → 0.5", "momentum β → 0.9", "adam". */
  readonly text: string;
}

/**
 * The rules and their labels, for a chart whose x encoding is `x` (the step). Labels sit at the
 * top of the plot, one line per change in turn over three lines, left of the rule when it is in
 * the right half (so they point inward and never run past the plot) or when the next change's rule
 * is close enough to cross it.
 */
export function changeLayers(
  changes: readonly ChartChange[],
  x: Record<string, unknown>,
  lastStep: number,
): ChartSpec[] {
  if (changes.length === 0) return [];
  const color = ROLE.reference;
  return [
    {
      data: { values: changes.map((c) => ({ step: c.step })) },
      mark: { type: "rule", color, strokeDash: [2, 2], strokeWidth: 1.5 },
      encoding: { x },
    },
    ...changes.map((c, i) => {
      // Left of its rule in the right half, or when the next change is close (its rule would cross the label).
      const next = changes.find((d) => d.step > c.step);
      const right = c.step > lastStep / 2 || (next !== undefined && next.step - c.step < 0.15 * lastStep);
      return {
        data: { values: [{ step: c.step, text: c.text }] },
        mark: {
          type: "text",
          color,
          align: right ? "right" : "left",
          dx: right ? -4 : 4,
          fontSize: 11,
          baseline: "top",
        },
        encoding: { x, y: { value: 4 + 14 * (i % 3) }, text: { field: "text" } },
      };
    }),
  ];
}
