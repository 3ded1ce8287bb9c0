import type { Worker } from "node:worker_threads";
import { spawnWorker } from "../core/worker.js";
import { Graph, type GraphOptions, type GraphSpec } from "./graph.js";
import { type KernelChoice, kernelChoice, setKernelChoice } from "./kernels/index.js";
import {
  type GraphData,
  type GraphObjective,
  type GraphObjectiveOptions,
  graphObjective,
} from "./objective.js";
import { GraphError } from "./tensor.js";

/**
 * A graph network whose full-batch loss, gradient and Hessian-vector product are split by rows
 * over this thread and worker threads (Node only), as threadedMlp splits an MLP's: θ and v go to
 * the workers through SharedArrayBuffers, each thread runs the graph's passes on its share of the
 * rows, and the shares' means are combined weighted by their counts, ∇ = Σ_t c_t·∇_t / Σ_t c_t.
 * The calls stay synchronous (Atomics), so the result is an Objective like any other; the sum over
 * threads is one more rounding than one thread's, so it differs from graphObjective's in the last
 * bits, the same from run to run.
 *
 * A graph whose operators couple the rows (BatchNormalization in training mode: its statistics
 * are over the whole batch) cannot be split so: each share would normalise by its own statistics,
 * another function. It is refused.
 */
export interface ThreadedGraph extends GraphObjective {
  readonly threads: number;
  close(): Promise<void>;
}

/** Control words: [0] the request's sequence number, [1] its kind, [2 + w] worker w's finished number. */
const SEQ = 0;
const KIND = 1;
export const GRAPH_KINDS = { value: 1, gradient: 2, hvp: 3 } as const;

export interface GraphThreadInit {
  readonly spec: GraphSpec;
  readonly graphOptions: GraphOptions;
  readonly objective: GraphObjectiveOptions;
  readonly data: GraphData;
  readonly kernels: KernelChoice;
  readonly worker: number;
  readonly control: SharedArrayBuffer;
  readonly theta: SharedArrayBuffer;
  readonly v: SharedArrayBuffer;
  /** This worker's result: the loss (or 0) then the gradient or H·v. */
  readonly out: SharedArrayBuffer;
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
  if (graph.couplesRows)
    throw new GraphError(
      "this graph takes statistics over all its rows at once (BatchNormalization in training mode): its rows cannot be split over threads",
    );
  const n = Math.max(1, Math.min(Math.floor(threads), data.rows));
  const bounds = Array.from({ length: n + 1 }, (_, t) => Math.round((t * data.rows) / n));
  const whole = graphObjective(graph, data, options);
  const own = graphObjective(graph, share(data, 0, bounds[1]!), options);
  const dim = whole.dim;
  const control = new SharedArrayBuffer(4 * (2 + n));
  const ctl = new Int32Array(control);
  const theta = new SharedArrayBuffer(8 * dim);
  const v = new SharedArrayBuffer(8 * dim);
  const thetaView = new Float64Array(theta);
  const vView = new Float64Array(v);
  const outs: Float64Array[] = [];
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  for (let w = 1; w < n; w++) {
    const out = new SharedArrayBuffer(8 * (dim + 1));
    outs.push(new Float64Array(out));
    const worker = spawnWorker(import.meta.url, "graph-thread-worker");
    worker.unref();
    const init: GraphThreadInit = {
      spec,
      graphOptions,
      objective: options,
      data: share(data, bounds[w]!, bounds[w + 1]!),
      kernels: kernelChoice(),
      worker: w - 1,
      control,
      theta,
      v,
      out,
    };
    ready.push(
      new Promise((resolve, reject) => {
        worker.once("message", () => resolve());
        worker.once("error", reject);
      }),
    );
    worker.postMessage(init);
    workers.push(worker);
  }
  await Promise.all(ready);
  // Each share's loss is a mean over its rows (its rows × outputs for the squared errors): the
  // whole batch's is their mean weighted by the rows.
  const weights = bounds.slice(1).map((b, t) => (b - bounds[t]!) / data.rows);
  let seq = 0;

  /** Wakes the workers on request `kind`, runs this thread's share, waits for theirs, combines. */
  const run = (kind: number, x: Float64Array, dir: Float64Array | null, out: Float64Array | null): number => {
    thetaView.set(x);
    if (dir) vView.set(dir);
    seq++;
    Atomics.store(ctl, KIND, kind);
    Atomics.store(ctl, SEQ, seq);
    Atomics.notify(ctl, SEQ);
    let loss: number;
    if (kind === GRAPH_KINDS.value) loss = own.value(x);
    else if (kind === GRAPH_KINDS.gradient) loss = own.gradient(x, out!);
    else {
      own.hessianVector(x, dir!, out!);
      loss = 0;
    }
    loss *= weights[0]!;
    if (out) for (let i = 0; i < dim; i++) out[i]! *= weights[0]!;
    for (let w = 0; w < workers.length; w++) {
      while (Atomics.load(ctl, 2 + w) !== seq) Atomics.wait(ctl, 2 + w, Atomics.load(ctl, 2 + w));
      const o = outs[w]!;
      const c = weights[w + 1]!;
      loss += c * o[0]!;
      if (out) for (let i = 0; i < dim; i++) out[i]! += c * o[i + 1]!;
    }
    return loss;
  };

  return {
    ...whole,
    threads: n,
    value: (x) => run(GRAPH_KINDS.value, x, null, null),
    gradient: (x, out) => run(GRAPH_KINDS.gradient, x, null, out),
    hessianVector: (x, dir, out) => {
      run(GRAPH_KINDS.hvp, x, dir, out);
    },
    close: async () => {
      Atomics.store(ctl, KIND, 0);
      Atomics.store(ctl, SEQ, -1);
      Atomics.notify(ctl, SEQ);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/** The worker's side: its share of the rows, woken by the control words, its result in `out`. */
export function serveGraphShare(init: GraphThreadInit, ready: () => void): void {
  setKernelChoice(init.kernels);
  const ctl = new Int32Array(init.control);
  const theta = new Float64Array(init.theta);
  const v = new Float64Array(init.v);
  const out = new Float64Array(init.out);
  const f = graphObjective(new Graph(init.spec, init.graphOptions), init.data, init.objective);
  const g = out.subarray(1);
  let seen = 0;
  ready();
  for (;;) {
    Atomics.wait(ctl, SEQ, seen);
    const seq = Atomics.load(ctl, SEQ);
    if (seq < 0) return;
    if (seq === seen) continue;
    seen = seq;
    const kind = Atomics.load(ctl, KIND);
    if (kind === GRAPH_KINDS.value) out[0] = f.value(theta);
    else if (kind === GRAPH_KINDS.gradient) out[0] = f.gradient(theta, g);
    else if (kind === GRAPH_KINDS.hvp) {
      f.hessianVector(theta, v, g);
      out[0] = 0;
    }
    Atomics.store(ctl, 2 + init.worker, seq);
    Atomics.notify(ctl, 2 + init.worker);
  }
}
