import { plural } from "../../core/format.js";
import { createRng, type RngState } from "../../core/rng.js";
import type { MlpData } from "../../nn/mlp/mlp.js";

/** Where a minibatch sampler is in its stream: enough to draw the same batches from here again. */
export interface SamplerState {
  readonly rng: RngState;
  readonly order: readonly number[];
  readonly cursor: number;
}

export interface MinibatchSampler {
  /** The next minibatch: the same buffers filled anew at each call. */
  next(): MlpData;
  save(): SamplerState;
  restore(state: SamplerState): void;
}

/**
 * Minibatches of `batch` rows in a seeded shuffled order, reshuffled (Fisher–Yates) whenever the
 * rest of the epoch cannot fill a batch: what `train` steps on, and what a range test or a trial
 * run must draw to see the same batches. Its state (the generator's, the order and the place in
 * it) goes into a checkpoint, so a resumed run draws the batches the uninterrupted one would.
 */
export function minibatchSampler(data: MlpData, batch: number, seed: number): MinibatchSampler {
  const inS = data.x.length / data.rows;
  const outS = data.y.length / data.rows;
  let rng = createRng(seed);
  const order = Int32Array.from({ length: data.rows }, (_, i) => i);
  const out = { x: new Float64Array(batch * inS), y: new Float64Array(batch * outS), rows: batch };
  let cursor = data.rows;
  return {
    next() {
      if (cursor + batch > data.rows) {
        for (let i = order.length - 1; i > 0; i--) {
          const j = Math.floor(rng.uniform() * (i + 1));
          const t = order[i]!;
          order[i] = order[j]!;
          order[j] = t;
        }
        cursor = 0;
      }
      for (let r = 0; r < batch; r++) {
        const src = order[cursor + r]!;
        out.x.set(data.x.subarray(src * inS, (src + 1) * inS), r * inS);
        out.y.set(data.y.subarray(src * outS, (src + 1) * outS), r * outS);
      }
      cursor += batch;
      return out;
    },
    save: () => ({ rng: rng.save(), order: Array.from(order), cursor }),
    restore(state) {
      if (state.order.length !== data.rows || !(state.cursor >= 0 && state.cursor <= data.rows))
        throw new Error(
          `invalid resume: the minibatch state is for ${plural(state.order.length, "row")}, the data has ${data.rows}`,
        );
      rng = createRng(seed, state.rng);
      order.set(state.order);
      cursor = state.cursor;
    },
  };
}

/** The sampler as a function: each call the next minibatch. */
export function minibatches(data: MlpData, batch: number, seed: number): () => MlpData {
  const sampler = minibatchSampler(data, batch, seed);
  return () => sampler.next();
}
