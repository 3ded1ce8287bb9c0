import { readFileSync } from "node:fs";
import { type Activation, type Loss, type MlpObjective, mlpObjective } from "../src/nn/mlp/mlp.js";

/**
 * The exact spectra of four 501–721-parameter networks' dense Hessians, from PyTorch
 * (scripts/fixtures/torch_spectrum.py → src/analysis/curvature/__golden__/torch-spectrum.json),
 * for the SLQ tests and bench/spectrum.ts.
 */
export interface SpectrumCase {
  readonly name: string;
  readonly point: string;
  readonly sizes: number[];
  readonly activation: Activation;
  readonly loss: Loss;
  readonly rows: number;
  readonly x: number[];
  readonly y: number[];
  readonly theta: number[];
  /** Every eigenvalue, ascending. */
  readonly eigenvalues: number[];
  readonly trace: number;
  readonly blocks: { max: number; min: number; trace: number }[];
  readonly topEigenvector: number[];
}

export const spectrumFixture = JSON.parse(
  readFileSync(new URL("../src/analysis/curvature/__golden__/torch-spectrum.json", import.meta.url), "utf8"),
) as { torch: string; cases: SpectrumCase[] };

/** The case's network on its rows, and its weights. */
export function caseObjective(c: SpectrumCase): { f: MlpObjective; theta: Float64Array } {
  const f = mlpObjective(
    { sizes: c.sizes, activation: c.activation, loss: c.loss },
    { x: Float64Array.from(c.x), y: Float64Array.from(c.y), rows: c.rows },
  );
  return { f, theta: Float64Array.from(c.theta) };
}
