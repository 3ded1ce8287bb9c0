// Networks: the graph engine (operators with exact VJPs and R-operators), the MLP fast path, ONNX
// import and data readers. A network on data is an Objective like any other (DESIGN.md).

export { trivialBaseline } from "./baseline.js";
export { type NpyArray, NpyError, readNpy, readNpz } from "./data/npy.js";
export { Graph, type GraphOptions, type GraphSpec, type InitializerSpec, type Parameter } from "./graph.js";
export { GRAPH_LOSSES, type GraphLoss } from "./loss.js";
export {
  ACTIVATIONS,
  type Activation,
  erf,
  type InitScheme,
  initialParameters,
  LOSSES,
  type Loss,
  layersFromParameters,
  type MlpData,
  type MlpObjective,
  type MlpSpec,
  mlpObjective,
  parameterCount,
  parametersFromLayers,
} from "./mlp/mlp.js";
export { type GraphData, type GraphObjective, graphObjective, parameterGroups } from "./objective.js";
export { OnnxError, type OnnxNetwork, readOnnxNetwork } from "./onnx/dense.js";
export { OnnxFormatError, type OnnxModel, readOnnxModel } from "./onnx/model.js";
export { graphSpecFromJson, type JsonGraph } from "./spec-json.js";
export { GraphError, type Tensor } from "./tensor.js";
