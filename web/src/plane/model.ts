import { criticalLearningRate } from "../../../src/analysis/thresholds/critical.js";
import { symmetricEigen } from "../../../src/core/eigen.js";
import { fmt } from "../../../src/core/format.js";
import type { Objective } from "../../../src/core/objective.js";
import { ExpressionError } from "../../../src/objectives/expression.js";
import { createObjective } from "../../../src/objectives/registry.js";
import type { HyperChange, HyperKey } from "../../../src/optim/hyper.js";
import { type OptimizerOptions, resolveOptimizerConfig } from "../../../src/optim/index.js";
import { type RateChange, type ScheduleSpec, scheduleWithChanges } from "../../../src/optim/schedule.js";
import { hyperWithSwitches, type OptimizerSwitch } from "../../../src/optim/switches.js";
import { run } from "../../../src/run/runner.js";
import type { StepRecord, Verdict } from "../../../src/run/types.js";

/**
 * The 2-D panel's computation, apart from the DOM: an objective (typed or built-in), several
 * optimizers run side by side from one start, and the Hessian's eigenpairs at the start with the
 * critical learning rate each sets.
 */

/** Built-ins offered by name; "quadratic" is an ill-conditioned bowl with eigenvalues 1 and 20, rotated. */
export const PRESETS: Readonly<Record<string, { label: string; x0: [number, number] }>> = {
  rosenbrock: { label: "Rosenbrock", x0: [-1.2, 1] },
  himmelblau: { label: "Himmelblau", x0: [-0.5, -0.5] },
  quadratic: { label: "ill-conditioned quadratic (λ = 1, 20)", x0: [1, 1] },
};
export const QUADRATIC_EIGENVALUES = [1, 20] as const;

export type OptimizerId = "sgd" | "momentum" | "nesterov" | "adam" | "rmsprop" | "adagrad";

/** Each optimizer with the hyper-parameters the panel lets you edit, and its defaults. */
export const OPTIMIZERS: readonly {
  readonly id: OptimizerId;
  readonly label: string;
  readonly params: readonly {
    readonly key: "lr" | HyperKey;
    readonly label: string;
    readonly value: number;
  }[];
}[] = [
  { id: "sgd", label: "SGD", params: [{ key: "lr", label: "η", value: 0.09 }] },
  {
    id: "momentum",
    label: "Momentum",
    params: [
      { key: "lr", label: "η", value: 0.02 },
      { key: "momentum", label: "β", value: 0.9 },
    ],
  },
  {
    id: "nesterov",
    label: "Nesterov",
    params: [
      { key: "lr", label: "η", value: 0.02 },
      { key: "momentum", label: "β", value: 0.9 },
    ],
  },
  {
    id: "adam",
    label: "Adam",
    params: [
      { key: "lr", label: "η", value: 0.1 },
      { key: "beta1", label: "β₁", value: 0.9 },
      { key: "beta2", label: "β₂", value: 0.999 },
    ],
  },
  {
    id: "rmsprop",
    label: "RMSprop",
    params: [
      { key: "lr", label: "η", value: 0.01 },
      { key: "alpha", label: "α", value: 0.99 },
    ],
  },
  { id: "adagrad", label: "Adagrad", params: [{ key: "lr", label: "η", value: 0.5 }] },
];

export class PlaneError extends Error {
  constructor(
    readonly setting: string,
    message: string,
    readonly position: number | null = null,
  ) {
    super(message);
  }
}

/** The objective for a name or an expression in two variables. */
export function planeObjective(text: string): Objective {
  const t = text.trim();
  if (t === "quadratic")
    return createObjective({ f: "quadratic", eigenvalues: [...QUADRATIC_EIGENVALUES], rotate: 7 });
  let objective: Objective;
  try {
    objective = createObjective({ f: t });
  } catch (e) {
    if (e instanceof ExpressionError) throw new PlaneError("f", e.message, e.position);
    throw new PlaneError("f", (e as Error).message);
  }
  if (objective.dim !== 2)
    throw new PlaneError(
      "f",
      `this panel draws functions of two variables; '${t}' has ${objective.dim} (${objective.names.join(", ")})`,
    );
  return objective;
}

/** Optimizer options from the panel's values; errors name the box. */
export function optimizerOptions(
  id: OptimizerId,
  values: Readonly<Record<string, number>>,
): OptimizerOptions {
  const lr = values["lr"]!;
  const options: OptimizerOptions = (() => {
    switch (id) {
      case "sgd":
        return { name: "sgd", lr };
      case "momentum":
        return { name: "sgd", lr, momentum: values["momentum"]! };
      case "nesterov":
        return { name: "sgd", lr, momentum: values["momentum"]!, nesterov: true };
      case "adam":
        return { name: "adam", lr, betas: [values["beta1"]!, values["beta2"]!] };
      case "rmsprop":
        return { name: "rmsprop", lr, alpha: values["alpha"]! };
      case "adagrad":
        return { name: "adagrad", lr };
    }
  })();
  try {
    resolveOptimizerConfig(options);
  } catch (e) {
    throw new PlaneError(id, (e as Error).message.replace(/^invalid /, ""));
  }
  return options;
}

