import { fmt } from "../../../src/core/format.js";
import type { Objective } from "../../../src/core/objective.js";
import { compileExpression, ExpressionError } from "../../../src/objectives/expression.js";
import type { HyperChange } from "../../../src/optim/hyper.js";
import type { OptimizerOptions } from "../../../src/optim/index.js";
import {
  optionalSchedule,
  type RateChange,
  type ScheduleSpec,
  scheduleWithChanges,
} from "../../../src/optim/schedule.js";
import { type RunResult, run } from "../../../src/run/runner.js";
import type { StepRecord, Verdict } from "../../../src/run/types.js";

/**
 * The seed panel's computation, apart from the DOM so it can be tested in Node: settings in,
 * a judged gradient-descent run and its curvature facts out. Everything here is the library's own
 * code (expression compiler, runner, verdict); the panel only draws it.
 */

export interface SeedSettings {
  readonly f: string;
  readonly lr: number;
  readonly x0: number;
  readonly steps: number;
  /** A learning-rate schedule in the CLI's form ("cosine:30", "step:10,0.5", "warmup:5"); constant when absent. */
  readonly schedule?: string;
  /** η moved while the run ran: a new base rate from each change's step on. */
  readonly changes?: readonly RateChange[];
  /**
   * Heavy-ball momentum β (PyTorch's SGD momentum, dampening 0): v ← βv + f′(x), x ← x − ηv.
   * 0 or absent: plain gradient descent.
   */
  readonly momentum?: number;
  /** β moved while the run ran, the velocity kept (PyTorch's param_groups edited between steps). */
  readonly momentumChanges?: readonly HyperChange[];
  /** The optimizer the run starts with: gradient descent (with β) by default, or an adaptive one. */
  readonly optimizer?: SeedOptimizer;
  /** The optimizer switched while the run ran: another, fresh, from each switch's step on. */
  readonly switches?: readonly { readonly step: number; readonly to: SeedOptimizer }[];
}

/** Gradient descent (the heavy ball when β > 0), or Adam or RMSprop with PyTorch's defaults. */
export const SEED_OPTIMIZERS = ["gd", "adam", "rmsprop"] as const;
export type SeedOptimizer = (typeof SEED_OPTIMIZERS)[number];

/** The optimizer in use at step k: the run's first, then each switch from its step on. */
export function optimizerAt(settings: SeedSettings, k: number): SeedOptimizer {
  let o = settings.optimizer ?? "gd";
  for (const s of [...(settings.switches ?? [])].sort((a, b) => a.step - b.step)) if (s.step <= k) o = s.to;
  return o;
}

/** The library's options for an optimizer of this panel at step k (its rate is the run's). */
function optionsAt(settings: SeedSettings, o: SeedOptimizer, k: number): OptimizerOptions {
  return o === "gd" ? { name: "sgd", momentum: momentumAt(settings, k) } : ({ name: o } as OptimizerOptions);
}

export const SEED_DEFAULTS: SeedSettings = { f: "x^2", lr: 0.1, x0: -1, steps: 30 };
export const MAX_STEPS = 2000;

/** A problem with one setting, pointing at the control it belongs to. */
export class SettingError extends Error {
  constructor(
    readonly setting: keyof SeedSettings,
    message: string,
    /** 1-based position in the expression, for expression errors. */
    readonly position: number | null = null,
  ) {
    super(message);
  }
}

export interface SeedResult {
  readonly settings: SeedSettings;
  readonly objective: Objective;
  readonly name: string;
  readonly trace: StepRecord[];
  readonly verdict: Verdict;
  /** Headline in plain words: "Converges", "Bounces between x = −1 and x = 1", "Explodes", … */
  readonly headline: string;
  /** f''(x₀) and the critical step 2/f''(x₀) (null when f''(x₀) ≤ 0: no local limit). */
  readonly curvature: number;
  readonly critical: number | null;
  /**
   * Each step's rate η_k against the local limit 2/f''(x_k) (NaN where f'' ≤ 0: no limit there):
   * the step from x_k overshoots the minimum of the local parabola when η_k > 2/f''(x_k).
   */
  readonly rates: readonly { readonly step: number; readonly lr: number; readonly limit: number }[];
  /** The library's run, as `overshoot run` has it (for export). */
  readonly run: RunResult;
  /** The schedule it ran under (null: constant). */
  readonly schedule: ScheduleSpec | null;
}

/** The schedule box: empty or "constant" is none; anything else in the CLI's form, or an error naming the forms. */
export function parseScheduleSetting(text: string): ScheduleSpec | null {
  try {
    return optionalSchedule(text);
  } catch (e) {
    throw new SettingError("schedule", (e as Error).message);
  }
}

/** Compiles a 1-D expression, or throws a SettingError that names the position. */
export function compileSeed(text: string): Objective {
  let objective: Objective;
  try {
    objective = compileExpression(text);
  } catch (e) {
    if (e instanceof ExpressionError) throw new SettingError("f", e.message, e.position);
    throw e;
  }
  if (objective.dim !== 1) {
    throw new SettingError(
      "f",
      `this panel needs a function of one variable; '${text.trim()}' has ${objective.dim} (${objective.names.join(", ")}) — use the 2-D panel for two`,
    );
  }
  return objective;
}

