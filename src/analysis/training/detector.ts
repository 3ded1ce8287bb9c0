import { secantCurvature } from "../../core/vec.js";
import { type OptimizerConfig, resolveOptimizerConfig } from "../../optim/index.js";
import { criticalLearningRate } from "../thresholds/critical.js";

/**
 * Early warning of divergence, online over consecutive iterates, cheap enough for every step, and
 * quiet through the spikes of training that recovers: the catapult (Lewkowycz et al. 2020, the loss
 * rises by orders of magnitude for a few steps while the curvature drops, then training settles in
 * a flatter region) and the edge of stability (Cohen et al. 2021, short spikes while the sharpness
 * hovers at 2/η).
 *
 * It reads two scalars per step k → k+1: the loss, and the curvature along the step, the secant
 * c = (g_{k+1} − g_k)ᵀΔx/‖Δx‖², as the ratio r = c/(r₁/η) to the optimizer's limit (r₁ = the
 * critical rate at λ = 1: 2 for plain GD, 2(1 + β) with momentum, …; r > 1 overshoots along the
 * step). `diverging` is raised by either of
 *
 * - **persistent overshoot**: the loss rose on each of the last `persistence` steps (default 8)
 *   with r ≥ 1 on every one of them — the curvature did not fall back under the limit — and grew
 *   ×`persistentGrowth` (default 100) over them. A catapult's curvature falls below the limit
 *   within a few steps of the rise; an edge-of-stability spike's rise is short or slight.
 * - **runaway**: the loss rose on the last two steps to ×`runaway` (default 1e4) its start and
 *   its lowest of the last `window` steps, whatever the curvature (which is erratic once the loss
 *   is that far out). Float64 overflows at 1.8e308, so this fires many steps before the first
 *   non-finite value even when the blow-up is super-exponential.
 *
 * The defaults come from the labelled zoo (test/zoo): over its 49 runs that ended below their
 * start, the largest growth over ≥ 8 rising steps with r ≥ 1 was ×23.6 and the highest catapult
 * peak ×231 its start — so both triggers sit ×4 and ×43 above anything training that recovered
 * did — while every one of its 27 runs that overflowed passed one of them first.
 *
 * States: `stable`; `edge-of-stability` (r near 1 and the loss rose on some step); `catapult` (the
 * loss rose above its start and came back below it); `diverging` (sticky, with the first step).
 */
export type DetectionState = "stable" | "edge-of-stability" | "catapult" | "diverging";

export interface Detection {
  readonly state: DetectionState;
  /** The first step whose state was `diverging`, or null. */
  readonly firstWarningStep: number | null;
  readonly reason: string;
}

export interface DetectorOptions {
  /** Consecutive rising steps with r ≥ 1 for the persistent-overshoot trigger (default 8). */
  readonly persistence?: number;
  /** Growth of the loss over those steps (default 100). */
  readonly persistentGrowth?: number;
  /** The runaway trigger's multiple of the start loss and of the window's lowest (default 1e4). */
  readonly runaway?: number;
  /** Steps of loss history for the window's lowest (default 10). */
  readonly window?: number;
}

/** An iterate as the training loops have it. */
export interface Observation {
  readonly step: number;
  readonly x: ArrayLike<number>;
  readonly loss: number;
  readonly grad: ArrayLike<number>;
  /** The learning rate of the step from this point (schedules change it). */
  readonly lr: number;
}

/** What the detector reads of step k−1 → k: the loss at k and the secant curvature along the step. */
export interface ScalarObservation {
  readonly step: number;
  readonly loss: number;
  /** (g_k − g_{k−1})ᵀ(x_k − x_{k−1})/‖x_k − x_{k−1}‖²; NaN for the first observation or when unknown. */
  readonly curvature: number;
  /** The learning rate of the step that led here. */
  readonly lr: number;
}

export class DivergenceDetector {
  private readonly persistence: number;
  private readonly persistentGrowth: number;
  private readonly runaway: number;
  private readonly window: number;
  /** Critical curvature × η: r₁ of the optimizer, or null when no fixed rate applies (adaptive). */
  private readonly r1: number | null;
  private previous: { x: Float64Array; grad: Float64Array; lr: number } | null = null;
  private readonly losses: number[] = [];
  private start = Number.NaN;
  private last = Number.NaN;
  /** Consecutive rising steps with r ≥ 1, and the loss just before the first of them. */
  private overshooting = 0;
  private overshootBase = Number.NaN;
  private rising = 0;
  private peak = { loss: Number.NEGATIVE_INFINITY, step: 0, ratio: Number.NaN };
  private lastRatio = Number.NaN;
  private state: DetectionState = "stable";
  private firstWarning: number | null = null;
  private why = "no sign of instability";

