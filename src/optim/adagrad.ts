import { BufferedOptimizer } from "./state.js";
import type { AdagradConfig } from "./types.js";

/**
 * torch.optim.Adagrad, single-tensor path (`_single_tensor_adagrad`):
 *   g = g + wd·x;  clr = lr / (1 + (t − 1)·lr_decay);  S = S + g²;  x = x − clr·g/(√S + eps),
 * with S starting at initial_accumulator_value.
 */
export class Adagrad extends BufferedOptimizer<AdagradConfig> {
  protected initialBuffers() {
    return { sum: new Float64Array(this.dim).fill(this.config.initialAccumulatorValue) };
  }

  step(x: Float64Array, grad: Float64Array): void {
    this.checkDim(x, grad);
    const { lr, lrDecay, weightDecay, eps } = this.config;
    const sum = this.buffers["sum"]!;
    const t = ++this.stepCount;
    const clr = lr / (1 + (t - 1) * lrDecay);
    for (let i = 0; i < this.dim; i++) {
      let g = grad[i]!;
      if (weightDecay !== 0) g += weightDecay * x[i]!;
      const si = sum[i]! + g * g;
      sum[i] = si;
      x[i] = x[i]! - clr * (g / (Math.sqrt(si) + eps));
    }
  }
}
