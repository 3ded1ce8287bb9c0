import { erf, erfSlope } from "../../core/special.js";
import { floats } from "../arena.js";
import { axisOf, GraphError, size, type Tensor, tensor } from "../tensor.js";
import { floatAttr } from "./_read.js";
import { type Op, type OpContext, READS_INPUTS } from "./types.js";

/**
 * Engine-only operators that do in one pass what an exported graph spells as a chain of
 * primitives (fuse.ts finds the chains; the normalization layers' expansions emit them directly).
 * Each is the chain's function exactly, with its derivatives derived from the chain's, so a fused
 * graph and the unfused one agree to rounding (tested against each other, and against finite
 * differences).
 */

/**
 * The statistics' layout: the tensor viewed as [outer, groups, inner], one mean and variance per
 * group over its outer·inner elements, named before the rank is known by one of two attributes.
 * overshoot_from = f, LayerNorm's trailing axes from f: outer 1, groups the rows (every axis
 * before f), inner the normalized size. overshoot_all_but = k, BatchNorm's every axis but k: outer
 * the axes before k, groups its channels, inner the axes after it.
 */
interface Layout {
  readonly outer: number;
  readonly groups: number;
  readonly inner: number;
}

function layoutOf(c: OpContext, x: Tensor): Layout {
  let p = c.plans.get("layout") as Layout | undefined;
  if (p) return p;
  const { node } = c;
  const where = `${node.op} node "${node.name}"`;
  const s = x.shape;
  if (node.attrs.overshoot_all_but !== undefined) {
    const k = axisOf(node.attrs.overshoot_all_but as number, s.length, where);
    p = { outer: size(s.slice(0, k)), groups: s[k]!, inner: size(s.slice(k + 1)) };
  } else {
    const f = axisOf((node.attrs.overshoot_from as number | undefined) ?? -1, s.length, where);
    p = { outer: 1, groups: size(s.slice(0, f)), inner: size(s.slice(f)) };
  }
  if (p.outer * p.inner === 0) throw new GraphError(`${where}: statistics over no elements`);
  c.plans.set("layout", p);
  return p;
}

/**
 * Σ over group g of a[at]·b[at] (b null: of a alone), a block of `inner` at a time added to the
 * total, as ReduceMean sums (reduce.ts).
 */
function groupSum(l: Layout, g: number, a: Float64Array, b: Float64Array | null): number {
  let s = 0;
  for (let o = 0; o < l.outer; o++) {
    const base = (o * l.groups + g) * l.inner;
    let block = 0;
    if (b) for (let i = base; i < base + l.inner; i++) block += a[i]! * b[i]!;
    else for (let i = base; i < base + l.inner; i++) block += a[i]!;
    s += block;
  }
  return s;
}

/**
 * out = s_g·(u − mean u − n·mean(n⊙u)) over every group: the Jacobian J = s(I − 11ᵀ/N − nnᵀ/N)
 * of the normalization (symmetric, so the same map gives R{y} = J·ẋ and x̄ = J·ȳ), added into out.
 */
function applyJacobian(
  l: Layout,
  n: Float64Array,
  s: Float64Array,
  u: Float64Array,
  out: Float64Array,
): void {
  const count = l.outer * l.inner;
  for (let g = 0; g < l.groups; g++) {
    const mu = groupSum(l, g, u, null) / count;
    const nu = groupSum(l, g, n, u) / count;
    const sg = s[g]!;
    for (let o = 0; o < l.outer; o++) {
      const base = (o * l.groups + g) * l.inner;
      for (let at = base; at < base + l.inner; at++) out[at]! += sg * (u[at]! - mu - n[at]! * nu);
    }
  }
}