/** Reads and checks the numeric settings as typed, so the message names the box and the fix. */
export function parseNumberSetting(setting: "lr" | "x0" | "steps" | "momentum", text: string): number {
  const t = text.trim();
  const v = t === "" ? Number.NaN : Number(t);
  if (setting === "momentum") {
    if (!(Number.isFinite(v) && v >= 0 && v < 1))
      throw new SettingError(
        "momentum",
        `β must be a number in [0, 1), got '${text}' (0: plain gradient descent)`,
      );
  } else if (setting === "lr") {
    if (!(Number.isFinite(v) && v > 0))
      throw new SettingError("lr", `η must be a number > 0, got '${text}' (e.g. 0.1)`);
  } else if (setting === "x0") {
    if (!Number.isFinite(v))
      throw new SettingError("x0", `x₀ must be a finite number, got '${text}' (e.g. -1)`);
  } else if (!(Number.isInteger(v) && v >= 1 && v <= MAX_STEPS)) {
    throw new SettingError("steps", `steps must be a whole number from 1 to ${MAX_STEPS}, got '${text}'`);
  }
  return v;
}

/**
 * Runs gradient descent (with heavy-ball momentum when β > 0) with the settings and says what
 * happened.
 */
export function seedRun(objective: Objective, settings: SeedSettings): SeedResult {
  const spec = parseScheduleSetting(settings.schedule ?? "");
  const changes = settings.changes ?? [];
  const planned = spec !== null || changes.length > 0;
  const plan = scheduleWithChanges(spec, settings.lr, changes);
  const beta = settings.momentum ?? 0;
  const momentumChanges = settings.momentumChanges ?? [];
  const first = settings.optimizer ?? "gd";
  const switches = (settings.switches ?? []).map((s) => ({
    step: s.step,
    optimizer: optionsAt(settings, s.to, s.step),
  }));
  const result = run({
    objective,
    optimizer: { ...optionsAt(settings, first, 0), lr: settings.lr } as OptimizerOptions,
    x0: [settings.x0],
    steps: settings.steps,
    ...(planned ? { schedule: plan } : {}),
    ...(momentumChanges.length > 0 ? { hyperChanges: momentumChanges } : {}),
    ...(switches.length > 0 ? { optimizerChanges: switches } : {}),
  });
  const curvature = secondDerivative(objective, settings.x0);
  const rates = result.trace.map((r) => {
    const c = Number.isFinite(r.x[0]!) ? secondDerivative(objective, r.x[0]!) : Number.NaN;
    return {
      step: r.step,
      lr: plan(r.step),
      // An adaptive optimizer divides its step by a running RMS of the gradients: no limit from f''.
      limit:
        c > 0 && optimizerAt(settings, r.step) === "gd"
          ? criticalStep(c, momentumAt(settings, r.step))
          : Number.NaN,
    };
  });
  return {
    run: result,
    schedule: spec,
    rates,
    settings,
    objective,
    name: objective.names[0]!,
    trace: result.trace,
    verdict: result.verdict,
    headline: headline(result.trace, result.verdict, objective.names[0]!),
    curvature,
    critical:
      curvature > 0 && Number.isFinite(curvature) && first === "gd" ? criticalStep(curvature, beta) : null,
  };
}

/**
 * The largest stable step on a parabola of curvature c: 2/c for gradient descent, 2(1 + β)/c for
 * the heavy ball (the roots of z² − (1 + β − ηc)z + β leave the unit circle through −1 there).
 */
export function criticalStep(curvature: number, beta: number): number {
  return (2 * (1 + beta)) / curvature;
}

/** β at step k: the latest change at or before k, else the run's own. */
export function momentumAt(settings: SeedSettings, k: number): number {
  let beta = settings.momentum ?? 0;
  for (const c of [...(settings.momentumChanges ?? [])].sort((a, b) => a.step - b.step))
    if (c.step <= k) beta = c.value;
  return beta;
}

export function secondDerivative(objective: Objective, x: number): number {
  const out = new Float64Array(1);
  objective.hessianVector(Float64Array.of(x), Float64Array.of(1), out);
  return out[0]!;
}

function headline(trace: readonly StepRecord[], verdict: Verdict, name: string): string {
  switch (verdict.status) {
    case "converged":
      return verdict.atStep === 0
        ? `Stays put: ${name}₀ is a stationary point (f′ = 0), where gradient descent never moves — pick another ${name}₀`
        : `Converges: the minimum is reached at step ${verdict.atStep}`;
    case "converging": {
      // Said only when it is so: a first step that overshot upward (1/x from −1 at η = 1.125)
      // still ends "converging" once the loss falls again.
      const rises = trace.filter((r) => r.deltaLoss !== undefined && r.deltaLoss > 0);
      const first = trace[0]!;
      const last = trace[trace.length - 1]!;
      if (rises.length === 0) return "Converges: the loss falls every step";
      const at = rises[0]!.step;
      return last.loss > first.loss
        ? `Overshoots: the loss rose at step ${at} and is still above where it started, though falling now`
        : `Converges after overshooting: the loss rose at step ${at} (${rises.length} rising step${rises.length === 1 ? "" : "s"}), then fell`;
    }
    case "diverging":
      return "Explodes: every step overshoots further than the last";
    case "diverged":
      return `Diverged at step ${verdict.atStep}: the loss passed the blow-up bound, a million times its start`;
    case "nonfinite":
      return `Diverged at step ${verdict.atStep}: the numbers left the floating-point range`;
    case "unbounded":
      return "Runs downhill without limit: this function is unbounded below";
    case "trained":
    case "stalled":
    case "failed":
      // Typed functions are not models on data; these statuses do not occur here.
      return verdict.status;
    case "oscillating": {
      const a = trace[trace.length - 2]?.x[0];
      const b = trace[trace.length - 1]?.x[0];
      if (a === undefined || b === undefined || a === b) return "Stalls: the loss stops falling";
      const [lo, hi] = a < b ? [a, b] : [b, a];
      return `Bounces between ${name} = ${fmt(lo)} and ${name} = ${fmt(hi)} forever`;
    }
  }
}
