import { tensor } from "../tensor.js";
import { intAttr } from "./_read.js";
import type { Expansion, GraphNode } from "./types.js";

/**
 * Operators written as sub-graphs of primitives, so their gradients and Hessian-vector products
 * are the primitives' and exact by construction — including BatchNormalization in training mode,
 * whose statistics couple the rows of the batch.
 */

const node = (
  op: string,
  name: string,
  inputs: string[],
  outputs: string[],
  attrs: GraphNode["attrs"] = {},
): GraphNode => ({
  op,
  name,
  inputs,
  outputs,
  attrs,
});

/**
 * Gemm: Y = α·op(A)·op(B) + β·C, op a transpose where transA / transB say.
 */
export const gemmExpansion: Expansion = {
  expand(n, fresh, constant) {
    const [a, b, cIn] = n.inputs as [string, string, string | undefined];
    const out: GraphNode[] = [];
    const alpha = (n.attrs.alpha as number | undefined) ?? 1;
    const beta = (n.attrs.beta as number | undefined) ?? 1;
    let left = a;
    let right = b;
    if (intAttr(n, "transA", 0) === 1) {
      left = fresh("At");
      out.push(node("Transpose", `${n.name}/transA`, [a], [left], { perm: [1, 0] }));
    }
    if (intAttr(n, "transB", 0) === 1) {
      right = fresh("Bt");
      out.push(node("Transpose", `${n.name}/transB`, [b], [right], { perm: [1, 0] }));
    }
    const hasC = cIn !== undefined && cIn !== "";
    let product = hasC || alpha !== 1 ? fresh("AB") : n.outputs[0]!;
    out.push(node("MatMul", `${n.name}/MatMul`, [left, right], [product]));
    if (alpha !== 1) {
      const k = fresh("alpha");
      constant(k, tensor([], Float64Array.of(alpha)));
      const scaled = hasC ? fresh("alphaAB") : n.outputs[0]!;
      out.push(node("Mul", `${n.name}/alpha`, [product, k], [scaled]));
      product = scaled;
    }
    if (hasC) {
      let bias = cIn;
      if (beta !== 1) {
        const k = fresh("beta");
        constant(k, tensor([], Float64Array.of(beta)));
        bias = fresh("betaC");
        out.push(node("Mul", `${n.name}/beta`, [cIn, k], [bias]));
      }
      out.push(node("Add", `${n.name}/Add`, [product, bias], [n.outputs[0]!]));
    }
    return out;
  },
};

/**
 * (x − μ)/√(σ² + ε)·γ + β over the axes `stats` names (overshoot.Normalize's attributes), with μ,
 * σ² either computed (population variance, as PyTorch normalizes in training: one
 * overshoot.Normalize, fused.ts) or given.
 */
function normalize(
  n: GraphNode,
  fresh: (tag: string) => string,
  constant: (name: string, t: ReturnType<typeof tensor>) => void,
  x: string,
  stats: GraphNode["attrs"] | { mean: string; variance: string },
  scale: string | undefined,
  shift: string | undefined,
  toChannel: boolean,
): GraphNode[] {
  const out: GraphNode[] = [];
  const epsilon = (n.attrs.epsilon as number | undefined) ?? 1e-5;
  // γ and β (and given statistics) are vectors over the channel axis 1: shaped 1×C×1… like x.
  const asChannel = (v: string, tag: string): string => {
    if (!toChannel) return v;
    const r = fresh(tag);
    out.push(node("overshoot.Channel", `${n.name}/${tag}`, [v, x], [r]));
    return r;
  };
  const normalized = fresh("normalized");
  if ("mean" in stats && typeof stats.mean === "string") {
    const s = stats as { mean: string; variance: string };
    const centered = fresh("centered");
    const shifted = fresh("shifted");
    const deviation = fresh("deviation");
    const inverse = fresh("inverse");
    const eps = fresh("epsilon");
    constant(eps, tensor([], Float64Array.of(epsilon)));
    out.push(node("Sub", `${n.name}/center`, [x, asChannel(s.mean, "mean")], [centered]));
    out.push(node("Add", `${n.name}/epsilon`, [asChannel(s.variance, "var"), eps], [shifted]));
    out.push(node("Sqrt", `${n.name}/sqrt`, [shifted], [deviation]));
    // (x − μ)·(1/σ): the reciprocal on the small statistics tensor, a product (whose partials are
    // the operands) on the large one.
    out.push(node("Reciprocal", `${n.name}/inverse`, [deviation], [inverse]));
    out.push(node("Mul", `${n.name}/normalize`, [centered, inverse], [normalized]));
  } else
    out.push(
      node("overshoot.Normalize", `${n.name}/normalize`, [x], [normalized], {
        ...(stats as GraphNode["attrs"]),
        epsilon,
      }),
    );
  let y = normalized;
  const result = n.outputs[0]!;
  const hasScale = scale !== undefined && scale !== "";
  const hasShift = shift !== undefined && shift !== "";
  if (hasScale) {
    const scaled = hasShift ? fresh("scaled") : result;
    out.push(node("Mul", `${n.name}/scale`, [y, asChannel(scale, "gamma")], [scaled]));
    y = scaled;
  }
  if (hasShift) out.push(node("Add", `${n.name}/shift`, [y, asChannel(shift, "beta")], [result]));
  else if (!hasScale) out.push(node("Identity", `${n.name}/out`, [y], [result]));
  return out;
}

