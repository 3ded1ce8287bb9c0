import { plural } from "../core/format.js";
import type { NetworkObjective, ParameterGroup, RowData } from "../core/objective.js";
import { pooled } from "./arena.js";
import { trivialBaseline } from "./baseline.js";
import type { Graph } from "./graph.js";
import { type GraphLoss, head, headCurvature, type Targets } from "./loss.js";
import { GraphError, shapeText, size, type Tensor, tensor } from "./tensor.js";

/**
 * A graph network on data as an Objective: f(θ) = (1/N) Σ_rows ℓ(network(θ, row), target), its
 * gradient by one reverse pass and H·v by a forward pass carrying R{·} along v and a reverse pass
 * carrying R{adjoint} (graph.ts), summed over blocks of rows so memory stays bounded — except when
 * an operator couples the rows (BatchNormalization in training mode), which takes its statistics
 * over all N rows at once, as PyTorch's training mode does over the batch it is given, or, with
 * `statsRows` = B, over each block of B rows on its own (the last holds the rest): then
 * f(θ) = (1/N) Σ_blocks Σ_(rows in it) ℓ(network_block(θ, row), target), the mean of the losses
 * that training on minibatches of B rows sees (each with its own statistics), weighted by rows.
 */
/** Inputs rows × (the model's input shape, flattened); targets rows × outputs (one-hot for cross-entropy). */
export type GraphData = RowData;

export interface GraphObjectiveOptions {
  readonly loss: GraphLoss;
  /** The shape of one row as the model takes it (e.g. [1, 28, 28]); its product is the row's width. */
  readonly inputShape: readonly number[];
  /** Rows per block (default ROWS_PER_BLOCK; all rows when an operator couples them). */
  readonly rowsPerBlock?: number;
  /**
   * Where an operator couples the rows (BatchNormalization in training mode): rows per block of
   * statistics, each block normalised by its own as a minibatch of that size is (default all rows
   * at once). Memory then grows with this, not with the rows.
   */
  readonly statsRows?: number;
  readonly description?: string;
}

/** The parameters grouped by module (conv1, blocks.0.ln …: `groups`) for per-layer curvature. */
export interface GraphObjective extends NetworkObjective {
  readonly graph: Graph;
  readonly rows: number;
  onRows(data: GraphData, description: string): GraphObjective;
}

/** Rows per pass where nothing couples the rows: memory bounded, products still long. */
export const ROWS_PER_BLOCK = 256;