export interface PathResult {
  readonly id: OptimizerId;
  readonly label: string;
  readonly trace: StepRecord[];
  readonly verdict: Verdict;
  /** The optimizer's critical rate from λmax at the start (null for the adaptive ones). */
  readonly critical: number | null;
  readonly lr: number;
}

/**
 * The rate each step of a path used against the optimizer's critical rate from λmax at that
 * step's point (Hessian exact in 2-D): η_k above it overshoots along the steepest direction there.
 * Only for the gradient-descent family, whose critical rate λmax fixes (critical.ts).
 */
export function rateAgainstLimit(
  objective: Objective,
  path: PathResult,
  options: OptimizerOptions,
  spec: ScheduleSpec | null,
  changes: OptimizerChanges = { rates: [], hyper: [] },
): { step: number; value: number; limit: number }[] {
  const config = resolveOptimizerConfig(options);
  const rate = scheduleWithChanges(spec, config.lr, changes.rates);
  return path.trace.map((r) => {
    const x = r.x as Float64Array;
    const finite = Number.isFinite(x[0]!) && Number.isFinite(x[1]!);
    const top = finite ? Math.max(...eigenpairs(objective, [x[0]!, x[1]!]).map((p) => p.value)) : Number.NaN;
    return {
      step: r.step,
      value: rate(r.step),
      limit:
        // The optimizer and momentum of that step: a β moved part-way moves the limit 2(1 + β)/λ
        // with it; after a switch to an adaptive optimizer there is none from λmax alone.
        top > 0 && Number.isFinite(top)
          ? (criticalLearningRate(
              hyperWithSwitches(config, changes.switches ?? [], changes.hyper, r.step),
              top,
            ).lr ?? Number.NaN)
          : Number.NaN,
    };
  });
}

export interface Eigenpair {
  readonly value: number;
  readonly vector: [number, number];
  /** Plain gradient descent's limit along this direction, 2/λ (null when λ ≤ 0). */
  readonly critical: number | null;
}

/** The Hessian at a point, exactly (objective.hessian, or HVPs with the unit vectors). */
export function eigenpairs(objective: Objective, at: readonly [number, number]): Eigenpair[] {
  const x = Float64Array.from(at);
  const h = new Float64Array(4);
  if (objective.hessian) objective.hessian(x, h);
  else {
    const col = new Float64Array(2);
    for (let j = 0; j < 2; j++) {
      objective.hessianVector(x, Float64Array.of(j === 0 ? 1 : 0, j === 1 ? 1 : 0), col);
      h[j] = col[0]!;
      h[2 + j] = col[1]!;
    }
  }
  const e = symmetricEigen(h, 2);
  return [1, 0].map((i) => {
    const value = e.values[i]!;
    return {
      value,
      vector: [e.vectors[i]!, e.vectors[2 + i]!] as [number, number],
      critical: value > 0 ? 2 / value : null,
    };
  });
}

export function runPaths(
  objective: Objective,
  x0: readonly [number, number],
  steps: number,
  chosen: readonly { id: OptimizerId; options: OptimizerOptions }[],
  lambdaMax: number,
  /** One schedule for every optimizer, on its own η (the CLI's forms); null: constant. */
  spec: ScheduleSpec | null = null,
  /**
   * Settings moved while the paths played, per optimizer: from each change's step on, its new
   * base rate, or its new momentum, β or α (every buffer kept).
   */
  changes: Readonly<Partial<Record<OptimizerId, OptimizerChanges>>> = {},
): PathResult[] {
  return chosen.map(({ id, options }) => {
    const moved = changes[id]?.rates ?? [];
    const hyper = changes[id]?.hyper ?? [];
    const lr = resolveOptimizerConfig(options).lr;
    const r = run({
      objective,
      optimizer: options,
      x0: [...x0],
      steps,
      tolerance: 1e-8,
      ...(spec || moved.length > 0 ? { schedule: scheduleWithChanges(spec, lr, moved) } : {}),
      ...(hyper.length > 0 ? { hyperChanges: hyper } : {}),
      ...((changes[id]?.switches ?? []).length > 0 ? { optimizerChanges: changes[id]!.switches! } : {}),
    });
    const config = resolveOptimizerConfig(options);
    const label = OPTIMIZERS.find((o) => o.id === id)!.label;
    return {
      id,
      label: `${label} η=${fmt(config.lr)}`,
      trace: r.trace,
      verdict: r.verdict,
      critical:
        lambdaMax > 0 && Number.isFinite(lambdaMax) ? criticalLearningRate(config, lambdaMax).lr : null,
      lr: config.lr,
    };
  });
}

