import { type OptimizerConfig, resolveOptimizerConfig } from "../../optim/index.js";
import { criticalLearningRate } from "../thresholds/critical.js";

/**
 * Early warning of divergence, online over consecutive iterates, cheap enough for every step.
 *
 * Signals, from the step k → k+1:
 * - curvature along the step, the secant c = (g_{k+1} − g_k)ᵀΔx / ‖Δx‖²: for the SGD family a step
 *   overshoots along that direction once c exceeds the critical curvature r₁/η (r₁ = the critical
 *   rate at λ = 1: 2 for plain GD, 2(1+β) with momentum, …);
 * - the loss and ‖g‖ growing geometrically over the last few steps.
 *
 * `diverging` needs both the over-threshold curvature (when it can be measured) and growth, held
 * for `patience` steps, or growth alone by a large factor; `edge-of-stability` is curvature near
 * the threshold with a loss that rises and falls but does not run away.
 */
export type DetectionState = "stable" | "edge-of-stability" | "diverging";

export interface Detection {
  readonly state: DetectionState;
  /** The first step whose state was `diverging`, or null. */
  readonly firstWarningStep: number | null;
  readonly reason: string;
}

export interface DetectorOptions {
  /** Consecutive steps a signal must hold (default 3). */
  readonly patience?: number;
  /**
   * How far the loss must climb above its lowest value of the last `window` steps to count as
   * running away: with the curvature signal (default 10 — an edge-of-stability spike, measured at
   * about ×3, recovers by itself), or on its own (default 1e3).
   */
  readonly growth?: number;
  readonly growthAlone?: number;
  /** Steps of loss history kept (default 10). */
  readonly window?: number;
}

export interface Observation {
  readonly step: number;
  readonly x: ArrayLike<number>;
  readonly loss: number;
  readonly grad: ArrayLike<number>;
  /** The learning rate of the step from this point (schedules change it). */
  readonly lr: number;
}

export class DivergenceDetector {
  private readonly patience: number;
  private readonly growth: number;
  private readonly growthAlone: number;
  private readonly window: number;
  /** Critical curvature × η: r₁ of the optimizer, or null when no fixed rate applies (adaptive). */
  private readonly r1: number | null;
  private previous: Observation | null = null;
  private readonly losses: number[] = [];
  private overCount = 0;
  private nearCount = 0;
  private risesSeen = 0;
  private state: DetectionState = "stable";
  private firstWarning: number | null = null;
  private why = "no sign of instability";

  constructor(optimizer: OptimizerConfig | { name: string }, options: DetectorOptions = {}) {
    this.patience = options.patience ?? 3;
    this.growth = options.growth ?? 10;
    this.window = options.window ?? 10;
    this.growthAlone = options.growthAlone ?? 1e3;
    const config =
      "lr" in optimizer
        ? (optimizer as OptimizerConfig)
        : resolveOptimizerConfig({ ...(optimizer as { name: "sgd" }), lr: 1 });
    this.r1 = config.name === "sgd" ? criticalLearningRate({ ...config, weightDecay: 0, lr: 1 }, 1).lr : null;
  }

  get detection(): Detection {
    return { state: this.state, firstWarningStep: this.firstWarning, reason: this.why };
  }

  /** Feeds the next iterate; returns the state after it. */
  observe(o: Observation): DetectionState {
    const prev = this.previous;
    this.previous = {
      step: o.step,
      x: Float64Array.from(o.x),
      loss: o.loss,
      grad: Float64Array.from(o.grad),
      lr: o.lr,
    };
    if (!Number.isFinite(o.loss)) {
      this.mark("diverging", o.step, `the loss is ${o.loss} at step ${o.step}`);
      return this.state;
    }
    this.losses.push(o.loss);
    if (this.losses.length > this.window) this.losses.shift();
    if (!prev) return this.state;
    if (o.loss > prev.loss) this.risesSeen++;
    // Secant curvature along the step prev → o.
    let num = 0;
    let den = 0;
    for (let i = 0; i < o.x.length; i++) {
      const dx = o.x[i]! - prev.x[i]!;
      num += (o.grad[i]! - prev.grad[i]!) * dx;
      den += dx * dx;
    }
    const curvature = den > 0 ? num / den : Number.NaN;
    const limit = this.r1 !== null ? this.r1 / prev.lr : Number.NaN;
    const ratio = curvature / limit;
    this.overCount = ratio > 1 ? this.overCount + 1 : 0;
    this.nearCount = ratio > 0.8 ? this.nearCount + 1 : 0;
    const recent = this.losses.slice(-(this.patience + 1));
    const risingRun =
      recent.length === this.patience + 1 && recent.every((l, k) => k === 0 || l > recent[k - 1]!);
    const grown = o.loss / Math.max(Math.min(...this.losses), Number.MIN_VALUE);
    if (this.overCount >= this.patience && risingRun && grown > this.growth) {
      this.mark(
        "diverging",
        o.step,
        `at step ${o.step} the curvature along the step, ${fmt(curvature)}, has exceeded the limit ${fmt(limit)} (= ${fmt(this.r1!)}/η) for ${this.overCount} steps and the loss is ×${fmt(grown)} its lowest of the last ${this.losses.length} steps, rising every step`,
      );
    } else if (risingRun && grown > this.growthAlone) {
      this.mark(
        "diverging",
        o.step,
        `at step ${o.step} the loss is ×${fmt(grown)} its lowest of the last ${this.losses.length} steps, rising every step`,
      );
    } else if (
      this.state !== "diverging" &&
      this.nearCount >= 1 &&
      this.risesSeen > 0 &&
      Number.isFinite(ratio)
    ) {
      this.state = "edge-of-stability";
      this.why = `the curvature along the step sits near the limit ${fmt(limit)} (${fmt(ratio)}×) and the loss rises on some steps without running away`;
    }
    return this.state;
  }

  private mark(state: DetectionState, step: number, reason: string): void {
    if (this.state !== "diverging") {
      this.state = state;
      this.firstWarning = step;
      this.why = reason;
    }
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(4))) : String(v);
}

/** Runs the detector over a finished trace (the runner stays free of analysis; the CLI adds this). */
export function detectInTrace(
  trace: readonly {
    step: number;
    x: ArrayLike<number>;
    loss: number;
    grad: ArrayLike<number>;
    lr?: number;
  }[],
  optimizer: OptimizerConfig,
  options: DetectorOptions = {},
): Detection {
  const d = new DivergenceDetector(optimizer, options);
  for (const r of trace)
    d.observe({ step: r.step, x: r.x, loss: r.loss, grad: r.grad, lr: r.lr ?? optimizer.lr });
  return d.detection;
}
