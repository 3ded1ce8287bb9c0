import { GraphError, shapeText } from "../tensor.js";
import type { GraphNode } from "./types.js";

/**
 * The window geometry convolutions and pools share, over 1-D and 2-D inputs (a 1-D input is a 2-D
 * one of height 1). ONNX attributes: kernel_shape, strides, dilations, pads (begin…, end…),
 * auto_pad (NOTSET, VALID, SAME_UPPER, SAME_LOWER), ceil_mode.
 */
export interface Window {
  readonly N: number;
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly kh: number;
  readonly kw: number;
  readonly sh: number;
  readonly sw: number;
  readonly dh: number;
  readonly dw: number;
  /** Padding before (top, left) and after (bottom, right). */
  readonly pt: number;
  readonly pl: number;
  readonly pb: number;
  readonly pr: number;
  readonly oh: number;
  readonly ow: number;
  /** The rank of the spatial part (1 or 2), for the output's shape. */
  readonly spatial: 1 | 2;
}

const ints = (node: GraphNode, name: string): readonly number[] | undefined => {
  const v = node.attrs[name];
  if (v === undefined) return undefined;
  if (!Array.isArray(v))
    throw new GraphError(`${node.op} node "${node.name}": attribute ${name} is not a list of integers`);
  return v as readonly number[];
};

export function windowOf(
  node: GraphNode,
  xShape: readonly number[],
  kernel: readonly number[] | null,
): Window {
  const where = `${node.op} node "${node.name}"`;
  const spatial = xShape.length - 2;
  if (spatial !== 1 && spatial !== 2)
    throw new GraphError(
      `${where}: input ${shapeText(xShape)} has ${spatial} spatial axes; 1-D and 2-D inputs (N×C×L, N×C×H×W) are supported`,
    );
  const k = kernel ?? ints(node, "kernel_shape");
  if (!k || k.length !== spatial)
    throw new GraphError(`${where}: kernel_shape does not match the input ${shapeText(xShape)}`);
  const s = ints(node, "strides") ?? new Array(spatial).fill(1);
  const d = ints(node, "dilations") ?? new Array(spatial).fill(1);
  let p = ints(node, "pads") ?? new Array(2 * spatial).fill(0);
  const [N, C] = xShape as [number, number];
  const lens = xShape.slice(2);
  const ceil = node.attrs.ceil_mode === 1;
  const autoPad = (node.attrs.auto_pad as string | undefined) ?? "NOTSET";
  if (autoPad === "VALID") p = new Array(2 * spatial).fill(0);
  else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const before: number[] = [];
    const after: number[] = [];
    lens.forEach((len, i) => {
      const out = Math.ceil(len / s[i]!);
      const total = Math.max(0, (out - 1) * s[i]! + (k[i]! - 1) * d[i]! + 1 - len);
      const small = Math.floor(total / 2);
      before.push(autoPad === "SAME_UPPER" ? small : total - small);
      after.push(autoPad === "SAME_UPPER" ? total - small : small);
    });
    p = [...before, ...after];
  } else if (autoPad !== "NOTSET") throw new GraphError(`${where}: auto_pad ${autoPad} is not an ONNX value`);
  const out = (len: number, i: number): number => {
    const span = len + p[i]! + p[i + spatial]! - d[i]! * (k[i]! - 1) - 1;
    let o = (ceil ? Math.ceil(span / s[i]!) : Math.floor(span / s[i]!)) + 1;
    // PyTorch's rule for ceil_mode: the last window must start inside the input or its left padding.
    if (ceil && (o - 1) * s[i]! >= len + p[i]!) o--;
    if (o < 1)
      throw new GraphError(`${where}: the window is larger than the padded input ${shapeText(xShape)}`);
    return o;
  };
  // A 1-D input is a 2-D one of height 1: a leading axis of length 1, kernel 1, no padding.
  const lift = (v: readonly number[], one: number): number[] => (spatial === 1 ? [one, ...v] : [...v]);
  const [H, W] = lift(lens, 1) as [number, number];
  const [kh, kw] = lift(k, 1) as [number, number];
  const [sh, sw] = lift(s, 1) as [number, number];
  const [dh, dw] = lift(d, 1) as [number, number];
  const [pt, pl] = lift(p.slice(0, spatial), 0) as [number, number];
  const [pb, pr] = lift(p.slice(spatial), 0) as [number, number];
  return {
    N,
    C,
    H,
    W,
    kh,
    kw,
    sh,
    sw,
    dh,
    dw,
    pt,
    pl,
    pb,
    pr,
    oh: spatial === 1 ? 1 : out(lens[0]!, 0),
    ow: out(lens[spatial - 1]!, spatial - 1),
    spatial,
  };
}

/** The output shape N × channels × (oh ×) ow. */
export const outputShape = (w: Window, channels: number): number[] =>
  w.spatial === 1 ? [w.N, channels, w.ow] : [w.N, channels, w.oh, w.ow];

/**
 * For every (kernel tap, output position) of one channel: the input position inside that channel's
 * H×W image, or −1 in the padding. Rows are taps (ki, kj), columns output positions (oi, oj).
 */
export function tapMap(w: Window): Int32Array {
  const P = w.oh * w.ow;
  const map = new Int32Array(w.kh * w.kw * P);
  for (let ki = 0; ki < w.kh; ki++)
    for (let kj = 0; kj < w.kw; kj++) {
      const row = (ki * w.kw + kj) * P;
      for (let oi = 0; oi < w.oh; oi++) {
        const ih = oi * w.sh - w.pt + ki * w.dh;
        for (let oj = 0; oj < w.ow; oj++) {
          const iw = oj * w.sw - w.pl + kj * w.dw;
          map[row + oi * w.ow + oj] = ih >= 0 && ih < w.H && iw >= 0 && iw < w.W ? ih * w.W + iw : -1;
        }
      }
    }
  return map;
}