/**
 * A change of one optimizer's setting while the paths played: its η ("20:sgd:0.11" in the link)
 * or a hyper-parameter, every buffer kept ("30:momentum:momentum=0.5", "40:adam:beta1=0.5"); or
 * the path switched to another optimizer from that step, fresh, with that optimizer's settings
 * as its row holds them ("40:sgd:optimizer=adam").
 */
export type PlaneChange =
  | {
      readonly step: number;
      readonly id: OptimizerId;
      readonly key: "lr" | HyperKey;
      readonly value: number;
    }
  | {
      readonly step: number;
      readonly id: OptimizerId;
      readonly key: "optimizer";
      readonly to: OptimizerId;
    };

/** "20:sgd:0.11,40:adam:beta1=0.5" → changes; an error says the form. */
export function parsePlaneChanges(text: string): PlaneChange[] {
  if (text.trim() === "") return [];
  return text.split(",").map((part): PlaneChange => {
    const [s, id, setting = ""] = part.split(":");
    const step = Number(s);
    const to = /^optimizer=(\w+)$/.exec(setting)?.[1];
    if (to !== undefined) {
      if (
        !(Number.isInteger(step) && step >= 0) ||
        !OPTIMIZERS.some((o) => o.id === id) ||
        !OPTIMIZERS.some((o) => o.id === to)
      )
        throw new Error(
          `invalid switch '${part.trim()}': expected STEP:OPTIMIZER:optimizer=OPTIMIZER (e.g. 40:sgd:optimizer=adam), each one of ${OPTIMIZERS.map((o) => o.id).join(", ")}`,
        );
      return { step, id: id as OptimizerId, key: "optimizer", to: to as OptimizerId };
    }
    const [key = "", v] = setting.includes("=") ? setting.split("=", 2) : ["lr", setting];
    const value = Number(v);
    const optimizer = OPTIMIZERS.find((o) => o.id === id);
    if (
      !(Number.isInteger(step) && step >= 0 && Number.isFinite(value)) ||
      !optimizer?.params.some((p) => p.key === key) ||
      (key === "lr" ? !(value > 0) : !(value >= 0 && (key.startsWith("beta") ? value < 1 : true)))
    )
      throw new Error(
        `invalid change '${part.trim()}': expected STEP:OPTIMIZER:η or STEP:OPTIMIZER:KEY=VALUE (e.g. 20:sgd:0.11, 30:momentum:momentum=0.5), the optimizer one of ${OPTIMIZERS.map((o) => o.id).join(", ")} with a setting it has`,
      );
    return { step, id: id as OptimizerId, key: key as "lr" | HyperKey, value };
  });
}

export const formatPlaneChanges = (changes: readonly PlaneChange[]): string =>
  changes
    .map((c) =>
      c.key === "optimizer"
        ? `${c.step}:${c.id}:optimizer=${c.to}`
        : `${c.step}:${c.id}:${c.key === "lr" ? "" : `${c.key}=`}${c.value}`,
    )
    .join(",");

/**
 * One optimizer's changes as the runner takes them: its rates, its other settings, and the
 * optimizers it switched to (fresh; each switch's η is a rate change at its step, so a schedule
 * shapes it as it shapes any other, as `run --lr-changes` does).
 */
export interface OptimizerChanges {
  readonly rates: readonly RateChange[];
  readonly hyper: readonly HyperChange[];
  readonly switches?: readonly OptimizerSwitch[];
}

/**
 * The changes grouped by optimizer, as runPaths takes them; `settings(to)` is a switch's target
 * as its row holds it (its η among them).
 */
export function changesByOptimizer(
  changes: readonly PlaneChange[],
  settings: (to: OptimizerId) => OptimizerOptions = (to) =>
    optimizerOptions(
      to,
      Object.fromEntries(OPTIMIZERS.find((o) => o.id === to)!.params.map((p) => [p.key, p.value])),
    ),
): Partial<Record<OptimizerId, OptimizerChanges>> {
  const out: Partial<
    Record<OptimizerId, { rates: RateChange[]; hyper: HyperChange[]; switches: OptimizerSwitch[] }>
  > = {};
  for (const c of [...changes].sort((a, b) => a.step - b.step)) {
    const own = out[c.id] ?? { rates: [], hyper: [], switches: [] };
    out[c.id] = own;
    if (c.key === "optimizer") {
      const { lr, ...options } = settings(c.to) as OptimizerOptions & { lr: number };
      own.switches.push({ step: c.step, optimizer: options as OptimizerOptions });
      own.rates.push({ step: c.step, lr });
    } else if (c.key === "lr") own.rates.push({ step: c.step, lr: c.value });
    else own.hyper.push({ step: c.step, key: c.key, value: c.value });
  }
  return out;
}
