import type { Objective } from "../objectives/types.js";
import type { Graph } from "./graph.js";
import { type GraphLoss, head, headCurvature, type Targets } from "./loss.js";
import { GraphError, type Tensor, tensor } from "./tensor.js";

/**
 * A graph network on data as an Objective: f(θ) = (1/N) Σ_rows ℓ(network(θ, row), target), its
 * gradient by one reverse pass and H·v by a forward pass carrying R{·} along v and a reverse pass
 * carrying R{adjoint} (graph.ts), summed over blocks of rows so memory stays bounded — except when
 * an operator couples the rows (BatchNormalization in training mode), which takes its statistics
 * over all N rows at once, as PyTorch's training mode does over the batch it is given.
 */
export interface GraphData {
  /** N × (the model's input shape), row-major. */
  readonly input: Tensor;
  readonly targets: Targets;
  readonly loss: GraphLoss;
}

export interface GraphObjectiveOptions {
  /** Rows per block (default: all rows). */
  readonly rowsPerBlock?: number;
}

export interface GraphObjective extends Objective {
  readonly graph: Graph;
  readonly rows: number;
}

export function graphObjective(
  graph: Graph,
  data: GraphData,
  options: GraphObjectiveOptions = {},
): GraphObjective {
  const N = data.input.shape[0] ?? 0;
  if (N < 1) throw new GraphError("no rows of data");
  const rest = data.input.shape.slice(1);
  const width = data.input.data.length / N;
  const per = graph.couplesRows ? N : Math.max(1, Math.min(N, options.rowsPerBlock ?? N));
  const scale = 1 / N;
  const block = (r0: number, rows: number): Tensor =>
    tensor([rows, ...rest], data.input.data.subarray(r0 * width, (r0 + rows) * width));
  const blocks = (visit: (x: Tensor, r0: number) => void): void => {
    for (let r0 = 0; r0 < N; r0 += per) visit(block(r0, Math.min(per, N - r0)), r0);
  };
  const names = graph.parameters.flatMap((p) =>
    Array.from({ length: p.size }, (_v, i) => (p.size === 1 ? p.name : `${p.name}[${i}]`)),
  );
  const check = (theta: Float64Array): void => {
    if (theta.length !== graph.dim)
      throw new GraphError(`a point of ${theta.length} values for ${graph.dim} parameters`);
  };
  return {
    graph,
    rows: N,
    dim: graph.dim,
    names,
    description: { kind: "builtin", name: "graph" },
    training: true,
    value(theta) {
      check(theta);
      let f = 0;
      blocks((x, r0) => {
        const pass = graph.run(theta, x, null);
        f += head(data.loss, pass.values.get(graph.output)!, data.targets, r0, scale, false).value;
      });
      return f;
    },
    gradient(theta, out) {
      check(theta);
      out.fill(0);
      let f = 0;
      blocks((x, r0) => {
        const pass = graph.run(theta, x, null);
        const h = head(data.loss, pass.values.get(graph.output)!, data.targets, r0, scale, true);
        f += h.value;
        graph.backward(pass, h.adjoint, null, out, null);
      });
      return f;
    },
    hessianVector(theta, v, out) {
      check(theta);
      out.fill(0);
      blocks((x, r0) => {
        const pass = graph.run(theta, x, v);
        const y = pass.values.get(graph.output)!;
        const h = head(data.loss, y, data.targets, r0, scale, true);
        const dy = pass.tangents!.get(graph.output);
        const r = dy ? headCurvature(data.loss, y, dy, scale) : null;
        graph.backward(pass, h.adjoint, r, null, out);
      });
    },
  };
}
