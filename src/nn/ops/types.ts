import type { Tensor } from "../tensor.js";

/** An ONNX attribute's value as the engine keeps it: ints and floats as numbers, tensors decoded. */
export type AttrValue = number | readonly number[] | string | Tensor;
export type Attrs = Readonly<Record<string, AttrValue>>;

/** One operator application, ONNX's NodeProto in plain data. */
export interface GraphNode {
  readonly op: string;
  readonly name: string;
  /** Value names; "" for an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Attrs;
}

/** What an operator sees while it runs: its node, and scratch its forward pass leaves for the derivatives. */
export interface OpContext {
  readonly node: GraphNode;
  /** The model's opset (ai.onnx), where an operator's meaning changed between versions. */
  readonly opset: number;
  /** Scratch of this pass (values the derivatives reuse: max-pool's choice …). */
  readonly cache: Map<string, unknown>;
  /**
   * What depends only on the inputs' shapes (and small integer inputs such as axes): broadcast
   * indices, convolution and reduction plans. Kept across passes while those stay the same, so a
   * training loop plans each node once.
   */
  readonly plans: Map<string, unknown>;
}

export type Maybe = Tensor | null;

/** What an operator's derivatives read (Op.reads), for every input and every output alike. */
export interface OpReads {
  readonly x: boolean;
  readonly dx: boolean;
  readonly y: boolean;
  readonly dy: boolean;
}

/** Shapes only: a map that moves or adds elements (reshapes, slices, sums, Add). */
export const READS_NOTHING: OpReads = { x: false, dx: false, y: false, dy: false };
/** The inputs and their tangents, not the outputs (convolutions, products, GELU). */
export const READS_INPUTS: OpReads = { x: true, dx: true, y: false, dy: false };

/**
 * An operator: its forward pass, its R-operator (forward-mode derivative, Pearlmutter 1994), its
 * vector–Jacobian product, and the R-operator of that product. With x the inputs, ẋ their
 * tangents (R{x}), y = F(x), ȳ the adjoints of the outputs and R{ȳ} their tangents:
 *
 *   jvp:  R{y} = J(x)·ẋ
 *   vjp:  x̄ = J(x)ᵀ·ȳ
 *   rvjp: R{x̄} = J(x)ᵀ·R{ȳ} + (∂/∂x (J(x)ᵀ·ȳ))·ẋ
 *
 * so the gradient of any composition is the chain of vjps and its Hessian-vector product the chain
 * of rvjps, both exact. A null tangent or adjoint is zero; `need[i]` says which inputs want an
 * adjoint (float inputs that depend on the parameters); an op returns null for the others.
 */
export interface Op {
  /**
   * Which arrays vjp and rvjp read the contents of, where not all: the inputs' values (x) and
   * tangents (dx), the outputs' (y, dy). The forward pass gives back the arrays no later operator
   * reads (graph.ts), and the reverse pass then hands this operator their tensors with the shapes
   * and lengths right and the contents gone. Absent: all of them.
   */
  readonly reads?: OpReads;
  forward(c: OpContext, x: readonly Maybe[]): Tensor[];
  jvp(c: OpContext, x: readonly Maybe[], dx: readonly Maybe[], y: readonly Tensor[]): Maybe[];
  vjp(
    c: OpContext,
    x: readonly Maybe[],
    y: readonly Tensor[],
    gy: readonly Maybe[],
    need: readonly boolean[],
  ): Maybe[];
  rvjp(
    c: OpContext,
    x: readonly Maybe[],
    dx: readonly Maybe[],
    y: readonly Tensor[],
    dy: readonly Maybe[],
    gy: readonly Maybe[],
    dgy: readonly Maybe[],
    need: readonly boolean[],
  ): Maybe[];
}

/**
 * An operator written as a sub-graph of primitives (BatchNormalization, LayerNormalization, Gemm):
 * its derivatives are then the primitives', exact by construction. `fresh(tag)` names an
 * intermediate value uniquely; `constant` adds a constant tensor.
 */
export interface Expansion {
  expand(
    node: GraphNode,
    fresh: (tag: string) => string,
    constant: (name: string, t: Tensor) => void,
  ): GraphNode[];
}
