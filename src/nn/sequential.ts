import type { Rng } from "../core/rng.js";
import type { GraphSpec, InitializerSpec } from "./graph.js";
import type { GraphNode } from "./ops/types.js";
import { GraphError } from "./tensor.js";

/**
 * A feed-forward stack of layers written in code, built as a graph (graph.ts) with PyTorch's
 * default initial weights: what `nn.Sequential(nn.Conv2d(…), nn.ReLU(), …)` is, for the demos and
 * tests that need a CNN without an ONNX file.
 *
 * Parameter names follow PyTorch's (`0.weight`, `0.bias`, `3.running_mean` …: the layer's index
 * in the stack, or its name), so per-layer output reads as `torch.onnx.export` of the same stack
 * (or module) would.
 */
export type Layer = LayerKind & {
  /** The module's name (its parameters are `name.weight` …); default its index in the stack. */
  readonly name?: string;
};

type LayerKind =
  | {
      readonly kind: "conv";
      readonly out: number;
      readonly kernel: number;
      readonly stride?: number;
      readonly padding?: number;
      /** Default true; a convolution followed by BatchNorm usually has none. */
      readonly bias?: boolean;
    }
  | { readonly kind: "batchnorm" }
  | { readonly kind: "relu" }
  | { readonly kind: "tanh" }
  | { readonly kind: "maxpool"; readonly kernel: number }
  | { readonly kind: "flatten" }
  | { readonly kind: "linear"; readonly out: number };

export interface SequentialSpec {
  /** One row's shape: [channels, height, width] for images, [features] for vectors. */
  readonly input: readonly number[];
  readonly layers: readonly Layer[];
}

export interface Sequential {
  readonly graph: GraphSpec;
  /** θ₀: the parameters in the graph's order (module by module, as Graph lays them out). */
  readonly theta0: Float64Array;
  /** The shape of one row after each layer. */
  readonly shapes: readonly (readonly number[])[];
}

const product = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * The graph of a stack and its initial parameters. PyTorch's defaults: Conv2d and Linear draw
 * weight and bias from U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5), fan_in = in
 * channels × kernel area or in features; BatchNorm starts at γ = 1, β = 0, running mean 0 and
 * variance 1, in training mode (batch statistics), ε = 1e-5.
 */
export function sequential(spec: SequentialSpec, rng: Rng): Sequential {
  const nodes: GraphNode[] = [];
  const initializers: InitializerSpec[] = [];
  const theta: number[] = [];
  const shapes: number[][] = [];
  let shape = [...spec.input];
  let value = "input";
  const uniform = (n: number, fanIn: number): number[] =>
    Array.from({ length: n }, () => (2 * rng.uniform() - 1) / Math.sqrt(fanIn));
  const param = (name: string, dims: number[], values: number[]): string => {
    initializers.push({ name, dims, dtype: "float64", values });
    theta.push(...values);
    return name;
  };
  const constant = (name: string, dims: number[], values: number[]): string => {
    initializers.push({ name, dims, dtype: "float64", values, trainable: false });
    return name;
  };
  spec.layers.forEach((layer, index) => {
    const k = layer.name ?? String(index);
    const out = `${k}.out`;
    const node = (op: string, inputs: string[], attrs: GraphNode["attrs"] = {}): void => {
      nodes.push({ op, name: `/${k}/${op}`, inputs, outputs: [out], attrs });
    };
    switch (layer.kind) {
      case "conv": {
        if (shape.length !== 3)
          throw new GraphError(`layer ${k}: a convolution needs [channels, height, width]`);
        const [c, h, w] = shape as [number, number, number];
        const stride = layer.stride ?? 1;
        const pad = layer.padding ?? 0;
        const fanIn = c * layer.kernel * layer.kernel;
        const weight = param(
          `${k}.weight`,
          [layer.out, c, layer.kernel, layer.kernel],
          uniform(layer.out * fanIn, fanIn),
        );
        const inputs = [value, weight];
        if (layer.bias ?? true) inputs.push(param(`${k}.bias`, [layer.out], uniform(layer.out, fanIn)));
        node("Conv", inputs, {
          kernel_shape: [layer.kernel, layer.kernel],
          strides: [stride, stride],
          pads: [pad, pad, pad, pad],
        });
        const side = (n: number) => Math.floor((n + 2 * pad - layer.kernel) / stride) + 1;
        shape = [layer.out, side(h), side(w)];
        break;
      }
      case "batchnorm": {
        const c = shape[0]!;
        node(
          "BatchNormalization",
          [
            value,
            param(`${k}.weight`, [c], new Array<number>(c).fill(1)),
            param(`${k}.bias`, [c], new Array<number>(c).fill(0)),
            constant(`${k}.running_mean`, [c], new Array<number>(c).fill(0)),
            constant(`${k}.running_var`, [c], new Array<number>(c).fill(1)),
          ],
          { epsilon: 1e-5, momentum: 0.9, training_mode: 1 },
        );
        break;
      }
      case "relu":
        node("Relu", [value]);
        break;
      case "tanh":
        node("Tanh", [value]);
        break;
      case "maxpool": {
        if (shape.length !== 3) throw new GraphError(`layer ${k}: pooling needs [channels, height, width]`);
        node("MaxPool", [value], {
          kernel_shape: [layer.kernel, layer.kernel],
          strides: [layer.kernel, layer.kernel],
        });
        const side = (n: number) => Math.floor((n - layer.kernel) / layer.kernel) + 1;
        shape = [shape[0]!, side(shape[1]!), side(shape[2]!)];
        break;
      }
      case "flatten":
        node("Flatten", [value], { axis: 1 });
        shape = [product(shape)];
        break;
      case "linear": {
        if (shape.length !== 1)
          throw new GraphError(`layer ${k}: a linear layer needs a flat row (flatten first)`);
        const fanIn = shape[0]!;
        node(
          "Gemm",
          [
            value,
            param(`${k}.weight`, [layer.out, fanIn], uniform(layer.out * fanIn, fanIn)),
            param(`${k}.bias`, [layer.out], uniform(layer.out, fanIn)),
          ],
          { transB: 1 },
        );
        shape = [layer.out];
        break;
      }
    }
    if (nodes.length > 0 && nodes[nodes.length - 1]!.outputs[0] === out) value = out;
    if (shape.some((n) => !(n >= 1)))
      throw new GraphError(`layer ${k} leaves nothing of the input (shape ${shape.join("×")})`);
    shapes.push([...shape]);
  });
  const graph: GraphSpec = {
    inputs: [{ name: "input", shape: ["batch", ...spec.input] }],
    outputs: [{ name: value }],
    initializers,
    nodes,
    opset: 17,
  };
  return { graph, theta0: Float64Array.from(theta), shapes };
}
