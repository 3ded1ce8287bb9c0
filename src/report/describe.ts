import { plural } from "../core/format.js";
import type { Objective } from "../core/objective.js";

/** The objective in words, for the first line of every report. */
export function describeObjective(objective: Objective): string {
  const d = objective.description;
  if (d.kind === "expression") return `f(${objective.names.join(", ")}) = ${d.expression}`;
  const p = d.parameters ?? {};
  if ((d.name === "linear" || d.name === "logistic") && typeof p["data"] === "string") {
    const features = (p["features"] as string[]).join(", ");
    const kind =
      d.name === "linear"
        ? "linear regression (mean squared error)"
        : "logistic regression (mean cross-entropy)";
    const scaled = p["standardize"] ? ", standardized" : ", raw units";
    return `${kind} of ${String(p["target"])} on ${features} (${p["data"]}, ${String(p["rows"])} rows${scaled})`;
  }
  return d.name;
}

/** A point for a sentence: its coordinates when there are a few, its size when it is a network's weights. */
export function describePoint(x: ArrayLike<number>, format: (v: number) => string = String): string {
  if (x.length <= 6) return `(${Array.from(x, format).join(", ")})`;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return `a point of ${plural(x.length, "parameter")} with ‖x‖ = ${Number(Math.sqrt(s).toPrecision(4))}`;
}
