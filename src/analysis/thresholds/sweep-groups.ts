import { divergedStatus } from "../../run/divergence.js";
import type { CellResult } from "./sweep.js";

/** A sweep's cells at one (lr, momentum), over the seeds of their starts (sweep --seeds). */
export interface SeedGroup {
  readonly lr: number;
  readonly momentum?: number;
  readonly seeds: number;
  /** How many of the seeds diverged or went non-finite. */
  readonly diverged: number;
  readonly fractionDiverged: number;
  /** The spread of the finite final losses (null when none is finite). */
  readonly finalLoss: { readonly median: number; readonly min: number; readonly max: number } | null;
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export { divergedStatus };

/** The cells grouped by (lr, momentum), in the order the groups first appear. */
export function seedGroups(cells: readonly CellResult[]): SeedGroup[] {
  const groups = new Map<string, CellResult[]>();
  for (const c of cells) {
    const key = `${c.lr}|${c.momentum ?? ""}`;
    const g = groups.get(key);
    if (g) g.push(c);
    else groups.set(key, [c]);
  }
  return [...groups.values()].map((g) => {
    const diverged = g.filter((c) => divergedStatus(c.status)).length;
    const finals = g
      .map((c) => c.finalLoss)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    return {
      lr: g[0]!.lr,
      ...(g[0]!.momentum !== undefined ? { momentum: g[0]!.momentum } : {}),
      seeds: g.length,
      diverged,
      fractionDiverged: diverged / g.length,
      finalLoss: finals.length
        ? { median: median(finals), min: finals[0]!, max: finals[finals.length - 1]! }
        : null,
    };
  });
}
