import { fmt } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { createOptimizer, type Optimizer, type OptimizerOptions } from "../../optim/index.js";
import { criticalLearningRate } from "../thresholds/critical.js";
import { type HessianOperator, hessianOperator } from "./hvp.js";
import { lanczos } from "./lanczos.js";

/**
 * The preconditioner an optimizer applies at its current state, and the sharpness bound that
 * goes with it. Freezing P, every optimizer here is gradient descent (with heavy-ball momentum for
 * Adam's first moment) on the preconditioned Hessian P^{-1/2} H P^{-1/2}, so the linear stability
 * test of `critical.ts` applies to that matrix:
 *
 * - Adam/AdamW: P = diag(√v̂ + ε), v̂ = v/(1 − β2ᵗ) (max over time with AMSGrad), step η̂ = η/(1 − β1ᵗ);
 *   m is heavy ball with momentum β1 and dampening 1 − β1, so stable iff λ < (2 + 2β1)/((1 − β1)·η̂)
 *   (38/η at β1 = 0.9 once the bias correction has faded).
 * - RMSprop: P = diag(√v + ε) (√(v − a²) + ε centered); stable iff λ < 2(1 + μ)/η with momentum μ.
 * - Adagrad: P = diag(√S + ε) and the decayed step η/(1 + (t − 1)·lr_decay); stable iff λ < 2/η_t.
 * - SGD: P = I and its own critical rate.
 *
 * Assumptions, stated with every number: P changes slowly compared with the iterate (true once
 * v has settled; not in the first steps), weight decay is folded into H for the L2 forms and
 * ignored for AdamW's decoupled decay, and ε is included in P.
 */
export interface Preconditioning {
  /** Diagonal of P. */
  readonly diagonal: Float64Array;
  /** The largest stable eigenvalue of P^{-1/2} H P^{-1/2}. */
  readonly bound: number;
  readonly formula: string;
  /** L2 weight decay added to H, when the optimizer folds it into the gradient. */
  readonly weightDecay: number;
}

export function preconditioning(optimizer: Optimizer): Preconditioning | null {
  const c = optimizer.config;
  const snap = optimizer.snapshot();
  const n = optimizer.dim;
  const sqrtPlus = (v: Float64Array, eps: number, scale = 1) =>
    Float64Array.from(v, (x) => Math.sqrt(Math.max(x, 0) * scale) + eps);
  switch (c.name) {
    case "sgd": {
      const lr = criticalLearningRate({ ...c, weightDecay: 0 }, 1).lr;
      return lr === null
        ? null
        : {
            diagonal: new Float64Array(n).fill(1),
            bound: lr / c.lr,
            formula: "critical rate of sgd, as a bound on λmax·η",
            weightDecay: c.weightDecay,
          };
    }
    case "adam":
    case "adamw": {
      const t = snap.stepCount;
      if (t === 0) return null;
      const [b1, b2] = c.betas;
      const v = (c.amsgrad ? snap.buffers["maxExpAvgSq"] : snap.buffers["expAvgSq"])!;
      const lrHat = c.lr / (1 - b1 ** t);
      return {
        diagonal: sqrtPlus(v, c.eps, 1 / (1 - b2 ** t)),
        bound: (2 + 2 * b1) / ((1 - b1) * lrHat),
        formula: `(2 + 2β1)/((1 − β1)·η/(1 − β1ᵗ)) = (2 + 2·${fmt(b1)})/((1 − ${fmt(b1)})·${fmt(lrHat)})`,
        weightDecay: c.name === "adam" ? c.weightDecay : 0,
      };
    }
    case "rmsprop": {
      if (snap.stepCount === 0) return null;
      const s = snap.buffers["squareAvg"]!;
      const a = snap.buffers["gradAvg"] ?? null;
      const centered = a ? Float64Array.from(s, (x, i) => x - a[i]! ** 2) : s;
      return {
        diagonal: sqrtPlus(centered, c.eps),
        bound: (2 * (1 + c.momentum)) / c.lr,
        formula:
          c.momentum > 0 ? `2(1 + μ)/η = 2(1 + ${fmt(c.momentum)})/${fmt(c.lr)}` : `2/η = 2/${fmt(c.lr)}`,
        weightDecay: c.weightDecay,
      };
    }
    case "adagrad": {
      const t = snap.stepCount + 1;
      const lrT = c.lr / (1 + (t - 1) * c.lrDecay);
      return {
        diagonal: sqrtPlus(snap.buffers["sum"]!, c.eps),
        bound: 2 / lrT,
        formula: `2/η_t = 2/${fmt(lrT)}`,
        weightDecay: c.weightDecay,
      };
    }
  }
}

/** v ↦ P^{-1/2} (H + w·I) P^{-1/2} v: symmetric, so Lanczos applies. */
export function preconditionedOperator(op: HessianOperator, p: Preconditioning): HessianOperator {
  const n = op.dim;
  const inv = Float64Array.from(p.diagonal, (d) => 1 / Math.sqrt(d));
  const u = new Float64Array(n);
  return {
    dim: n,
    exact: op.exact,
    get count() {
      return op.count;
    },
    apply(v, out) {
      for (let i = 0; i < n; i++) u[i] = inv[i]! * v[i]!;
      op.apply(u, out);
      for (let i = 0; i < n; i++) out[i] = inv[i]! * (out[i]! + p.weightDecay * u[i]!);
    },
  };
}

export interface SharpnessRecord {
  readonly step: number;
  readonly loss: number;
  /** λmax of P^{-1/2} H P^{-1/2} at this step. */
  readonly sharpness: number;
  readonly bound: number;
}

/**
 * Runs the optimizer and measures its preconditioned sharpness every `every` steps (Lanczos on
 * exact HVPs), beside the bound it must stay under: the quantity that decides stability for
 * adaptive optimizers, where no fixed learning rate follows from λmax(H) alone.
 */
export function sharpnessAlongRun(
  objective: Objective,
  x0: ArrayLike<number>,
  options: OptimizerOptions,
  run: { steps: number; every?: number },
): { records: SharpnessRecord[]; formula: string } {
  const n = objective.dim;
  const opt = createOptimizer(options, n);
  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  const every = run.every ?? 1;
  const records: SharpnessRecord[] = [];
  let formula = "";
  for (let k = 0; k <= run.steps; k++) {
    const loss = objective.gradient(x, g);
    if (!Number.isFinite(loss)) break;
    if (k % every === 0) {
      const p = preconditioning(opt);
      if (p) {
        const est = lanczos(preconditionedOperator(hessianOperator(objective, x), p), {
          k: 1,
          bottom: false,
          tolerance: 1e-8,
        });
        records.push({ step: k, loss, sharpness: est.top[0]!.value, bound: p.bound });
        formula = p.formula;
      }
    }
    if (k < run.steps) opt.step(x, g);
  }
  return { records, formula };
}
