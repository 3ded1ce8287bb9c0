import { batchNormExpansion, geluExpansion, gemmExpansion, layerNormExpansion } from "./composite.js";
import { conv } from "./conv.js";
import { BINARY, identity, UNARY } from "./elementwise.js";
import { erfGeluOp, normalizeOp } from "./fused.js";
import { matmul } from "./matmul.js";
import { averagePool, globalAveragePool, maxPool } from "./pool.js";
import { reduceMean, reduceSum } from "./reduce.js";
import {
  cast,
  channel,
  concat,
  constant,
  constantOfShape,
  equal,
  expand,
  flatten,
  gatherOp,
  pad,
  range,
  reshape,
  shapeOp,
  slice,
  split,
  squeeze,
  transpose,
  unsqueeze,
  whereOp,
} from "./shape.js";
import { softmax } from "./softmax.js";
import type { Expansion, Op } from "./types.js";

export type { Attrs, AttrValue, Expansion, GraphNode, Maybe, Op, OpContext } from "./types.js";

/** Every primitive the engine runs, by ONNX operator name (engine-only ones prefixed "overshoot."). */
export const PRIMITIVES: ReadonlyMap<string, Op> = new Map<string, Op>([
  ...Object.entries(UNARY),
  ...Object.entries(BINARY),
  ["Identity", identity],
  ["Dropout", identity],
  ["MatMul", matmul],
  ["Conv", conv],
  ["MaxPool", maxPool],
  ["AveragePool", averagePool],
  ["GlobalAveragePool", globalAveragePool],
  ["ReduceMean", reduceMean],
  ["ReduceSum", reduceSum],
  ["Softmax", softmax],
  ["Reshape", reshape],
  ["Flatten", flatten],
  ["Squeeze", squeeze],
  ["Unsqueeze", unsqueeze],
  ["Transpose", transpose],
  ["Slice", slice],
  ["Gather", gatherOp],
  ["Expand", expand],
  ["Pad", pad],
  ["Concat", concat],
  ["Split", split],
  ["Where", whereOp],
  ["Cast", cast],
  ["Shape", shapeOp],
  ["Constant", constant],
  ["ConstantOfShape", constantOfShape],
  ["Range", range],
  ["Equal", equal],
  ["overshoot.Channel", channel],
  ["overshoot.Normalize", normalizeOp],
  ["overshoot.ErfGelu", erfGeluOp],
  ["overshoot.MatMulBias", matmul],
]);

/** How BatchNormalization takes its statistics: as the file says, or forced. */
export type BatchNormMode = "train" | "eval" | "as-exported";

/** Operators rewritten into primitives when the graph is built. */
export function expansions(batchNorm: BatchNormMode): ReadonlyMap<string, Expansion> {
  return new Map<string, Expansion>([
    ["Gemm", gemmExpansion],
    ["BatchNormalization", batchNormExpansion(batchNorm)],
    ["LayerNormalization", layerNormExpansion],
    ["Gelu", geluExpansion],
  ]);
}
