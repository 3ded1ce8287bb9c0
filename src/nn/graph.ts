import { floats, release } from "./arena.js";
import { fuseChains } from "./fuse.js";
import {
  type BatchNormMode,
  expansions,
  type GraphNode,
  type Maybe,
  type OpContext,
  PRIMITIVES,
} from "./ops/index.js";
import { GraphError, size, type Tensor, tensor } from "./tensor.js";

/**
 * A network as a graph of tensor operators (ONNX's semantics), run in float64 with exact
 * derivatives: a forward pass that can carry tangents (the R-operator along a direction v in
 * parameter space), and a reverse pass that carries adjoints and, with tangents, their R-operator,
 * so one forward and one backward pass give the loss, the gradient and the Hessian-vector product
 * H·v of any composition (Pearlmutter 1994: Hv = R_v{∇f}).
 *
 * The parameters are the trainable initializers, laid end to end in one vector θ in the order the
 * file lists them; every other initializer is a constant.
 */
export interface InitializerSpec {
  readonly name: string;
  readonly dims: readonly number[];
  /** "float32", "float64" (widened or kept as float64), "int64", "int32", "bool" … */
  readonly dtype: string;
  readonly values: ArrayLike<number>;
  /** A parameter (default) or a constant (running statistics, shapes). */
  readonly trainable?: boolean;
}

export interface GraphSpec {
  /** The graph's data inputs (initializers excluded); dims may be symbolic (strings). */
  readonly inputs: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[];
  /** The graph's outputs (dims as declared, when the file declares them). */
  readonly outputs: readonly { readonly name: string; readonly shape?: readonly (number | string)[] }[];
  readonly initializers: readonly InitializerSpec[];
  readonly nodes: readonly GraphNode[];
  readonly opset: number;
}

export interface GraphOptions {
  readonly batchNorm?: BatchNormMode;
  /**
   * Replace the chains an exporter writes for a LayerNorm or a GELU by one operator each
   * (fuse.ts; default true). Off, the graph runs exactly the file's primitives.
   */
  readonly fuse?: boolean;
}

/** One parameter tensor's place in θ. */
export interface Parameter {
  readonly name: string;
  /** The module it belongs to (conv1, blocks.0.ln …): its layer for per-layer output. */
  readonly module: string;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly size: number;
}

/** What a forward pass leaves for the reverse pass. */
export interface Pass {
  readonly values: Map<string, Tensor>;
  /** R{value} along the direction, for values that depend on the parameters; null without a direction. */
  readonly tangents: Map<string, Tensor> | null;
  readonly contexts: readonly OpContext[];
  /**
   * Values and tangents whose arrays went back to the arena during the forward pass (no derivative
   * reads their contents): their tensors, for the shapes the reverse pass still reads.
   */
  readonly gone: Map<string, Tensor>;
  readonly goneTangents: Map<string, Tensor>;
}

const RECURRENT = new Set(["LSTM", "GRU", "RNN"]);

/**
 * tf2onnx's module paths without the wrapper every one of them shares: "StatefulPartitionedCall"
 * and the Keras model's name ("sequential", "model"), leaving the layers' names (conv2d, dense_1);
 * any other naming is kept as it is.
 */
function withoutTfWrapper(modules: readonly string[]): string[] {
  const parts = modules.map((m) => m.split("."));
  if (parts.length === 0 || !parts.every((p) => p[0] === "StatefulPartitionedCall" && p.length > 1))
    return [...modules];
  const model = parts[0]![1];
  const k = parts.every((p) => p.length > 2 && p[1] === model) ? 2 : 1;
  return parts.map((p) => p.slice(k).join("."));
}

/**
 * The spec with every BatchNormalization node's mode set (its training_mode attribute: 1 takes
 * the statistics of the rows measured, as model.train(); 0 its running statistics, as
 * model.eval()), so the mode travels with the spec (to a sweep's worker threads).
 */
export function withBatchNormMode(spec: GraphSpec, mode: "train" | "eval"): GraphSpec {
  return {
    ...spec,
    nodes: spec.nodes.map((n) =>
      n.op === "BatchNormalization"
        ? { ...n, attrs: { ...n.attrs, training_mode: mode === "train" ? 1 : 0 } }
        : n,
    ),
  };
}

const FLOAT_TYPES = new Set(["float32", "float64", "float16", "bfloat16", "float", "double"]);

