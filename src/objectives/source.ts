import type { Objective } from "../core/objective.js";
import { Graph, type GraphSpec } from "../nn/graph.js";
import type { GraphLoss } from "../nn/loss.js";
import { type MlpData, type MlpSpec, mlpObjective } from "../nn/mlp/mlp.js";
import { graphObjective } from "../nn/objective.js";
import { type ModelName, modelObjective } from "./models.js";
import { createObjectiveWith, isBuiltinName, type ObjectiveSpec } from "./spec.js";
import type { Design } from "./table.js";

/**
 * How to build an objective, as plain data: what crosses to a worker thread (functions cannot),
 * so every worker compiles the same objective from the same description.
 */
export type ObjectiveSource =
  | { readonly kind: "spec"; readonly spec: ObjectiveSpec }
  | { readonly kind: "model"; readonly model: ModelName; readonly design: Design; readonly source: string }
  | { readonly kind: "mlp"; readonly spec: MlpSpec; readonly data: MlpData; readonly description: string }
  | {
      readonly kind: "graph";
      /** The network as a graph (nn/graph.ts), plain data that crosses to a worker thread. */
      readonly graph: GraphSpec;
      readonly inputShape: readonly number[];
      readonly loss: GraphLoss;
      readonly data: MlpData;
      readonly description: string;
      /** Rows per block of BatchNorm statistics (nn/objective.ts statsRows); all rows without it. */
      readonly statsRows?: number;
    };

/** An expression compiler (compileExpression), passed in so this module does not load mathjs. */
export type Compile = (text: string, options?: { vars: readonly string[] }) => Objective;

/** Whether building this source needs the expression compiler. */
export function needsCompiler(source: ObjectiveSource): boolean {
  return source.kind === "spec" && !isBuiltinName(source.spec.f);
}

export function objectiveFromSource(source: ObjectiveSource, compile?: Compile): Objective {
  switch (source.kind) {
    case "spec":
      return createObjectiveWith(source.spec, (text, options) => {
        if (!compile)
          throw new Error("objectiveFromSource: an expression needs the compiler (pass compileExpression)");
        return compile(text, options);
      });
    case "model":
      return modelObjective(source.model, source.design, source.source);
    case "mlp":
      return mlpObjective(source.spec, source.data, source.description);
    case "graph": {
      return graphObjective(new Graph(source.graph), source.data, {
        loss: source.loss,
        inputShape: source.inputShape,
        description: source.description,
        ...(source.statsRows === undefined ? {} : { statsRows: source.statsRows }),
      });
    }
  }
}
