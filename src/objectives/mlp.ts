import type { Rng } from "../core/rng.js";
import type { Objective } from "./types.js";

/**
 * A multilayer perceptron as an Objective over its flat parameter vector: for each layer, W
 * row-major (out × in) then b. Gradients by reverse mode, Hessian-vector products exactly by
 * Pearlmutter's R-operator (forward-over-reverse), all in float64 loops over preallocated buffers:
 * nothing is allocated per sample or per call.
 *
 * R-operator, per sample, for a direction V = (V_W, V_b):
 *   forward   R(z_l) = V_W·a_{l−1} + W·R(a_{l−1}) + V_b,  R(a_l) = f'(z_l) ⊙ R(z_l)
 *   loss      R(δ_L) = ∇²_z ℓ · R(z_L)
 *   backward  R(δ_{l−1}) = (V_Wᵀδ_l + WᵀR(δ_l)) ⊙ f'(z_{l−1}) + (Wᵀδ_l) ⊙ f''(z_{l−1}) ⊙ R(z_{l−1})
 *   result    R(∇W_l) = R(δ_l)·a_{l−1}ᵀ + δ_l·R(a_{l−1})ᵀ,  R(∇b_l) = R(δ_l)
 */

export const ACTIVATIONS = ["tanh", "relu", "sigmoid", "gelu", "identity"] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export const LOSSES = ["mse", "half-mse", "cross-entropy", "bce"] as const;
export type Loss = (typeof LOSSES)[number];

export interface MlpSpec {
  /** Layer widths from input to output, e.g. [2, 16, 16, 1]. */
  readonly sizes: readonly number[];
  /** Activation of every hidden layer; the output layer is linear (the loss takes logits). */
  readonly activation: Activation;
  readonly loss: Loss;
  /** Storage precision (default float64); float32 rounds every stored value through Math.fround. */
  readonly dtype?: "float64" | "float32";
}

export interface MlpData {
  /** Inputs, rows × sizes[0], row-major. */
  readonly x: Float64Array;
  /** Targets, rows × sizes[last] (one-hot for cross-entropy). */
  readonly y: Float64Array;
  readonly rows: number;
}

export interface MlpObjective extends Objective {
  readonly spec: MlpSpec;
  /** Offset of layer l's W and b in the parameter vector. */
  readonly layout: readonly {
    readonly w: number;
    readonly b: number;
    readonly in: number;
    readonly out: number;
  }[];
  /** Mean loss and, for classification, accuracy (fraction of rows whose largest output is the target's). */
  evaluate(theta: Float64Array, data?: MlpData): { loss: number; accuracy: number | null };
  /** The gradient on other rows (a minibatch) than the objective's own. */
  gradientOn(theta: Float64Array, out: Float64Array, data: MlpData): number;
  /** The network's outputs (logits) for `rows` inputs x (rows × sizes[0]) into out (rows × sizes[last]). */
  outputs(theta: Float64Array, x: Float64Array, rows: number, out: Float64Array): void;
  /** Calls visit for every hidden unit of every row: (layer 1…, unit, pre-activation, activation). */
  activations(
    theta: Float64Array,
    data: MlpData,
    visit: (layer: number, unit: number, z: number, a: number) => void,
  ): void;
}

export function parameterCount(sizes: readonly number[]): number {
  let n = 0;
  for (let l = 1; l < sizes.length; l++) n += sizes[l]! * sizes[l - 1]! + sizes[l]!;
  return n;
}

function validate(spec: MlpSpec, data: MlpData): void {
  const { sizes } = spec;
  if (sizes.length < 2)
    throw new Error(`invalid sizes: ${sizes.join(",")} (an input and an output size at least)`);
  for (const s of sizes)
    if (!Number.isInteger(s) || s < 1)
      throw new Error(`invalid hidden: layer sizes must be whole numbers ≥ 1, got ${sizes.join(",")}`);
  if (!(ACTIVATIONS as readonly string[]).includes(spec.activation))
    throw new Error(`invalid activation: ${spec.activation} (valid: ${ACTIVATIONS.join(", ")})`);
  if (!(LOSSES as readonly string[]).includes(spec.loss))
    throw new Error(`invalid loss: ${spec.loss} (valid: ${LOSSES.join(", ")})`);
  const inSize = sizes[0]!;
  const outSize = sizes[sizes.length - 1]!;
  if (data.rows < 1) throw new Error("invalid data: no rows");
  if (data.x.length !== data.rows * inSize)
    throw new Error(
      `invalid data: inputs have ${data.x.length} values, expected ${data.rows} rows × ${inSize}`,
    );
  if (data.y.length !== data.rows * outSize)
    throw new Error(
      `invalid data: targets have ${data.y.length} values, expected ${data.rows} rows × ${outSize}`,
    );
  if (spec.loss === "cross-entropy" && outSize < 2)
    throw new Error("invalid loss: cross-entropy needs 2 or more outputs (use bce for one)");
}