export class Graph {
  readonly parameters: readonly Parameter[];
  readonly dim: number;
  /** The data input's name and its declared shape after the batch axis. */
  readonly input: string;
  readonly output: string;
  /** True when an operator takes statistics over the rows (BatchNormalization in training mode). */
  readonly couplesRows: boolean;
  readonly opset: number;
  private readonly nodes: readonly GraphNode[];
  private readonly constants: Map<string, Tensor>;
  /** Values that depend on the parameters. */
  private readonly varying: Set<string>;
  /** For every value, the name of the first node of the file that reads it. */
  private readonly readers = new Map<string, string>();
  /** Each node's plans by the input key they were made for (plansFor). */
  private readonly plans = new Map<GraphNode, Map<string, Map<string, unknown>>>();
  /** After each node, the values and tangents the forward pass gives back (freedAfter). */
  private readonly freed: readonly { readonly values: string[]; readonly tangents: string[] }[];

  constructor(spec: GraphSpec, options: GraphOptions = {}) {
    this.opset = spec.opset;
    if (spec.inputs.length !== 1)
      throw new GraphError(
        `the graph has ${spec.inputs.length} data inputs; one (the batch of rows) is supported`,
      );
    if (spec.outputs.length < 1) throw new GraphError("the graph has no output");
    this.input = spec.inputs[0]!.name;
    this.output = spec.outputs[0]!.name;
    const constants = new Map<string, Tensor>();
    for (const n of spec.nodes)
      for (const i of n.inputs) if (!this.readers.has(i)) this.readers.set(i, n.name);
    // The parameters laid out module by module (a layer's weight and bias side by side, whatever
    // order the file lists them in), so each layer is one contiguous block of θ.
    const trainable = spec.initializers.filter((i) => FLOAT_TYPES.has(i.dtype) && i.trainable !== false);
    const modules = withoutTfWrapper(trainable.map((i) => this.moduleOf(i.name)));
    const first = new Map<string, number>();
    modules.forEach((m, k) => {
      if (!first.has(m)) first.set(m, k);
    });
    const sequence = trainable
      .map((_i, k) => k)
      .sort((a, b) => first.get(modules[a]!)! - first.get(modules[b]!)! || a - b);
    const parameters: Parameter[] = [];
    let offset = 0;
    for (const k of sequence) {
      const init = trainable[k]!;
      const n = size(init.dims);
      parameters.push({ name: init.name, module: modules[k]!, shape: init.dims, offset, size: n });
      offset += n;
    }
    for (const init of spec.initializers)
      if (!(FLOAT_TYPES.has(init.dtype) && init.trainable !== false)) {
        const float = FLOAT_TYPES.has(init.dtype);
        constants.set(init.name, tensor(init.dims, Float64Array.from(init.values), float ? "float" : "int"));
      }
    this.parameters = parameters;
    this.dim = offset;
    this.constants = constants;

    // Composite operators become primitives; then every node is checked and put in dependency order.
    const rewrite = expansions(options.batchNorm ?? "as-exported");
    let counter = 0;
    const expanded: GraphNode[] = [];
    let couples = false;
    for (const n of spec.nodes) {
      const e = rewrite.get(n.op);
      if (!e) {
        expanded.push(n);
        continue;
      }
      const parts = e.expand(
        n,
        (tag) => `overshoot/${n.name}/${tag}/${counter++}`,
        (name, t) => constants.set(name, t),
      );
      if (parts.some((p) => p.attrs.overshoot_all_but !== undefined)) couples = true;
      expanded.push(...parts);
    }
    this.couplesRows = couples;
    const vectors = new Set(
      spec.initializers.filter((i) => FLOAT_TYPES.has(i.dtype) && i.dims.length === 1).map((i) => i.name),
    );
    const constantNodes = new Map(expanded.filter((n) => n.op === "Constant").map((n) => [n.outputs[0]!, n]));
    const fused =
      options.fuse === false
        ? expanded
        : fuseChains(
            expanded,
            (name) => constants.get(name) ?? constantOf(constantNodes.get(name), this.opset),
            new Set(spec.outputs.map((o) => o.name)),
            (name) => vectors.has(name),
          );
    for (const n of fused)
      if (!PRIMITIVES.has(n.op))
        throw new GraphError(
          `unsupported operator ${n.op} (node "${n.name}")${RECURRENT.has(n.op) ? ": recurrent layers are out of scope (export the feed-forward part, or measure it with a framework that unrolls it)" : ""}`,
        );
    this.nodes = order(fused, new Set([this.input, ...parameters.map((p) => p.name), ...constants.keys()]));

    const varying = new Set(parameters.map((p) => p.name));
    for (const n of this.nodes)
      if (n.op !== "Shape" && n.inputs.some((i) => varying.has(i))) for (const o of n.outputs) varying.add(o);
    this.varying = varying;
    this.freed = freedAfter(this.nodes, this.output);
    if (!this.nodes.some((n) => n.outputs.includes(this.output)))
      throw new GraphError(`the graph's output "${this.output}" is not computed by any node`);
  }

