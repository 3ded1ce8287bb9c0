import { BufferedOptimizer } from "./state.js";
import type { AdamConfig } from "./types.js";

/**
 * torch.optim.Adam and AdamW, single-tensor path (`_single_tensor_adam`, `_single_tensor_adamw`):
 *   adam:  g = g + wd·x           adamw: x = x·(1 − lr·wd)
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  (amsgrad: v̂ = max(v̂, v))
 *   x = x − (lr / (1 − β1ᵗ)) · m / (√v / √(1 − β2ᵗ) + eps)
 * Note eps is added after the bias correction of √v, which is PyTorch's order (not the paper's).
 */
export class Adam extends BufferedOptimizer<AdamConfig> {
  protected initialBuffers() {
    return {
      expAvg: new Float64Array(this.dim),
      expAvgSq: new Float64Array(this.dim),
      maxExpAvgSq: this.config.amsgrad ? new Float64Array(this.dim) : null,
    };
  }

  step(x: Float64Array, grad: Float64Array): void {
    this.checkDim(x, grad);
    const { lr, betas, eps, weightDecay, amsgrad } = this.config;
    const [beta1, beta2] = betas;
    const decoupled = this.config.name === "adamw";
    const m = this.buffers["expAvg"]!;
    const v = this.buffers["expAvgSq"]!;
    const vMax = this.buffers["maxExpAvgSq"] ?? null;
    const t = ++this.stepCount;
    const stepSize = lr / (1 - beta1 ** t);
    const bias2Sqrt = Math.sqrt(1 - beta2 ** t);
    const decay = 1 - lr * weightDecay;
    for (let i = 0; i < this.dim; i++) {
      let g = grad[i]!;
      if (decoupled) x[i] = x[i]! * decay;
      else if (weightDecay !== 0) g += weightDecay * x[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * g;
      const vi = beta2 * v[i]! + (1 - beta2) * (g * g);
      m[i] = mi;
      v[i] = vi;
      let second = vi;
      if (amsgrad && vMax !== null) {
        second = Math.max(vMax[i]!, vi);
        vMax[i] = second;
      }
      const denom = Math.sqrt(second) / bias2Sqrt + eps;
      x[i] = x[i]! - stepSize * (mi / denom);
    }
  }
}
