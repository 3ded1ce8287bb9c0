import { BufferedOptimizer } from "./state.js";
import type { SgdConfig } from "./types.js";

/**
 * torch.optim.SGD, single-tensor path (torch/optim/sgd.py, `_single_tensor_sgd`):
 *   d = g + wd·x;  b = d on the first step, else b = μ·b + (1 − dampening)·d;
 *   d = nesterov ? d + μ·b : b;  x = x − lr·d.
 * The first step copies d into the buffer without dampening, as PyTorch does.
 */
export class Sgd extends BufferedOptimizer<SgdConfig> {
  protected initialBuffers() {
    return { momentumBuffer: null };
  }

  step(x: Float64Array, grad: Float64Array): void {
    this.checkDim(x, grad);
    const { lr, momentum, dampening, nesterov, weightDecay } = this.config;
    const n = this.dim;
    // With momentum 0 the buffer is left alone (kept for a later momentum > 0, as PyTorch keeps
    // it in its state); momentum set > 0 part-way starts one from that step's d.
    let buf = momentum !== 0 ? (this.buffers["momentumBuffer"] ?? null) : null;
    const first = buf === null;
    if (momentum !== 0 && buf === null) {
      buf = new Float64Array(n);
      this.buffers["momentumBuffer"] = buf;
    }
    for (let i = 0; i < n; i++) {
      let d = grad[i]!;
      if (weightDecay !== 0) d += weightDecay * x[i]!;
      if (buf !== null) {
        const b = first ? d : momentum * buf[i]! + (1 - dampening) * d;
        buf[i] = b;
        d = nesterov ? d + momentum * b : b;
      }
      x[i] = x[i]! - lr * d;
    }
    this.stepCount++;
  }
}
