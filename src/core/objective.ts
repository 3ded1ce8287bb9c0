/**
 * An objective is anything with a value, a gradient and a Hessian-vector product at a point
 * (DESIGN.md). Every optimizer, run and analysis works on this interface alone.
 */
export interface Objective {
  /** Number of variables n. */
  readonly dim: number;
  /** One name per variable, in the order of the point's coordinates. */
  readonly names: readonly string[];
  /** How the objective was given: the typed expression, or the built-in's name. */
  readonly description: ObjectiveDescription;
  /**
   * True when H(x) is the same at every x (a quadratic, linear regression). Then λmin < 0 is known
   * to mean unbounded below: along its eigenvector f falls like −|λ|t²/2 for ever.
   */
  readonly constantHessian?: boolean;
  /**
   * True for a model trained on data (a network, linear or logistic regression): a run is judged by
   * how far its loss falls over the horizon (trained, failed, a catapult), since ‖∇f‖ → 0 is not a
   * criterion training ever meets. Absent for a function, judged by ‖∇f‖ as before.
   */
  readonly training?: boolean;
  /**
   * For a model on data: the loss of the best constant prediction (the trivial baseline), which a
   * run that ends near has learned nothing — the targets' variance for mse, the class-prior entropy
   * for cross-entropy and bce. Absent for a function.
   */
  readonly baseline?: TrivialBaseline;
  /** f(x). */
  value(x: Float64Array): number;
  /** Fills out with ∇f(x) and returns f(x). */
  gradient(x: Float64Array, out: Float64Array): number;
  /** Fills out with H(x)·v, where H is the Hessian of f at x. */
  hessianVector(x: Float64Array, v: Float64Array, out: Float64Array): void;
  /** Fills out (n×n, row-major) with the full Hessian H(x), when it is cheap to form. */
  hessian?(x: Float64Array, out: Float64Array): void;
}

export type ObjectiveDescription =
  | { readonly kind: "expression"; readonly expression: string }
  | {
      readonly kind: "builtin";
      readonly name: string;
      readonly parameters?: Readonly<Record<string, unknown>>;
    };

/** The loss of the best constant prediction, and what that prediction is in words. */
export interface TrivialBaseline {
  readonly loss: number;
  /** "the variance of mpg", "the class-prior entropy" … */
  readonly description: string;
  /** For classification (one-hot or 0/1 targets): the accuracy of always predicting the majority class. */
  readonly accuracy?: number;
}

/** Rows of data for a network: inputs (rows × the input's width, row-major) and targets (rows × outputs; one-hot for cross-entropy). */
export interface RowData {
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly rows: number;
}

/** Parameters reported together (a layer: its weights and bias): start ≤ i < end of the vector. */
export interface ParameterGroup {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/**
 * A network on data, MLP or graph: what training asks of it beyond an Objective — the loss and
 * accuracy on any rows, the gradient on a minibatch, the same network on other rows (curvature on a
 * sample), and its layers.
 */
export interface NetworkObjective extends Objective {
  /** The layers, in order (per-layer update ratios and curvature). */
  readonly groups: readonly ParameterGroup[];
  /** Weights stored in float32 (rounded after every step), as a float32 framework keeps them. */
  readonly float32?: boolean;
  /** Mean loss and, for classification, accuracy (rows whose largest output is the target's). */
  evaluate(theta: Float64Array, data?: RowData): { loss: number; accuracy: number | null };
  /** The gradient on other rows (a minibatch) than the objective's own. */
  gradientOn(theta: Float64Array, out: Float64Array, data: RowData): number;
  /** The same network and loss on other rows. */
  onRows(data: RowData, description: string): NetworkObjective;
}
