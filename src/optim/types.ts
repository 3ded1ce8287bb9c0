import type { HyperKey } from "./hyper.js";

/** The optimizers overshoot implements, with PyTorch's names. */
export const OPTIMIZER_NAMES = ["sgd", "adam", "adamw", "rmsprop", "adagrad"] as const;
export type OptimizerName = (typeof OPTIMIZER_NAMES)[number];

/*
 * A resolved configuration: every hyper-parameter present, PyTorch's defaults filled in, names in
 * camelCase (weight_decay → weightDecay). This is what a run records and what --json prints.
 */
export interface SgdConfig {
  readonly name: "sgd";
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
}

export interface AdamConfig {
  readonly name: "adam" | "adamw";
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  /** L2 penalty added to the gradient (adam) or decoupled decay of the weights (adamw). */
  readonly weightDecay: number;
  readonly amsgrad: boolean;
}

export interface RmspropConfig {
  readonly name: "rmsprop";
  readonly lr: number;
  readonly alpha: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly momentum: number;
  readonly centered: boolean;
}

export interface AdagradConfig {
  readonly name: "adagrad";
  readonly lr: number;
  readonly lrDecay: number;
  readonly weightDecay: number;
  readonly initialAccumulatorValue: number;
  readonly eps: number;
}

export type OptimizerConfig = SgdConfig | AdamConfig | RmspropConfig | AdagradConfig;

/** What a caller may give: a name and any subset of that optimizer's hyper-parameters. */
export type OptimizerOptions =
  | ({ readonly name: "sgd" } & Partial<Omit<SgdConfig, "name">>)
  | ({ readonly name: "adam" | "adamw" } & Partial<Omit<AdamConfig, "name">>)
  | ({ readonly name: "rmsprop" } & Partial<Omit<RmspropConfig, "name">>)
  | ({ readonly name: "adagrad" } & Partial<Omit<AdagradConfig, "name">>);

/**
 * An optimizer instance: holds its own state (moments, buffers, step count) for one parameter
 * vector of fixed length.
 */
export interface Optimizer {
  readonly config: OptimizerConfig;
  readonly dim: number;
  /** Number of steps taken since creation or the last reset. */
  readonly stepCount: number;
  /** Updates x in place from the gradient at x (grad is not modified). */
  step(x: Float64Array, grad: Float64Array): void;
  /** Changes the learning rate from the next step on, keeping all state. */
  setLearningRate(lr: number): void;
  /** Changes momentum, a beta or alpha from the next step on, keeping all state (hyper.ts). */
  setHyperparameter(key: HyperKey, value: number): void;
  /** Forgets all state, as a freshly created optimizer. */
  reset(): void;
  /** A copy of the state, for rolling a run back to an earlier step. */
  snapshot(): OptimizerSnapshot;
  /** Restores a state taken from this optimizer by `snapshot`. */
  restore(snapshot: OptimizerSnapshot): void;
}

export interface OptimizerSnapshot {
  readonly name: OptimizerName;
  readonly stepCount: number;
  readonly buffers: Readonly<Record<string, Float64Array | null>>;
}

/** Options without the learning rate, for searches and sweeps that choose it (distributes over the union). */
export type OptimizerBase = OptimizerOptions extends infer T
  ? T extends unknown
    ? Omit<T, "lr">
    : never
  : never;
