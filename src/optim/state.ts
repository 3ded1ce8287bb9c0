import { plural } from "../core/format.js";
import { type HyperKey, withHyper } from "./hyper.js";
import type { Optimizer, OptimizerConfig, OptimizerSnapshot } from "./types.js";

/**
 * The bookkeeping every optimizer shares: named state buffers (null until first used, as PyTorch
 * creates some lazily), a step counter, and snapshot/restore for rollback.
 */
export abstract class BufferedOptimizer<C extends OptimizerConfig> implements Optimizer {
  stepCount = 0;
  protected buffers: Record<string, Float64Array | null> = {};

  private current: C;

  constructor(
    config: C,
    readonly dim: number,
  ) {
    this.current = config;
    this.reset();
  }

  get config(): C {
    return this.current;
  }

  /** Changes the learning rate from the next step on, keeping all state (schedules, range tests, the guard). */
  setLearningRate(lr: number): void {
    // 0 is a schedule's floor (cosine:T past T): the step then leaves the weights where they are.
    if (!(lr >= 0) || !Number.isFinite(lr)) throw new Error(`invalid lr: ${lr} (a finite number ≥ 0)`);
    this.current = { ...this.current, lr };
  }

  /**
   * Sets one hyper-parameter from the next step on, keeping all state, as editing PyTorch's
   * `param_groups[0]` does (hyper.ts; the key is checked against the optimizer there).
   */
  setHyperparameter(key: HyperKey, value: number): void {
    this.current = withHyper(this.current, key, value);
  }

  abstract step(x: Float64Array, grad: Float64Array): void;

  /** The buffers a fresh instance starts with. */
  protected abstract initialBuffers(): Record<string, Float64Array | null>;

  reset(): void {
    this.stepCount = 0;
    this.buffers = this.initialBuffers();
  }

  snapshot(): OptimizerSnapshot {
    const buffers: Record<string, Float64Array | null> = {};
    for (const [k, v] of Object.entries(this.buffers)) buffers[k] = v ? Float64Array.from(v) : null;
    return { name: this.config.name, stepCount: this.stepCount, buffers };
  }

  restore(snapshot: OptimizerSnapshot): void {
    if (snapshot.name !== this.config.name)
      throw new Error(`cannot restore a ${snapshot.name} snapshot into ${this.config.name}`);
    this.stepCount = snapshot.stepCount;
    this.buffers = {};
    for (const [k, v] of Object.entries(snapshot.buffers)) this.buffers[k] = v ? Float64Array.from(v) : null;
  }

  protected checkDim(x: Float64Array, grad: Float64Array): void {
    if (x.length !== this.dim || grad.length !== this.dim) {
      throw new Error(
        `optimizer for ${plural(this.dim, "parameter")} given x of length ${x.length} and a gradient of length ${grad.length}`,
      );
    }
  }
}
