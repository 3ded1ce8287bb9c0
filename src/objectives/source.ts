import { type ModelName, modelObjective } from "./models.js";
import { createObjective, type ObjectiveSpec } from "./registry.js";
import type { Design } from "./table.js";
import type { Objective } from "./types.js";

/**
 * How to build an objective, as plain data: what crosses to a worker thread (functions cannot),
 * so every worker compiles the same objective from the same description.
 */
export type ObjectiveSource =
  | { readonly kind: "spec"; readonly spec: ObjectiveSpec }
  | { readonly kind: "model"; readonly model: ModelName; readonly design: Design; readonly source: string };

export function objectiveFromSource(source: ObjectiveSource): Objective {
  return source.kind === "spec"
    ? createObjective(source.spec)
    : modelObjective(source.model, source.design, source.source);
}
