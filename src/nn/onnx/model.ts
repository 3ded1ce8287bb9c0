import { plural } from "../../core/format.js";
import type { GraphSpec, InitializerSpec } from "../graph.js";
import type { AttrValue, GraphNode } from "../ops/index.js";
import { float32Decimal } from "../spec-json.js";
import { type Tensor, tensor } from "../tensor.js";
import {
  BYTES,
  type Field,
  float32,
  int64,
  Reader,
  repeatedFloat32,
  repeatedInt64,
  text,
  WireError,
} from "./wire.js";

/**
 * An ONNX model (torch.onnx.export, tf2onnx) read as a graph for the engine — never executed. Only
 * the fields the engine needs are decoded (ModelProto's graph, opset and producer; the graph's
 * nodes, initializers, inputs and outputs); every count is checked against the bytes present and
 * against stated caps before anything is expanded, and an initializer's data is decoded only if a
 * node reads it. Field numbers: onnx/onnx.proto3 (ModelProto graph = 7, opset_import = 8; GraphProto
 * node = 1, initializer = 5, input = 11, output = 12; NodeProto input = 1, output = 2, name = 3,
 * op_type = 4, attribute = 5, domain = 7; TensorProto dims = 1, data_type = 2, float_data = 4,
 * int32_data = 5, int64_data = 7, name = 8, raw_data = 9, double_data = 10, data_location = 14).
 */
export interface OnnxModel {
  readonly graph: GraphSpec;
  readonly opset: number;
  readonly producer: string;
  /** The element type of the parameters (float32 ones are widened to float64 exactly). */
  readonly dtype: "float32" | "float64" | "mixed";
  /** The data input's declared shape after the batch axis; null for a symbolic dimension. */
  readonly inputShape: readonly (number | null)[];
}

export interface OnnxLimits {
  /** Nodes in the graph (default 100,000). */
  readonly maxNodes?: number;
  /** Attributes of one node, and values of one attribute list (default 10,000). */
  readonly maxAttributes?: number;
  /** Elements over all decoded tensors (default 3·10⁸: 2.4 GB as float64). */
  readonly maxElements?: number;
}

export class OnnxFormatError extends Error {}

// TensorProto.DataType
const FLOAT = 1;
const INT8 = 3;
const UINT16 = 4;
const INT16 = 5;
const INT32 = 6;
const INT64 = 7;
const FLOAT16 = 10;
const DOUBLE = 11;
const TYPE_NAMES: Record<number, string> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  8: "string",
  9: "bool",
  10: "float16",
  11: "float64",
  12: "uint32",
  13: "uint64",
  14: "complex64",
  15: "complex128",
  16: "bfloat16",
};
const BYTE_SIZE: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 11: 8 };

/** A name from the file, as one printable line: control characters escaped, at most 80 characters. */
export function shown(name: string): string {
  const s = JSON.stringify(name).slice(1, -1);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}

/** A TensorProto's name (field 8), without decoding the rest. */
function tensorName(b: Uint8Array, what: string): string {
  const r = new Reader(b, what);
  let name = "";
  while (!r.done) {
    const { number, wire } = r.tag();
    if (number === 8 && wire === BYTES) name = text(r.value(wire, number), `${what}'s name`);
    else r.skip(wire);
  }
  return name;
}

interface RawTensor {
  name: string;
  dims: number[];
  dataType: number;
  external: boolean;
  raw: Uint8Array | null;
  /** Typed-data fields as they came (packed views or single values), decoded on demand. */
  typed: Field[];
}