/** f, f′ and f″ of each activation, written for the tight loops below. */
function activate(kind: Activation, z: number): number {
  switch (kind) {
    case "tanh":
      return Math.tanh(z);
    case "relu":
      // Math.max lets a NaN through, so a blown-up net shows NaN rather than a silent 0.
      return Math.max(z, 0);
    case "sigmoid":
      return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    case "gelu":
      return 0.5 * z * (1 + erf(z / Math.SQRT2));
    case "identity":
      return z;
  }
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** f′ as a dedicated function for the backward pass (the commonest call). */
function specialised1(kind: Activation): (z: number, a: number) => number {
  switch (kind) {
    case "tanh":
      return (_z, a) => 1 - a * a;
    case "relu":
      return (z) => (z > 0 ? 1 : 0);
    case "sigmoid":
      return (_z, a) => a * (1 - a);
    default:
      return (z, a) => derivative1(kind, z, a);
  }
}

function derivative1(kind: Activation, z: number, a: number): number {
  switch (kind) {
    case "tanh":
      return 1 - a * a;
    case "relu":
      return z > 0 ? 1 : 0;
    case "sigmoid":
      return a * (1 - a);
    case "gelu":
      return 0.5 * (1 + erf(z / Math.SQRT2)) + z * INV_SQRT_2PI * Math.exp(-0.5 * z * z);
    case "identity":
      return 1;
  }
}

function derivative2(kind: Activation, z: number, a: number): number {
  switch (kind) {
    case "tanh":
      return -2 * a * (1 - a * a);
    case "relu":
      return 0;
    case "sigmoid":
      return a * (1 - a) * (1 - 2 * a);
    case "gelu":
      return INV_SQRT_2PI * Math.exp(-0.5 * z * z) * (2 - z * z);
    case "identity":
      return 0;
  }
}

/**
 * erf to full double precision: erf(x) = (2/√π)·e^{−x²}·Σ 2ⁿx^{2n+1}/(1·3·…·(2n+1)), a series of
 * positive terms (no cancellation); |x| ≥ 6 gives ±1 to within 1e-17.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax;
  let sum = ax;
  const x2 = ax * ax;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  const r = (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  return x < 0 ? -r : r;
}

export function mlpObjective(spec: MlpSpec, data: MlpData, description = "mlp"): MlpObjective {
  validate(spec, data);
  const { sizes, activation, loss } = spec;
  const L = sizes.length - 1;
  const layout: { w: number; b: number; in: number; out: number }[] = [];
  let offset = 0;
  for (let l = 1; l <= L; l++) {
    const inS = sizes[l - 1]!;
    const outS = sizes[l]!;
    layout.push({ w: offset, b: offset + outS * inS, in: inS, out: outS });
    offset += outS * inS + outS;
  }
  const dim = offset;
  const outSize = sizes[L]!;
  // Per-layer buffers for one sample: pre-activations z, activations a, deltas, and their R-images.
  const z = sizes.map((s) => new Float64Array(s));
  const a = sizes.map((s) => new Float64Array(s));
  const delta = sizes.map((s) => new Float64Array(s));
  const rz = sizes.map((s) => new Float64Array(s));
  const ra = sizes.map((s) => new Float64Array(s));
  const rdelta = sizes.map((s) => new Float64Array(s));
  const scratch = new Float64Array(Math.max(...sizes));
  // float32 storage: every stored value is rounded to float32 (sums are still formed in float64),
  // so a float32 overflow to Infinity shows up where it would in a float32 framework.
  const f32 = spec.dtype === "float32";
  const st: (v: number) => number = f32 ? Math.fround : (v) => v;
  // Skipping zero inputs pays where zeros are common: MNIST's background in the input layer and
  // dead ReLU units; on a tanh layer the test costs more than it saves.
  const skipZeros = layout.map((_, l) => l === 0 || activation === "relu");
  // One closure per activation, chosen once: the hot loops call a single monomorphic function.
  const f0 = (t: number) => activate(activation, t);
  const f1 = specialised1(activation);
  const f2 = (t: number, u: number) => derivative2(activation, t, u);

  const names: string[] = [];
  layout.forEach((lay, l) => {
    for (let i = 0; i < lay.out; i++) for (let j = 0; j < lay.in; j++) names.push(`W${l + 1}[${i},${j}]`);
    for (let i = 0; i < lay.out; i++) names.push(`b${l + 1}[${i}]`);
  });

  /** Forward pass of row r through the net; leaves z and a filled. */
  const forward = (theta: Float64Array, x: Float64Array, r: number) => {
    const a0 = a[0]!;
    const inS = sizes[0]!;
    for (let j = 0; j < inS; j++) a0[j] = x[r * inS + j]!;
    for (let l = 1; l <= L; l++) {
      const { w, b, in: inS2, out } = layout[l - 1]!;
      const prev = a[l - 1]!;
      const zl = z[l]!;
      const al = a[l]!;
      const hidden = l < L;
      for (let i = 0; i < out; i++) {
        let s = theta[b + i]!;
        const row = w + i * inS2;
        if (skipZeros[l - 1]) {
          for (let j = 0; j < inS2; j++) {
            const p = prev[j]!;
            if (p !== 0) s += theta[row + j]! * p;
          }
        } else for (let j = 0; j < inS2; j++) s += theta[row + j]! * prev[j]!;
        zl[i] = f32 ? Math.fround(s) : s;
      }
      // The activation in its own loop, chosen once per layer: tanh (the commonest smooth case)
      // calls Math.tanh directly instead of going through a closure per unit.
      if (!hidden) al.set(zl);
      else if (activation === "tanh") for (let i = 0; i < out; i++) al[i] = Math.tanh(zl[i]!);
      else for (let i = 0; i < out; i++) al[i] = f0(zl[i]!);
      if (f32 && hidden) for (let i = 0; i < out; i++) al[i] = Math.fround(al[i]!);
    }
  };

  /** ℓ for one row (not yet divided by the mean's count), and ∂ℓ/∂z_L into delta[L]. */
  const lossAndDelta = (y: Float64Array, r: number, wantDelta: boolean): number => {
    const zL = z[L]!;
    const d = delta[L]!;
    const t = r * outSize;
    let value = 0;
    switch (loss) {
      case "mse":
      case "half-mse": {
        const c = loss === "mse" ? 1 : 0.5;
        for (let o = 0; o < outSize; o++) {
          const e = zL[o]! - y[t + o]!;
          value += c * e * e;
          if (wantDelta) d[o] = st(2 * c * e);
        }
        break;
      }
      case "bce":
        for (let o = 0; o < outSize; o++) {
          const v = zL[o]!;
          value += Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v))) - y[t + o]! * v;
          if (wantDelta) d[o] = st(sigmoid(v) - y[t + o]!);
        }
        break;
      case "cross-entropy": {
        let m = Number.NEGATIVE_INFINITY;
        for (let o = 0; o < outSize; o++) if (zL[o]! > m) m = zL[o]!;
        let sum = 0;
        for (let o = 0; o < outSize; o++) sum += Math.exp(zL[o]! - m);
        const lse = m + Math.log(sum);
        let ysum = 0;
        for (let o = 0; o < outSize; o++) {
          const yo = y[t + o]!;
          ysum += yo;
          if (yo !== 0) value += yo * (lse - zL[o]!);
        }
        if (wantDelta) for (let o = 0; o < outSize; o++) d[o] = st(ysum * Math.exp(zL[o]! - lse) - y[t + o]!);
        break;
      }
    }
    return value;
  };

  /** The mean's count: rows × outputs for the elementwise losses, rows for cross-entropy. */
  const count = (rows: number) => (loss === "cross-entropy" ? rows : rows * outSize);

  /** Backward pass from delta[L]; accumulates into grad scaled by `scale`. */
  const backward = (theta: Float64Array, grad: Float64Array, scale: number) => {
    for (let l = L; l >= 1; l--) {
      const { w, b, in: inS, out } = layout[l - 1]!;
      const dl = delta[l]!;
      const prev = a[l - 1]!;
      const fused = !f32 && l > 1 && !skipZeros[l - 1];
      if (fused) {
        // One pass over each weight row does both jobs: the row's gradient and its share of the
        // previous layer's delta (the same sums, in the same order, as the two loops below).
        const dPrev = delta[l - 1]!;
        dPrev.fill(0);
        for (let i = 0; i < out; i++) {
          const d = dl[i]!;
          if (d === 0) continue;
          const di = d * scale;
          grad[b + i]! += di;
          const row = w + i * inS;
          for (let j = 0; j < inS; j++) {
            grad[row + j]! += di * prev[j]!;
            dPrev[j]! += theta[row + j]! * d;
          }
        }
      }
      for (let i = 0; i < out && !fused; i++) {
        const di = dl[i]! * scale;
        if (di === 0) continue;
        const row = w + i * inS;
        if (f32) {
          grad[b + i] = Math.fround(grad[b + i]! + di);
          for (let j = 0; j < inS; j++) {
            const p = prev[j]!;
            if (p !== 0) grad[row + j] = Math.fround(grad[row + j]! + di * p);
          }
        } else {
          grad[b + i]! += di;
          if (skipZeros[l - 1]) {
            for (let j = 0; j < inS; j++) {
              const p = prev[j]!;
              if (p !== 0) grad[row + j]! += di * p;
            }
          } else for (let j = 0; j < inS; j++) grad[row + j]! += di * prev[j]!;
        }
      }
      if (l > 1) {
        const dPrev = delta[l - 1]!;
        if (!fused) {
          dPrev.fill(0);
          for (let i = 0; i < out; i++) {
            const di = dl[i]!;
            if (di === 0) continue;
            const row = w + i * inS;
            for (let j = 0; j < inS; j++) dPrev[j]! += theta[row + j]! * di;
          }
        }
        const zp = z[l - 1]!;
        const ap = a[l - 1]!;
        if (activation === "tanh") for (let j = 0; j < inS; j++) dPrev[j]! *= 1 - ap[j]! * ap[j]!;
        else for (let j = 0; j < inS; j++) dPrev[j]! *= f1(zp[j]!, ap[j]!);
        if (f32) for (let j = 0; j < inS; j++) dPrev[j] = Math.fround(dPrev[j]!);
      }
    }
  };

  const value = (theta: Float64Array, d: MlpData = data): number => {
    let s = 0;
    for (let r = 0; r < d.rows; r++) {
      forward(theta, d.x, r);
      s += lossAndDelta(d.y, r, false);
    }
    return st(s / count(d.rows));
  };

  const gradient = (theta: Float64Array, out: Float64Array, d: MlpData = data): number => {
    out.fill(0);
    const scale = 1 / count(d.rows);
    let s = 0;
    for (let r = 0; r < d.rows; r++) {
      forward(theta, d.x, r);
      s += lossAndDelta(d.y, r, true);
      backward(theta, out, scale);
    }
    return st(s * scale);
  };

  const hessianVector = (theta: Float64Array, v: Float64Array, out: Float64Array): void => {
    out.fill(0);
    const scale = 1 / count(data.rows);
    for (let r = 0; r < data.rows; r++) {
      forward(theta, data.x, r);
      lossAndDelta(data.y, r, true);
      // R-forward.
      ra[0]!.fill(0);
      for (let l = 1; l <= L; l++) {
        const { w, b, in: inS, out: outS } = layout[l - 1]!;
        const prev = a[l - 1]!;
        const rprev = ra[l - 1]!;
        const rzl = rz[l]!;
        for (let i = 0; i < outS; i++) {
          let s = v[b + i]!;
          const row = w + i * inS;
          // The input layer has R(a₀) = 0, and inputs are often zero (MNIST's background): skip both.
          if (l === 1) {
            for (let j = 0; j < inS; j++) {
              const p = prev[j]!;
              if (p !== 0) s += v[row + j]! * p;
            }
          } else for (let j = 0; j < inS; j++) s += v[row + j]! * prev[j]! + theta[row + j]! * rprev[j]!;
          rzl[i] = s;
        }
        const ral = ra[l]!;
        if (l < L) for (let i = 0; i < outS; i++) ral[i] = f1(z[l]![i]!, a[l]![i]!) * rzl[i]!;
        else ral.set(rzl);
      }
      // R of the loss's delta: ∇²_z ℓ · R(z_L).
      const rdL = rdelta[L]!;
      const rzL = rz[L]!;
      const zL = z[L]!;
      switch (loss) {
        case "mse":
        case "half-mse": {
          const c = loss === "mse" ? 2 : 1;
          for (let o = 0; o < outSize; o++) rdL[o] = c * rzL[o]!;
          break;
        }
        case "bce":
          for (let o = 0; o < outSize; o++) {
            const s = sigmoid(zL[o]!);
            rdL[o] = s * (1 - s) * rzL[o]!;
          }
          break;
        case "cross-entropy": {
          // (Σy)·(diag(p) − ppᵀ)·R(z): p = softmax(z); delta holds (Σy)p − y.
          let ysum = 0;
          for (let o = 0; o < outSize; o++) ysum += data.y[r * outSize + o]!;
          let m = Number.NEGATIVE_INFINITY;
          for (let o = 0; o < outSize; o++) if (zL[o]! > m) m = zL[o]!;
          let sum = 0;
          for (let o = 0; o < outSize; o++) {
            scratch[o] = Math.exp(zL[o]! - m);
            sum += scratch[o]!;
          }
          let pr = 0;
          for (let o = 0; o < outSize; o++) {
            scratch[o]! /= sum;
            pr += scratch[o]! * rzL[o]!;
          }
          for (let o = 0; o < outSize; o++) rdL[o] = ysum * scratch[o]! * (rzL[o]! - pr);
          break;
        }
      }
      // R-backward, accumulating R(∇) into out.
      for (let l = L; l >= 1; l--) {
        const { w, b, in: inS, out: outS } = layout[l - 1]!;
        const dl = delta[l]!;
        const rdl = rdelta[l]!;
        const prev = a[l - 1]!;
        const rprev = ra[l - 1]!;
        for (let i = 0; i < outS; i++) {
          const di = dl[i]! * scale;
          const rdi = rdl[i]! * scale;
          out[b + i]! += rdi;
          const row = w + i * inS;
          if (l === 1) {
            if (rdi === 0) continue;
            for (let j = 0; j < inS; j++) {
              const p = prev[j]!;
              if (p !== 0) out[row + j]! += rdi * p;
            }
          } else for (let j = 0; j < inS; j++) out[row + j]! += rdi * prev[j]! + di * rprev[j]!;
        }
        if (l > 1) {
          const dPrev = delta[l - 1]!;
          const rdPrev = rdelta[l - 1]!;
          const zp = z[l - 1]!;
          const ap = a[l - 1]!;
          const rzp = rz[l - 1]!;
          for (let j = 0; j < inS; j++) {
            let back = 0;
            let rback = 0;
            for (let i = 0; i < outS; i++) {
              const wij = theta[w + i * inS + j]!;
              back += wij * dl[i]!;
              rback += v[w + i * inS + j]! * dl[i]! + wij * rdl[i]!;
            }
            const d1 = f1(zp[j]!, ap[j]!);
            dPrev[j] = back * d1;
            rdPrev[j] = rback * d1 + back * f2(zp[j]!, ap[j]!) * rzp[j]!;
          }
        }
      }
    }
  };

  const evaluate = (theta: Float64Array, d: MlpData = data) => {
    let s = 0;
    let correct = 0;
    const classify = loss === "cross-entropy" || loss === "bce";
    for (let r = 0; r < d.rows; r++) {
      forward(theta, d.x, r);
      s += lossAndDelta(d.y, r, false);
      if (classify) {
        const zL = z[L]!;
        if (outSize === 1) {
          if (zL[0]! > 0 === d.y[r]! > 0.5) correct++;
        } else {
          let best = 0;
          let target = 0;
          for (let o = 1; o < outSize; o++) {
            if (zL[o]! > zL[best]!) best = o;
            if (d.y[r * outSize + o]! > d.y[r * outSize + target]!) target = o;
          }
          if (best === target) correct++;
        }
      }
    }
    return { loss: s / count(d.rows), accuracy: classify ? correct / d.rows : null };
  };

  return {
    dim,
    names,
    description: {
      kind: "builtin",
      name: description,
      parameters: { sizes: [...sizes], activation, loss, rows: data.rows },
    },
    training: true,
    spec,
    layout,
    value: (theta) => value(theta),
    gradient: (theta, out) => gradient(theta, out),
    gradientOn: gradient,
    outputs: (theta, x, rows, out) => {
      for (let r = 0; r < rows; r++) {
        forward(theta, x, r);
        out.set(z[L]!, r * outSize);
      }
    },
    activations: (
      theta: Float64Array,
      d: MlpData,
      visit: (layer: number, unit: number, z: number, a: number) => void,
    ) => {
      for (let r = 0; r < d.rows; r++) {
        forward(theta, d.x, r);
        for (let l = 1; l < L; l++) for (let i = 0; i < sizes[l]!; i++) visit(l, i, z[l]![i]!, a[l]![i]!);
      }
    },
    hessianVector,
    evaluate,
  };
}