export function graphObjective(
  graph: Graph,
  data: GraphData,
  options: GraphObjectiveOptions,
): GraphObjective {
  const width = size(options.inputShape);
  if (data.rows < 1) throw new GraphError("no rows of data");
  if (data.x.length !== data.rows * width)
    throw new GraphError(
      `${data.x.length} input values for ${plural(data.rows, "row")} of ${shapeText(options.inputShape)} (${width} each)`,
    );
  const outputs = data.y.length / data.rows;
  // The mean over what the loss averages (the MLP's and PyTorch's reduction "mean"): rows for
  // cross-entropy, every output of every row for mse, half-mse and bce.
  const perRows = (rows: number): number =>
    options.loss === "cross-entropy" ? 1 / rows : 1 / (rows * outputs);
  if (options.statsRows !== undefined && !(Number.isInteger(options.statsRows) && options.statsRows >= 1))
    throw new GraphError(`statsRows ${options.statsRows}: a whole number of rows ≥ 1`);
  const per = graph.couplesRows
    ? (options.statsRows ?? Number.POSITIVE_INFINITY)
    : Math.max(1, options.rowsPerBlock ?? ROWS_PER_BLOCK);
  const block = (d: GraphData, r0: number, rows: number): Tensor =>
    tensor([rows, ...options.inputShape], d.x.subarray(r0 * width, (r0 + rows) * width));
  const visit = (d: GraphData, f: (x: Tensor, r0: number, targets: Targets) => void): void => {
    const targets: Targets = { values: d.y, width: d.y.length / d.rows };
    const step = Math.min(per, d.rows);
    // Each block's arrays are reused by the next (arena.ts): f keeps nothing of its pass but numbers
    // and sums into the caller's vectors.
    for (let r0 = 0; r0 < d.rows; r0 += step)
      pooled(() => f(block(d, r0, Math.min(step, d.rows - r0)), r0, targets));
  };
  // The parameters' names on first use: an objective built per minibatch or per row (diagnose's
  // noise measurement, onRows) never reads them, and a large net has 10⁵ or more.
  let names: string[] | null = null;
  const parameterNames = (): string[] =>
    (names ??= graph.parameters.flatMap((p) =>
      Array.from({ length: p.size }, (_v, i) => (p.size === 1 ? p.name : `${p.name}[${i}]`)),
    ));
  const check = (theta: Float64Array): void => {
    if (theta.length !== graph.dim)
      throw new GraphError(
        `a point of ${plural(theta.length, "value")} for ${plural(graph.dim, "parameter")}`,
      );
  };
  const value = (theta: Float64Array, d: GraphData): number => {
    check(theta);
    let f = 0;
    visit(d, (x, r0, targets) => {
      const pass = graph.run(theta, x, null);
      f += head(options.loss, pass.values.get(graph.output)!, targets, r0, perRows(d.rows), false).value;
    });
    return f;
  };
  const gradientOn = (theta: Float64Array, out: Float64Array, d: GraphData): number => {
    check(theta);
    out.fill(0);
    let f = 0;
    visit(d, (x, r0, targets) => {
      const pass = graph.run(theta, x, null);
      const h = head(options.loss, pass.values.get(graph.output)!, targets, r0, perRows(d.rows), true);
      f += h.value;
      graph.backward(pass, h.adjoint, null, out, null);
    });
    return f;
  };
  return {
    graph,
    rows: data.rows,
    dim: graph.dim,
    get names() {
      return parameterNames();
    },
    groups: parameterGroups(graph),
    description: { kind: "builtin", name: options.description ?? "graph" },
    training: true,
    // What a run that learned nothing from its inputs ends at (baseline.ts), as the MLP states it.
    baseline: trivialBaseline(options.loss, data.y, data.rows, outputs),
    value: (theta) => value(theta, data),
    gradient: (theta, out) => gradientOn(theta, out, data),
    gradientOn,
    hessianVector(theta, v, out) {
      check(theta);
      out.fill(0);
      visit(data, (x, r0, targets) => {
        const pass = graph.run(theta, x, v);
        const y = pass.values.get(graph.output)!;
        const h = head(options.loss, y, targets, r0, perRows(data.rows), true);
        const dy = pass.tangents!.get(graph.output);
        const r = dy ? headCurvature(options.loss, y, dy, targets, r0, perRows(data.rows)) : null;
        graph.backward(pass, h.adjoint, r, null, out);
      });
    },
    evaluate(theta, d = data) {
      let correct = 0;
      let f = 0;
      const classify = options.loss === "cross-entropy" || options.loss === "bce";
      visit(d, (x, r0, targets) => {
        const y = graph.run(theta, x, null).values.get(graph.output)!;
        f += head(options.loss, y, targets, r0, perRows(d.rows), false).value;
        if (!classify) return;
        const rows = y.shape[0]!;
        for (let r = 0; r < rows; r++) {
          const t = (r0 + r) * outputs;
          if (outputs === 1) {
            if (y.data[r]! > 0 === d.y[t]! > 0.5) correct++;
            continue;
          }
          let best = 0;
          let label = 0;
          for (let o = 1; o < outputs; o++) {
            if (y.data[r * outputs + o]! > y.data[r * outputs + best]!) best = o;
            if (d.y[t + o]! > d.y[t + label]!) label = o;
          }
          if (best === label) correct++;
        }
      });
      return { loss: f, accuracy: classify ? correct / d.rows : null };
    },
    onRows: (d, description) => graphObjective(graph, d, { ...options, description }),
  };
}

/** The parameters grouped by module, one contiguous block each (graph.ts lays θ out that way). */
export function parameterGroups(graph: Graph): ParameterGroup[] {
  const groups: ParameterGroup[] = [];
  for (const p of graph.parameters) {
    const last = groups[groups.length - 1];
    if (last && last.name === p.module && last.end === p.offset)
      groups[groups.length - 1] = { ...last, end: p.offset + p.size };
    else groups.push({ name: p.module, start: p.offset, end: p.offset + p.size });
  }
  return groups;
}
