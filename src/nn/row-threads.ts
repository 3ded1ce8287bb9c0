import type { Worker } from "node:worker_threads";

/**
 * The rows of a full-batch objective split over this thread and worker threads (Node only): the
 * coordination threadedMlp and threadedGraph share. θ and v go to the workers through
 * SharedArrayBuffers; each thread runs its objective's passes on its share of the rows; the
 * shares' means are combined weighted by their counts, ∇ = Σ_t c_t·∇_t. The calls stay synchronous
 * (the workers are woken and awaited with Atomics), so the result serves as an Objective's value,
 * gradient and hessianVector. The sum over threads is one more rounding than one thread's sum: the
 * result differs from one thread's in the last bits, the same from run to run.
 */

/** The passes each thread runs on its own share of the rows. */
export interface SharePasses {
  value(theta: Float64Array): number;
  gradient(theta: Float64Array, out: Float64Array): number;
  hessianVector(theta: Float64Array, v: Float64Array, out: Float64Array): void;
}

/** What a worker is given to serve its share: the shared words and arrays, and its index. */
export interface ShareChannels {
  readonly worker: number;
  /** [0] the request's sequence number, [1] its kind, [2 + w] worker w's finished number. */
  readonly control: SharedArrayBuffer;
  readonly theta: SharedArrayBuffer;
  readonly v: SharedArrayBuffer;
  /** This worker's result: the loss (or 0) then the gradient or H·v. */
  readonly out: SharedArrayBuffer;
}

const SEQ = 0;
const KIND = 1;
const KINDS = { value: 1, gradient: 2, hvp: 3 } as const;

/** Row bounds of n near-equal shares of `rows`: share t is rows bounds[t] … bounds[t + 1] − 1. */
export function shareBounds(rows: number, threads: number): number[] {
  const n = Math.max(1, Math.min(Math.floor(threads), rows));
  return Array.from({ length: n + 1 }, (_, t) => Math.round((t * rows) / n));
}

export interface SplitPasses extends SharePasses {
  close(): Promise<void>;
}

/**
 * Starts a worker per share after the first (`start(w, channels)` spawns it and posts what it
 * needs, channels included; the worker answers once when ready) and returns the combined passes.
 * `weights[t]` is share t's part of the whole mean (its rows over all rows).
 */
export async function splitPasses(
  dim: number,
  weights: readonly number[],
  own: SharePasses,
  start: (w: number, channels: ShareChannels) => Worker,
): Promise<SplitPasses> {
  const n = weights.length;
  const control = new SharedArrayBuffer(4 * (2 + n));
  const ctl = new Int32Array(control);
  const theta = new SharedArrayBuffer(8 * dim);
  const v = new SharedArrayBuffer(8 * dim);
  const thetaView = new Float64Array(theta);
  const vView = new Float64Array(v);
  const outs: Float64Array[] = [];
  const workers: Worker[] = [];
  const ready: Promise<void>[] = [];
  for (let w = 0; w < n - 1; w++) {
    const out = new SharedArrayBuffer(8 * (dim + 1));
    outs.push(new Float64Array(out));
    const worker = start(w, { worker: w, control, theta, v, out });
    worker.unref();
    ready.push(
      new Promise((resolve, reject) => {
        worker.once("message", () => resolve());
        worker.once("error", reject);
      }),
    );
    workers.push(worker);
  }
  await Promise.all(ready);
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

/** A worker's side: runs `f` on each request the control words announce, until closed. */
export function serveShare(channels: ShareChannels, f: SharePasses, ready: () => void): void {
  const ctl = new Int32Array(channels.control);
  const theta = new Float64Array(channels.theta);
  const v = new Float64Array(channels.v);
  const out = new Float64Array(channels.out);
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
    if (kind === KINDS.value) out[0] = f.value(theta);
    else if (kind === KINDS.gradient) out[0] = f.gradient(theta, g);
    else if (kind === KINDS.hvp) {
      f.hessianVector(theta, v, g);
      out[0] = 0;
    }
    Atomics.store(ctl, 2 + channels.worker, seq);
    Atomics.notify(ctl, 2 + channels.worker);
  }
}
