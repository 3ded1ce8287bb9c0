import { GraphError, type Tensor } from "../tensor.js";
import type { GraphNode, Maybe } from "./types.js";

/** Integer lists an operator takes from an input (opset 13+) or, in older opsets, an attribute. */
export function intsFrom(node: GraphNode, input: Maybe | undefined, attr: string): number[] | null {
  if (input) {
    if (input.dtype !== "int")
      throw new GraphError(`${node.op} node "${node.name}": ${attr} must be an integer tensor`);
    return Array.from(input.data);
  }
  const v = node.attrs[attr];
  if (v === undefined) return null;
  if (typeof v === "number") return [v];
  if (Array.isArray(v)) return [...(v as number[])];
  throw new GraphError(`${node.op} node "${node.name}": attribute ${attr} is not a list of integers`);
}

export const intAttr = (node: GraphNode, name: string, fallback: number): number => {
  const v = node.attrs[name];
  return typeof v === "number" ? v : fallback;
};

export const floatAttr = intAttr;

export const tensorAttr = (node: GraphNode, name: string): Tensor | null => {
  const v = node.attrs[name];
  return v !== undefined && typeof v === "object" && "data" in v ? (v as Tensor) : null;
};
