// The detector and the guard on the labelled zoo of network runs (issue 12), for `npm run bench`.
//
// 1. The detector replayed over every stored run of the labelled sets (test/zoo/labelled.ts): the
//    zoo it was chosen on, and runs made by PyTorch it was judged on; per label how often it
//    warned, and for runs that diverged how many steps before they passed the blow-up bound.
// 2. The guard, live: every run of every net with at most 20,000 parameters trained again with
//    `train`'s guard on — rollbacks on runs that would have trained, and whether each run that
//    overflowed without it ended finite and below its start with it.
import { readFileSync } from "node:fs";
import { endsBelowStart, judgeSet, labelledSet, type SetName } from "../test/zoo/labelled.js";
import { buildNet, guardedZooRun, ZOO_HOLDOUT, ZOO_NETS } from "../test/zoo/nets.js";

interface ZooRun {
  multiple: number;
  lr: number;
  label: string;
  nonfiniteStep: number | null;
  loss: (number | string)[];
  curvature: (number | string)[];
}
interface Zoo {
  horizon: number;
  nets: { id: string; parameters: number; runs: ZooRun[] }[];
}
const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../test/zoo/__golden__/${name}`, import.meta.url), "utf8")) as Zoo;
const LABELS = ["no-rise", "edge-of-stability", "catapult", "failed", "diverged"];

const STATES = ["stable", "edge-of-stability", "catapult", "diverging"];
const LABELS_ALL = ["no-rise", "edge-of-stability", "catapult", "stalled", "failed", "diverged"];
const spread = (xs: readonly number[]) => {
  if (xs.length === 0) return "—";
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[s.length >> 1]}, min ${s[0]}, max ${s[s.length - 1]}`;
};

/**
 * The confusion table of the detector on a labelled set (test/zoo/labelled.ts: diverged = past
 * 10⁶ × max(start, baseline) or non-finite), per kind of run: for each label, how many runs the
 * detector warned about, and for diverged runs how many strictly before the step they diverged,
 * with the lead times to that step and (where the run went on to overflow) to the first non-finite
 * value.
 */
function detectorTable(name: string, set: SetName): void {
  const judged = judgeSet(labelledSet(set));
  console.log(
    `\n${name}: ${judged.length} runs — warned (final state) per label; diverged = past the blow-up bound or non-finite`,
  );
  console.log(
    `  ${"kind".padEnd(14)} ${"label".padEnd(18)} ${"runs".padStart(5)} ${"warned".padStart(7)} ${"in time".padStart(8)}   ${STATES.map((s) => s.padStart(19)).join("")}`,
  );
  for (const kind of [...new Set(judged.map((j) => j.run.kind))])
    for (const label of LABELS_ALL) {
      const rows = judged.filter((j) => j.run.kind === kind && j.run.label === label);
      if (rows.length === 0) continue;
      const warned = rows.filter((j) => j.replay.detection.firstWarningStep !== null).length;
      const inTime = rows.filter((j) => j.lead !== null).length;
      const states = STATES.map((st) =>
        String(rows.filter((j) => j.replay.detection.state === st).length).padStart(19),
      );
      console.log(
        `  ${kind.padEnd(14)} ${label.padEnd(18)} ${String(rows.length).padStart(5)} ${String(warned).padStart(7)} ${(label === "diverged" ? String(inTime) : "").padStart(8)}   ${states.join("")}`,
      );
    }
  const falseAlarms = judged.filter(
    (j) => endsBelowStart(j.run) && j.replay.detection.firstWarningStep !== null,
  );
  const diverged = judged.filter((j) => j.run.divergedStep !== null);
  const leads = diverged.flatMap((j) => (j.lead !== null ? [j.lead] : []));
  const toNonfinite = diverged.flatMap((j) =>
    j.run.nonfiniteStep !== null &&
    j.replay.detection.firstWarningStep !== null &&
    j.replay.detection.firstWarningStep < j.run.nonfiniteStep
      ? [j.run.nonfiniteStep - j.replay.detection.firstWarningStep]
      : [],
  );
  console.log(
    `  warnings on runs that ended below their start: ${falseAlarms.length} of ${judged.filter((j) => endsBelowStart(j.run)).length}${falseAlarms.length ? ` (${falseAlarms.map((j) => `${j.run.id}, ${j.run.label}, peak ×${j.run.peakRatio.toPrecision(3)}`).join("; ")})` : ""}`,
  );
  console.log(
    `  diverged runs warned strictly before they diverged: ${leads.length} of ${diverged.length}; lead in steps ${spread(leads)}${toNonfinite.length ? `; to the first non-finite value ${spread(toNonfinite)}` : ""}`,
  );
}

