import type { Worker } from "node:worker_threads";
import { spawnWorker } from "../../core/worker.js";
import { type MlpData, type MlpObjective, type MlpSpec, mlpObjective, rowRange } from "./mlp.js";

/**
 * An MLP whose full-batch loss, gradient and Hessian-vector product are split by rows over this
 * thread and worker threads (Node only). θ and v go to the workers through SharedArrayBuffers, each
 * thread runs the usual passes on its share of the rows, and the shares' means are combined,
 * weighted by their counts: ∇ = Σ_t c_t·∇_t / Σ_t c_t. The calls stay synchronous (the workers are
 * woken and awaited with Atomics), so the result is an Objective like any other. The sum over
 * threads is one more rounding than one thread's sum, so the result differs from mlpObjective's
 * in the last bits; it is the same from run to run. Minibatches (gradientOn) and the rest run in
 * this thread. close() ends the workers.
 */
export interface ThreadedMlp extends MlpObjective {
  readonly threads: number;
  close(): Promise<void>;
}

/** Control words: [0] the request's sequence number, [1] its kind, [2 + w] worker w's finished number. */
const SEQ = 0;
const KIND = 1;
export const KINDS = { value: 1, gradient: 2, hvp: 3 } as const;

export interface ThreadInit {
  readonly spec: MlpSpec;
  readonly data: MlpData;
  readonly worker: number;
  readonly control: SharedArrayBuffer;
  readonly theta: SharedArrayBuffer;
  readonly v: SharedArrayBuffer;
  /** This worker's result: the loss (or 0) then the gradient or H·v. */
  readonly out: SharedArrayBuffer;
}

/** A share of the rows, copied: a worker is sent its own arrays, not the whole buffer they view. */
function share(d: MlpData, r0: number, r1: number): MlpData {
  const part = rowRange(d, r0, r1);
  return { x: part.x.slice(), y: part.y.slice(), rows: part.rows };
}

export async function threadedMlp(spec: MlpSpec, data: MlpData, threads: number): Promise<ThreadedMlp> {
  const outS = spec.sizes[spec.sizes.length - 1]!;
  const n = Math.max(1, Math.min(Math.floor(threads), data.rows));
  const bounds = Array.from({ length: n + 1 }, (_, t) => Math.round((t * data.rows) / n));
  const whole = mlpObjective(spec, data, "mlp");
  const own = mlpObjective(spec, share(data, 0, bounds[1]!), "mlp");
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
    const worker = spawnWorker(import.meta.url, "mlp-thread-worker");
    worker.unref();
    const init: ThreadInit = {
      spec,
      data: share(data, bounds[w]!, bounds[w + 1]!),
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
  // The count each share's mean is over: rows × outputs, or rows for cross-entropy.
  const per = spec.loss === "cross-entropy" ? 1 : outS;
  const weights = bounds.slice(1).map((b, t) => ((b - bounds[t]!) * per) / (data.rows * per));
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
    if (kind === KINDS.value) loss = own.value(x);
    else if (kind === KINDS.gradient) loss = own.gradient(x, out!);
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
    value: (x) => run(KINDS.value, x, null, null),
    gradient: (x, out) => run(KINDS.gradient, x, null, out),
    hessianVector: (x, dir, out) => {
      run(KINDS.hvp, x, dir, out);
    },
    close: async () => {
      Atomics.store(ctl, KIND, 0);
      Atomics.store(ctl, SEQ, -1);
      Atomics.notify(ctl, SEQ);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
