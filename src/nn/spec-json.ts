import type { GraphSpec, InitializerSpec } from "./graph.js";
import type { AttrValue, GraphNode } from "./ops/index.js";
import { tensor } from "./tensor.js";

/**
 * A graph in plain JSON — ONNX's GraphProto with tensors as {dims, dtype, values} — as the
 * fixture generator (scripts/fixtures/torch_graph.py) dumps the files torch.onnx.export wrote.
 */
export interface JsonTensor {
  readonly dims: readonly number[];
  readonly dtype: string;
  readonly values: readonly number[];
}

export interface JsonGraph {
  readonly inputs: readonly { readonly name: string; readonly shape: readonly (number | string)[] }[];
  readonly outputs: readonly { readonly name: string }[];
  readonly initializers: readonly (JsonTensor & { readonly name: string; readonly trainable?: boolean })[];
  readonly nodes: readonly {
    readonly op: string;
    readonly name: string;
    readonly inputs: readonly string[];
    readonly outputs: readonly string[];
    readonly attrs: Readonly<Record<string, unknown>>;
  }[];
}

const INTEGER_TYPES = new Set([
  "int64",
  "int32",
  "int16",
  "int8",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "bool",
]);

export const isIntegerType = (dtype: string): boolean => INTEGER_TYPES.has(dtype);

/**
 * ONNX keeps float attributes (epsilon, alpha, …) as float32: PyTorch's ε = 1e-5 arrives as
 * 9.999999747378752e-6. The exporter's value was a double whose shortest decimal rounds to that
 * float32, so the shortest such decimal is taken back.
 */
export function float32Decimal(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x) || Math.fround(x) !== x) return x;
  for (let p = 1; p <= 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

function attr(v: unknown): AttrValue {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const t = v as JsonTensor;
    return tensor(t.dims, Float64Array.from(t.values), isIntegerType(t.dtype) ? "int" : "float");
  }
  if (typeof v === "number") return float32Decimal(v);
  if (Array.isArray(v)) return v.map((e) => (typeof e === "number" ? float32Decimal(e) : e)) as number[];
  return v as AttrValue;
}

export function graphSpecFromJson(g: JsonGraph, opset: number): GraphSpec {
  return {
    opset,
    inputs: g.inputs,
    outputs: g.outputs,
    initializers: g.initializers as readonly InitializerSpec[],
    nodes: g.nodes.map(
      (n): GraphNode => ({
        op: n.op,
        name: n.name,
        inputs: n.inputs,
        outputs: n.outputs,
        attrs: Object.fromEntries(Object.entries(n.attrs).map(([k, v]) => [k, attr(v)])),
      }),
    ),
  };
}
