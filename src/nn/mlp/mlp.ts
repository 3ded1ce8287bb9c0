import { plural } from "../../core/format.js";
import type { NetworkObjective } from "../../core/objective.js";
import { drawWithoutReplacement, type Rng } from "../../core/rng.js";
import { trivialBaseline } from "../baseline.js";
import type { KernelChoice, KernelName } from "../kernels/index.js";
import { mlpPasses, rowLoss } from "./mlp-passes.js";

/**
 * A multilayer perceptron as an Objective over its flat parameter vector: for each layer, W
 * row-major (out × in) then b. Gradients by reverse mode, Hessian-vector products exactly by
 * Pearlmutter's R-operator (forward-over-reverse), over blocks of rows as matrix products
 * (mlp-passes.ts) on WebAssembly SIMD or JS kernels: nothing is allocated per call.
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
  /**
   * One activation per hidden layer (an imported model's may differ layer to layer); overrides
   * `activation` where given.
   */
  readonly activations?: readonly Activation[];
  readonly loss: Loss;
  /** Storage precision (default float64); float32 rounds every stored value through Math.fround. */
  readonly dtype?: "float64" | "float32";
  /** The products' kernels (default: the process's choice, auto). Both give the same bits. */
  readonly kernels?: KernelChoice;
}

export interface MlpData {
  /** Inputs, rows × sizes[0], row-major. */
  readonly x: Float64Array;
  /** Targets, rows × sizes[last] (one-hot for cross-entropy). */
  readonly y: Float64Array;
  readonly rows: number;
}

export { erf } from "../../core/special.js";

export interface MlpObjective extends NetworkObjective {
  onRows(data: MlpData, description: string): MlpObjective;
  readonly spec: MlpSpec;
  /** Which kernels the passes run on (WebAssembly SIMD or the JS fallback). */
  readonly kernels: KernelName;
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

/** Rows r0 ≤ r < r1 of the data, as views of its arrays (no copy). */
export function rowRange(d: MlpData, r0: number, r1: number): MlpData {
  const inS = d.x.length / d.rows;
  const outS = d.y.length / d.rows;
  return { x: d.x.subarray(r0 * inS, r1 * inS), y: d.y.subarray(r0 * outS, r1 * outS), rows: r1 - r0 };
}

/** The given rows of the data, in that order, as a copy. */
export function pickRows(d: MlpData, rows: ArrayLike<number>): MlpData {
  const inS = d.x.length / d.rows;
  const outS = d.y.length / d.rows;
  const x = new Float64Array(rows.length * inS);
  const y = new Float64Array(rows.length * outS);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    x.set(d.x.subarray(r * inS, (r + 1) * inS), i * inS);
    y.set(d.y.subarray(r * outS, (r + 1) * outS), i * outS);
  }
  return { x, y, rows: rows.length };
}

/**
 * Row i becomes the old row order[i], in place (order a permutation of all the rows): each cycle
 * of the permutation is followed once, with one row kept aside.
 */
export function permuteRows(d: MlpData, order: Int32Array): void {
  const xw = d.x.length / d.rows;
  const yw = d.y.length / d.rows;
  const keepX = new Float64Array(xw);
  const keepY = new Float64Array(yw);
  const done = new Uint8Array(d.rows);
  for (let start = 0; start < d.rows; start++) {
    if (done[start] || order[start] === start) continue;
    keepX.set(d.x.subarray(start * xw, (start + 1) * xw));
    keepY.set(d.y.subarray(start * yw, (start + 1) * yw));
    let i = start;
    for (;;) {
      done[i] = 1;
      const from = order[i]!;
      if (from === start) break;
      d.x.copyWithin(i * xw, from * xw, (from + 1) * xw);
      d.y.copyWithin(i * yw, from * yw, (from + 1) * yw);
      i = from;
    }
    d.x.set(keepX, i * xw);
    d.y.set(keepY, i * yw);
  }
}

/**
 * `count` distinct rows drawn without replacement (a partial Fisher–Yates shuffle, seeded), in
 * their original order.
 */
export function sampleRows(d: MlpData, count: number, rng: Rng): MlpData {
  const order = Int32Array.from({ length: d.rows }, (_, i) => i);
  return pickRows(d, drawWithoutReplacement(order, count, rng).sort());
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
  for (const a of [spec.activation, ...(spec.activations ?? [])])
    if (!(ACTIVATIONS as readonly string[]).includes(a))
      throw new Error(`invalid activation: ${a} (valid: ${ACTIVATIONS.join(", ")})`);
  if (spec.activations && spec.activations.length !== sizes.length - 2)
    throw new Error(
      `invalid activations: ${spec.activations.length} for ${sizes.length - 2} hidden layers (one after each)`,
    );
  if (!(LOSSES as readonly string[]).includes(spec.loss))
    throw new Error(`invalid loss: ${spec.loss} (valid: ${LOSSES.join(", ")})`);
  const inSize = sizes[0]!;
  const outSize = sizes[sizes.length - 1]!;
  if (data.rows < 1) throw new Error("invalid data: no rows");
  if (data.x.length !== data.rows * inSize)
    throw new Error(
      `invalid data: inputs have ${plural(data.x.length, "value")}, expected ${plural(data.rows, "row")} × ${inSize}`,
    );
  if (data.y.length !== data.rows * outSize)
    throw new Error(
      `invalid data: targets have ${plural(data.y.length, "value")}, expected ${plural(data.rows, "row")} × ${outSize}`,
    );
  if (spec.loss === "cross-entropy" && outSize < 2)
    throw new Error("invalid loss: cross-entropy needs 2 or more outputs (use bce for one)");
}

