import {
  type CriticalSearch,
  criticalLrSearchSteps,
  criticalSearchRuns,
} from "../../analysis/thresholds/critical-search.js";
import { defaultWorkers, SweepPool } from "../../analysis/thresholds/sweep-pool.js";
import type { ThresholdResult } from "../../analysis/thresholds/threshold.js";
import {
  type RateOutcome,
  searchRunsLeft,
  TRAINS_WELL_FACTOR,
  type TrainingSearch,
  trainingCriteria,
  trainingLrSearch,
} from "../../analysis/thresholds/training-search.js";
import { fmt, plural, pluralLong } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { runStoppable } from "../../core/stoppable.js";
import type { OptimizerBase } from "../../optim/index.js";
import { describeObjective, describePoint } from "../../report/describe.js";
import { JSON_VERSION, jsonNumber, objectiveJson } from "../../report/json.js";
import { boundJson, boundText } from "../../run/divergence.js";
import { STALLED_FRACTION as STALLED } from "../../run/verdict.js";
import { commandFlags, type FlagSpecs, flagHelp } from "../args.js";
import { CliError } from "../errors.js";
import {
  BLOW_UP_FLAG,
  flagMessage,
  HELP_FLAG,
  OBJECTIVE_FLAGS,
  OPTIMIZER_FLAGS,
  outputFlags,
  START_FLAG,
} from "../flag-tables.js";
import { blowUpFromFlags, objectiveWithSourceFromFlags, optimizerFromFlags, requireStart } from "../flags.js";
import type { Io } from "../io.js";
import { LongWork } from "../progress.js";

const { lr: _lr, ...OPTIMIZER_FLAGS_WITHOUT_LR } = OPTIMIZER_FLAGS;

export const CRITICAL_FLAGS: FlagSpecs = {
  ...OBJECTIVE_FLAGS,
  ...START_FLAG,
  ...OPTIMIZER_FLAGS_WITHOUT_LR,
  steps: {
    type: "number",
    value: "N",
    help: "horizon of each run (default 200000; models on data 2000)",
  },
  tolerance: {
    type: "number",
    value: "T",
    help: "bisect until the bracket is within relative T (default 1e-6; models on data 1e-3)",
  },
  "max-lr": { type: "number", value: "LR", help: "largest rate tried (default 1e6)" },
  workers: {
    type: "number",
    value: "N",
    help: "models on data: worker threads running the rates (default: min(4, cores))",
  },
  ...BLOW_UP_FLAG,
  ...outputFlags({ json: "the result" }),
  ...HELP_FLAG,
};

export const CRITICAL_HELP = `overshoot critical-lr — the largest learning rate that converges and the smallest that diverges, measured on real runs

Brackets and bisects the learning rate, running the optimizer from --x0 each time, and shows the
measured thresholds beside the local predictions from the curvature at the start and at the
minimizer the runs reach, with a sentence on why they differ.

For a model on data (--data … --model mlp|linear|logistic) the runs are judged as training is:
it reports η_max (the smallest rate whose run diverges within --steps: a non-finite value, or the
loss past the blow-up bound 1e6 × max(start loss, trivial baseline), --blow-up to change it), the
largest rate that trains (ends below its start loss and clear of the trivial baseline — the loss
of the best constant prediction), the largest rate that trains well (final loss within ×2 of the
best run's: the one to pick), the convergence threshold when runs reach the optimum (a convex
model), the catapult window between the curvature's limit 2/λ0 and η_max (rates whose loss first
rose above its start and still trained) with the highest peak, and 2/λ0 itself — every run in
worker threads, each stopped as soon as it diverges.

Usage: overshoot critical-lr --f EXPR --x0 X [optimizer flags] [--steps N] [--json]
       overshoot critical-lr --data spiral --model mlp [network flags] [--steps N] [--json]

Example: overshoot critical-lr --f "x^4 + x^2" --x0 2
         overshoot critical-lr --data spiral --model mlp --hidden 32,32 --loss mse

${flagHelp(CRITICAL_FLAGS)}`;

