import type { Rng } from "./rng.js";

/**
 * A random n×n orthogonal matrix (row-major), Haar-distributed: Gram–Schmidt on the columns of
 * a Gaussian matrix (Mezzadri, "How to generate random matrices from the classical compact groups",
 * 2007), orthogonalized twice so that QᵀQ = I to rounding even for ill-conditioned draws.
 */
export function randomOrthogonal(n: number, rng: Rng): Float64Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) q[i] = rng.normal();
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let d = 0;
        for (let i = 0; i < n; i++) d += q[i * n + j]! * q[i * n + k]!;
        for (let i = 0; i < n; i++) q[i * n + j]! -= d * q[i * n + k]!;
      }
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += q[i * n + j]! ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < n; i++) q[i * n + j]! *= inv;
  }
  return q;
}
