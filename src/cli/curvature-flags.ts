import { type MinibatchCurvature, minibatchCurvature } from "../analysis/curvature/minibatch.js";
import { objectiveBlocks } from "../analysis/curvature/spectrum.js";
import { measurementObjective } from "../analysis/training/train.js";
import type { Objective } from "../core/objective.js";
import type { FlagSpecs, ParsedFlags } from "./args.js";
import { CliError } from "./errors.js";
import { flagMessage } from "./flag-tables.js";
import { networkOf, rowsUsed, sampledRowsText, wholeFlag } from "./flags.js";
import { type DataNetwork, networkOnRows } from "./network.js";

/** The flags stability and spectrum share for a network's curvature: its layers and its minibatches. */
export const CURVATURE_FLAGS: FlagSpecs = {
  layers: {
    type: "boolean",
    help: "networks: each layer's Hessian block (λmax, trace, critical rate, share of λmax's eigenvector); on by default (spectrum: when they would at most double its HVPs), --layers=false to skip",
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
): { objective: Objective; rows: { rows: number; text: string } | null } {
  const wanted = wholeFlag(flags, "curvatureRows", 1, Number.POSITIVE_INFINITY);
  if (wanted === undefined) return { objective, rows: rowsUsed(objective) };
  const network = networkOf(objective);
  if (!network) throw new CliError("--curvature-rows applies to a network: add --data … --model mlp");
  const train = network.data.train;
  if (wanted >= train.rows) return { objective, rows: rowsUsed(objective) };
  return {
    // train's runs are seeded seed + 3: the same sample as `train --curvature-rows N` measures on.
    objective: measurementObjective(network.objective, train, wanted, network.seed + 3),
    rows: {
      rows: wanted,
      text: sampledRowsText(wanted, train.rows, network.seed),
    },
  };
}

/** Per-layer blocks unless --layers=false; refused for objectives without layers. */
export function layersWanted(flags: ParsedFlags, objective: Objective): boolean {
  return layersAsked(flags, objective) ?? true;
}

/** --layers as given: true or false, or undefined for a network where the flag is absent (the command's default); false for a function. */
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