/** The most steps a function's critical-lr runs take. */
const MAX_FUNCTION_STEPS = 10_000_000;

export async function criticalLrCommand(argv: readonly string[], io: Io): Promise<number> {
  if (argv.includes("--lr") || argv.some((a) => a.startsWith("--lr="))) {
    throw new CliError(
      "critical-lr searches over the learning rate: drop --lr (see overshoot critical-lr --help)",
    );
  }
  const parsed = commandFlags(argv, { name: "critical-lr", flags: CRITICAL_FLAGS, help: CRITICAL_HELP }, io);
  if (!parsed) return 0;
  const { flags } = parsed;
  const { objective, source } = objectiveWithSourceFromFlags(flags);
  const optimizer = optimizerFromFlags(flags, { requireLr: false });
  const x0 = requireStart(flags, objective);
  const training = objective.training === true;
  const horizon = (flags["steps"] as number | undefined) ?? (training ? 2000 : 200_000);
  if (!Number.isInteger(horizon) || horizon < 1)
    throw new CliError(`invalid --steps: ${horizon} (a whole number ≥ 1)`);
  // A function's search runs in one computation, a few dozen runs that may each take every step
  // (a rate at the boundary oscillates to the end): bounded so that it ends in minutes.
  if (!training && horizon > MAX_FUNCTION_STEPS)
    throw new CliError(
      `invalid --steps: ${horizon.toLocaleString("en-US")} (at most ${MAX_FUNCTION_STEPS.toLocaleString("en-US")} on a function: the search's few dozen runs may each take them all; overshoot run shows one run of any length)`,
    );
  const rtol = (flags["tolerance"] as number | undefined) ?? (training ? 1e-3 : 1e-6);
  if (!(rtol > 0 && rtol < 1)) throw new CliError(`invalid --tolerance: ${rtol} (a number between 0 and 1)`);
  const maxLr = (flags["maxLr"] as number | undefined) ?? 1e6;
  if (!(maxLr > 0 && Number.isFinite(maxLr)))
    throw new CliError(`invalid --max-lr: ${maxLr} (a finite number > 0)`);
  const blowUp = blowUpFromFlags(flags);
  const workers = (flags["workers"] as number | undefined) ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new CliError(`invalid --workers: ${workers} (a whole number from 1 to 64)`);
  if (training) {
    const started = performance.now();
    const pool = workers > 1 ? new SweepPool(workers) : null;
    let result: TrainingSearch;
    // A long search says about how long (its runs so far and the bisections left), and Ctrl-C
    // ends it after the round under way with what its runs show.
    const work = new LongWork(
      searchRunsLeft([], rtol, workers),
      "run",
      io.err,
      io.isTTY && Boolean(process.stderr.isTTY),
      {
        approximate: true,
        display: io.progress !== false,
        stopping: "once the runs under way end",
      },
    );
    try {
      const criteria = { ...trainingCriteria(horizon), ...(blowUp !== undefined ? { blowUp } : {}) };
      result = await trainingLrSearch(objective, x0, optimizer as OptimizerBase, {
        horizon,
        ...(blowUp !== undefined ? { blowUp } : {}),
        relativeTolerance: rtol,
        maxLr,
        parallel: workers,
        onRound: (runs) => work.tick(runs.length, runs.length + searchRunsLeft(runs, rtol, workers)),
        stop: () => work.stopRequested,
        ...(pool
          ? { evaluate: pool.evaluator({ source, x0, optimizer: optimizer as OptimizerBase, criteria }) }
          : {}),
      });
    } catch (e) {
      throw new CliError(flagMessage((e as Error).message));
    } finally {
      work.finish();
      await pool?.close();
    }
    const seconds = (performance.now() - started) / 1000;
    if (flags["json"])
      io.out(`${JSON.stringify(trainingJson(objective, result, seconds, workers), null, 2)}\n`);
    else io.out(trainingText(objective, result, seconds, workers));
    if (result.stopped) {
      io.err(
        `overshoot: stopped by Ctrl-C after ${plural(result.runs.length, "run")}: the boundaries are the brackets those runs reached, not bisected to the tolerance\n`,
      );
      return 130;
    }
    return 0;
  }
  let result: CriticalSearch;
  // The same: about how long (in runs, each up to the horizon), and Ctrl-C ends the search after
  // the run under way with the brackets its runs reached.
  const estimate = criticalSearchRuns(rtol);
  const work = new LongWork(estimate, "run", io.err, io.isTTY && Boolean(process.stderr.isTTY), {
    approximate: true,
    display: io.progress !== false,
    stopping: "once the run under way ends",
  });
  try {
    const search = criticalLrSearchSteps(
      objective,
      x0,
      optimizer,
      { horizon, relativeTolerance: rtol, maxLr, ...(blowUp !== undefined ? { blowUp } : {}) },
      (runs) => work.tick(runs, Math.max(estimate, runs + 1)),
    );
    result = (await runStoppable(search, () => work.stopRequested)).value;
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  } finally {
    work.finish();
  }
  if (flags["json"]) io.out(`${JSON.stringify(criticalJson(objective, result), null, 2)}\n`);
  else io.out(criticalText(objective, result));
  if (result.stopped) {
    io.err(
      "overshoot: stopped by Ctrl-C: the thresholds are the brackets the runs reached, not bisected to the tolerance\n",
    );
    return 130;
  }
  return 0;
}

