import type { Objective, ObjectiveDescription } from "../core/objective.js";

/** The pieces a small dense objective is made of; its HVP is formed from the full Hessian. */
export interface DenseParts {
  readonly dim: number;
  readonly names: readonly string[];
  readonly description: ObjectiveDescription;
  value(x: Float64Array): number;
  gradient(x: Float64Array, out: Float64Array): number;
  /** Fills out (dim×dim, row-major) with H(x). */
  hessian(x: Float64Array, out: Float64Array): void;
}

/**
 * An Objective whose Hessian-vector product is H(x)·v with H formed in full: right for the
 * low-dimensional built-ins, where forming H costs less than a call into anything smarter.
 */
export function denseObjective(
  parts: DenseParts,
): Objective & { hessian(x: Float64Array, out: Float64Array): void } {
  const n = parts.dim;
  const h = new Float64Array(n * n);
  return {
    dim: n,
    names: parts.names,
    description: parts.description,
    value: parts.value,
    gradient: parts.gradient,
    hessian: parts.hessian,
    hessianVector(x, v, out) {
      parts.hessian(x, h);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += h[i * n + j]! * v[j]!;
        out[i] = s;
      }
    },
  };
}

/** Names x, y, z for up to three variables, x1 … xn beyond. */
export function defaultNames(n: number): string[] {
  if (n <= 3) return ["x", "y", "z"].slice(0, n);
  return Array.from({ length: n }, (_, i) => `x${i + 1}`);
}