function sigmoid(t: number): number {
  return t >= 0 ? 1 / (1 + Math.exp(-t)) : Math.exp(t) / (1 + Math.exp(t));
}

export type InitScheme = "pytorch" | "glorot" | "he";

/**
 * Seeded initial weights. "pytorch" is nn.Linear's default, U(−1/√fan_in, 1/√fan_in) for W and b;
 * "glorot" is Glorot/Xavier uniform for W; "he" is He/Kaiming normal for W; biases 0 for both.
 */
export function initialParameters(sizes: readonly number[], scheme: InitScheme, rng: Rng): Float64Array {
  const theta = new Float64Array(parameterCount(sizes));
  let k = 0;
  for (let l = 1; l < sizes.length; l++) {
    const fanIn = sizes[l - 1]!;
    const fanOut = sizes[l]!;
    for (let i = 0; i < fanIn * fanOut; i++) {
      if (scheme === "pytorch") theta[k++] = (2 * rng.uniform() - 1) / Math.sqrt(fanIn);
      else if (scheme === "glorot") theta[k++] = (2 * rng.uniform() - 1) * Math.sqrt(6 / (fanIn + fanOut));
      else theta[k++] = rng.normal() * Math.sqrt(2 / fanIn);
    }
    for (let i = 0; i < fanOut; i++)
      theta[k++] = scheme === "pytorch" ? (2 * rng.uniform() - 1) / Math.sqrt(fanIn) : 0;
  }
  return theta;
}