  constructor(optimizer: OptimizerConfig | { name: string }, options: DetectorOptions = {}) {
    this.persistence = options.persistence ?? 8;
    this.persistentGrowth = options.persistentGrowth ?? 100;
    this.runaway = options.runaway ?? 1e4;
    this.window = options.window ?? 10;
    const config =
      "lr" in optimizer
        ? (optimizer as OptimizerConfig)
        : resolveOptimizerConfig({ ...(optimizer as { name: "sgd" }), lr: 1 });
    this.r1 = config.name === "sgd" ? criticalLearningRate({ ...config, weightDecay: 0, lr: 1 }, 1).lr : null;
  }

  get detection(): Detection {
    return { state: this.state, firstWarningStep: this.firstWarning, reason: this.why };
  }

  /** Feeds the next iterate (the secant curvature is formed from the previous one); returns the state after it. */
  observe(o: Observation): DetectionState {
    const prev = this.previous;
    const curvature = prev ? secantCurvature(o.x, prev.x, o.grad, prev.grad) : Number.NaN;
    const lr = prev ? prev.lr : o.lr;
    this.previous = { x: Float64Array.from(o.x), grad: Float64Array.from(o.grad), lr: o.lr };
    return this.observeScalars({ step: o.step, loss: o.loss, curvature, lr });
  }

  /** Feeds the scalars of the next iterate directly (a stored log, the zoo's streams). */
  observeScalars(o: ScalarObservation): DetectionState {
    if (!Number.isFinite(o.loss)) {
      this.mark(o.step, `the loss is ${o.loss} at step ${o.step}`);
      return this.state;
    }
    const first = this.losses.length === 0 && Number.isNaN(this.start);
    if (first) this.start = o.loss;
    const before = this.last;
    this.last = o.loss;
    this.losses.push(o.loss);
    if (this.losses.length > this.window + 1) this.losses.shift();
    if (first) return this.state;

    const ratio = this.r1 !== null ? (o.curvature * o.lr) / this.r1 : Number.NaN;
    const rose = o.loss > before;
    this.rising = rose ? this.rising + 1 : 0;
    if (rose && ratio >= 1) {
      if (this.overshooting === 0) this.overshootBase = before;
      this.overshooting++;
    } else this.overshooting = 0;
    if (o.loss > this.peak.loss) this.peak = { loss: o.loss, step: o.step, ratio };
    this.lastRatio = ratio;

    const low = Math.min(...this.losses);
    const scale = Math.max(Math.abs(this.start), low, Number.MIN_VALUE);
    const grown = this.overshootBase > 0 ? o.loss / this.overshootBase : Number.NaN;
    if (this.overshooting >= this.persistence && grown >= this.persistentGrowth) {
      this.mark(
        o.step,
        `at step ${o.step} the loss has risen for ${this.overshooting} steps, ×${fmt(grown)} in all, with the curvature along every step at or above the limit ${fmt(this.r1! / o.lr)} (= ${fmt(this.r1!)}/η; now ${fmt(ratio)}×): it is not falling back as in a catapult`,
      );
    } else if (this.rising >= 2 && o.loss >= this.runaway * scale) {
      this.mark(
        o.step,
        `at step ${o.step} the loss is ${fmt(o.loss)}, ×${fmt(o.loss / Math.max(Math.abs(this.start), Number.MIN_VALUE))} its start and ×${fmt(o.loss / low)} its lowest of the last ${this.losses.length} steps, and still rising: far past any catapult's peak`,
      );
    } else if (this.state !== "diverging") {
      if (o.loss < this.start && this.peak.loss > this.start) {
        this.state = "catapult";
        this.why = `the loss rose to ${fmt(this.peak.loss)} (×${fmt(this.peak.loss / this.start)} its start) at step ${this.peak.step} and came back below its start: a catapult — the curvature along the step fell${Number.isFinite(this.lastRatio) ? ` to ${fmt(this.lastRatio)}× the limit` : ""}, so the overshoot was not amplified`;
      } else if (this.state === "stable" && rose && ratio > 0.8) {
        this.state = "edge-of-stability";
        this.why = `the curvature along the step sits near the limit ${fmt(this.r1! / o.lr)} (${fmt(ratio)}×) and the loss rises on some steps without running away`;
      }
    }
    return this.state;
  }

  private mark(step: number, reason: string): void {
    if (this.state !== "diverging") {
      this.state = "diverging";
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
