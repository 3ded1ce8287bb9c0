import { sigmoid } from "../core/special.js";
import { GraphError, shapeText, type Tensor, tensor } from "./tensor.js";

/**
 * The loss heads on a network's output y (rows × outputs, each row flattened), summed over the
 * block's rows and scaled by 1/N for the N rows of the whole batch (the MLP's conventions):
 *   mse: Σ_o (y − t)²      half-mse: ½Σ_o (y − t)²
 *   cross-entropy: Σ_o t_o·(logsumexp(y) − y_o) (t one-hot, or any distribution)
 *   bce: softplus(y) − t·y (one output, t ∈ [0, 1])
 * with the adjoint ȳ = ∂ℓ/∂y and its R-operator R{ȳ} = ∇²_y ℓ · R{y}.
 */
export const GRAPH_LOSSES = ["mse", "half-mse", "cross-entropy", "bce"] as const;
export type GraphLoss = (typeof GRAPH_LOSSES)[number];

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
      `the targets have ${targets.width} values per row; the output ${shapeText(y.shape)} has ${width}`,
    );
  if (loss === "cross-entropy") {
    if (width < 2)
      throw new GraphError(
        `cross-entropy needs 2 or more outputs per row; the output is ${shapeText(y.shape)}`,
      );
    for (let r = 0; r < rows; r++) {
      const at = r * width;
      const t = (r0 + r) * width;
      let m = Number.NEGATIVE_INFINITY;
      for (let o = 0; o < width; o++) m = Math.max(m, Y[at + o]!);
      let z = 0;
      for (let o = 0; o < width; o++) z += Math.exp(Y[at + o]! - m);
      const lse = m + Math.log(z);
      let mass = 0;
      for (let o = 0; o < width; o++) {
        const to = T[t + o]!;
        mass += to;
        if (to !== 0) value += to * (lse - Y[at + o]!);
      }
      // ∂ℓ/∂y_o = (Σt)·p_o − t_o.
      if (withAdjoint)
        for (let o = 0; o < width; o++) g[at + o] = (mass * Math.exp(Y[at + o]! - lse) - T[t + o]!) * scale;
    }
  } else {
    for (let i = 0; i < Y.length; i++) {
      const z = Y[i]!;
      const t = T[r0 * width + i]!;
      switch (loss) {
        case "mse":
        case "half-mse": {
          const c = loss === "mse" ? 1 : 0.5;
          value += c * (z - t) * (z - t);
          if (withAdjoint) g[i] = 2 * c * (z - t) * scale;
          break;
        }
        case "bce":
          // softplus(z) − t·z, computed without overflow.
          value += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - t * z;
          if (withAdjoint) g[i] = (sigmoid(z) - t) * scale;
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
        let m = Number.NEGATIVE_INFINITY;
        for (let o = 0; o < width; o++) m = Math.max(m, Y[at + o]!);
        let z = 0;
        for (let o = 0; o < width; o++) z += Math.exp(Y[at + o]! - m);
        let pd = 0;
        for (let o = 0; o < width; o++) pd += (Math.exp(Y[at + o]! - m) / z) * D[at + o]!;
        for (let o = 0; o < width; o++)
          out[at + o] = mass * (Math.exp(Y[at + o]! - m) / z) * (D[at + o]! - pd) * scale;
      }
      break;
  }
  return tensor(y.shape, out);
}
