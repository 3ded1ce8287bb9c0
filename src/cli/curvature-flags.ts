import { type MinibatchCurvature, minibatchCurvature } from "../analysis/curvature/minibatch.js";
import { objectiveBlocks } from "../analysis/curvature/spectrum.js";
import { measurementObjective, measurementRows } from "../analysis/training/train.js";
import type { Objective, RowData } from "../core/objective.js";
import { GraphError } from "../nn/tensor.js";
import type { ObjectiveSource } from "../objectives/source.js";
import type { FlagSpecs, ParsedFlags } from "./args.js";
import { CliError } from "./errors.js";
import { flagMessage } from "./flag-tables.js";
import { networkOf, rowsUsed, sampledRowsText, wholeFlag } from "./flags.js";
import { type DataNetwork, networkOnRows } from "./network.js";

/** The flags stability and spectrum share for a network's curvature: its layers and its minibatches. */
export const CURVATURE_FLAGS: FlagSpecs = {
  layers: {
    type: "boolean",
    help: "networks: each layer's Hessian block (λmax, trace, critical rate, share of λmax's eigenvector); on by default within a budget (their HVPs at most 1,050, or the command's own), --layers to measure them past it, --layers=false to skip",
  },
  threads: {
    type: "number",
    value: "N",
    help: "networks: split each pass's rows over N threads (this one and N − 1 workers; default 1)",
  },
  "batch-size": {
    type: "number",
    value: "B",
    help: "networks: also λmax on sampled minibatches of B rows (what a minibatch step sees)",
  },
  batches: { type: "number", value: "K", help: "with --batch-size: how many batches to sample (default 32)" },
  "curvature-rows": {
    type: "number",
    value: "N",
    help: "networks: measure on N training rows, a seeded sample drawn once (default: every training row)",
  },
};

/**
 * The objective the curvature is measured on, and its rows in words: the network's own (every
 * training row, in blocks, in bounded memory) or, with --curvature-rows N, a seeded sample of N.
 */
export function measuredObjective(
  flags: ParsedFlags,
  objective: Objective,
): { objective: Objective; rows: { rows: number; text: string } | null; data: RowData | null } {
  const wanted = wholeFlag(flags, "curvatureRows", 1, Number.POSITIVE_INFINITY);
  const network = networkOf(objective);
  if (wanted === undefined)
    return { objective, rows: rowsUsed(objective), data: network?.data.train ?? null };
  if (!network) throw new CliError("--curvature-rows applies to a network: add --data … --model mlp");
  const train = network.data.train;
  if (wanted >= train.rows) return { objective, rows: rowsUsed(objective), data: train };
  // train's runs are seeded seed + 3: the same sample as `train --curvature-rows N` measures on.
  const data = measurementRows(train, wanted, network.seed + 3);
  return {
    objective: measurementObjective(network.objective, train, data),
    data,
    rows: {
      rows: wanted,
      text: sampledRowsText(wanted, train.rows, network.seed),
    },
  };
}

/**
 * --threads N: the measured objective with its passes split by rows over this thread and N − 1
 * worker threads (nn/graph-threads.ts, nn/mlp/mlp-threads.ts: the same loss, gradient and H·v to
 * the rounding of one more sum); `close` ends the workers. Without the flag (or N = 1), the
 * objective itself.
 */
export async function threadedMeasured(
  flags: ParsedFlags,
  source: ObjectiveSource,
  measured: ReturnType<typeof measuredObjective>,
): Promise<{ objective: Objective; close: () => Promise<void> }> {
  const threads = wholeFlag(flags, "threads", 1, 64);
  const none = { objective: measured.objective, close: async () => {} };
  if (threads === undefined || threads === 1) return none;
  const data = measured.data;
  if ((source.kind !== "graph" && source.kind !== "mlp") || data === null)
    throw new CliError(
      "--threads splits a network's rows over threads: add --data … --model mlp, or --model-onnx",
    );
  // Loaded here: the worker threads' modules are not part of every command's start-up.
  if (source.kind === "mlp") {
    const { threadedMlp } = await import("../nn/mlp/mlp-threads.js");
    const t = await threadedMlp(source.spec, data, threads);
    return { objective: t, close: () => t.close() };
  }
  const { threadedGraph } = await import("../nn/graph-threads.js");
  try {
    const t = await threadedGraph(
      source.graph,
      {},
      data,
      {
        loss: source.loss,
        inputShape: source.inputShape,
        description: source.description,
        ...(source.statsRows === undefined ? {} : { statsRows: source.statsRows }),
      },
      threads,
    );
    return { objective: t, close: () => t.close() };
  } catch (e) {
    if (e instanceof GraphError)
      throw new CliError(
        `--threads ${threads}: ${e.message}; add --bn-batch B to take them over blocks of B rows, each whole in one thread`,
      );
    throw e;
  }
}

/**
 * --layers as given: true or false, or undefined for a network where the flag is absent (the
 * command's default: blocks.ts blocksByDefault); false for a function. Refused on a function.
 */
export function layersAsked(flags: ParsedFlags, objective: Objective): boolean | undefined {
  const layers = flags["layers"] as boolean | undefined;
  // An MLP's layers, or a graph network's parameter groups (its modules).
  const network = networkOf(objective) !== undefined || objectiveBlocks(objective) !== null;
  if (layers === true && !network)
    throw new CliError("--layers applies to a network: add --data … --model mlp");
  return network ? layers : false;
}

/** What --batch-size and --batches ask for, checked before any work; null without --batch-size. */
export interface MinibatchRequest {
  readonly network: DataNetwork;
  readonly batchSize: number;
  readonly batches: number | undefined;
}

export function minibatchRequest(flags: ParsedFlags, objective: Objective): MinibatchRequest | null {
  const batchSize = flags["batchSize"] as number | undefined;
  const batches = wholeFlag(flags, "batches", 2, 1_000_000);
  if (batchSize === undefined) {
    if (batches !== undefined)
      throw new CliError("--batches sets the minibatch curvature: add --batch-size B");
    return null;
  }
  const network = networkOf(objective);
  if (!network) throw new CliError("--batch-size applies to a network: add --data … --model mlp");
  const rows = network.data.train.rows;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > rows)
    throw new CliError(
      `invalid --batch-size: ${batchSize} (a whole number from 1 to the ${rows} training rows)`,
    );
  return { network, batchSize, batches };
}

/** λmax over the sampled minibatches asked for. */
export function minibatchFor(
  request: MinibatchRequest | null,
  at: Float64Array,
  seed: number,
): MinibatchCurvature | null {
  if (!request) return null;
  const { network, batchSize, batches } = request;
  try {
    return minibatchCurvature(networkOnRows(network), network.data.train.rows, at, batchSize, {
      ...(batches !== undefined ? { batches } : {}),
      seed,
    });
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
}
