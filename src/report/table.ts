import { plural } from "../core/format.js";
import type { Objective } from "../core/objective.js";
import type { StepRecord, TraceSummary } from "../run/index.js";

/** A number in a table cell: 6 significant digits, exponent form when large or tiny. */
export function cell(v: number | undefined): string {
  if (v === undefined) return "";
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e7 || a < 1e-4) return v.toExponential(4);
  return String(Number(v.toPrecision(6)));
}

/**
 * The step records as an aligned text table: the first `head` and last `tail` rows, with a
 * "…" row for what is left out. Columns: step, x, f(x), ‖∇f‖, actual ΔC and its first- and
 * second-order predictions.
 */
export function traceTable(objective: Objective, trace: readonly StepRecord[], head = 6, tail = 4): string {
  return tableOf(
    objective,
    trace.length <= head + tail + 1 ? trace : [...trace.slice(0, head), null, ...trace.slice(-tail)],
  );
}

/** The same table from a run summarized as it went (its head and the tail of its ring). */
export function summaryTable(objective: Objective, summary: TraceSummary, head = 6, tail = 4): string {
  return tableOf(
    objective,
    summary.count <= head + tail + 1
      ? summary.tail(summary.count)
      : [...summary.head.slice(0, head), null, ...summary.tail(tail)],
  );
}

function tableOf(objective: Objective, shown: readonly (StepRecord | null)[]): string {
  // Beyond a handful of parameters (a network) the point is summarized by its norm.
  const wide = objective.dim > 6;
  const xName =
    objective.dim === 1
      ? objective.names[0]!
      : wide
        ? `‖x‖ (${plural(objective.dim, "parameter")})`
        : `(${objective.names.join(", ")})`;
  const header = ["step", xName, "f(x)", "‖∇f‖", "ΔC actual", "1st-order", "2nd-order"];
  const rows = shown.map((r) =>
    r === null
      ? ["…", "", "", "", "", "", ""]
      : [
          String(r.step),
          r.x.length === 1
            ? cell(r.x[0])
            : wide
              ? cell(Math.hypot(...r.x))
              : `(${Array.from(r.x, cell).join(", ")})`,
          cell(r.loss),
          cell(r.gradNorm),
          cell(r.deltaLoss),
          cell(r.firstOrder),
          cell(r.secondOrder),
        ],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]): string =>
    row.map((c, i) => (i === 0 ? c.padStart(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}