/**
 * overshoot.Normalize: n = (x − μ)/√(σ² + ε) with μ and σ² (population variance) the mean and
 * variance of each group (Layout), as the exported chain ReduceMean → Sub → Pow 2 → ReduceMean →
 * Add ε → Sqrt → Div computes them (and in that order of operations). With s = 1/√(σ² + ε) and N
 * the group's size, from the chain (σ̇² = 2·mean(d⊙ḋ), ṡ = −s³·mean(d⊙ḋ), and mean(n) = 0):
 *   R{n} = J·ẋ,  x̄ = J·ȳ,  J = s(I − 11ᵀ/N − nnᵀ/N)
 *   R{x̄} = J·R{ȳ} − s²·mean(n⊙ẋ)·(ȳ − mean ȳ − n·mean(n⊙ȳ)) − s·(ṅ·mean(n⊙ȳ) + n·mean(ṅ⊙ȳ))
 * where ṅ = R{n}.
 */
export const normalizeOp: Op = {
  // J is n's and s's (cached), and R{x̄} reads ẋ only through mean(n⊙ẋ), cached by jvp: neither
  // x nor ẋ is read again (in a ResNet, each convolution's output and its tangent go early).
  reads: { x: false, dx: false, y: true, dy: true },
  forward(c, [x]) {
    const l = layoutOf(c, x!);
    const a = x!.data;
    const eps = floatAttr(c.node, "epsilon", 1e-5);
    // ReduceMean's scale, 1/N, multiplied (the chain's rounding).
    const scale = 1 / (l.outer * l.inner);
    const out = floats(a.length);
    const s = floats(l.groups);
    for (let g = 0; g < l.groups; g++) {
      const mu = groupSum(l, g, a, null) * scale;
      for (let o = 0; o < l.outer; o++) {
        const base = (o * l.groups + g) * l.inner;
        for (let at = base; at < base + l.inner; at++) out[at] = a[at]! - mu;
      }
      const r = Math.sqrt(groupSum(l, g, out, out) * scale + eps);
      s[g] = 1 / r;
      for (let o = 0; o < l.outer; o++) {
        const base = (o * l.groups + g) * l.inner;
        for (let at = base; at < base + l.inner; at++) out[at]! /= r;
      }
    }
    c.cache.set("s", s);
    return [tensor(x!.shape, out)];
  },
  jvp(c, [x], [dx], [y]) {
    if (!dx) return [null];
    const l = layoutOf(c, x!);
    const out = floats(y!.data.length);
    applyJacobian(l, y!.data, c.cache.get("s") as Float64Array, dx.data, out);
    // mean(n⊙ẋ) per group, for rvjp.
    const nx = new Float64Array(l.groups);
    const count = l.outer * l.inner;
    for (let g = 0; g < l.groups; g++) nx[g] = groupSum(l, g, y!.data, dx.data) / count;
    c.cache.set("nx", nx);
    return [tensor(y!.shape, out)];
  },
  vjp(c, [x], [y], [gy], need) {
    if (!need[0] || !gy) return [null];
    const out = floats(y!.data.length);
    applyJacobian(layoutOf(c, x!), y!.data, c.cache.get("s") as Float64Array, gy.data, out);
    return [tensor(y!.shape, out)];
  },
  rvjp(c, [x], _dx, [y], [dy], [gy], [dgy], need) {
    if (!need[0]) return [null];
    const l = layoutOf(c, x!);
    const n = y!.data;
    const s = c.cache.get("s") as Float64Array;
    const out = floats(n.length);
    if (dgy) applyJacobian(l, n, s, dgy.data, out);
    // mean(n⊙ẋ) from the forward pass: there when x had a tangent.
    const nxs = c.cache.get("nx") as Float64Array | undefined;
    if (nxs && dy && gy) {
      const count = l.outer * l.inner;
      const N = dy.data;
      const G = gy.data;
      for (let g = 0; g < l.groups; g++) {
        const sg = s[g]!;
        const nx = nxs[g]!;
        const gm = groupSum(l, g, G, null) / count;
        const ng = groupSum(l, g, n, G) / count;
        const dg = groupSum(l, g, N, G) / count;
        const k = sg * sg * nx;
        for (let o = 0; o < l.outer; o++) {
          const base = (o * l.groups + g) * l.inner;
          for (let at = base; at < base + l.inner; at++)
            out[at]! -= k * (G[at]! - gm - n[at]! * ng) + sg * (N[at]! * ng + n[at]! * dg);
        }
      }
    }
    return [tensor(y!.shape, out)];
  },
};

