import { BufferedOptimizer } from "./state.js";
import type { RmspropConfig } from "./types.js";

/**
 * torch.optim.RMSprop, single-tensor path (`_single_tensor_rmsprop`):
 *   g = g + wd·x;  s = α·s + (1 − α)·g²;  centered: a = α·a + (1 − α)·g, d = √(s − a²) + eps,
 *   else d = √s + eps;  momentum: b = μ·b + g/d, x = x − lr·b;  else x = x − lr·g/d.
 */
export class Rmsprop extends BufferedOptimizer<RmspropConfig> {
  protected initialBuffers() {
    return {
      squareAvg: new Float64Array(this.dim),
      gradAvg: this.config.centered ? new Float64Array(this.dim) : null,
      momentumBuffer: this.config.momentum > 0 ? new Float64Array(this.dim) : null,
    };
  }

  step(x: Float64Array, grad: Float64Array): void {
    this.checkDim(x, grad);
    const { lr, alpha, eps, weightDecay, momentum } = this.config;
    const s = this.buffers["squareAvg"]!;
    const a = this.buffers["gradAvg"] ?? null;
    // Momentum 0 leaves the buffer alone (PyTorch keeps it in its state); set > 0 part-way on a
    // run that started without, it starts from zeros, as PyTorch's would at its first step.
    let b = momentum > 0 ? (this.buffers["momentumBuffer"] ?? null) : null;
    if (momentum > 0 && b === null) {
      b = new Float64Array(this.dim);
      this.buffers["momentumBuffer"] = b;
    }
    for (let i = 0; i < this.dim; i++) {
      let g = grad[i]!;
      if (weightDecay !== 0) g += weightDecay * x[i]!;
      const si = alpha * s[i]! + (1 - alpha) * (g * g);
      s[i] = si;
      let avg: number;
      if (a !== null) {
        const ai = alpha * a[i]! + (1 - alpha) * g;
        a[i] = ai;
        avg = Math.sqrt(si - ai * ai) + eps;
      } else {
        avg = Math.sqrt(si) + eps;
      }
      if (b !== null) {
        const bi = momentum * b[i]! + g / avg;
        b[i] = bi;
        x[i] = x[i]! - lr * bi;
      } else {
        x[i] = x[i]! - lr * (g / avg);
      }
    }
    this.stepCount++;
  }
}
