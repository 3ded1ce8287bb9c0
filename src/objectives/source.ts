import { type MlpData, type MlpSpec, mlpObjective } from "./mlp.js";
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
  | { readonly kind: "model"; readonly model: ModelName; readonly design: Design; readonly source: string }
  | { readonly kind: "mlp"; readonly spec: MlpSpec; readonly data: MlpData; readonly description: string };

export function objectiveFromSource(source: ObjectiveSource): Objective {
  switch (source.kind) {
    case "spec":
      return createObjective(source.spec);
    case "model":
      return modelObjective(source.model, source.design, source.source);
    case "mlp":
      return mlpObjective(source.spec, source.data, source.description);
  }
}
