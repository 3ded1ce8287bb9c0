import { spawnWorker } from "../core/worker.js";
import { Graph, type GraphOptions, type GraphSpec } from "./graph.js";
import { type KernelChoice, kernelChoice, setKernelChoice } from "./kernels/index.js";
import {
  type GraphData,
  type GraphObjective,
  type GraphObjectiveOptions,
  graphObjective,
} from "./objective.js";
import { type ShareChannels, serveShare, shareBounds, splitPasses } from "./row-threads.js";
import { GraphError } from "./tensor.js";

/**
 * A graph network whose full-batch loss, gradient and Hessian-vector product are split by rows
 * over this thread and worker threads (Node only; row-threads.ts: the shares' means combined by
 * their counts, the calls synchronous, the last bits one more sum's).
 *
 * A graph whose operators couple the rows (BatchNormalization in training mode: its statistics
 * are over the whole batch) cannot be split so: each share would normalise by its own statistics,
 * another function. It is refused, unless its statistics are taken over blocks of rows
 * (`statsRows`): then the shares are split between blocks, and each block is whole in one share.
 */
export interface ThreadedGraph extends GraphObjective {
  readonly threads: number;
  close(): Promise<void>;
}

export interface GraphThreadInit extends ShareChannels {
  readonly spec: GraphSpec;
  readonly graphOptions: GraphOptions;
  readonly objective: GraphObjectiveOptions;
  readonly data: GraphData;
  readonly kernels: KernelChoice;
}

/** Rows r0 … r1 − 1, copied: a worker is sent its own arrays, not the whole buffer they view. */
function share(d: GraphData, r0: number, r1: number): GraphData {
  const width = d.x.length / d.rows;
  const outs = d.y.length / d.rows;
  return { x: d.x.slice(r0 * width, r1 * width), y: d.y.slice(r0 * outs, r1 * outs), rows: r1 - r0 };
}

export async function threadedGraph(
  spec: GraphSpec,
  graphOptions: GraphOptions,
  data: GraphData,
  options: GraphObjectiveOptions,
  threads: number,
): Promise<ThreadedGraph> {
  const graph = new Graph(spec, graphOptions);
  const stats = options.statsRows;
  if (graph.couplesRows && stats === undefined)
    throw new GraphError(
      "this graph takes statistics over all its rows at once (BatchNormalization in training mode): its rows cannot be split over threads",
    );
  // Whole blocks of statistics to each share: the bounds of the blocks split as rows would be.
  const bounds =
    graph.couplesRows && stats !== undefined
      ? shareBounds(Math.ceil(data.rows / stats), threads).map((b) => Math.min(data.rows, b * stats))
      : shareBounds(data.rows, threads);
  const whole = graphObjective(graph, data, options);
  // Each share's loss is a mean over its rows (its rows × outputs for the squared errors): the
  // whole batch's is their mean weighted by the rows.
  const weights = bounds.slice(1).map((b, t) => (b - bounds[t]!) / data.rows);
  const passes = await splitPasses(
    whole.dim,
    weights,
    graphObjective(graph, share(data, 0, bounds[1]!), options),
    (w, channels) => {
      const worker = spawnWorker(import.meta.url, "graph-thread-worker");
      const init: GraphThreadInit = {
        ...channels,
        spec,
        graphOptions,
        objective: options,
        data: share(data, bounds[w + 1]!, bounds[w + 2]!),
        kernels: kernelChoice(),
      };
      worker.postMessage(init);
      return worker;
    },
  );
  return { ...whole, ...passes, threads: weights.length };
}

/** The worker's side: its share of the rows, on the kernels the main thread chose. */
export function serveGraphShare(init: GraphThreadInit, ready: () => void): void {
  setKernelChoice(init.kernels);
  serveShare(init, graphObjective(new Graph(init.spec, init.graphOptions), init.data, init.objective), ready);
}
