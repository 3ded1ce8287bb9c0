// Per-layer and minibatch curvature for stability and spectrum: their text, and their layers as JSON.
import type { BlockCurvature, LayersLeftOut } from "../analysis/curvature/blocks.js";
import type { MinibatchCurvature } from "../analysis/curvature/minibatch.js";
import { criticalLearningRate } from "../analysis/thresholds/critical.js";
import { fmt, plural } from "../core/format.js";
import type { OptimizerConfig } from "../optim/index.js";

/** A block's critical rate for the optimizer (2/λ for plain GD), or null where none applies. */
export function blockCritical(config: OptimizerConfig, lambdaMax: number): number | null {
  return lambdaMax > 0 ? criticalLearningRate(config, lambdaMax).lr : null;
}

/** Each layer's block as JSON (stability's and spectrum's `layers`). */
export function layersJson(blocks: readonly BlockCurvature[], config: OptimizerConfig) {
  return blocks.map((b) => ({
    name: b.block.name,
    parameters: b.size,
    lambdaMax: { value: b.top.value, residual: b.top.residual },
    lambdaMin: { value: b.bottom.value, residual: b.bottom.residual },
    trace: b.trace,
    criticalLr: blockCritical(config, b.top.value),
    share: b.share,
    hvps: b.hvps,
  }));
}

/** The layer whose block holds most of λmax's eigenvector: the one the limiting direction moves. */
export function limitingLayer(blocks: readonly BlockCurvature[]): BlockCurvature | null {
  let best: BlockCurvature | null = null;
  for (const b of blocks) if (b.share !== null && (best === null || b.share > best.share!)) best = b;
  return best;
}

/** The per-layer table of stability and spectrum, and one sentence on which layer limits the rate. */
export function layerLines(
  blocks: readonly BlockCurvature[],
  config: OptimizerConfig,
  lambdaMax: number,
): string[] {
  const lines = [
    "Per layer (the Hessian's diagonal block over each layer's W and b; ± is the Ritz residual, the trace's ± its standard error):",
    `  ${"layer".padEnd(9)} ${"params".padStart(7)}  ${"λmax".padStart(20)}  ${"λmin".padStart(14)}  ${"trace".padStart(20)}  ${"critical lr".padStart(11)}  share of λmax's eigenvector`,
  ];
  for (const b of blocks) {
    const critical = blockCritical(config, b.top.value);
    const trace = b.trace.exact
      ? `${fmt(b.trace.estimate)} (exact)`
      : `${fmt(b.trace.estimate)} ± ${fmt(b.trace.standardError, 2)}`;
    // A λmin within its residual of 0 is 0 to what was measured: its digits would be noise.
    const bottom =
      Math.abs(b.bottom.value) <= b.bottom.residual
        ? `≈ 0 ± ${fmt(b.bottom.residual, 1)}`
        : fmt(b.bottom.value);
    lines.push(
      `  ${b.block.name.padEnd(9)} ${String(b.size).padStart(7)}  ${`${fmt(b.top.value)} ± ${fmt(b.top.residual, 2)}`.padStart(20)}  ${bottom.padStart(14)}  ${trace.padStart(20)}  ${(critical === null ? "—" : fmt(critical)).padStart(11)}  ${b.share === null ? "—" : `${(100 * b.share).toFixed(1)}%`}`,
    );
  }
  const limiting = limitingLayer(blocks);
  if (limiting && limiting.share !== null) {
    const largestBlock = blocks.reduce((a, b) => (b.top.value > a.top.value ? b : a));
    lines.push(
      `λmax's direction lies ${(100 * limiting.share).toFixed(0)}% in ${limiting.block.name}: that layer limits the learning rate (the whole Hessian's λmax ${fmt(lambdaMax)} ≥ every block's; the largest block, ${largestBlock.block.name}'s, is ${fmt(largestBlock.top.value)}).`,
    );
  }
  return lines;
}

/** The per-layer blocks left out by default: what --layers would cost, and λmax's largest shares, which cost nothing. */
export function layersLeftOutLine(out: LayersLeftOut): string {
  const top = [...out.shares].sort((a, b) => b.share - a.share).slice(0, 3);
  return `Per layer: not measured by default here — the ${plural(out.blocks, "block")} could take up to ${out.bound} more HVPs, past the ${out.budget} they may take unasked; --layers measures them. λmax's eigenvector lies ${top.map((t) => `${(100 * t.share).toFixed(1)}% in ${t.name}`).join(", ")}.`;
}

/** The minibatch sharpness: λmax over sampled batches beside the full data's. */
export function minibatchLines(
  m: MinibatchCurvature,
  full: number,
  config: OptimizerConfig,
  lr?: number,
): string[] {
  const q = m.quantiles;
  const crit = (v: number) => {
    const c = blockCritical(config, v);
    return c === null ? "—" : fmt(c);
  };
  const lines = [
    `Minibatch curvature (${m.batches} sampled batches of ${plural(m.batchSize, "row")}, seed ${m.seed}, ${m.hvps} HVPs): λmax of a batch's loss`,
    `  mean ${fmt(m.mean)} (sd ${fmt(m.sd)}); min ${fmt(q.min)}, 10% ${fmt(q.q10)}, median ${fmt(q.median)}, 90% ${fmt(q.q90)}, max ${fmt(q.max)}; the full data's ${fmt(full)}`,
    `  critical lr at the median batch ${crit(q.median)}, at the 90% batch ${crit(q.q90)}, at the sharpest ${crit(q.max)} (full data ${crit(full)})`,
  ];
  if (lr !== undefined) {
    const over = m.lambdas.filter((l) => {
      const c = blockCritical(config, l);
      return c !== null && lr > c;
    }).length;
    lines.push(
      `  at lr ${fmt(lr)}: ${over} of ${plural(m.batches, "batch", "batches")} are past their critical rate`,
    );
  }
  return lines;
}
