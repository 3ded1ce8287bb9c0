import { plural } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { norm2 } from "../../core/vec.js";

/**
 * The Hessian at a fixed point as a linear operator v ↦ H(x)·v, counting its uses: curvature
 * methods are compared by how many HVPs they need, since on a network one HVP costs about two
 * gradients.
 */
export interface HessianOperator {
  readonly dim: number;
  /** False when H·v is a finite difference of gradients (accurate to ~1e-7 relative, not exact). */
  readonly exact: boolean;
  /** Hessian-vector products computed so far. */
  readonly count: number;
  apply(v: Float64Array, out: Float64Array): void;
}

export interface HessianOperatorOptions {
  /** Use central differences of gradients even where an exact HVP exists. */
  readonly finiteDifference?: boolean;
}

export function hessianOperator(
  objective: Objective,
  at: ArrayLike<number>,
  options: HessianOperatorOptions = {},
): HessianOperator {
  const n = objective.dim;
  if (at.length !== n)
    throw new Error(
      `invalid point: ${plural(at.length, "value")} for ${n} variables (${objective.names.join(", ")})`,
    );
  const x = Float64Array.from(at);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(x[i]!))
      throw new Error(`invalid point: ${objective.names[i]} = ${x[i]} is not finite`);
  }
  const exact = !options.finiteDifference && typeof objective.hessianVector === "function";
  let count = 0;
  const xp = new Float64Array(n);
  const xm = new Float64Array(n);
  const gp = new Float64Array(n);
  const gm = new Float64Array(n);
  return {
    dim: n,
    exact,
    get count() {
      return count;
    },
    apply(v, out) {
      count++;
      if (exact) {
        objective.hessianVector(x, v, out);
        return;
      }
      // h balances truncation (∝ h²) against rounding (∝ ε/h) for a unit-scale step along v.
      const vn = norm2(v);
      if (vn === 0) {
        out.fill(0);
        return;
      }
      const h = (Math.cbrt(Number.EPSILON) * (1 + norm2(x))) / vn;
      for (let i = 0; i < n; i++) {
        xp[i] = x[i]! + h * v[i]!;
        xm[i] = x[i]! - h * v[i]!;
      }
      objective.gradient(xp, gp);
      objective.gradient(xm, gm);
      for (let i = 0; i < n; i++) out[i] = (gp[i]! - gm[i]!) / (2 * h);
    },
  };
}

/** An operator for an explicit symmetric matrix (row-major), for tests and the quadratic case. */
export function matrixOperator(matrix: Float64Array, n: number): HessianOperator {
  let count = 0;
  return {
    dim: n,
    exact: true,
    get count() {
      return count;
    },
    apply(v, out) {
      count++;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += matrix[i * n + j]! * v[j]!;
        out[i] = s;
      }
    },
  };
}