function guardTable(name: string, zoo: Zoo, nets: typeof ZOO_NETS): void {
  const rows = new Map<string, { runs: number; rolledBack: number; rescued: number }>();
  let skipped = 0;
  const t0 = performance.now();
  for (const net of zoo.nets) {
    if (net.parameters > 20_000) {
      skipped += net.runs.length;
      continue;
    }
    const built = buildNet(nets.find((n) => n.id === net.id)!);
    for (const run of net.runs) {
      const { result, finalLoss: last } = guardedZooRun(built, run.lr, zoo.horizon);
      const row = rows.get(run.label) ?? { runs: 0, rolledBack: 0, rescued: 0 };
      row.runs++;
      if (result.interventions.length > 0) row.rolledBack++;
      if (Number.isFinite(last) && last < Number(run.loss[0])) row.rescued++;
      rows.set(run.label, row);
    }
  }
  console.log(
    `\n${name}: the guard live (train --guard, full batch, ${zoo.horizon} steps; ${skipped} runs of nets over 20,000 parameters left out; ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
  console.log(
    `  ${"label".padEnd(18)} ${"runs".padStart(5)} ${"rolled back".padStart(12)} ${"ended below start".padStart(18)}`,
  );
  for (const label of LABELS) {
    const r = rows.get(label);
    if (r)
      console.log(
        `  ${label.padEnd(18)} ${String(r.runs).padStart(5)} ${String(r.rolledBack).padStart(12)} ${String(r.rescued).padStart(18)}`,
      );
  }
}

const zoo = read("zoo.json");
const holdout = read("zoo-holdout.json");
console.log("\nThe network zoo (test/zoo): detector and guard");
detectorTable("zoo (our engine, full-batch GD; the rule was chosen on it)", "zoo");
detectorTable("zoo-holdout (the same generator, other nets; seen while choosing)", "holdout");
detectorTable(
  "PyTorch set A (scripts/fixtures/torch_holdout.py: other data, inits, losses, momentum, Adam, minibatches; used once to judge, then to revise the rule)",
  "torch",
);
detectorTable(
  "PyTorch set B (torch_holdout.py --set b: disjoint seeds, other data shapes, β 0.8/0.95, Nesterov, batches of 16 and 64; made after the first revision, judged on once, then used with the three above for the second)",
  "torch-b",
);
detectorTable(
  "PyTorch set C (torch_holdout_c.py, another generator: CNNs, residual+LayerNorm, BatchNorm, attention, deep narrow nets; β 0.5–0.99, Adam β₂ 0.98, batches 8–100; made blind to the detector, judged on once)",
  "torch-c",
);
detectorTable(
  "PyTorch set D (torch_holdout_d.py, a fourth generator: RNNs, GRUs, 1-D convolutions, wide and deep MLPs, residual MLPs without normalisation, autoencoders, deep linear nets; xavier/kaiming/orthogonal and scaled inits; β 0.7–0.95, Nesterov 0.8, Adam (0.8, 0.99), batches 10–50; made blind to the detector, judged on once: 3 false warnings, all Adam catapults that peaked at ×10⁵–×10⁶ their start)",
  "torch-d",
);
detectorTable(
  "PyTorch set E (torch_holdout_e.py, a fifth generator: LSTMs, ResNets with BatchNorm2d, pre-LN and post-LN transformer blocks, an MLP-Mixer block, GLU/SwiGLU MLPs, embeddings, a 640-wide MLP, a 4-wide deep net; β 0.6–0.98, Nesterov 0.9/0.95, Adam (0.95, 0.999) and (0.5, 0.9), batches 8–64; made blind to the detector after its last change, judged on once: 2 false warnings, gd runs that peaked ×1.3e4 (a catapult) and ×7.7e4 (stalled at the baseline after))",
  "torch-e",
);
detectorTable(
  "PyTorch set F (torch_holdout_f.py, a sixth, independent generator: depthwise-separable CNNs with GroupNorm, a DenseNet-style block, highway, maxout, RBF, bilinear and multiplicative nets, polynomial activations, weight norm, a small U-Net, DeepSets, attention pooling; β 0.5–0.97, Nesterov 0.9, Adam (0.8, 0.95), batches 12–100; made blind to the detector, judged on once with the rule unchanged since set E: no false warning)",
  "torch-f",
);
guardTable("zoo", zoo, ZOO_NETS);
guardTable("held-out nets", holdout, ZOO_HOLDOUT);