export function readOnnxModel(bytes: Uint8Array, source: string, limits: OnnxLimits = {}): OnnxModel {
  const maxNodes = limits.maxNodes ?? 100_000;
  const maxAttributes = limits.maxAttributes ?? 10_000;
  const maxElements = limits.maxElements ?? 3e8;
  let elements = 0;
  const fail = (what: string): never => {
    throw new OnnxFormatError(`${source}: ${what}`);
  };
  try {
    // ModelProto
    let graphBytes: Uint8Array | null = null;
    let opset = 0;
    let producerName = "";
    let producerVersion = "";
    const model = new Reader(bytes, `${source} (the model)`);
    while (!model.done) {
      const f = model.next();
      if (f.number === 7 && f.wire === BYTES) graphBytes = f.bytes;
      else if (f.number === 8 && f.wire === BYTES) {
        let domain = "";
        let version = 0;
        const r = new Reader(f.bytes, `${source} (an opset)`);
        while (!r.done) {
          const g = r.next();
          if (g.number === 1) domain = text(g, "an opset's domain");
          else if (g.number === 2) version = int64(g, "an opset's version");
        }
        if (domain === "" || domain === "ai.onnx") opset = version;
      } else if (f.number === 2 && f.wire === BYTES) producerName = text(f, "the producer");
      else if (f.number === 3 && f.wire === BYTES) producerVersion = text(f, "the producer's version");
    }
    if (!graphBytes)
      return fail("not an ONNX model: it has no graph (export it with torch.onnx.export or tf2onnx)");

    // GraphProto: collect, expand nothing yet.
    const nodeBytes: Uint8Array[] = [];
    const initializerBytes: Uint8Array[] = [];
    const inputBytes: Uint8Array[] = [];
    const outputBytes: Uint8Array[] = [];
    const gr = new Reader(graphBytes, `${source} (the graph)`);
    while (!gr.done) {
      const f = gr.next();
      if (f.wire !== BYTES) continue;
      if (f.number === 1) {
        if (nodeBytes.length >= maxNodes)
          fail(
            `the graph has more than ${maxNodes} nodes, more than overshoot reads (a network of that size is out of scope)`,
          );
        nodeBytes.push(f.bytes);
      } else if (f.number === 5) {
        if (initializerBytes.length >= maxNodes) fail(`the graph has more than ${maxNodes} initializers`);
        initializerBytes.push(f.bytes);
      } else if (f.number === 11) {
        if (inputBytes.length >= maxNodes) fail(`the graph has more than ${maxNodes} inputs`);
        inputBytes.push(f.bytes);
      } else if (f.number === 12) {
        if (outputBytes.length >= maxNodes) fail(`the graph has more than ${maxNodes} outputs`);
        outputBytes.push(f.bytes);
      } else if (f.number === 15) fail("the graph has sparse initializers; export dense weights");
    }
    if (nodeBytes.length === 0) fail("not an ONNX model: its graph has no nodes");

    const decodeTensor = (raw: RawTensor, what: string): Tensor => {
      const type = TYPE_NAMES[raw.dataType] ?? `type ${raw.dataType}`;
      if (raw.external)
        fail(
          `${what} is stored in an external file; export with the weights inside the model (a model under 2 GB)`,
        );
      if (raw.dataType === FLOAT16 || !(raw.dataType in BYTE_SIZE))
        fail(
          `${what} holds ${type} values; overshoot reads float32, float64 and integer tensors (export with model.float() or model.double())`,
        );
      const count = raw.dims.reduce((a, b) => a * b, 1);
      if (raw.dims.some((d) => d < 0)) fail(`${what} has a negative dimension [${raw.dims.join(", ")}]`);
      if (!(count <= maxElements - elements))
        fail(
          `${what} declares ${plural(count, "value")}, past the ${maxElements} overshoot decodes from one model`,
        );
      elements += count;
      const out = new Float64Array(count);
      const size = BYTE_SIZE[raw.dataType]!;
      if (raw.raw && raw.raw.length > 0) {
        if (raw.raw.length !== count * size)
          fail(
            `${what} has ${raw.raw.length} bytes of data for ${count} ${type} values (${count * size} bytes)`,
          );
        const v = new DataView(raw.raw.buffer, raw.raw.byteOffset, raw.raw.byteLength);
        for (let i = 0; i < count; i++) {
          switch (raw.dataType) {
            case FLOAT:
              out[i] = v.getFloat32(4 * i, true);
              break;
            case DOUBLE:
              out[i] = v.getFloat64(8 * i, true);
              break;
            case INT64:
              out[i] = Number(v.getBigInt64(8 * i, true));
              break;
            case INT32:
              out[i] = v.getInt32(4 * i, true);
              break;
            case INT16:
              out[i] = v.getInt16(2 * i, true);
              break;
            case UINT16:
              out[i] = v.getUint16(2 * i, true);
              break;
            case INT8:
              out[i] = v.getInt8(i);
              break;
            default:
              out[i] = v.getUint8(i);
          }
        }
      } else {
        const values: number[] = [];
        // float_data = 4 (float32), double_data = 10, int64_data = 7, int32_data = 5 (smaller integers).
        const field =
          raw.dataType === FLOAT ? 4 : raw.dataType === DOUBLE ? 10 : raw.dataType === INT64 ? 7 : 5;
        for (const f of raw.typed) {
          if (f.number !== field) continue;
          if (raw.dataType === FLOAT) repeatedFloat32(f, values, count, what);
          else if (raw.dataType === DOUBLE) {
            if (f.wire === BYTES) {
              if (f.bytes.length % 8 !== 0 || values.length + f.bytes.length / 8 > count)
                fail(`${what} has more double values than its shape [${raw.dims.join(", ")}] holds`);
              const v = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
              for (let i = 0; i < f.bytes.length; i += 8) values.push(v.getFloat64(i, true));
            } else {
              if (values.length >= count) fail(`${what} has more values than its shape holds`);
              values.push(new DataView(f.bytes.buffer, f.bytes.byteOffset, 8).getFloat64(0, true));
            }
          } else repeatedInt64(f, values, count, what);
        }
        if (values.length !== count)
          fail(
            `${what} has ${plural(values.length, "value")} for its shape [${raw.dims.join(", ")}] (${count})`,
          );
        out.set(values);
      }
      const float = raw.dataType === FLOAT || raw.dataType === DOUBLE;
      if (float)
        for (const v of out) if (!Number.isFinite(v)) fail(`${what} holds ${v}, not a finite number`);
      return tensor(raw.dims, out, float ? "float" : "int");
    };

    const rawTensor = (b: Uint8Array, what: string): RawTensor => {
      const t: RawTensor = { name: "", dims: [], dataType: 0, external: false, raw: null, typed: [] };
      const r = new Reader(b, what);
      while (!r.done) {
        const f = r.next();
        switch (f.number) {
          case 1:
            repeatedInt64(f, t.dims, 64, `${what}'s shape`);
            break;
          case 2:
            t.dataType = int64(f, `${what}'s type`);
            break;
          case 8:
            t.name = text(f, `${what}'s name`);
            break;
          case 9:
            t.raw = f.bytes;
            break;
          case 14:
            t.external = int64(f, `${what}'s location`) === 1;
            break;
          case 4:
          case 5:
          case 7:
          case 10:
            // Kept as views; the field that matches the type is decoded (decodeTensor).
            if (t.typed.length >= maxAttributes * 100)
              fail(`${what} stores its values one field each, more than ${maxAttributes * 100} fields`);
            t.typed.push(f);
            break;
        }
      }
      return t;
    };

    // Nodes, with their attributes (tensor attributes decoded: Constant nodes are values).
    let attributes = 0;
    const nodes: GraphNode[] = nodeBytes.map((b, k) => {
      const r = new Reader(b, `${source} (node ${k})`);
      const inputs: string[] = [];
      const outputs: string[] = [];
      let name = "";
      let op = "";
      let domain = "";
      const attrs: Record<string, AttrValue> = {};
      const pending: Uint8Array[] = [];
      while (!r.done) {
        const f = r.next();
        if (f.number === 1) {
          if (inputs.length >= maxAttributes) fail(`node ${k} has more than ${maxAttributes} inputs`);
          inputs.push(text(f, "a node's input"));
        } else if (f.number === 2) {
          if (outputs.length >= maxAttributes) fail(`node ${k} has more than ${maxAttributes} outputs`);
          outputs.push(text(f, "a node's output"));
        } else if (f.number === 3) name = text(f, "a node's name");
        else if (f.number === 4) op = text(f, "a node's operator");
        else if (f.number === 7) domain = text(f, "a node's domain");
        else if (f.number === 5 && f.wire === BYTES) {
          if (pending.length >= maxAttributes) fail(`node ${k} has more than ${maxAttributes} attributes`);
          if (++attributes > maxNodes * 10)
            fail(`the graph has more than ${maxNodes * 10} attributes in all`);
          pending.push(f.bytes);
        }
      }
      const label = `node "${shown(name)}" (${shown(op)})`;
      if (domain !== "" && domain !== "ai.onnx")
        fail(
          `${label} is from the operator set ${shown(domain)}; overshoot reads the standard ONNX operators`,
        );
      for (const a of pending) {
        const ar = new Reader(a, `${source}: an attribute of ${label}`);
        let key = "";
        let value: AttrValue | undefined;
        const list: number[] = [];
        let listKind: "ints" | "floats" | null = null;
        let graphValued = false;
        while (!ar.done) {
          const f = ar.next();
          switch (f.number) {
            case 1:
              key = text(f, "an attribute's name");
              break;
            case 2:
              value = float32Decimal(float32(f, `an attribute of ${label}`));
              break;
            case 3:
              value = int64(f, `an attribute of ${label}`);
              break;
            case 4:
              value = text(f, `an attribute of ${label}`);
              break;
            case 5:
              value = decodeTensor(
                rawTensor(f.bytes, `a tensor attribute of ${label}`),
                `a tensor attribute of ${label}`,
              );
              break;
            case 6:
            case 11:
              graphValued = true;
              break;
            case 7:
              listKind = "floats";
              repeatedFloat32(f, list, maxAttributes, `an attribute of ${label}`);
              break;
            case 8:
              listKind = "ints";
              repeatedInt64(f, list, maxAttributes, `an attribute of ${label}`);
              break;
          }
        }
        if (graphValued)
          fail(
            `${label} holds a sub-graph (control flow: If, Loop, Scan): out of scope; export a network without data-dependent control flow`,
          );
        if (listKind === "floats") value = list.map(float32Decimal);
        else if (listKind === "ints") value = list;
        if (key !== "" && value !== undefined) attrs[key] = value;
      }
      return { op, name: name || `${op}_${k}`, inputs, outputs, attrs };
    });

    // Initializers: only those a node reads are decoded.
    const read = new Set(nodes.flatMap((n) => n.inputs));
    const bnStatistics = new Set(
      nodes.filter((n) => n.op === "BatchNormalization").flatMap((n) => n.inputs.slice(3, 5)),
    );
    const otherReaders = new Set(
      nodes.flatMap((n) => (n.op === "BatchNormalization" ? n.inputs.slice(0, 3) : n.inputs)),
    );
    const types = new Set<number>();
    const initializers: InitializerSpec[] = [];
    const initialized = new Set<string>();
    for (const [k, b] of initializerBytes.entries()) {
      // The name alone first: an initializer no node reads is never expanded.
      const name = tensorName(b, `${source}: initializer ${k}`);
      initialized.add(name);
      if (!read.has(name)) continue;
      const raw = rawTensor(b, `${source}: initializer ${k}`);
      const t = decodeTensor(raw, `${source}: initializer "${shown(raw.name)}"`);
      const float = t.dtype === "float";
      if (float && !(bnStatistics.has(raw.name) && !otherReaders.has(raw.name))) types.add(raw.dataType);
      initializers.push({
        name: raw.name,
        dims: raw.dims,
        dtype: TYPE_NAMES[raw.dataType]!,
        values: t.data,
        // BatchNormalization's running statistics are state, not parameters.
        trainable: float && !(bnStatistics.has(raw.name) && !otherReaders.has(raw.name)),
      });
    }

    const valueInfo = (b: Uint8Array, what: string): { name: string; shape: (number | string)[] } => {
      const r = new Reader(b, what);
      let name = "";
      const shape: (number | string)[] = [];
      while (!r.done) {
        const f = r.next();
        if (f.number === 1) name = text(f, `${what}'s name`);
        else if (f.number === 2 && f.wire === BYTES) {
          const tr = new Reader(f.bytes, what);
          while (!tr.done) {
            const t = tr.next();
            if (t.number !== 1 || t.wire !== BYTES) continue;
            const tt = new Reader(t.bytes, what);
            while (!tt.done) {
              const s = tt.next();
              if (s.number !== 2 || s.wire !== BYTES) continue;
              const sr = new Reader(s.bytes, what);
              while (!sr.done) {
                const d = sr.next();
                if (d.number !== 1 || d.wire !== BYTES) continue;
                if (shape.length >= 64) fail(`${what} has more than 64 dimensions`);
                const dr = new Reader(d.bytes, what);
                let dim: number | string = "?";
                while (!dr.done) {
                  const e = dr.next();
                  if (e.number === 1) dim = int64(e, `${what}'s dimension`);
                  else if (e.number === 2) dim = text(e, `${what}'s dimension`);
                }
                shape.push(dim);
              }
            }
          }
        }
      }
      return { name, shape };
    };
    const inputs = inputBytes
      .map((b, k) => valueInfo(b, `${source}: input ${k}`))
      .filter((i) => !initialized.has(i.name));
    const outputs = outputBytes.map((b, k) => valueInfo(b, `${source}: output ${k}`));
    if (inputs.length !== 1)
      fail(
        `the graph has ${inputs.length} data inputs (${inputs.map((i) => `"${shown(i.name)}"`).join(", ") || "none"}); overshoot reads networks of one input, the batch of rows`,
      );
    if (outputs.length < 1) fail("the graph has no output");
    const inputShape = inputs[0]!.shape.slice(1).map((d) => (typeof d === "number" && d > 0 ? d : null));
    return {
      graph: { opset, inputs, outputs, initializers, nodes },
      opset,
      producer: [producerName, producerVersion].filter(Boolean).join(" ") || "unknown",
      dtype: types.size > 1 ? "mixed" : types.has(FLOAT) ? "float32" : "float64",
      inputShape,
    };
  } catch (e) {
    if (e instanceof WireError) throw new OnnxFormatError(`${source} is not an ONNX model (${e.message})`);
    throw e;
  }
}
