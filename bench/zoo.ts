// The detector and the guard on the labelled zoo of network runs (issue 12), for `npm run bench`.
//
// 1. The detector replayed over every stored run of the zoo (the 98 runs its thresholds were
//    chosen on) and of the held-out nets (56 runs they were not): how often it warned, per label,
//    and for runs that overflowed, how many steps before the first non-finite value.
// 2. The guard, live: every run of every net with at most 20,000 parameters trained again with
//    `train`'s guard on — rollbacks on runs that would have trained, and whether each run that
//    overflowed without it ended finite and below its start with it.
import { readFileSync } from "node:fs";
import { buildNet, guardedZooRun, replayDetector, ZOO_HOLDOUT, ZOO_NETS } from "../test/zoo/nets.js";

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

function detectorTable(name: string, zoo: Zoo): void {
  const counts = new Map<string, Map<string, number>>();
  const leads: number[] = [];
  let late = 0;
  for (const net of zoo.nets)
    for (const run of net.runs) {
      const detection = replayDetector(run);
      const row = counts.get(run.label) ?? new Map<string, number>();
      row.set(detection.state, (row.get(detection.state) ?? 0) + 1);
      counts.set(run.label, row);
      if (run.nonfiniteStep !== null) {
        const w = detection.firstWarningStep;
        if (w === null || w >= run.nonfiniteStep) late++;
        else leads.push(run.nonfiniteStep - w);
      }
    }
  console.log(`\n${name}: the detector's final state per label (rows) — diverging means it warned`);
  console.log(`  ${"label".padEnd(18)} ${"runs".padStart(5)} ${STATES.map((s) => s.padStart(18)).join("")}`);
  for (const label of LABELS) {
    const row = counts.get(label);
    if (!row) continue;
    const total = [...row.values()].reduce((a, b) => a + b, 0);
    console.log(
      `  ${label.padEnd(18)} ${String(total).padStart(5)} ${STATES.map((s) => String(row.get(s) ?? 0).padStart(18)).join("")}`,
    );
  }
  leads.sort((a, b) => a - b);
  const trainedWarned = ["no-rise", "edge-of-stability", "catapult"].reduce(
    (n, l) => n + (counts.get(l)?.get("diverging") ?? 0),
    0,
  );
  console.log(
    `  false alarms on runs that ended below their start: ${trainedWarned}; overflows warned before the first non-finite value: ${leads.length} of ${leads.length + late}; lead time min ${leads[0]} / median ${leads[leads.length >> 1]} / max ${leads[leads.length - 1]} steps`,
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
detectorTable("zoo (the thresholds were chosen on it)", zoo);
detectorTable("held-out nets", holdout);
guardTable("zoo", zoo, ZOO_NETS);
guardTable("held-out nets", holdout, ZOO_HOLDOUT);