/**
 * overshoot.ErfGelu: the exact GELU as exported, y = x·(b + erf(x/a))·k — a = √2, b = 1, k = ½ in
 * PyTorch's chain Div → Erf → Add → Mul x → Mul ½, with the constants as the file stores them —
 * computed in the chain's order (attribute `early`: x·k first, then times the bracket), so the
 * values are the chain's bit for bit. With t = x/a, p = b + erf(t), E′(t) = (2/√π)e^{−t²}:
 *   y′ = k·(p + x·E′(t)/a),  y″ = k·E′(t)·(2 − 2t²)/a.
 */
function geluParts(c: OpContext): { a: number; b: number; k: number; early: boolean } {
  const n = c.node;
  return {
    a: floatAttr(n, "divisor", Math.SQRT2),
    b: floatAttr(n, "offset", 1),
    k: floatAttr(n, "factor", 0.5),
    early: floatAttr(n, "early", 0) === 1,
  };
}

/**
 * erf(t) from the forward pass, and E′(t) (special.ts erfSlope) made once on first use: the
 * derivatives' passes (jvp, vjp, rvjp) then cost no erf, and one E′ per element between them.
 */
function erfAndSlope(c: OpContext, x: Float64Array): { e: Float64Array; de: Float64Array } {
  const e = c.cache.get("erf") as Float64Array;
  let de = c.cache.get("erf'") as Float64Array | undefined;
  if (!de) {
    const { a } = geluParts(c);
    de = floats(x.length);
    for (let i = 0; i < x.length; i++) de[i] = erfSlope(x[i]! / a);
    c.cache.set("erf'", de);
  }
  return { e, de };
}

/** out[i] = y′(x[i])·u[i]. */
function geluSlope(c: OpContext, x: Float64Array, u: Float64Array, out: Float64Array): void {
  const { a, b, k } = geluParts(c);
  const { e, de } = erfAndSlope(c, x);
  for (let i = 0; i < x.length; i++) out[i] = k * (b + e[i]! + (x[i]! * de[i]!) / a) * u[i]!;
}

export const erfGeluOp: Op = {
  reads: READS_INPUTS,
  forward(c, [x]) {
    const { a, b, k, early } = geluParts(c);
    const v = x!.data;
    const out = floats(v.length);
    const e = floats(v.length);
    for (let i = 0; i < v.length; i++) e[i] = erf(v[i]! / a);
    if (early) for (let i = 0; i < v.length; i++) out[i] = v[i]! * k * (e[i]! + b);
    else for (let i = 0; i < v.length; i++) out[i] = v[i]! * (e[i]! + b) * k;
    c.cache.set("erf", e);
    return [tensor(x!.shape, out)];
  },
  jvp(c, [x], [dx]) {
    if (!dx) return [null];
    const out = floats(x!.data.length);
    geluSlope(c, x!.data, dx.data, out);
    return [tensor(x!.shape, out)];
  },
  vjp(c, [x], _y, [gy], need) {
    if (!need[0] || !gy) return [null];
    const out = floats(x!.data.length);
    geluSlope(c, x!.data, gy.data, out);
    return [tensor(x!.shape, out)];
  },
  rvjp(c, [x], [dx], _y, _dy, [gy], [dgy], need) {
    if (!need[0]) return [null];
    const v = x!.data;
    const out = floats(v.length);
    if (dgy) geluSlope(c, v, dgy.data, out);
    if (dx && gy) {
      const { a, k } = geluParts(c);
      const { de } = erfAndSlope(c, v);
      const X = dx.data;
      const G = gy.data;
      for (let i = 0; i < v.length; i++) {
        const t = v[i]! / a;
        out[i]! += ((k * de[i]! * (2 - 2 * t * t)) / a) * X[i]! * G[i]!;
      }
    }
    return [tensor(x!.shape, out)];
  },
};