  /** The operators the graph runs, in order (after expansion and fusion). */
  get operators(): readonly string[] {
    return this.nodes.map((n) => n.op);
  }

  /**
   * The module a parameter belongs to: "conv1.weight" and "conv1.bias" to "conv1"; a TensorFlow
   * name (tf2onnx: "StatefulPartitionedCall/sequential/dense/MatMul/ReadVariableOp:0") to the path
   * of the node that reads it, "…sequential.dense" (the constructor then drops what every module
   * shares, leaving Keras's layer names); an initializer
   * the exporter renamed ("onnx::MatMul_109", a transposed Linear weight) to the module of the node
   * that reads it ("/q/MatMul" → "q").
   */
  moduleOf(name: string): string {
    if (name.includes(".")) return name.slice(0, name.lastIndexOf("."));
    const path = this.readers.get(name)?.replace(/^\//, "").split("/") ?? [];
    return path.length > 1 ? path.slice(0, -1).join(".") : name;
  }

  /**
   * The forward pass over a block of rows, with tangents along `direction` (a vector like θ) when
   * given: R{x} for every value that depends on the parameters.
   */
  run(theta: Float64Array, input: Tensor, direction: Float64Array | null): Pass {
    const values = new Map<string, Tensor>(this.constants);
    values.set(this.input, input);
    const tangents = direction ? new Map<string, Tensor>() : null;
    for (const p of this.parameters) {
      values.set(p.name, tensor(p.shape, theta.subarray(p.offset, p.offset + p.size)));
      tangents?.set(p.name, tensor(p.shape, direction!.subarray(p.offset, p.offset + p.size)));
    }
    const contexts: OpContext[] = [];
    const gone = new Map<string, Tensor>();
    const goneTangents = new Map<string, Tensor>();
    for (const [k, node] of this.nodes.entries()) {
      const op = PRIMITIVES.get(node.op)!;
      const x = node.inputs.map((i) => (i === "" ? null : (values.get(i) ?? missing(node, i))));
      const c: OpContext = { node, opset: this.opset, cache: new Map(), plans: this.plansFor(node, x) };
      contexts.push(c);
      const y = op.forward(c, x);
      node.outputs.forEach((o, j) => {
        if (o !== "" && y[j]) values.set(o, y[j]!);
      });
      if (tangents && node.outputs.some((o) => this.varying.has(o))) {
        const dx = node.inputs.map((i) => tangents.get(i) ?? null);
        if (dx.some((t) => t)) {
          const dy = op.jvp(c, x, dx, y);
          node.outputs.forEach((o, j) => {
            if (o !== "" && dy[j] && y[j]!.dtype === "float") tangents.set(o, dy[j]!);
          });
        }
      }
      const free = this.freed[k]!;
      if (free.values.length > 0 || free.tangents.length > 0) {
        const buffers: ArrayBufferLike[] = [];
        const move = (
          names: readonly string[],
          from: Map<string, Tensor> | null,
          to: Map<string, Tensor>,
        ) => {
          for (const name of names) {
            const t = from?.get(name);
            if (!t) continue;
            from!.delete(name);
            to.set(name, t);
            buffers.push(t.data.buffer);
          }
        };
        move(free.values, values, gone);
        move(free.tangents, tangents, goneTangents);
        // A buffer another live value or tangent still shares (a view: Identity, Reshape) stays.
        const held = new Set<ArrayBufferLike>();
        for (const m of [values, tangents]) if (m) for (const t of m.values()) held.add(t.data.buffer);
        for (const b of buffers) if (!held.has(b)) release(b);
      }
    }
    return { values, tangents, contexts, gone, goneTangents };
  }

  /** A node's shape-only plans for these inputs' shapes (and small integer inputs), made once. */
  private plansFor(node: GraphNode, x: readonly Maybe[]): Map<string, unknown> {
    const key = x
      .map((t) =>
        !t
          ? "-"
          : `${t.shape.join("x")}${t.dtype === "int" && t.data.length <= 64 ? `=${Array.from(t.data).join(",")}` : ""}`,
      )
      .join(";");
    const kept = this.plans.get(node) ?? new Map<string, Map<string, unknown>>();
    this.plans.set(node, kept);
    const plans = kept.get(key) ?? new Map<string, unknown>();
    if (!kept.has(key)) {
      // A few shapes per node (full blocks, the last block, a minibatch); more means the rows vary.
      if (kept.size >= 4) kept.clear();
      kept.set(key, plans);
    }
    return plans;
  }

  /**
   * The reverse pass from the adjoint of the output (and its R-operator, for H·v): adds ∂ℓ/∂θ to
   * `gradient` and R{∂ℓ/∂θ} = H·v to `hv` where given. It consumes the pass: once the operator
   * that makes a value is done, nothing reads that value, its tangent or their adjoints again, so
   * their entries leave the pass and each array no entry still holds goes back to the arena for
   * the rest of the pass (arena.ts `release`).
   */
  backward(
    pass: Pass,
    seed: Tensor,
    seedTangent: Tensor | null,
    gradient: Float64Array | null,
    hv: Float64Array | null,
  ): void {
    const adjoints = new Accumulator();
    const rAdjoints = new Accumulator();
    const maps = [pass.values, pass.tangents, adjoints.sums, rAdjoints.sums] as const;
    // Arrays given up: back to the arena unless an entry still holds their buffer (one operator's
    // output may be another's view of it, one adjoint may feed two values).
    const unused = (buffers: readonly ArrayBufferLike[]): void => {
      const held = new Set<ArrayBufferLike>();
      for (const m of maps) if (m) for (const t of m.values()) held.add(t.data.buffer);
      for (const b of buffers) if (!held.has(b)) release(b);
    };
    // Tensors the sums stopped holding during a step: checked once the step has added all it adds.
    const dropped: ArrayBufferLike[] = [];
    adjoints.onDropped = rAdjoints.onDropped = (t) => dropped.push(t.data.buffer);
    adjoints.add(this.output, seed);
    if (seedTangent) rAdjoints.add(this.output, seedTangent);
    const withR = hv !== null && pass.tangents !== null;
    for (let k = this.nodes.length - 1; k >= 0; k--) {
      const node = this.nodes[k]!;
      this.reverseStep(pass, k, adjoints, rAdjoints, withR);
      for (const o of node.outputs) {
        if (o === "" || o === this.output) continue;
        for (const m of maps) {
          const t = m?.get(o);
          if (t) dropped.push(t.data.buffer);
          m?.delete(o);
        }
      }
      unused(dropped);
      dropped.length = 0;
    }
    for (const p of this.parameters) {
      const g = adjoints.get(p.name);
      if (gradient && g) for (let i = 0; i < p.size; i++) gradient[p.offset + i]! += g.data[i]!;
      const r = rAdjoints.get(p.name);
      if (hv && r) for (let i = 0; i < p.size; i++) hv[p.offset + i]! += r.data[i]!;
    }
  }

  /** Node k's vector–Jacobian product (and its R-operator) into its inputs' adjoints. */
  private reverseStep(
    pass: Pass,
    k: number,
    adjoints: Accumulator,
    rAdjoints: Accumulator,
    withR: boolean,
  ): void {
    const node = this.nodes[k]!;
    const gy = node.outputs.map((o) => adjoints.get(o));
    const dgy = withR ? node.outputs.map((o) => rAdjoints.get(o)) : [];
    if (!gy.some((t) => t) && !dgy.some((t) => t)) return;
    const value = (name: string): Tensor | undefined => pass.values.get(name) ?? pass.gone.get(name);
    const need = node.inputs.map((i) => i !== "" && this.varying.has(i) && value(i)!.dtype === "float");
    if (!need.some(Boolean)) return;
    const op = PRIMITIVES.get(node.op)!;
    const c = pass.contexts[k]!;
    const x = node.inputs.map((i) => (i === "" ? null : value(i)!));
    const y = node.outputs.map((o) => value(o) ?? tensor([], new Float64Array(0)));
    // The adjoints are needed for the gradient and, inside rvjp, for H·v alike.
    if (gy.some((t) => t)) {
      const gx = op.vjp(c, x, y, gy, need);
      node.inputs.forEach((i, j) => {
        if (need[j] && gx[j]) adjoints.add(i, gx[j]!);
      });
    }
    if (withR) {
      const tangent = (name: string): Maybe =>
        pass.tangents!.get(name) ?? pass.goneTangents.get(name) ?? null;
      const dx = node.inputs.map(tangent);
      const dy = node.outputs.map(tangent);
      const dgx = op.rvjp(c, x, dx, y, dy, gy, dgy, need);
      node.inputs.forEach((i, j) => {
        if (need[j] && dgx[j]) rAdjoints.add(i, dgx[j]!);
      });
    }
  }
}

/**
 * For each node, the values and tangents nothing reads once it has run: those its readers'
 * derivatives do not read (Op.reads: an Add's inputs, a Relu's input, a Mul's output), given back
 * after their last reader's forward step (or their own node's, when nothing reads them), instead
 * of held until the reverse pass. In a ResNet's Conv → BatchNorm → ReLU that is the convolution's
 * output, BatchNorm's scaled and shifted copies, and the residual sums: half of what a pass holds.
 * The graph's output is kept (the loss reads it).
 */
function freedAfter(nodes: readonly GraphNode[], output: string): { values: string[]; tangents: string[] }[] {
  const made = new Map<string, number>();
  const last = new Map<string, number>();
  const keep = new Set<string>([output]);
  const keepTangent = new Set<string>([output]);
  nodes.forEach((node, k) => {
    const reads = PRIMITIVES.get(node.op)!.reads ?? { x: true, dx: true, y: true, dy: true };
    for (const i of node.inputs) {
      if (i === "") continue;
      last.set(i, k);
      if (reads.x) keep.add(i);
      if (reads.dx) keepTangent.add(i);
    }
    for (const o of node.outputs) {
      if (o === "") continue;
      made.set(o, k);
      if (reads.y) keep.add(o);
      if (reads.dy) keepTangent.add(o);
    }
  });
  const freed = nodes.map(() => ({ values: [] as string[], tangents: [] as string[] }));
  for (const [name, k] of made) {
    const at = freed[last.get(name) ?? k]!;
    if (!keep.has(name)) at.values.push(name);
    if (!keepTangent.has(name)) at.tangents.push(name);
  }
  return freed;
}

/** The value of a Constant node, or null (no node, or a value the engine does not read). */
function constantOf(node: GraphNode | undefined, opset: number): Tensor | null {
  if (!node) return null;
  try {
    const c: OpContext = { node, opset, cache: new Map(), plans: new Map() };
    return PRIMITIVES.get("Constant")!.forward(c, [])[0] ?? null;
  } catch {
    return null;
  }
}

function missing(node: GraphNode, name: string): never {
  throw new GraphError(
    `node "${node.name}" (${node.op}) reads "${name}", which no node or initializer provides`,
  );
}

/** Sums of adjoints per value; a tensor an operator returned is copied before anything is added to it. */
class Accumulator {
  readonly sums = new Map<string, Tensor>();
  private readonly owned = new Set<string>();
  /** Called with a tensor added into a sum, or replaced by one: the sums do not hold it. */
  onDropped: (t: Tensor) => void = () => {};
  get(name: string): Maybe {
    return this.sums.get(name) ?? null;
  }
  add(name: string, t: Tensor): void {
    const s = this.sums.get(name);
    if (!s) {
      this.sums.set(name, t);
      return;
    }
    const b = t.data;
    if (!this.owned.has(name)) {
      // The first sum into a new array of its own, in one pass (the first adjoint may be shared).
      const a = s.data;
      const sum = floats(a.length);
      for (let i = 0; i < a.length; i++) sum[i] = a[i]! + b[i]!;
      this.sums.set(name, tensor(s.shape, sum));
      this.owned.add(name);
      this.onDropped(s);
      this.onDropped(t);
      return;
    }
    const a = s.data;
    for (let i = 0; i < a.length; i++) a[i]! += b[i]!;
    this.onDropped(t);
  }
}

/** The nodes in an order where every input is computed before it is read (Kahn's algorithm). */
function order(nodes: readonly GraphNode[], given: Set<string>): GraphNode[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, k) => {
    for (const o of n.outputs) {
      if (o === "") continue;
      if (producer.has(o) || given.has(o))
        throw new GraphError(`value "${o}" is produced twice (node "${n.name}")`);
      producer.set(o, k);
    }
  });
  const indegree = nodes.map(() => 0);
  const readers = nodes.map(() => [] as number[]);
  nodes.forEach((n, k) => {
    for (const i of n.inputs) {
      if (i === "" || given.has(i)) continue;
      const p = producer.get(i);
      if (p === undefined)
        throw new GraphError(
          `node "${n.name}" (${n.op}) reads "${i}", which no node or initializer provides`,
        );
      indegree[k]!++;
      readers[p]!.push(k);
    }
  });
  const ready = nodes.map((_n, k) => k).filter((k) => indegree[k] === 0);
  const out: GraphNode[] = [];
  while (ready.length > 0) {
    const k = ready.shift()!;
    out.push(nodes[k]!);
    for (const r of readers[k]!) if (--indegree[r]! === 0) ready.push(r);
  }
  if (out.length !== nodes.length) throw new GraphError("the graph has a cycle");
  return out;
}