const boundary = (b: TrainingSearch["etaMax"]) =>
  b === null ? null : { estimate: b.estimate, below: b.below, above: jsonNumber(b.above) };

function trainingJson(objective: Objective, r: TrainingSearch, seconds: number, workers: number) {
  const { lr: _unused, ...optimizer } = r.optimizer;
  return {
    version: JSON_VERSION,
    objective: objectiveJson(objective),
    optimizer,
    start: objective.dim <= 20 ? Array.from(r.x0, jsonNumber) : `${plural(objective.dim, "parameter")}`,
    startLoss: r.startLoss,
    criteria: {
      diverged: `a non-finite loss or gradient, or the loss past the blow-up bound ${boundText(r.bound)}, within ${plural(r.criteria.horizon, "step")}`,
      trained: `the loss after the horizon is below the start loss and below ${STALLED} × the trivial baseline`,
      stalled: `below the start loss, but at or above ${STALLED} × the trivial baseline`,
      trainsWell: `trained, with a final loss at most ${TRAINS_WELL_FACTOR} × the best run's`,
      catapult: "trained, after the loss rose above the start loss",
      failed: "neither: finite, and not below the start loss",
      converged: "‖∇f‖ below 1e-10",
      horizon: r.criteria.horizon,
      relativeTolerance: r.criteria.relativeTolerance,
      maxLr: r.criteria.maxLr,
    },
    bound: boundJson(r.bound),
    baseline: r.baseline,
    curvature: r.atStart
      ? {
          lambda0: r.atStart.lambdaMax,
          lambdaMin: r.atStart.lambdaMin,
          criticalLr: r.atStart.critical.lr,
          formula: r.atStart.critical.formula,
        }
      : null,
    etaMax: boundary(r.etaMax),
    largestTrained: boundary(r.trains),
    largestTrainedWell: boundary(r.trainsWell),
    best: r.best,
    convergence: boundary(r.convergence),
    catapult: r.catapult,
    largestTried: r.largestTried,
    notAnInterval: r.notAnInterval,
    runs: r.runs.map((o) => ({
      lr: o.lr,
      status: o.status,
      steps: o.steps,
      finalLoss: jsonNumber(o.finalLoss),
      peakLoss: jsonNumber(o.peakLoss),
      peakStep: o.peakStep,
    })),
    seconds,
    workers,
    ...(r.stopped ? { stopped: "by Ctrl-C: the boundaries are the brackets the runs reached" } : {}),
    explanation: r.explanation,
  };
}