/** Weights as `{ layers: [{ W: out×in, b: out }] }` (layer output = W·input + b), checked against the model. */
export function parametersFromLayers(
  sizes: readonly number[],
  json: unknown,
  source = "the weights",
): Float64Array {
  const layers = (json as { layers?: unknown })?.layers;
  const expected = sizes
    .slice(1)
    .map((out, l) => `${out}×${sizes[l]}`)
    .join(", ");
  if (!Array.isArray(layers))
    throw new Error(`invalid init: ${source} has no "layers" array (the model needs W of ${expected})`);
  if (layers.length !== sizes.length - 1)
    throw new Error(
      `invalid init: ${source} has ${layers.length} layers, the model ${sizes.length - 1} (W of ${expected})`,
    );
  const theta = new Float64Array(parameterCount(sizes));
  let k = 0;
  layers.forEach((layer: { W?: unknown; b?: unknown }, l) => {
    const out = sizes[l + 1]!;
    const inS = sizes[l]!;
    const W = layer?.W;
    const b = layer?.b;
    const shape = Array.isArray(W) ? `${W.length}×${Array.isArray(W[0]) ? W[0].length : "?"}` : "missing";
    if (!Array.isArray(W) || W.length !== out || W.some((row) => !Array.isArray(row) || row.length !== inS)) {
      throw new Error(
        `invalid init: layer ${l + 1} W is ${shape} in ${source}, the model needs ${out}×${inS}`,
      );
    }
    if (!Array.isArray(b) || b.length !== out) {
      throw new Error(
        `invalid init: layer ${l + 1} b has ${Array.isArray(b) ? b.length : "no"} entries in ${source}, the model needs ${out}`,
      );
    }
    for (const row of W as number[][]) for (const v of row) theta[k++] = checkFinite(v, l, source);
    for (const v of b as number[]) theta[k++] = checkFinite(v, l, source);
  });
  return theta;
}

function checkFinite(v: unknown, l: number, source: string): number {
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new Error(`invalid init: layer ${l + 1} of ${source} holds ${String(v)}, not a finite number`);
  return v;
}

/** The inverse of parametersFromLayers, for --save-weights. */
export function layersFromParameters(
  sizes: readonly number[],
  theta: Float64Array,
): { layers: { W: number[][]; b: number[] }[] } {
  const layers: { W: number[][]; b: number[] }[] = [];
  let k = 0;
  for (let l = 1; l < sizes.length; l++) {
    const W: number[][] = [];
    for (let i = 0; i < sizes[l]!; i++) {
      W.push(Array.from(theta.subarray(k, k + sizes[l - 1]!)));
      k += sizes[l - 1]!;
    }
    layers.push({ W, b: Array.from(theta.subarray(k, k + sizes[l]!)) });
    k += sizes[l]!;
  }
  return { layers };
}
