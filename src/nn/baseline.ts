import { plural } from "../core/format.js";
import type { TrivialBaseline } from "../core/objective.js";
import type { Loss } from "./mlp/mlp.js";
import { rowLoss } from "./mlp/mlp-passes.js";

/**
 * The trivial baseline of a loss on targets y (rows × outputs): the loss of the best prediction
 * that ignores the inputs, evaluated by the loss's own formula (rowLoss) and mean:
 *
 *   mse, half-mse      the output ȳ_o (the targets' mean): the mean of (y − ȳ)², ×½ for half-mse —
 *                      the targets' variance;
 *   cross-entropy      the logits log p_o (the class priors): −Σ p_o log p_o, the prior entropy;
 *   bce                the logits log(p_o/(1 − p_o)): the mean over outputs of the binary entropy
 *                      of each output's positive rate.
 *
 * Each is the minimum over constant predictions (for cross-entropy and bce the minimum of a convex
 * function of the constant logits, reached where its gradient p − ȳ vanishes), so a network that
 * ends near it has learned nothing from its inputs.
 */
export function trivialBaseline(loss: Loss, y: Float64Array, rows: number, outputs: number): TrivialBaseline {
  if (rows < 1 || y.length !== rows * outputs)
    throw new Error(`invalid targets: ${plural(y.length, "value")} for ${plural(rows, "row")} × ${outputs}`);
  const mean = new Float64Array(outputs);
  for (let r = 0; r < rows; r++) for (let o = 0; o < outputs; o++) mean[o]! += y[r * outputs + o]!;
  for (let o = 0; o < outputs; o++) mean[o]! /= rows;
  const h = new Float64Array(outputs);
  // A class or label rate of exactly 0 or 1 is the limit of logits going to ∓∞; ±700 stays finite
  // in exp and gives that limit's loss to double precision.
  const logit = (p: number) => (p <= 0 ? -700 : p >= 1 ? 700 : Math.log(p / (1 - p)));
  for (let o = 0; o < outputs; o++) {
    const p = mean[o]!;
    h[o] = loss === "cross-entropy" ? (p > 0 ? Math.log(p) : -700) : loss === "bce" ? logit(p) : p;
  }
  let sum = 0;
  for (let r = 0; r < rows; r++) sum += rowLoss(loss, h, 0, y, r * outputs, outputs);
  const count = loss === "cross-entropy" ? rows : rows * outputs;
  const description =
    loss === "cross-entropy"
      ? "the class-prior entropy: predicting each class's frequency"
      : loss === "bce"
        ? "predicting each label's frequency"
        : outputs === 1
          ? "the targets' variance: predicting their mean"
          : "the targets' variance: predicting each output's mean";
  const majority = majorityAccuracy(loss, y, rows, outputs, mean);
  return { loss: sum / count, description, ...(majority !== null ? { accuracy: majority } : {}) };
}

/**
 * The accuracy of always predicting the most frequent class, where the network's accuracy is
 * defined (mlp.ts evaluate): one-hot targets (cross-entropy, or mse on one-hot labels), and a
 * single 0/1 output under bce; null otherwise.
 */
function majorityAccuracy(
  loss: Loss,
  y: Float64Array,
  rows: number,
  outputs: number,
  mean: Float64Array,
): number | null {
  if (outputs === 1) return loss === "bce" ? Math.max(mean[0]!, 1 - mean[0]!) : null;
  for (let r = 0; r < rows; r++) {
    let ones = 0;
    for (let o = 0; o < outputs; o++) {
      const v = y[r * outputs + o]!;
      if (v === 1) ones++;
      else if (v !== 0) return null;
    }
    if (ones !== 1) return null;
  }
  return Math.max(...mean);
}
