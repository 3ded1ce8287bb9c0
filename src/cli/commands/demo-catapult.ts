import { defaultWorkers, SweepPool } from "../../analysis/thresholds/sweep-pool.js";
import { trainingCriteria, trainingLrSearch } from "../../analysis/thresholds/training-search.js";
import { type TrainRecord, type TrainResult, trainToEnd } from "../../analysis/training/train.js";
import { fmt, plural } from "../../core/format.js";
import { createRng } from "../../core/rng.js";
import { initialParameters, type MlpData, type MlpSpec, mlpObjective } from "../../nn/mlp/mlp.js";
import { oneHot, synthetic } from "../../objectives/synthetic.js";
import { recordedLossChart, recordedSharpnessChart, stacked } from "../../report/charts.js";
import { boundText } from "../../run/divergence.js";
import type { ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import type { Io } from "../io.js";
import { outputDir, writeOutputs } from "../output-dir.js";
import { figureFiles, figureNames } from "../plot.js";

/** The three regimes of full-batch GD on one small network, at these multiples of 2/λ0, and past η_max. */
export const CATAPULT_MULTIPLES = [0.5, 1.5, 3] as const;
const SPEC: MlpSpec = { sizes: [2, 64, 2], activation: "relu", loss: "mse" };

interface DemoRun {
  readonly label: string;
  readonly lr: number;
  readonly records: TrainRecord[];
  readonly status: TrainResult["status"];
  readonly atStep: number | null;
}

export async function demoCatapult(flags: ParsedFlags, io: Io): Promise<number> {
  const steps = (flags["steps"] as number | undefined) ?? 1000;
  if (!Number.isInteger(steps) || steps < 50 || steps > 100_000)
    throw new CliError(`invalid --steps: ${steps} (a whole number from 50 to 100000)`);
  const outDir = outputDir(
    io,
    flags["out"] as string | undefined,
    "overshoot-demo-catapult",
    figureNames("catapult"),
  );
  // 200 spiral points, one-hot targets with the squared error (the catapult's setting in
  // Lewkowycz et al. 2020), nn.Linear's default initial weights; float64.
  const set = synthetic("spiral", 200, 0.05, createRng(1));
  const y = oneHot(set.labels, 2);
  const data: MlpData = { x: set.x, y, rows: set.rows };
  const description = "mlp 2-64-2 relu on spiral (200 points)";
  const objective = mlpObjective(SPEC, data, description);
  const theta0 = initialParameters(SPEC.sizes, "pytorch", createRng(1001));
  const o = (t: string) => io.out(`${t}\n`);
  o(
    "The catapult: full-batch gradient descent on a 2-64-2 ReLU network (mean squared error on one-hot labels, 200 spiral points, float64).",
  );

  // Where the regimes are, measured on real runs from these weights (critical-lr's search).
  const workers = Math.min(2, defaultWorkers());
  const pool = workers > 1 ? new SweepPool(workers) : null;
  const criteria = trainingCriteria(steps);
  let search: Awaited<ReturnType<typeof trainingLrSearch>>;
  try {
    search = await trainingLrSearch(
      objective,
      theta0,
      { name: "sgd" },
      {
        horizon: steps,
        relativeTolerance: 1e-2,
        parallel: workers,
        ...(pool
          ? {
              evaluate: pool.evaluator({
                source: { kind: "mlp", spec: SPEC, data, description },
                x0: Array.from(theta0),
                optimizer: { name: "sgd" },
                criteria,
              }),
            }
          : {}),
      },
    );
  } finally {
    await pool?.close();
  }
  const lambda0 = search.atStart!.lambdaMax;
  const crit = 2 / lambda0;
  const etaMax = search.etaMax && search.etaMax.below > 0 ? search.etaMax.estimate : null;
  o(
    `At the initial weights λ0 = λmax(H) = ${fmt(lambda0)} (λmin = ${fmt(search.atStart!.lambdaMin)}: negative curvature, normal at a network's start), so the classical limit is 2/λ0 = ${fmt(crit)}.`,
  );
  const trains = search.trains?.estimate ?? null;
  o(
    `Measured on ${plural(search.runs.length, "run")} of ${plural(steps, "step")} (overshoot critical-lr's search):`,
  );
  const regimes: [string, string][] = [[`below 2/λ0 = ${fmt(crit)}`, "the loss falls"]];
  if (search.catapult && trains !== null)
    regimes.push([
      `${fmt(crit)} … ${fmt(trains)}`,
      `it rises above its start first, then trains: the catapult window (highest peak ${fmt(search.catapult.peak.loss)}, ×${fmt(search.catapult.peak.loss / search.startLoss)} the start, at lr ${fmt(search.catapult.peak.lr)})`,
    ]);
  if (etaMax !== null && trains !== null && trains < etaMax * 0.99)
    regimes.push([`${fmt(trains)} … ${fmt(etaMax)}`, "it ends above its start without diverging"]);
  regimes.push(
    etaMax !== null
      ? [
          `from η_max = ${fmt(etaMax)}`,
          `it diverges: past the blow-up bound ${boundText(search.bound)} (η_max = ${fmt(etaMax / crit)} × 2/λ0)`,
        ]
      : ["every rate tried", "no run diverged"],
  );
  const width = Math.max(...regimes.map(([a]) => a.length));
  for (const [a, b] of regimes) o(`  ${a.padEnd(width)}  ${b}`);

  const rates = CATAPULT_MULTIPLES.map((m) => ({ label: `${m} × 2/λ0`, lr: m * crit }));
  if (etaMax !== null)
    rates.push({ label: `${fmt(1.25 * (etaMax / crit), 3)} × 2/λ0, past η_max`, lr: 1.25 * etaMax });
  const every = Math.max(1, Math.floor(steps / 50));
  const runs: DemoRun[] = rates.map(({ label, lr }) => {
    const { records, result } = trainToEnd({
      objective,
      train: data,
      validation: null,
      theta0,
      optimizer: { name: "sgd", lr },
      steps,
      batchSize: null,
      seed: 0,
      logEvery: 1,
      sharpnessEvery: every,
      // Every one of the first 12 steps (the catapult is over in a few), then every `every`.
      sharpnessAt: (k) => k <= 12 || k % every === 0,
      sharpnessK: 1,
    });
    return { label, lr, records, status: result.status, atStep: result.atStep };
  });

  const f0 = runs[0]!.records[0]!.loss;
  for (const r of runs) {
    const limit = 2 / r.lr;
    const sharp = r.records.filter((x) => x.sharpness !== undefined);
    let peak = r.records[0]!;
    for (const x of r.records) if (x.loss > peak.loss) peak = x;
    const end = r.records[r.records.length - 1]!;
    o("");
    o(
      `── η = ${fmt(r.lr)} = ${r.label}   (2/η = ${fmt(limit)}; λ0 = ${fmt(lambda0)} is ${fmt(lambda0 / limit)} × 2/η)`,
    );
    if (r.status === "nonfinite" || r.status === "diverged") {
      const low = Math.min(...sharp.map((x) => x.sharpness!));
      const curvature =
        low > limit
          ? `λmax drops too, but only to ${fmt(low)}, ${fmt(low / limit)} × 2/η = ${fmt(limit)}: it never gets under the limit, so every step keeps overshooting`
          : `λmax drops to ${fmt(low)}, under 2/η = ${fmt(limit)}, but too late: the weights had already run away`;
      const at =
        r.status === "nonfinite"
          ? `it is ${fmt(r.records[r.records.length - 2]?.loss ?? Number.NaN)} at step ${(r.atStep ?? 1) - 1} and non-finite at step ${r.atStep}`
          : `it is ${fmt(end.loss)} at step ${r.atStep}, past the blow-up bound ${boundText(search.bound)}`;
      o(`  The loss climbs from ${fmt(f0)} and never comes back: ${at}. ${curvature}. Diverged.`);
      continue;
    }
    const lamEnd = sharp[sharp.length - 1]?.sharpness;
    if (peak.loss > f0) {
      const low = Math.min(...sharp.map((x) => x.sharpness!));
      const settle =
        lamEnd === undefined
          ? ""
          : lamEnd < 0.95 * limit
            ? `; at the end λmax = ${fmt(lamEnd)}, ${fmt(lamEnd / limit)} × 2/η`
            : `; it then climbs back to 2/η and hovers there (${fmt(lamEnd)} at the end, ${fmt(lamEnd / limit)} × 2/η: the edge of stability)`;
      const high = Math.max(...sharp.filter((x) => x.step <= peak.step + 1).map((x) => x.sharpness!));
      const rise = high > lambda0 * 1.01 ? ` first rises with it, to ${fmt(high)}, then` : "";
      // Each clause is what this run did: "under 2/η" only if λmax got there, "the catapult" only
      // if the loss ends below where it started.
      const drop =
        low < limit
          ? `drops to ${fmt(low)}, under 2/η = ${fmt(limit)}${settle}`
          : `drops only to ${fmt(low)}, still above 2/η = ${fmt(limit)}`;
      const outcome =
        end.loss < f0
          ? `Training settles: ${fmt(end.loss)} after ${plural(steps, "step")}. The catapult.`
          : `It ends at ${fmt(end.loss)} after ${plural(steps, "step")}, above its start: it did not train.`;
      o(
        `  The loss first rises, ${fmt(f0)} → ${fmt(peak.loss)} (×${fmt(peak.loss / f0)}) at step ${peak.step}; λmax (${fmt(lambda0)} at the start)${rise} ${drop}. ${outcome}`,
      );
    } else {
      o(
        `  The loss ${end.loss < f0 ? "falls" : "never rises above its start, but ends no lower"}, ${fmt(f0)} → ${fmt(end.loss)}; λmax goes ${fmt(lambda0)} → ${lamEnd !== undefined ? fmt(lamEnd) : "—"}${lamEnd !== undefined && lamEnd >= 0.9 * limit ? `, up to 2/η = ${fmt(limit)} (the edge of stability)` : `, under 2/η = ${fmt(limit)}`}.`,
      );
    }
  }
  o("");
  o(
    "Why: past 2/λ0 the first steps overshoot along the top eigenvector and the loss grows; in a network that growth also drives the weights to where the curvature is lower, and once λmax is back under 2/η the overshoot stops and training goes on in the flatter region (Lewkowycz et al., 2020). Beyond η_max the curvature cannot drop fast enough and the loss runs away.",
  );

  const recorded = runs.map((r) => ({ ...r, label: `η = ${fmt(r.lr, 3)}: ${r.label}` }));
  const sharpSpec = recordedSharpnessChart(
    recorded,
    "Sharpness λmax along each run against its 2/η (dashed)",
  );
  // A run stopped where it passed the bound is marked diverged there; far above the highest
  // catapult peak the overflowing run leaves the chart, marked there.
  const lossSpec = recordedLossChart(
    recorded,
    search.bound.value,
    "Training loss: below 2/λ0 it falls; past it it rises first (the catapult); past η_max it diverges",
  );
  writeOutputs(io, outDir, await figureFiles("catapult", stacked([lossSpec, sharpSpec])));
  return 0;
}
