import type { Objective } from "../src/core/objective.js";

/** The Hessian at θ as a dense n×n row-major matrix, column by column from the objective's H·eᵢ. */
export function denseHessian(f: Pick<Objective, "hessianVector">, theta: Float64Array): Float64Array {
  const n = theta.length;
  const H = new Float64Array(n * n);
  const e = new Float64Array(n);
  const col = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    e.fill(0);
    e[i] = 1;
    f.hessianVector(theta, e, col);
    for (let k = 0; k < n; k++) H[k * n + i] = col[k]!;
  }
  return H;
}
