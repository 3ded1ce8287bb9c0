// The guard's actions against the faults minibatch training meets, each on the same runs: a
// gradient spike (one step's gradient ×10⁴, as a numeric fault gives it), bad batches (three
// batches whose targets are ×100, as a shard in other units gives them), mislabelled batches
// (three batches with their 0/1 targets flipped), and a rate too high for the net (4 × 2/λmax at the start,
// constant). For each action and for none: the runs saved (finished, the loss on all rows finite
// and below its start), the final loss on all rows against the clean run's (median, over the
// saved runs), and the steps lost (skipped, or rolled back over). Not a timing: the numbers are
// the runs' own, the same on any machine.
//
// Run: npx tsx bench/guard.ts
import { hessianOperator } from "../src/analysis/curvature/hvp.js";
import { lanczos } from "../src/analysis/curvature/lanczos.js";
import {
  GUARD_ACTIONS,
  type GuardAction,
  type TrainRecord,
  trainToEnd,
} from "../src/analysis/training/train.js";
import { createRng } from "../src/core/rng.js";
import { initialParameters, type MlpData, type MlpObjective, mlpObjective } from "../src/nn/mlp/mlp.js";
import { synthetic } from "../src/objectives/synthetic.js";

type Fault = "none" | "spike" | "bad batches" | "mislabelled" | "rate too high";
const FAULTS: Fault[] = ["spike", "bad batches", "mislabelled", "rate too high"];
const SEEDS = [1, 2, 3, 4, 5, 6];
const STEPS = 600;

/** The objective with a fault at the given minibatch calls. */
function faulty(f: MlpObjective, fault: Fault): MlpObjective {
  if (fault === "none" || fault === "rate too high") return f;
  let calls = 0;
  const at = fault === "spike" ? [301] : [201, 301, 401];
  return {
    ...f,
    gradientOn(theta: Float64Array, out: Float64Array, data: MlpData) {
      calls++;
      if (!at.includes(calls)) return f.gradientOn(theta, out, data);
      if (fault === "spike") {
        const loss = f.gradientOn(theta, out, data);
        for (let i = 0; i < out.length; i++) out[i]! *= 1e4;
        return loss * 1e4;
      }
      const bad: MlpData =
        fault === "bad batches"
          ? { ...data, y: data.y.map((v) => 100 * v) }
          : { ...data, y: data.y.map((v) => 1 - v) };
      return f.gradientOn(theta, out, bad);
    },
  } as MlpObjective;
}

interface Outcome {
  saved: boolean;
  finalLoss: number;
  lost: number;
}

function runOnce(seed: number, fault: Fault, action: GuardAction | null): Outcome {
  const set = synthetic("spiral", 256, 0, createRng(seed));
  const data = { x: set.x, y: Float64Array.from(set.labels), rows: set.rows };
  const spec = { sizes: [2, 16, 16, 1], activation: "tanh", loss: "mse" } as const;
  const net = mlpObjective(spec, data, "spiral");
  const theta0 = initialParameters(spec.sizes, "pytorch", createRng(seed + 100));
  const lambda = lanczos(hessianOperator(net, theta0), {
    k: 1,
    bottom: false,
    tolerance: 1e-8,
    maxIterations: 60,
  }).top[0]!.value;
  const lr = fault === "rate too high" ? 4 * (2 / lambda) : 0.5 * (2 / lambda);
  const { records, result } = trainToEnd({
    objective: faulty(net, fault),
    train: data,
    validation: null,
    theta0,
    optimizer: { name: "sgd", lr },
    steps: STEPS,
    batchSize: 16,
    seed,
    logEvery: 1,
    sharpnessEvery: null,
    ...(action ? { guard: { action } } : {}),
  });
  const withRows = records.filter((r: TrainRecord) => r.trainLoss !== undefined);
  const start = withRows[0]!.trainLoss!;
  const end = withRows.at(-1)!;
  const skipped = records.filter((r) => r.skipped !== undefined).length;
  const rolled = result.interventions.reduce((a, i) => a + (i.atStep - i.rolledBackTo), 0);
  const saved =
    result.status === "finished" &&
    end.step === STEPS &&
    Number.isFinite(end.trainLoss!) &&
    end.trainLoss! < start;
  return { saved, finalLoss: saved ? end.trainLoss! : Number.NaN, lost: skipped + rolled };
}

const median = (a: number[]) => {
  const s = a.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const clean = SEEDS.map((s) => runOnce(s, "none", null).finalLoss);
console.log(
  `guard actions on minibatch runs (a 2-16-16-1 tanh net on 256 spiral points, batches of 16, ${STEPS} steps, SGD at 0.5 × 2/λ0; ${SEEDS.length} seeds; clean runs end at median ${median(clean).toPrecision(4)})`,
);
console.log("| fault | action | runs saved | final loss ÷ clean (median) | steps lost (median) |");
console.log("|---|---|---|---|---|");
for (const fault of FAULTS) {
  for (const action of [null, ...GUARD_ACTIONS]) {
    const outs = SEEDS.map((s) => runOnce(s, fault, action));
    const ratio = median(outs.map((o, i) => o.finalLoss / clean[i]!));
    console.log(
      `| ${fault} | ${action ?? "none"} | ${outs.filter((o) => o.saved).length} of ${SEEDS.length} | ${Number.isFinite(ratio) ? ratio.toFixed(3) : "–"} | ${median(outs.map((o) => o.lost))} |`,
    );
  }
}
