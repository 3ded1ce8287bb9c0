import { floats } from "../arena.js";
import { axisOf, size, type Tensor, tensor } from "../tensor.js";
import type { Op, OpContext } from "./types.js";

/**
 * Softmax along an axis (opset 13+; before it, over the input flattened to 2-D at the axis).
 * With s = Σ y⊙ȳ along the axis:
 *   R{y} = y⊙(ẋ − Σ y⊙ẋ),  x̄ = y⊙(ȳ − s),  R{x̄} = R{y}⊙(ȳ − s) + y⊙(R{ȳ} − Σ(R{y}⊙ȳ + y⊙R{ȳ})).
 */
interface Lanes {
  readonly outer: number;
  readonly len: number;
  readonly inner: number;
}

function lanesOf(c: OpContext, x: Tensor): Lanes {
  const where = `Softmax node "${c.node.name}"`;
  const rank = x.shape.length;
  const a = axisOf((c.node.attrs.axis as number | undefined) ?? (c.opset >= 13 ? -1 : 1), rank, where);
  if (c.opset < 13) return { outer: size(x.shape.slice(0, a)), len: size(x.shape.slice(a)), inner: 1 };
  return { outer: size(x.shape.slice(0, a)), len: x.shape[a]!, inner: size(x.shape.slice(a + 1)) };
}

/** For every lane, out = y⊙(u − Σ y⊙u) (plus nothing else): the softmax's Jacobian applied to u. */
function jacobian(l: Lanes, y: Float64Array, u: Float64Array, out: Float64Array): void {
  for (let o = 0; o < l.outer; o++)
    for (let i = 0; i < l.inner; i++) {
      const base = o * l.len * l.inner + i;
      let s = 0;
      for (let j = 0; j < l.len; j++) s += y[base + j * l.inner]! * u[base + j * l.inner]!;
      for (let j = 0; j < l.len; j++) {
        const at = base + j * l.inner;
        out[at] = y[at]! * (u[at]! - s);
      }
    }
}

export const softmax: Op = {
  // The Jacobian is y's alone: diag(y) − yyᵀ along the axis.
  reads: { x: false, dx: false, y: true, dy: true },
  forward(c, [x]) {
    const l = lanesOf(c, x!);
    const a = x!.data;
    const out = floats(a.length);
    for (let o = 0; o < l.outer; o++)
      for (let i = 0; i < l.inner; i++) {
        const base = o * l.len * l.inner + i;
        let m = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < l.len; j++) m = Math.max(m, a[base + j * l.inner]!);
        let z = 0;
        for (let j = 0; j < l.len; j++) {
          const e = Math.exp(a[base + j * l.inner]! - m);
          out[base + j * l.inner] = e;
          z += e;
        }
        for (let j = 0; j < l.len; j++) out[base + j * l.inner]! /= z;
      }
    return [tensor(x!.shape, out)];
  },
  jvp(c, [x], [dx], [y]) {
    if (!dx) return [null];
    const out = floats(y!.data.length);
    jacobian(lanesOf(c, x!), y!.data, dx.data, out);
    return [tensor(y!.shape, out)];
  },
  vjp(c, [x], [y], [gy], need) {
    if (!need[0] || !gy) return [null];
    const out = floats(y!.data.length);
    jacobian(lanesOf(c, x!), y!.data, gy.data, out);
    return [tensor(y!.shape, out)];
  },
  rvjp(c, [x], _dx, [y], [dy], [gy], [dgy], need) {
    if (!need[0]) return [null];
    const l = lanesOf(c, x!);
    const Y = y!.data;
    const out = floats(Y.length);
    if (dgy) jacobian(l, Y, dgy.data, out);
    if (dy && gy) {
      const D = dy.data;
      const G = gy.data;
      for (let o = 0; o < l.outer; o++)
        for (let i = 0; i < l.inner; i++) {
          const base = o * l.len * l.inner + i;
          // R{y}⊙(ȳ − s) − y·Σ R{y}⊙ȳ, with s = Σ y⊙ȳ.
          let s = 0;
          let t = 0;
          for (let j = 0; j < l.len; j++) {
            const at = base + j * l.inner;
            s += Y[at]! * G[at]!;
            t += D[at]! * G[at]!;
          }
          for (let j = 0; j < l.len; j++) {
            const at = base + j * l.inner;
            out[at]! += D[at]! * (G[at]! - s) - Y[at]! * t;
          }
        }
    }
    return [tensor(y!.shape, out)];
  },
};