/**
 * BatchNormalization(X, γ, β, running mean, running var). In training mode (training_mode = 1, as
 * torch.onnx.export writes it with TrainingMode.TRAINING, or forced by the caller) the statistics
 * are the batch's, over every axis but the channel; otherwise the running ones. The optional
 * running-statistics outputs are passed through unchanged (the engine never updates them).
 */
export function batchNormExpansion(mode: "train" | "eval" | "as-exported"): Expansion {
  return {
    expand(n, fresh, constant) {
      const [x, gamma, beta, mean, variance] = n.inputs as string[];
      const train = mode === "train" || (mode === "as-exported" && intAttr(n, "training_mode", 0) === 1);
      const body = normalize(
        n,
        fresh,
        constant,
        x!,
        train ? { overshoot_all_but: 1 } : { mean: mean!, variance: variance! },
        gamma,
        beta,
        true,
      );
      const extra = n.outputs
        .slice(1)
        .map((o, i) => node("Identity", `${n.name}/running${i}`, [i === 0 ? mean! : variance!], [o]));
      return [...body, ...extra.filter((e) => e.outputs[0] !== "")];
    },
  };
}

/** LayerNormalization(X, γ, β): statistics over the axis and every later one (axis −1 by default). */
export const layerNormExpansion: Expansion = {
  expand(n, fresh, constant) {
    const [x, gamma, beta] = n.inputs as string[];
    if (n.outputs.length > 1 && n.outputs.slice(1).some((o) => o !== ""))
      throw new Error(
        `LayerNormalization node "${n.name}": its Mean and InvStdDev outputs are not supported`,
      );
    return normalize(n, fresh, constant, x!, { overshoot_from: intAttr(n, "axis", -1) }, gamma, beta, false);
  },
};

/**
 * Gelu (opset 20), exact: x·Φ(x) = 0.5·x·(1 + erf(x/√2)), one overshoot.ErfGelu (fused.ts); the
 * tanh approximation as its chain of primitives.
 */
export const geluExpansion: Expansion = {
  expand(n, fresh, constant) {
    const x = n.inputs[0]!;
    const y = n.outputs[0]!;
    const approximate = (n.attrs.approximate as string | undefined) ?? "none";
    if (approximate !== "tanh")
      return [
        node("overshoot.ErfGelu", `${n.name}/gelu`, [x], [y], {
          divisor: Math.SQRT2,
          offset: 1,
          factor: 0.5,
          early: 0,
        }),
      ];
    const k = (v: number, tag: string): string => {
      const name = fresh(tag);
      constant(name, tensor([], Float64Array.of(v)));
      return name;
    };
    // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const [cube, inner, sum, t, e, one, half] = ["cube", "inner", "sum", "t", "e", "onePlus", "halfX"].map(
      fresh,
    );
    return [
      node("Pow", `${n.name}/cube`, [x, k(3, "three")], [cube!]),
      node("Mul", `${n.name}/c`, [cube!, k(0.044715, "c")], [inner!]),
      node("Add", `${n.name}/sum`, [x, inner!], [sum!]),
      node("Mul", `${n.name}/scale`, [sum!, k(Math.sqrt(2 / Math.PI), "s")], [t!]),
      node("Tanh", `${n.name}/tanh`, [t!], [e!]),
      node("Add", `${n.name}/one`, [e!, k(1, "one")], [one!]),
      node("Mul", `${n.name}/half`, [x, k(0.5, "half")], [half!]),
      node("Mul", `${n.name}/out`, [half!, one!], [y]),
    ];
  },
};
