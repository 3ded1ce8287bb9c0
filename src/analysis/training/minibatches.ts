import { createRng } from "../../core/rng.js";
import type { MlpData } from "../../objectives/mlp.js";

/**
 * Minibatches of `batch` rows in a seeded shuffled order, reshuffled (Fisher–Yates) whenever the
 * rest of the epoch cannot fill a batch: what `train` steps on, and what a range test or a trial
 * run must draw to see the same batches. Each call fills and returns the same buffers.
 */
export function minibatches(data: MlpData, batch: number, seed: number): () => MlpData {
  const inS = data.x.length / data.rows;
  const outS = data.y.length / data.rows;
  const rng = createRng(seed);
  const order = Int32Array.from({ length: data.rows }, (_, i) => i);
  const out = { x: new Float64Array(batch * inS), y: new Float64Array(batch * outS), rows: batch };
  let cursor = data.rows;
  return () => {
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
  };
}
