import { allFinite, dot, norm2 } from "../core/vec.js";
import type { Objective } from "../objectives/types.js";
import type { OptimizerConfig, OptimizerOptions } from "../optim/index.js";
import { createOptimizer } from "../optim/index.js";
import type { StepRecord, Verdict } from "./types.js";
import { judge } from "./verdict.js";

export interface RunConfig {
  readonly objective: Objective;
  readonly optimizer: OptimizerOptions | OptimizerConfig;
  /** Start point x₀ (copied, never modified). */
  readonly x0: ArrayLike<number>;
  /** Step budget N: at most N updates, N+1 records. */
  readonly steps: number;
  /** Converged when ‖∇f(x_k)‖ ≤ tolerance; the run stops there. Default 1e-10. */
  readonly tolerance?: number;
}

export interface RunResult {
  readonly optimizer: OptimizerConfig;
  readonly x0: Float64Array;
  readonly steps: number;
  readonly tolerance: number;
  readonly trace: StepRecord[];
  readonly verdict: Verdict;
}

/** Checks what a run is given, so that a bad start fails with a sentence rather than a NaN trace. */
export function validateRun(config: RunConfig): void {
  const { objective, x0, steps } = config;
  if (x0.length !== objective.dim) {
    throw new Error(
      `invalid x0: ${x0.length} value${x0.length === 1 ? "" : "s"} for ${objective.dim} variable${objective.dim === 1 ? "" : "s"} (${objective.names.join(", ")})`,
    );
  }
  for (let i = 0; i < x0.length; i++) {
    if (!Number.isFinite(x0[i]))
      throw new Error(`invalid x0: ${objective.names[i]} = ${x0[i]} is not finite`);
  }
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`invalid steps: ${steps} (a whole number ≥ 0)`);
  const tolerance = config.tolerance ?? 1e-10;
  if (!(tolerance >= 0)) throw new Error(`invalid tolerance: ${tolerance} (a number ≥ 0)`);
}

/**
 * Iterates the optimizer on the objective and yields one record per iterate (DESIGN.md contract):
 * record k holds x_k, f(x_k), ∇f(x_k), and — once x_{k+1} is known — ΔC_k = f(x_{k+1}) − f(x_k),
 * the first-order prediction ∇f(x_k)ᵀΔx and the second-order one adding ½ΔxᵀH(x_k)Δx.
 * Stops after `steps` updates, at the first point with ‖g‖ ≤ tolerance, or at the first
 * non-finite value (whose record is the last one yielded). Consumers such as the web page pull
 * records at their own pace.
 */
export function* iterateRun(config: RunConfig): Generator<StepRecord, void, undefined> {
  validateRun(config);
  const { objective } = config;
  const n = objective.dim;
  const tolerance = config.tolerance ?? 1e-10;
  const optimizer = createOptimizer(config.optimizer, n);
  let x = Float64Array.from(config.x0);
  let g = new Float64Array(n);
  let loss = objective.gradient(x, g);
  const dx = new Float64Array(n);
  const hdx = new Float64Array(n);
  for (let k = 0; ; k++) {
    const gradNorm = norm2(g);
    const finite = Number.isFinite(loss) && allFinite(g) && allFinite(x);
    if (!finite || k === config.steps || gradNorm <= tolerance) {
      yield { step: k, x, loss, grad: g, gradNorm };
      return;
    }
    const xNext = Float64Array.from(x);
    optimizer.step(xNext, g);
    const gNext = new Float64Array(n);
    const lossNext = objective.gradient(xNext, gNext);
    for (let i = 0; i < n; i++) dx[i] = xNext[i]! - x[i]!;
    const firstOrder = dot(g, dx);
    let secondOrder = Number.NaN;
    if (allFinite(dx)) {
      objective.hessianVector(x, dx, hdx);
      secondOrder = firstOrder + 0.5 * dot(dx, hdx);
    }
    yield { step: k, x, loss, grad: g, gradNorm, deltaLoss: lossNext - loss, firstOrder, secondOrder };
    x = xNext;
    g = gNext;
    loss = lossNext;
  }
}

/** Runs to the end and judges the trace (see `judge`). */
export function run(config: RunConfig): RunResult {
  const trace = [...iterateRun(config)];
  const optimizer = createOptimizer(config.optimizer, config.objective.dim).config;
  const tolerance = config.tolerance ?? 1e-10;
  return {
    optimizer,
    x0: Float64Array.from(config.x0),
    steps: config.steps,
    tolerance,
    trace,
    verdict: judge(trace, { objective: config.objective, optimizer, tolerance }),
  };
}
