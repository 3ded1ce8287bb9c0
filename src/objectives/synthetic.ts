import type { Rng } from "../core/rng.js";

/** Seeded 2-D classification sets for training small networks (no download, same on every machine). */
export const SYNTHETIC = ["spiral", "circles", "xor", "gaussian"] as const;
export type SyntheticName = (typeof SYNTHETIC)[number];

export interface LabelledSet {
  /** rows × features, row-major. */
  readonly x: Float64Array;
  readonly labels: Int32Array;
  readonly rows: number;
  readonly features: readonly string[];
  readonly classes: number;
}

/**
 * spiral: two interleaved arms; circles: a disc inside a ring; xor: the four quadrants; gaussian:
 * two blobs. `noise` is the standard deviation of Gaussian jitter added to every coordinate.
 */
export function synthetic(name: SyntheticName, rows: number, noise: number, rng: Rng): LabelledSet {
  if (!Number.isInteger(rows) || rows < 2) throw new Error(`invalid n: ${rows} (a whole number ≥ 2)`);
  if (!(noise >= 0) || !Number.isFinite(noise)) throw new Error(`invalid noise: ${noise} (a number ≥ 0)`);
  const x = new Float64Array(rows * 2);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const c = r % 2;
    let px: number;
    let py: number;
    switch (name) {
      case "spiral": {
        const t = (rng.uniform() * 3 * Math.PI) / 2 + 0.25;
        const angle = t * 2 + c * Math.PI;
        px = (t / 5) * Math.cos(angle);
        py = (t / 5) * Math.sin(angle);
        break;
      }
      case "circles": {
        const radius = c === 0 ? 0.5 * Math.sqrt(rng.uniform()) : 0.8 + 0.2 * rng.uniform();
        const angle = 2 * Math.PI * rng.uniform();
        px = radius * Math.cos(angle);
        py = radius * Math.sin(angle);
        break;
      }
      case "xor": {
        px = 2 * rng.uniform() - 1;
        py = 2 * rng.uniform() - 1;
        labels[r] = px * py > 0 ? 1 : 0;
        x[2 * r] = px + noise * rng.normal();
        x[2 * r + 1] = py + noise * rng.normal();
        continue;
      }
      case "gaussian":
        px = (c === 0 ? -0.5 : 0.5) + 0.3 * rng.normal();
        py = (c === 0 ? -0.5 : 0.5) + 0.3 * rng.normal();
        break;
    }
    labels[r] = c;
    x[2 * r] = px + noise * rng.normal();
    x[2 * r + 1] = py + noise * rng.normal();
  }
  return { x, labels, rows, features: ["x1", "x2"], classes: 2 };
}

/** Class labels as one-hot target rows (rows × classes), the targets of cross-entropy and of mse on classes. */
export function oneHot(labels: Int32Array, classes: number): Float64Array {
  const y = new Float64Array(labels.length * classes);
  for (let r = 0; r < labels.length; r++) y[r * classes + labels[r]!] = 1;
  return y;
}

/** Shuffled split into training and validation rows. */
export function splitRows(
  rows: number,
  validation: number,
  rng: Rng,
): { train: Int32Array; validation: Int32Array } {
  if (!(validation >= 0 && validation < 1))
    throw new Error(`invalid validation: ${validation} (a fraction in [0, 1))`);
  const order = Int32Array.from({ length: rows }, (_, i) => i);
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const nVal = Math.round(rows * validation);
  return { train: order.slice(nVal), validation: order.slice(0, nVal) };
}

/**
 * A regression set where minibatch noise alone causes divergence: x₁ ~ N(0, 1) on every row, x₂ = 0
 * except on one row in `every`, where it is `spike`; y = x₁ − 0.5·x₂ + N(0, 0.1²). The full batch
 * has little curvature along x₂ (the spikes are rare) while a minibatch holding a spike row has a
 * lot, so a learning rate can be stable for full-batch steps and unstable for small minibatches.
 */
export function heavyRowsRegression(
  rows: number,
  rng: Rng,
  options: { every?: number; spike?: number } = {},
): { x: Float64Array; y: Float64Array; rows: number; features: readonly string[] } {
  const every = options.every ?? 50;
  const spike = options.spike ?? 30;
  const x = new Float64Array(rows * 2);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const a = rng.normal();
    const b = r % every === every - 1 ? spike : 0;
    x[2 * r] = a;
    x[2 * r + 1] = b;
    y[r] = a - 0.5 * b + 0.1 * rng.normal();
  }
  return { x, y, rows, features: ["x1", "x2"] };
}