export function mlpObjective(
  spec: MlpSpec,
  data: MlpData,
  description = "mlp",
  options: { kernels?: KernelChoice; blockRows?: number } = {},
): MlpObjective {
  validate(spec, data);
  const { sizes, activation, loss } = spec;
  const L = sizes.length - 1;
  const activations = layerActivations(spec);
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
  // float32 storage: every stored value is rounded to float32 (sums are still formed in float64),
  // so a float32 overflow to Infinity shows up where it would in a float32 framework.
  const f32 = spec.dtype === "float32";
  const st: (v: number) => number = f32 ? Math.fround : (v) => v;
  const passes = mlpPasses(
    sizes,
    layout,
    activations,
    loss,
    f32,
    options.kernels ?? spec.kernels,
    options.blockRows,
    data.x,
  );

  // The parameters' names on first use: a wide net has 10⁵ of them, and an objective built per
  // minibatch or per row (diagnose's noise measurement) never reads them.
  let names: string[] | null = null;
  const parameterNames = (): string[] => {
    if (names) return names;
    names = [];
    layout.forEach((lay, l) => {
      for (let i = 0; i < lay.out; i++) for (let j = 0; j < lay.in; j++) names!.push(`W${l + 1}[${i},${j}]`);
      for (let i = 0; i < lay.out; i++) names!.push(`b${l + 1}[${i}]`);
    });
    return names;
  };

  const value = (theta: Float64Array, d: MlpData = data): number =>
    st(passes.lossSum(theta, d.x, d.y, d.rows) / passes.count(d.rows));

  const gradient = (theta: Float64Array, out: Float64Array, d: MlpData = data): number =>
    passes.gradient(theta, d.x, d.y, d.rows, out);

  // Classification: a classifier's loss, or one-hot targets under another loss (mse on one-hot
  // labels still picks a class by its largest output, and its accuracy is worth reporting).
  const oneHotTargets = outSize > 1 && isOneHot(data.y, outSize);
  const evaluate = (theta: Float64Array, d: MlpData = data) => {
    let s = 0;
    let correct = 0;
    const classify = loss === "cross-entropy" || loss === "bce" || oneHotTargets;
    if (!classify) s = passes.lossSum(theta, d.x, d.y, d.rows);
    else
      passes.forward(theta, d.x, d.rows, (r0, rows, h, z) => {
        const zL = z[L]!;
        for (let r = r0; r < r0 + rows; r++) {
          const zr = zL + (r - r0) * outSize;
          s += rowLoss(loss, h, zr, d.y, r * outSize, outSize);
          if (outSize === 1) {
            if (h[zr]! > 0 === d.y[r]! > 0.5) correct++;
          } else {
            let best = 0;
            let target = 0;
            for (let o = 1; o < outSize; o++) {
              if (h[zr + o]! > h[zr + best]!) best = o;
              if (d.y[r * outSize + o]! > d.y[r * outSize + target]!) target = o;
            }
            if (best === target) correct++;
          }
        }
      });
    return { loss: s / passes.count(d.rows), accuracy: classify ? correct / d.rows : null };
  };

  return {
    dim,
    get names() {
      return parameterNames();
    },
    description: {
      kind: "builtin",
      name: description,
      parameters: {
        sizes: [...sizes],
        activation,
        ...(spec.activations ? { activations: [...spec.activations] } : {}),
        loss,
        rows: data.rows,
      },
    },
    training: true,
    baseline: trivialBaseline(loss, data.y, data.rows, outSize),
    spec,
    layout,
    groups: layout.map((l, i) => ({ name: `layer ${i + 1}`, start: l.w, end: l.b + l.out })),
    float32: f32,
    onRows: (d, name) => mlpObjective(spec, d, name, { kernels: passes.kernels }),
    kernels: passes.kernels,
    value: (theta) => value(theta),
    gradient: (theta, out) => gradient(theta, out),
    gradientOn: gradient,
    outputs: (theta, x, rows, out) => {
      passes.forward(theta, x, rows, (r0, n, h, z) => {
        out.set(h.subarray(z[L]!, z[L]! + n * outSize), r0 * outSize);
      });
    },
    activations: (
      theta: Float64Array,
      d: MlpData,
      visit: (layer: number, unit: number, z: number, a: number) => void,
    ) => {
      passes.forward(theta, d.x, d.rows, (_r0, n, h, z, a) => {
        for (let r = 0; r < n; r++)
          for (let l = 1; l < L; l++) {
            const m = sizes[l]!;
            for (let i = 0; i < m; i++) visit(l, i, h[z[l]! + r * m + i]!, h[a[l]! + r * m + i]!);
          }
      });
    },
    hessianVector: (theta, v, out) => passes.hessianVector(theta, v, data.x, data.y, data.rows, out),
    evaluate,
  };
}

/** The activation after each hidden layer. */
export function layerActivations(spec: MlpSpec): readonly Activation[] {
  return spec.activations ?? Array.from({ length: spec.sizes.length - 2 }, () => spec.activation);
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
      `invalid init: ${source} has ${plural(layers.length, "layer")}, the model ${sizes.length - 1} (W of ${expected})`,
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

/** True when every row of y (rows × k) is a one-hot vector: one 1, the rest 0. */
function isOneHot(y: Float64Array, k: number): boolean {
  for (let r = 0; r < y.length; r += k) {
    let ones = 0;
    for (let o = 0; o < k; o++) {
      const v = y[r + o]!;
      if (v === 1) ones++;
      else if (v !== 0) return false;
    }
    if (ones !== 1) return false;
  }
  return y.length > 0;
}
