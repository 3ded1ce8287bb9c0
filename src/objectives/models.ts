import type { Objective } from "../core/objective.js";
import { trivialBaseline } from "../nn/baseline.js";
import type { Design } from "./table.js";

/**
 * Linear and logistic regression as objectives over θ = (w₁ … w_p, b): the weights in feature
 * order, then the bias. Gradients and Hessian-vector products are the closed forms, O(n·p) each:
 *   linear:   L = (1/n)·Σ(aᵢᵀθ − yᵢ)²,              ∇L = (2/n)·Aᵀr,            H = (2/n)·AᵀA
 *   logistic: L = (1/n)·Σ softplus(zᵢ) − yᵢ·zᵢ,      ∇L = (1/n)·Aᵀ(σ(z) − y),   H = (1/n)·Aᵀdiag(σ(1−σ))A
 * with A = [X 1] and z = Aθ. softplus is evaluated as max(z, 0) + log1p(e^−|z|), so no exp overflows.
 */
export type ModelName = "linear" | "logistic";

export interface ModelObjective extends Objective {
  readonly design: Design;
  readonly model: ModelName;
  /** Fills out ((p+1)×(p+1), row-major) with the Hessian. */
  hessian(theta: Float64Array, out: Float64Array): void;
}

export function modelObjective(model: ModelName, design: Design, source: string): ModelObjective {
  const { x, y, rows: n, features } = design;
  const p = features.length;
  const dim = p + 1;
  if (model === "logistic") {
    for (let i = 0; i < n; i++) {
      if (y[i] !== 0 && y[i] !== 1) {
        throw new Error(
          `invalid target: logistic regression needs 0/1 labels, but '${design.target}' is ${y[i]} in data row ${i + 1}`,
        );
      }
    }
  }
  const z = new Float64Array(n);
  const az = new Float64Array(n);
  /** out = A·v. */
  const linearPart = (v: Float64Array, out: Float64Array) => {
    const b = v[p]!;
    for (let i = 0; i < n; i++) {
      let s = b;
      for (let j = 0; j < p; j++) s += x[i * p + j]! * v[j]!;
      out[i] = s;
    }
  };
  /** out = Aᵀ·u·scale. */
  const transpose = (u: Float64Array, scale: number, out: Float64Array) => {
    out.fill(0);
    for (let i = 0; i < n; i++) {
      const ui = u[i]! * scale;
      for (let j = 0; j < p; j++) out[j]! += x[i * p + j]! * ui;
      out[p]! += ui;
    }
  };
  const sigmoid = (t: number) => (t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t)));
  const softplus = (t: number) => Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t)));
  const names = [...features, "bias"];

  const value = (theta: Float64Array): number => {
    linearPart(theta, z);
    let s = 0;
    if (model === "linear") for (let i = 0; i < n; i++) s += (z[i]! - y[i]!) ** 2;
    else for (let i = 0; i < n; i++) s += softplus(z[i]!) - y[i]! * z[i]!;
    return s / n;
  };
  const gradient = (theta: Float64Array, out: Float64Array): number => {
    linearPart(theta, z);
    let s = 0;
    for (let i = 0; i < n; i++) {
      if (model === "linear") {
        const r = z[i]! - y[i]!;
        s += r * r;
        az[i] = r;
      } else {
        s += softplus(z[i]!) - y[i]! * z[i]!;
        az[i] = sigmoid(z[i]!) - y[i]!;
      }
    }
    transpose(az, model === "linear" ? 2 / n : 1 / n, out);
    return s / n;
  };
  const weight = (theta: Float64Array): Float64Array | null => {
    if (model === "linear") return null;
    linearPart(theta, z);
    const w = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const s = sigmoid(z[i]!);
      w[i] = s * (1 - s);
    }
    return w;
  };
  const av = new Float64Array(n);
  return {
    dim,
    names,
    description: {
      kind: "builtin",
      name: model,
      parameters: {
        data: source,
        target: design.target,
        features: [...features],
        standardize: design.scaling !== null,
        rows: n,
      },
    },
    training: true,
    baseline: {
      loss: trivialBaseline(model === "linear" ? "mse" : "bce", y, n, 1).loss,
      description:
        model === "linear"
          ? `the variance of ${design.target}: predicting its mean`
          : `the entropy of ${design.target}: predicting the frequency of 1`,
    },
    // Linear regression's Hessian (2/n)·AᵀA does not depend on θ; logistic regression's does.
    constantHessian: model === "linear",
    design,
    model,
    value,
    gradient,
    hessianVector(theta, v, out) {
      const w = weight(theta);
      linearPart(v, av);
      if (w) for (let i = 0; i < n; i++) av[i]! *= w[i]!;
      transpose(av, model === "linear" ? 2 / n : 1 / n, out);
    },
    hessian(theta, out) {
      const w = weight(theta);
      const scale = model === "linear" ? 2 / n : 1 / n;
      out.fill(0);
      const a = new Float64Array(dim);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < p; j++) a[j] = x[i * p + j]!;
        a[p] = 1;
        const wi = (w ? w[i]! : 1) * scale;
        for (let r = 0; r < dim; r++) for (let c = 0; c < dim; c++) out[r * dim + c]! += wi * a[r]! * a[c]!;
      }
    },
  };
}
