import type { HessianOperator } from "./hvp.js";
import { type EigenEstimate, hutchinsonTrace, lanczos } from "./lanczos.js";

/**
 * Curvature of the Hessian's diagonal blocks, one block a layer (its W and b): the block
 * H_kk = ∂²C/∂θ_k² is the curvature the loss has when only layer k moves, so 2/λmax(H_kk) is the
 * largest plain-GD step that layer alone could take, and λmax(H) ≥ max_k λmax(H_kk) (Cauchy
 * interlacing: a principal submatrix's spectrum lies inside the whole one's). Beside it, the share
 * ‖u_k‖² of the full λmax eigenvector u that lies in layer k: the layers that the limiting
 * direction moves, and so the ones a smaller step on them (or a rescaling) would relieve.
 */
export interface ParameterBlock {
  readonly name: string;
  /** Parameters start ≤ i < end. */
  readonly start: number;
  readonly end: number;
}

export interface BlockCurvature {
  readonly block: ParameterBlock;
  readonly size: number;
  readonly top: EigenEstimate;
  readonly bottom: EigenEstimate;
  /** tr H_kk: exact (from the unit vectors) when the block is no larger than the probes asked for. */
  readonly trace: Trace;
  /** ‖u_k‖² for the full Hessian's top unit eigenvector u (the shares sum to 1 over a partition). */
  readonly share: number | null;
  readonly hvps: number;
  readonly converged: boolean;
}

/** A network's blocks from its layout: layer l's W (out × in) then b. */
export function layerBlocks(
  layout: readonly { readonly w: number; readonly b: number; readonly out: number }[],
): ParameterBlock[] {
  return layout.map((l, i) => ({ name: `layer ${i + 1}`, start: l.w, end: l.b + l.out }));
}

/** v ↦ (H·[0 … v … 0])_block: the diagonal block as an operator of its own, counting the parent's HVPs. */
export function blockOperator(op: HessianOperator, block: ParameterBlock): HessianOperator {
  const full = new Float64Array(op.dim);
  const out = new Float64Array(op.dim);
  const size = block.end - block.start;
  let count = 0;
  return {
    dim: size,
    exact: op.exact,
    get count() {
      return count;
    },
    apply(v, result) {
      count++;
      full.fill(0);
      full.set(v, block.start);
      op.apply(full, out);
      result.set(out.subarray(block.start, block.end));
    },
  };
}

export interface Trace {
  readonly estimate: number;
  /** 0 when exact. */
  readonly standardError: number;
  readonly exact: boolean;
  readonly hvps: number;
}

/**
 * tr H: exactly, as Σ e_iᵀHe_i over the n unit vectors, when n ≤ probes (no more HVPs than the
 * estimate would take); else Hutchinson's estimate over `probes` Rademacher vectors.
 */
export function traceOf(op: HessianOperator, probes: number, seed: number): Trace {
  const n = op.dim;
  if (n <= probes) {
    const e = new Float64Array(n);
    const he = new Float64Array(n);
    let s = 0;
    for (let i = 0; i < n; i++) {
      e.fill(0);
      e[i] = 1;
      op.apply(e, he);
      s += he[i]!;
    }
    return { estimate: s, standardError: 0, exact: true, hvps: n };
  }
  const t = hutchinsonTrace(op, { samples: probes, seed });
  return { estimate: t.estimate, standardError: t.standardError, exact: false, hvps: t.hvps };
}

/**
 * The most HVPs blockCurvature can take with its defaults: per block a Lanczos run (at most 100
 * steps, or the block's size) and a trace (30 probes, or exactly from the block's unit vectors).
 */
export function blockHvpBound(blocks: readonly ParameterBlock[]): number {
  return blocks.reduce((t, b) => t + Math.min(b.end - b.start, 100) + Math.min(b.end - b.start, 30), 0);
}

/**
 * HVPs the per-layer blocks may take by default (stability, spectrum): what a default spectrum
 * takes on a network of up to 2,000 parameters (the extremes' 300 and 16 probes × 50 steps, less
 * the first probe's), or the command's own work where that is more. On a network of many modules —
 * 29 on a 2-layer transformer, each block a pass of HVPs over the data — the blocks would otherwise
 * cost many times the answer asked for: they are then measured only with --layers.
 */
export const BLOCKS_BY_DEFAULT = 300 + 15 * 50;

export function blocksByDefault(blocks: readonly ParameterBlock[], rest: number): boolean {
  return blockHvpBound(blocks) <= Math.max(BLOCKS_BY_DEFAULT, rest);
}

/** Per-layer blocks left out by default: what they would cost, and λmax's share in each, which costs nothing. */
export interface LayersLeftOut {
  readonly blocks: number;
  /** The most HVPs the blocks could take (blockHvpBound). */
  readonly bound: number;
  /** The HVPs they may take by default (blocksByDefault). */
  readonly budget: number;
  readonly shares: readonly { readonly name: string; readonly share: number }[];
}

export function layersLeftOut(
  blocks: readonly ParameterBlock[],
  topVector: ArrayLike<number>,
  rest: number,
): LayersLeftOut {
  return {
    blocks: blocks.length,
    bound: blockHvpBound(blocks),
    budget: Math.max(BLOCKS_BY_DEFAULT, rest),
    shares: blocks.map((b) => {
      let share = 0;
      for (let i = b.start; i < b.end; i++) share += topVector[i]! ** 2;
      return { name: b.name, share };
    }),
  };
}

export interface BlockOptions {
  readonly tolerance?: number;
  readonly maxIterations?: number;
  /** Hutchinson probes for a block's trace (default 30); a block of at most this size is traced exactly. */
  readonly traceProbes?: number;
  readonly seed?: number;
}

export function blockCurvature(
  op: HessianOperator,
  blocks: readonly ParameterBlock[],
  topVector: Float64Array | null,
  options: BlockOptions = {},
): BlockCurvature[] {
  const probes = options.traceProbes ?? 30;
  return blocks.map((block) => {
    const sub = blockOperator(op, block);
    const size = sub.dim;
    const spectrum = lanczos(sub, {
      k: 1,
      // 1e-8 and 100 HVPs: a block's λmax sets a rate to far more digits than it needs, and on a
      // network of 1e5 parameters every HVP is a pass over the data (the residual says how close).
      // Its λmin sets nothing and, a block being mostly Gauss–Newton (positive semidefinite), sits
      // in a cluster near 0 that Lanczos resolves slowly: 1e-4 of the spread (its residual is
      // reported beside it) halves the HVPs.
      tolerance: options.tolerance ?? 1e-8,
      bottomTolerance: options.tolerance ?? 1e-4,
      maxIterations: Math.min(size, options.maxIterations ?? 100),
      seed: options.seed ?? 0,
    });
    const trace = traceOf(sub, probes, (options.seed ?? 0) + 1);
    let share: number | null = null;
    if (topVector) {
      share = 0;
      for (let i = block.start; i < block.end; i++) share += topVector[i]! ** 2;
    }
    return {
      block,
      size,
      top: spectrum.top[0]!,
      bottom: spectrum.bottom!,
      trace,
      share,
      hvps: sub.count,
      converged: spectrum.converged,
    };
  });
}
