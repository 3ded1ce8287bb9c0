import { plural } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { createRng, drawWithoutReplacement } from "../../core/rng.js";
import { hessianOperator } from "./hvp.js";
import { lanczos } from "./lanczos.js";

/**
 * λmax of the loss on sampled minibatches at one point: what a minibatch step of that size sees.
 * SGD on batches of size B steps by the batch's gradient, and a batch's Hessian H_B is noisier
 * than the full one (E[H_B] = H, but E[λmax(H_B)] ≥ λmax(H) by convexity of λmax), so the largest
 * stable step of a batch, 2/λmax(H_B), is often below the full-batch 2/λmax(H).
 */
export interface MinibatchCurvature {
  readonly batchSize: number;
  readonly batches: number;
  /** λmax of each sampled batch, ascending. */
  readonly lambdas: readonly number[];
  readonly mean: number;
  readonly sd: number;
  readonly quantiles: {
    readonly min: number;
    readonly q10: number;
    readonly median: number;
    readonly q90: number;
    readonly max: number;
  };
  readonly hvps: number;
  readonly seed: number;
}

/**
 * `batches` batches of `batchSize` distinct rows each (a partial Fisher–Yates shuffle per batch,
 * seeded), λmax of each by Lanczos to a 1e-8 relative residual.
 */
export function minibatchCurvature(
  objectiveOn: (rows: Int32Array) => Objective,
  rows: number,
  at: Float64Array,
  batchSize: number,
  options: { batches?: number; seed?: number } = {},
): MinibatchCurvature {
  const batches = options.batches ?? 32;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > rows)
    throw new Error(`invalid batch-size: ${batchSize} (a whole number from 1 to the ${plural(rows, "row")})`);
  if (!Number.isInteger(batches) || batches < 2)
    throw new Error(`invalid batches: ${batches} (a whole number ≥ 2)`);
  const rng = createRng(seed);
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  const lambdas: number[] = [];
  let hvps = 0;
  for (let b = 0; b < batches; b++) {
    const objective = objectiveOn(drawWithoutReplacement(order, batchSize, rng));
    const s = lanczos(hessianOperator(objective, at), { k: 1, bottom: false, tolerance: 1e-8 });
    hvps += s.hvps;
    lambdas.push(s.top[0]!.value);
  }
  lambdas.sort((a, b) => a - b);
  const mean = lambdas.reduce((a, b) => a + b, 0) / batches;
  const sd = Math.sqrt(lambdas.reduce((a, b) => a + (b - mean) ** 2, 0) / (batches - 1));
  const q = (p: number) => {
    const i = p * (batches - 1);
    const lo = Math.floor(i);
    return lambdas[lo]! + (lambdas[Math.min(lo + 1, batches - 1)]! - lambdas[lo]!) * (i - lo);
  };
  return {
    batchSize,
    batches,
    lambdas,
    mean,
    sd,
    quantiles: { min: lambdas[0]!, q10: q(0.1), median: q(0.5), q90: q(0.9), max: lambdas[batches - 1]! },
    hvps,
    seed,
  };
}
