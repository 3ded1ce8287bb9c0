import { spawnWorker } from "../../core/worker.js";
import { type ShareChannels, shareBounds, splitPasses } from "../row-threads.js";
import { type MlpData, type MlpObjective, type MlpSpec, mlpObjective, rowRange } from "./mlp.js";

/**
 * An MLP whose full-batch loss, gradient and Hessian-vector product are split by rows over this
 * thread and worker threads (Node only; row-threads.ts: the shares' means combined, weighted by
 * their counts, ∇ = Σ_t c_t·∇_t / Σ_t c_t; the calls synchronous; the result differs from
 * mlpObjective's in the last bits by one more sum, the same from run to run). Minibatches
 * (gradientOn) and the rest run in this thread. close() ends the workers.
 */
export interface ThreadedMlp extends MlpObjective {
  readonly threads: number;
  close(): Promise<void>;
}

export interface ThreadInit extends ShareChannels {
  readonly spec: MlpSpec;
  readonly data: MlpData;
}

/** A share of the rows, copied: a worker is sent its own arrays, not the whole buffer they view. */
function share(d: MlpData, r0: number, r1: number): MlpData {
  const part = rowRange(d, r0, r1);
  return { x: part.x.slice(), y: part.y.slice(), rows: part.rows };
}

export async function threadedMlp(spec: MlpSpec, data: MlpData, threads: number): Promise<ThreadedMlp> {
  const outS = spec.sizes[spec.sizes.length - 1]!;
  const bounds = shareBounds(data.rows, threads);
  const whole = mlpObjective(spec, data, "mlp");
  // The count each share's mean is over: rows × outputs, or rows for cross-entropy.
  const per = spec.loss === "cross-entropy" ? 1 : outS;
  const weights = bounds.slice(1).map((b, t) => ((b - bounds[t]!) * per) / (data.rows * per));
  const passes = await splitPasses(
    whole.dim,
    weights,
    mlpObjective(spec, share(data, 0, bounds[1]!), "mlp"),
    (w, channels) => {
      const worker = spawnWorker(import.meta.url, "mlp-thread-worker");
      const init: ThreadInit = { ...channels, spec, data: share(data, bounds[w + 1]!, bounds[w + 2]!) };
      worker.postMessage(init);
      return worker;
    },
  );
  return { ...whole, ...passes, threads: weights.length };
}