export function trainingText(
  objective: Objective,
  r: TrainingSearch,
  seconds: number,
  workers: number,
): string {
  const c = r.criteria;
  const crit = r.atStart?.critical.lr ?? null;
  // Enough digits to tell every rate of the run list apart, three at least.
  const digits = distinguishingDigits(
    r.runs.map((o) => (crit !== null ? o.lr / crit : o.lr)),
    3,
  );
  const times = (lr: number) => (crit !== null ? `${fmt(lr / crit, 3)}× 2/λ0` : "");
  const baseline = r.baseline ? `, trivial baseline ${fmt(r.baseline.loss)} (${r.baseline.description})` : "";
  const lines = [
    `Learning rates of ${r.optimizer.name} on ${describeObjective(objective)}`,
    `from ${objective.dim <= 20 ? `x₀ = ${describePoint(r.x0, (v) => fmt(v))}` : `its initial weights (${plural(objective.dim, "parameter")})`}, start loss ${fmt(r.startLoss)}${baseline}`,
    `Runs of ${c.horizon.toLocaleString("en-US")} full-batch steps: diverged = a non-finite value, or the loss past the blow-up bound ${boundText(r.bound)}; trained = ended below the start loss and below ${STALLED} × the baseline (${r.constantHessian ? "" : "catapult: after rising above the start; "}stalled: at the baseline); trains well = final within ×${TRAINS_WELL_FACTOR} of the best run's; bisection to relative ${fmt(c.relativeTolerance)}; ${plural(r.runs.length, "run")} on ${workers} thread${workers === 1 ? "" : "s"} in ${seconds.toFixed(1)} s.`,
    ...(r.stopped
      ? [
          `Stopped by Ctrl-C after ${plural(r.runs.length, "run")}: each boundary below is the bracket those runs reached, not bisected to the tolerance.`,
        ]
      : []),
    "",
  ];
  const rows: string[][] = [];
  rows.push([
    "curvature's limit at the start",
    crit === null ? "—" : fmt(crit),
    r.atStart
      ? crit === null
        ? r.atStart.critical.note
        : `${r.atStart.critical.formula}, λ0 = ${fmt(r.atStart.lambdaMax)}${r.atStart.negativeCurvature ? ` (λmin = ${fmt(r.atStart.lambdaMin)}: normal, limits nothing)` : ""}`
      : "(curvature not measured)",
  ]);
  rows.push([
    "largest rate that trains",
    r.trains === null ? "none" : fmt(r.trains.estimate, 5),
    r.trains === null
      ? `(even ${fmt(r.runs[0]!.lr)} did not)`
      : Number.isFinite(r.trains.above)
        ? `[${fmt(r.trains.below, 5)} … ${fmt(r.trains.above, 5)}] ${times(r.trains.estimate)}`
        : `(every rate tried up to it trained) ${times(r.trains.estimate)}`,
  ]);
  rows.push([
    "largest rate that trains well",
    r.trainsWell === null ? "none" : fmt(r.trainsWell.estimate, 5),
    r.trainsWell === null || r.best === null
      ? ""
      : `${Number.isFinite(r.trainsWell.above) ? `[${fmt(r.trainsWell.below, 5)} … ${fmt(r.trainsWell.above, 5)}] ` : ""}${times(r.trainsWell.estimate)}, final within ×${TRAINS_WELL_FACTOR} of the best ${fmt(r.best.finalLoss)} (at lr ${fmt(r.best.lr, 5)})`,
  ]);
  if (r.convergence)
    rows.push([
      "convergence threshold",
      fmt(r.convergence.estimate, 5),
      `${Number.isFinite(r.convergence.above) ? `[${fmt(r.convergence.below, 5)} … ${fmt(r.convergence.above, 5)}] ` : "(every rate up to it converged) "}${times(r.convergence.estimate)}: the largest rate whose run reaches ‖∇f‖ < 1e-10`,
    ]);
  if (!r.constantHessian) {
    const windowTop = r.etaMax && r.etaMax.below > 0 ? r.etaMax.estimate : (r.trains?.estimate ?? null);
    rows.push([
      "catapult window, 2/λ0 … η_max",
      crit !== null && windowTop !== null && windowTop > crit
        ? `${fmt(crit, 4)} … ${fmt(windowTop, 4)}`
        : "—",
      r.catapult === null
        ? "(no run there rose above its start and trained)"
        : `rose above the start and trained from ${fmt(r.catapult.from, 4)} to ${fmt(r.catapult.to, 4)}; highest peak ${fmt(r.catapult.peak.loss)} (×${fmt(r.catapult.peak.loss / r.startLoss, 3)} the start) at lr ${fmt(r.catapult.peak.lr, 4)}, step ${r.catapult.peak.step}`,
    ]);
  }
  rows.push([
    "η_max, smallest rate that diverges",
    r.etaMax === null
      ? "none"
      : r.etaMax.below === 0
        ? `< ${fmt(r.etaMax.above)}`
        : fmt(r.etaMax.estimate, 5),
    r.etaMax === null
      ? `(no rate up to ${fmt(r.largestTried)} diverged)`
      : r.etaMax.below === 0
        ? "(even the smallest rate tried)"
        : `[${fmt(r.etaMax.below, 5)} … ${fmt(r.etaMax.above, 5)}] ${times(r.etaMax.estimate)}`,
  ]);
  lines.push(...alignedRows(rows));
  lines.push("", "Runs:");
  const lrDigits = distinguishingDigits(
    r.runs.map((o) => o.lr),
    5,
  );
  const runRows = r.runs.map((o: RateOutcome): string[] => [
    fmt(o.lr, lrDigits),
    crit !== null ? `${fmt(o.lr / crit, digits)}×` : "",
    o.status === "nonfinite"
      ? `overflowed at step ${o.steps}`
      : o.status === "diverged"
        ? `diverged at step ${o.steps}`
        : o.status === "stalled"
          ? "stalled at the baseline"
          : o.status,
    o.status === "nonfinite" ? "" : `final ${fmt(o.finalLoss)}`,
    o.peakLoss > r.startLoss && o.status !== "nonfinite" && o.status !== "diverged"
      ? `peak ${fmt(o.peakLoss)} at step ${o.peakStep}`
      : "",
  ]);
  lines.push(...alignedRows([["lr", crit !== null ? "× 2/λ0" : "", "outcome", "", ""], ...runRows]));
  lines.push("", r.explanation);
  return `${lines.join("\n")}\n`;
}

