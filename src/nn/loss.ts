import { plural } from "../core/format.js";
import { sigmoid } from "../core/special.js";
import { LOSSES, type Loss } from "./mlp/mlp.js";
import { logSumExp, rowLoss } from "./mlp/mlp-passes.js";
import { GraphError, shapeText, type Tensor, tensor } from "./tensor.js";

/**
 * The loss heads on a network's output y (rows × outputs, each row flattened), summed over the
 * block's rows and scaled by 1/N for the N rows of the whole batch — the MLP's losses, each row's
 * value by the MLP's own formula (rowLoss):
 *   mse: Σ_o (y − t)²      half-mse: ½Σ_o (y − t)²
 *   cross-entropy: Σ_o t_o·(logsumexp(y) − y_o) (t one-hot, or any distribution)
 *   bce: softplus(y) − t·y (one output, t ∈ [0, 1])
 * with the adjoint ȳ = ∂ℓ/∂y and its R-operator R{ȳ} = ∇²_y ℓ · R{y}.
 */
export const GRAPH_LOSSES = LOSSES;
export type GraphLoss = Loss;

export interface Head {
  /** Σ over the block's rows of the row loss, times scale. */
  readonly value: number;
  readonly adjoint: Tensor;
}

/** The targets, `width` numbers per row (one-hot for cross-entropy, as the MLP takes them). */
export interface Targets {
  readonly values: Float64Array;
  readonly width: number;
}

export function head(
  loss: GraphLoss,
  y: Tensor,
  targets: Targets,
  r0: number,
  scale: number,
  withAdjoint: boolean,
): Head {
  const rows = y.shape[0] ?? 1;
  const width = y.data.length / rows;
  const g = withAdjoint ? new Float64Array(y.data.length) : new Float64Array(0);
  const Y = y.data;
  const T = targets.values;
  let value = 0;
  if (targets.width !== width)
    throw new GraphError(
      `the targets have ${plural(targets.width, "value")} per row; the output ${shapeText(y.shape)} has ${width}`,
    );
  if (loss === "cross-entropy" && width < 2)
    throw new GraphError(
      `cross-entropy needs 2 or more outputs per row; the output is ${shapeText(y.shape)}`,
    );
  for (let r = 0; r < rows; r++) {
    const at = r * width;
    const t = (r0 + r) * width;
    value += rowLoss(loss, Y, at, T, t, width);
    if (!withAdjoint) continue;
    switch (loss) {
      case "mse":
      case "half-mse": {
        const c = loss === "mse" ? 2 : 1;
        for (let o = 0; o < width; o++) g[at + o] = c * (Y[at + o]! - T[t + o]!) * scale;
        break;
      }
      case "bce":
        for (let o = 0; o < width; o++) g[at + o] = (sigmoid(Y[at + o]!) - T[t + o]!) * scale;
        break;
      case "cross-entropy": {
        // ∂ℓ/∂y_o = (Σt)·p_o − t_o.
        const lse = logSumExp(Y, at, width);
        let mass = 0;
        for (let o = 0; o < width; o++) mass += T[t + o]!;
        for (let o = 0; o < width; o++) g[at + o] = (mass * Math.exp(Y[at + o]! - lse) - T[t + o]!) * scale;
        break;
      }
    }
  }
  return { value: value * scale, adjoint: tensor(y.shape, g) };
}

/** R{ȳ} = scale · ∇²_y ℓ · ẏ, row by row. */
export function headCurvature(
  loss: GraphLoss,
  y: Tensor,
  dy: Tensor,
  targets: Targets,
  r0: number,
  scale: number,
): Tensor {
  const rows = y.shape[0] ?? 1;
  const width = y.data.length / rows;
  const Y = y.data;
  const D = dy.data;
  const out = new Float64Array(Y.length);
  switch (loss) {
    case "mse":
    case "half-mse": {
      const c = loss === "mse" ? 2 : 1;
      for (let i = 0; i < Y.length; i++) out[i] = c * D[i]! * scale;
      break;
    }
    case "bce":
      for (let i = 0; i < Y.length; i++) {
        const s = sigmoid(Y[i]!);
        out[i] = s * (1 - s) * D[i]! * scale;
      }
      break;
    case "cross-entropy":
      // (Σt)·(diag p − p pᵀ)·ẏ for p = softmax(y).
      for (let r = 0; r < rows; r++) {
        const at = r * width;
        let mass = 0;
        for (let o = 0; o < width; o++) mass += targets.values[(r0 + r) * width + o]!;
        const lse = logSumExp(Y, at, width);
        let pd = 0;
        for (let o = 0; o < width; o++) pd += Math.exp(Y[at + o]! - lse) * D[at + o]!;
        for (let o = 0; o < width; o++)
          out[at + o] = mass * Math.exp(Y[at + o]! - lse) * (D[at + o]! - pd) * scale;
      }
      break;
  }
  return tensor(y.shape, out);
}
