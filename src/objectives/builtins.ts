import type { Objective } from "../core/objective.js";
import { defaultNames, denseObjective } from "./_define.js";

/** A built-in test function with its known global minimizers (Surjanovic & Bingham, "Virtual Library of Simulation Experiments"). */
export interface BuiltinObjective extends Objective {
  hessian(x: Float64Array, out: Float64Array): void;
  /** Known global minimizers. */
  readonly minimizers: readonly (readonly number[])[];
  /** f at the minimizers. */
  readonly minimum: number;
}

const xy = defaultNames(2);

/** Rosenbrock's valley f = (1−x)² + 100(y−x²)²; minimum 0 at (1, 1); H(1,1) = [[802, −400], [−400, 200]]. */
export function rosenbrock(): BuiltinObjective {
  return {
    ...denseObjective({
      dim: 2,
      names: xy,
      description: { kind: "builtin", name: "rosenbrock" },
      value: (p) => {
        const x = p[0]!;
        const y = p[1]!;
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2;
      },
      gradient: (p, g) => {
        const x = p[0]!;
        const y = p[1]!;
        const r = y - x * x;
        g[0] = -2 * (1 - x) - 400 * x * r;
        g[1] = 200 * r;
        return (1 - x) ** 2 + 100 * r * r;
      },
      hessian: (p, h) => {
        const x = p[0]!;
        const y = p[1]!;
        h[0] = 2 - 400 * y + 1200 * x * x;
        h[1] = h[2] = -400 * x;
        h[3] = 200;
      },
    }),
    minimizers: [[1, 1]],
    minimum: 0,
  };
}

/** Himmelblau's f = (x²+y−11)² + (x+y²−7)²; four minima of value 0. */
export function himmelblau(): BuiltinObjective {
  return {
    ...denseObjective({
      dim: 2,
      names: xy,
      description: { kind: "builtin", name: "himmelblau" },
      value: (p) => {
        const x = p[0]!;
        const y = p[1]!;
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2;
      },
      gradient: (p, g) => {
        const x = p[0]!;
        const y = p[1]!;
        const a = x * x + y - 11;
        const b = x + y * y - 7;
        g[0] = 4 * x * a + 2 * b;
        g[1] = 2 * a + 4 * y * b;
        return a * a + b * b;
      },
      hessian: (p, h) => {
        const x = p[0]!;
        const y = p[1]!;
        h[0] = 12 * x * x + 4 * y - 42;
        h[1] = h[2] = 4 * (x + y);
        h[3] = 12 * y * y + 4 * x - 26;
      },
    }),
    // The three non-integer minima to the digits Himmelblau's function is usually quoted with;
    // the tests refine them by Newton's method before comparing.
    minimizers: [
      [3, 2],
      [-2.805118, 3.131312],
      [-3.77931, -3.283186],
      [3.584428, -1.848126],
    ],
    minimum: 0,
  };
}

/** Beale's f = (1.5−x+xy)² + (2.25−x+xy²)² + (2.625−x+xy³)²; minimum 0 at (3, 0.5). */
export function beale(): BuiltinObjective {
  const c = [1.5, 2.25, 2.625] as const;
  return {
    ...denseObjective({
      dim: 2,
      names: xy,
      description: { kind: "builtin", name: "beale" },
      value: (p) => {
        const x = p[0]!;
        const y = p[1]!;
        let s = 0;
        for (let i = 0; i < 3; i++) s += (c[i]! - x * (1 - y ** (i + 1))) ** 2;
        return s;
      },
      // Term i: r_i = c_i − x(1 − y^k), k = i+1; ∂r/∂x = −(1 − y^k), ∂r/∂y = x·k·y^(k−1).
      gradient: (p, g) => {
        const x = p[0]!;
        const y = p[1]!;
        let s = 0;
        let gx = 0;
        let gy = 0;
        for (let i = 0; i < 3; i++) {
          const k = i + 1;
          const r = c[i]! - x * (1 - y ** k);
          s += r * r;
          gx += 2 * r * -(1 - y ** k);
          gy += 2 * r * x * k * y ** (k - 1);
        }
        g[0] = gx;
        g[1] = gy;
        return s;
      },
      hessian: (p, h) => {
        const x = p[0]!;
        const y = p[1]!;
        let hxx = 0;
        let hxy = 0;
        let hyy = 0;
        for (let i = 0; i < 3; i++) {
          const k = i + 1;
          const r = c[i]! - x * (1 - y ** k);
          const rx = -(1 - y ** k);
          const ry = x * k * y ** (k - 1);
          const rxy = k * y ** (k - 1);
          const ryy = k > 1 ? x * k * (k - 1) * y ** (k - 2) : 0;
          hxx += 2 * rx * rx;
          hxy += 2 * (rx * ry + r * rxy);
          hyy += 2 * (ry * ry + r * ryy);
        }
        h[0] = hxx;
        h[1] = h[2] = hxy;
        h[3] = hyy;
      },
    }),
    minimizers: [[3, 0.5]],
    minimum: 0,
  };
}

/** Booth's f = (x+2y−7)² + (2x+y−5)²; a quadratic with minimum 0 at (1, 3) and H = [[10, 8], [8, 10]]. */
export function booth(): BuiltinObjective {
  return {
    ...denseObjective({
      dim: 2,
      names: xy,
      description: { kind: "builtin", name: "booth" },
      value: (p) => (p[0]! + 2 * p[1]! - 7) ** 2 + (2 * p[0]! + p[1]! - 5) ** 2,
      gradient: (p, g) => {
        const a = p[0]! + 2 * p[1]! - 7;
        const b = 2 * p[0]! + p[1]! - 5;
        g[0] = 2 * a + 4 * b;
        g[1] = 4 * a + 2 * b;
        return a * a + b * b;
      },
      hessian: (_p, h) => {
        h[0] = 10;
        h[1] = h[2] = 8;
        h[3] = 10;
      },
    }),
    minimizers: [[1, 3]],
    minimum: 0,
  };
}

/** Rastrigin's f = 10n + Σ (x_i² − 10 cos 2πx_i); minimum 0 at the origin, a local minimum near every integer point. */
export function rastrigin(dim = 2): BuiltinObjective {
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`invalid dimension: ${dim} (a whole number ≥ 1)`);
  const w = 2 * Math.PI;
  return {
    ...denseObjective({
      dim,
      names: defaultNames(dim),
      description: { kind: "builtin", name: "rastrigin", ...(dim === 2 ? {} : { parameters: { dim } }) },
      value: (p) => {
        let s = 10 * dim;
        for (let i = 0; i < dim; i++) s += p[i]! ** 2 - 10 * Math.cos(w * p[i]!);
        return s;
      },
      gradient: (p, g) => {
        let s = 10 * dim;
        for (let i = 0; i < dim; i++) {
          const x = p[i]!;
          s += x * x - 10 * Math.cos(w * x);
          g[i] = 2 * x + 10 * w * Math.sin(w * x);
        }
        return s;
      },
      hessian: (p, h) => {
        h.fill(0);
        for (let i = 0; i < dim; i++) h[i * dim + i] = 2 + 10 * w * w * Math.cos(w * p[i]!);
      },
    }),
    minimizers: [new Array<number>(dim).fill(0)],
    minimum: 0,
  };
}