/**
 * The fewest significant digits (from `least`, at most 12) at which every two neighbouring values
 * in sorted order print differently, so a column of rates never shows one number twice.
 */
export function distinguishingDigits(values: readonly number[], least: number): number {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  for (let d = least; d < 12; d++) {
    let clash = false;
    for (let i = 1; i < sorted.length && !clash; i++)
      clash = sorted[i] !== sorted[i - 1] && fmt(sorted[i]!, d) === fmt(sorted[i - 1]!, d);
    if (!clash) return d;
  }
  return 12;
}

/** Rows of columns, each padded to its widest cell, so no description breaks the layout. */
function alignedRows(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => [...(r[j] ?? "")].length)));
  const pad = (s: string, w: number) => s + " ".repeat(Math.max(0, w - [...s].length));
  return rows.map((r) => `  ${r.map((c, j) => pad(c, widths[j]!)).join("  ")}`.trimEnd());
}

const bracket = (t: ThresholdResult | null) =>
  t === null
    ? null
    : {
        estimate: jsonNumber(t.estimate),
        below: t.below,
        above: jsonNumber(t.above),
        runs: t.probes,
        ...(t.stopped ? { stopped: "by Ctrl-C: the bracket the runs reached" } : {}),
      };

function criticalJson(objective: Objective, r: CriticalSearch) {
  const { lr: _unused, ...optimizer } = r.optimizer;
  const local = (s: CriticalSearch["atStart"]) =>
    s === null
      ? null
      : { lambdaMax: s.lambdaMax, lambdaMin: s.lambdaMin, lr: s.critical.lr, formula: s.critical.formula };
  return {
    version: JSON_VERSION,
    objective: objectiveJson(objective),
    optimizer,
    x0: Array.from(r.x0, jsonNumber),
    criteria: {
      diverged: `non-finite, or the loss past the blow-up bound ${boundText(r.bound)}`,
      converged: `‖∇f‖ < ${r.criteria.gradientTolerance}`,
      horizon: r.criteria.horizon,
      relativeTolerance: r.criteria.relativeTolerance,
      maxLr: r.criteria.maxLr,
    },
    bound: boundJson(r.bound),
    convergence: bracket(r.convergence),
    divergence: bracket(r.divergence),
    localAtStart: local(r.atStart),
    minimizer: r.minimizer ? Array.from(r.minimizer, jsonNumber) : null,
    localAtMinimizer: local(r.atMinimizer),
    explanation: r.explanation,
  };
}

