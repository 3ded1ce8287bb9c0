import { decimal } from "../../core/decimal.js";
import type { Objective } from "../../core/objective.js";
import type { OptimizerBase, OptimizerOptions } from "../../optim/index.js";
import type { VerdictStatus } from "../../run/types.js";
import { atBaseline } from "../../run/verdict.js";
import { type PathCurvature, type ProbeResult, probe, type ThresholdCriteria } from "./threshold.js";

/** Values of one swept hyper-parameter. */
export interface Grid {
  readonly values: readonly number[];
  readonly scale: "log" | "linear";
}

/**
 * A grid from `start:stop:count` (log-spaced or linear by the parameter's default, or forced with
 * a `log:` / `lin:` prefix) or an explicit list `0.1,0.2,0.5`.
 */
export function parseGrid(text: string, name: string, defaultScale: "log" | "linear"): Grid {
  const usage = `a grid start:stop:count such as ${defaultScale === "log" ? "1e-4:10:60" : "0:0.99:40"} (log: or lin: in front to choose the spacing), or a list such as 0.1,0.2`;
  let body = text.trim();
  let scale = defaultScale;
  const prefix = /^(log|lin):/.exec(body);
  if (prefix) {
    scale = prefix[1] === "log" ? "log" : "linear";
    body = body.slice(prefix[0].length);
  }
  const parts = body.split(":");
  if (parts.length === 1) {
    const items = body.split(",");
    if (items.some((v) => v.trim() === "") && body !== "")
      throw new Error(`invalid ${name}: an empty item in '${text}' (${usage})`);
    const values = items.map((v) => decimal(v) ?? Number.NaN);
    if (body === "" || values.some((v) => !Number.isFinite(v)))
      throw new Error(`invalid ${name}: '${text}' (${usage})`);
    checkScale(values, name, scale);
    return { values, scale };
  }
  if (parts.length !== 3) throw new Error(`invalid ${name}: '${text}' (${usage})`);
  const [a, b, n] = parts.map((p) => decimal(p) ?? Number.NaN) as [number, number, number];
  if (![a, b, n].every(Number.isFinite) || !Number.isInteger(n) || n < 2 || n > 100_000) {
    throw new Error(`invalid ${name}: '${text}' (${usage}; count a whole number from 2 to 100000)`);
  }
  checkScale([a, b], name, scale);
  const values = Array.from({ length: n }, (_, i) => {
    const t = i / (n - 1);
    return scale === "log" ? Math.exp(Math.log(a) + t * (Math.log(b) - Math.log(a))) : a + t * (b - a);
  });
  return { values, scale };
}

function checkScale(values: readonly number[], name: string, scale: "log" | "linear"): void {
  if (scale === "log") {
    const bad = values.find((v) => !(v > 0));
    if (bad !== undefined)
      throw new Error(
        `invalid ${name}: a log grid needs values > 0, got ${bad} (use lin:… for a linear grid)`,
      );
  }
}

export interface SweepCell {
  readonly lr: number;
  readonly momentum?: number;
  /** The seed of the cell's start (a network's initial weights), when the sweep repeats cells over seeds. */
  readonly seed?: number;
}

/**
 * The outcome of a cell, as the runner's verdicts name it: for a function converged / converging /
 * oscillating / diverged / nonfinite / unbounded; for a model trained on data converged /
 * trained / catapult (the loss rose above its start, then ended below it) / stalled (below its
 * start but at the trivial baseline) / failed (ended at or above its start) / diverged / nonfinite.
 */
export type CellStatus = VerdictStatus | "catapult";

export interface CellResult extends SweepCell {
  readonly index: number;
  readonly status: CellStatus;
  /** Steps until the status was decided (the horizon when undecided). */
  readonly steps: number;
  readonly finalLoss: number;
  /** The largest loss of the run and its step (the start's when it never rose). */
  readonly peakLoss: number;
  readonly peakStep: number;
  /** The curvature along the run's steps, when the criteria asked for it. */
  readonly curvature?: PathCurvature;
}

/**
 * The cell status of a finished probe (see CellStatus): `diverged` past the blow-up bound,
 * `nonfinite` past float64. A model on data (`baseline` given) that ended below its start but at or
 * above STALLED_FRACTION of the trivial baseline has `stalled` — it learned next to nothing; so has
 * one that converged there.
 */
export function cellStatus(r: ProbeResult, training: boolean, baseline?: number): CellStatus {
  if (r.outcome === "diverged") return Number.isFinite(r.finalLoss) ? "diverged" : "nonfinite";
  // A network whose gradient vanished at the trivial baseline (its units dead) converged to
  // nothing it learned: stalled (as run/verdict.ts judges it).
  if (r.outcome === "converged")
    return training && atBaseline(r.finalLoss, baseline) ? "stalled" : "converged";
  if (r.outcome === "unbounded") return "unbounded";
  if (training) {
    if (!(r.finalLoss < r.startLoss)) return "failed";
    if (atBaseline(r.finalLoss, baseline)) return "stalled";
    return r.peakLoss > r.startLoss ? "catapult" : "trained";
  }
  return r.finalLoss < r.startLoss ? "converging" : "oscillating";
}

/** The optimizer of a cell: the sweep's, at the cell's rate (and momentum, when the cell sets one). */
export function cellOptimizer(base: OptimizerBase, cell: SweepCell): OptimizerOptions {
  return {
    ...base,
    lr: cell.lr,
    ...(cell.momentum !== undefined ? { momentum: cell.momentum } : {}),
  } as OptimizerOptions;
}

/** One cell of a sweep: a probe run, classified the way the runner's verdicts are. */
export function sweepCell(
  objective: Objective,
  x0: ArrayLike<number>,
  base: OptimizerBase,
  cell: SweepCell,
  index: number,
  criteria: ThresholdCriteria,
): CellResult {
  const r = probe(objective, x0, cellOptimizer(base, cell), criteria);
  return {
    ...cell,
    index,
    status: cellStatus(r, objective.training === true, objective.baseline?.loss),
    steps: r.steps,
    finalLoss: r.finalLoss,
    peakLoss: r.peakLoss,
    peakStep: r.peakStep,
    ...(r.curvature ? { curvature: r.curvature } : {}),
  };
}