function criticalText(objective: Objective, r: CriticalSearch): string {
  const what = describeObjective(objective);
  const point = (x: ArrayLike<number>) => describePoint(x, (v) => fmt(v));
  const c = r.criteria;
  const lines = [
    `Critical learning rate of ${r.optimizer.name} on ${what} from x₀ = ${point(r.x0)}`,
    `Criteria: diverged = non-finite, or the loss past the blow-up bound ${boundText(r.bound)}; converged = ‖∇f‖ < ${fmt(c.gradientTolerance)}; horizon ${pluralLong(c.horizon, "step")}; bisection to relative ${fmt(c.relativeTolerance)}.`,
    "",
  ];
  const rows: string[][] = [];
  const row = (label: string, value: string, detail: string) => rows.push([label, value, detail]);
  const measured = (t: ThresholdResult | null, none: string) =>
    t === null
      ? [none, ""]
      : t.stopped
        ? t.probes === 0
          ? ["not measured", "(stopped by Ctrl-C before its runs)"]
          : [
              t.below === 0
                ? `< ${fmt(t.above, 7)}`
                : Number.isFinite(t.above)
                  ? fmt(t.estimate, 7)
                  : `> ${fmt(t.below, 7)}`,
              `[${fmt(t.below, 7)} … ${Number.isFinite(t.above) ? fmt(t.above, 7) : "?"}, ${plural(t.probes, "run")}; stopped by Ctrl-C]`,
            ]
        : t.below === 0
          ? [`< ${fmt(t.above)}`, "(even the smallest rate tried)"]
          : [fmt(t.estimate, 7), `[${fmt(t.below, 7)} … ${fmt(t.above, 7)}, ${plural(t.probes, "run")}]`];
  const [cv, cd] = measured(r.convergence, `> ${fmt(c.maxLr)}`);
  row("convergence threshold (largest lr converging)", cv!, cd!);
  const [dv, dd] = measured(r.divergence, "none");
  row(
    "divergence threshold (smallest lr diverging)",
    dv!,
    r.divergence === null ? `(no rate up to ${fmt(c.maxLr)} diverged)` : dd!,
  );
  const local = (s: CriticalSearch["atStart"]) =>
    s === null
      ? ["—", "(curvature not measured)"]
      : s.critical.lr === null
        ? ["none", `(λmax = ${fmt(s.lambdaMax)}, λmin = ${fmt(s.lambdaMin)})`]
        : [fmt(s.critical.lr), `(${s.critical.formula}, λmax = ${fmt(s.lambdaMax)})`];
  const [sv, sd] = local(r.atStart);
  row("local prediction at the start", sv!, sd!);
  if (r.minimizer) {
    const [mv, md] = local(r.atMinimizer);
    row("local prediction at the minimizer", mv!, `${md!} at ${point(r.minimizer)}`);
  }
  lines.push(...alignedRows(rows));
  lines.push("");
  if (r.explanation) lines.push(r.explanation);
  return `${lines.join("\n")}\n`;
}
