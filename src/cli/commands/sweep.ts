import { criticalLearningRate } from "../../analysis/thresholds/critical.js";
import { stabilityAt } from "../../analysis/thresholds/stability.js";
import { type CellResult, type Grid, parseGrid, type SweepCell } from "../../analysis/thresholds/sweep.js";
import { median, type SeedGroup, seedGroups } from "../../analysis/thresholds/sweep-groups.js";
import { defaultWorkers, runSweep, type SweepJob } from "../../analysis/thresholds/sweep-pool.js";
import { fmt, plural } from "../../core/format.js";
import type { ObjectiveSource } from "../../objectives/source.js";
import { type OptimizerConfig, resolveOptimizerConfig } from "../../optim/index.js";
import { stabilityMap, sweepChart } from "../../report/charts.js";
import { describeObjective, describePoint } from "../../report/describe.js";
import { JSON_VERSION, jsonNumber, objectiveJson } from "../../report/json.js";
import { specToSvg, svgToPng } from "../../report/render.js";
import { boundJson, boundText, divergedStatus, factorText, objectiveBound } from "../../run/divergence.js";
import { STALLED_FRACTION as STALLED } from "../../run/verdict.js";
import { commandFlags, type FlagSpecs, flagHelp, type ParsedFlags } from "../args.js";
import { CliError } from "../errors.js";
import {
  checkFigurePath,
  checkWritable,
  isStandardOutput,
  reportIo,
  writeFileAtomic,
  writeOutput,
} from "../files.js";
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
import { initialWeights } from "../network.js";
import { duration, LongWork, terminalBar } from "../progress.js";
import { parseQueueUrl, preflight, QUEUE_SECRET_FLAG, queueSecret } from "../queue/redis.js";
import { runQueuedSweep } from "../queue/submit.js";
import { overshootVersion } from "../version.js";

/**
 * The most cells a sweep may have: each is a run, its result kept (about 200 bytes, more on the
 * queue) and drawn; a million runs of even 100 steps of x² take minutes, of a network days.
 */
export const MAX_CELLS = 1_000_000;

export const SWEEP_FLAGS: FlagSpecs = {
  ...OBJECTIVE_FLAGS,
  ...START_FLAG,
  ...OPTIMIZER_FLAGS,
  lr: {
    type: "string",
    value: "A:B:N",
    help: "learning rates: log grid 1e-4:10:60 (lin:… for linear) or a list",
  },
  momentum: {
    type: "string",
    value: "A:B:N",
    help: "momentum: one value, or a linear grid 0:0.99:40 for a stability map",
  },
  seeds: {
    type: "string",
    value: "A:B",
    help: "--model mlp: every cell over the initial weights of seeds A…B (drawn as --seed draws them; the data stay --seed's): the map shows the fraction that diverged, the text the spread of final losses",
  },
  steps: { type: "number", value: "N", help: "horizon of each run (default 2000)" },
  workers: {
    type: "number",
    value: "N",
    help: `worker threads (default ${defaultWorkers()} here; 1 = none)`,
  },
  queue: {
    type: "string",
    value: "URL",
    help: "run the cells as jobs on Redis (redis://[user:password@]host:port[/db], rediss:// for TLS) for `overshoot worker`s anywhere",
  },
  name: {
    type: "string",
    value: "NAME",
    help: "with --queue: the sweep's name, to reattach to it after an interruption (default: a hash of its cells)",
  },
  ...QUEUE_SECRET_FLAG,
  ...BLOW_UP_FLAG,
  ...outputFlags({
    json: "every cell",
    csv: "every cell",
    plot: "the loss against lr with the predicted threshold, or the lr × momentum map",
  }),
  ...HELP_FLAG,
};

export const SWEEP_HELP = `overshoot sweep — run the optimizer over a grid of learning rates (and momenta)

Every cell is a run from --x0 for --steps steps, classified as converged, converging, oscillating,
diverged (past the blow-up bound 1e6 × max(|start loss|, trivial baseline); --blow-up to change
it) or nonfinite — a model on data as trained, catapult, stalled (at the trivial baseline) or
failed; the predicted critical rate from the curvature at --x0 is shown beside it.
A momentum grid gives the lr × momentum stability map with the exact quadratic boundary.

Usage: overshoot sweep --f EXPR --x0 X --lr A:B:N [--momentum A:B:N] [options]

Examples:
  overshoot sweep --f "x^2" --x0 -1 --lr 1e-2:10:40
  overshoot sweep --f quadratic --eigenvalues 1,10 --x0 1,1 --lr 1e-3:1:40 --momentum 0:0.99:30 --plot map.png
  overshoot sweep --data spiral --model mlp --lr 1e-2:10:30 --seeds 0:9 --queue redis://host:6379 --name spiral
      (the cells as jobs on Redis, run by \`overshoot worker --queue redis://host:6379\` on any machine;
      the same outputs, bit for bit; started again with the same flags it reattaches and reuses what is done)

${flagHelp(SWEEP_FLAGS)}`;

export async function sweepCommand(argv: readonly string[], terminal: Io): Promise<number> {
  let io = terminal;
  const parsed = commandFlags(argv, { name: "sweep", flags: SWEEP_FLAGS, help: SWEEP_HELP }, io);
  if (!parsed) return 0;
  const { flags } = parsed;
  const lrText = flags["lr"] as string | undefined;
  if (lrText === undefined) throw new CliError("missing --lr (a grid such as 1e-4:10:60)");
  const momentumText = flags["momentum"] as string | undefined;
  const { lr: _lr, momentum: _m, ...rest } = flags;
  const { objective, source } = objectiveWithSourceFromFlags(flags);
  const base = optimizerFromFlags(rest, { requireLr: false });
  let lrs: Grid;
  let momenta: Grid | null = null;
  try {
    lrs = parseGrid(lrText, "lr", "log");
    if (momentumText !== undefined) momenta = parseGrid(momentumText, "momentum", "linear");
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
  if (lrs.values.some((v) => !(v > 0))) throw new CliError("invalid --lr: every learning rate must be > 0");
  if (momenta && base.name !== "sgd" && base.name !== "rmsprop")
    throw new CliError(`invalid --momentum: ${base.name} has no momentum (sgd and rmsprop do)`);
  const seeds = seedsFromFlags(flags, source);
  const x0 = requireStart(flags, objective);
  const horizon = (flags["steps"] as number | undefined) ?? 2000;
  const blowUp = blowUpFromFlags(flags);
  if (!Number.isInteger(horizon) || horizon < 1)
    throw new CliError(`invalid --steps: ${horizon} (a whole number ≥ 1)`);
  const workers = (flags["workers"] as number | undefined) ?? defaultWorkers();
  if (!Number.isInteger(workers) || workers < 1 || workers > 64)
    throw new CliError(`invalid --workers: ${workers} (a whole number from 1 to 64)`);
  const queueText = flags["queue"] as string | undefined;
  const name = flags["name"] as string | undefined;
  if (name !== undefined && queueText === undefined)
    throw new CliError("--name names a sweep on a queue: add --queue URL");
  if (flags["queueSecret"] !== undefined && queueText === undefined)
    throw new CliError("--queue-secret signs results on a queue: add --queue URL");
  const secret = queueSecret(flags["queueSecret"] as string | undefined);
  if (name !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(name))
    throw new CliError(`invalid --name: '${name}' (letters, digits, '.', '_' and '-', at most 64)`);
  if (queueText !== undefined && flags["workers"] !== undefined)
    throw new CliError(
      "--workers is for a local sweep; with --queue the cells run on `overshoot worker`s (--concurrency there)",
    );
  const where = queueText !== undefined ? parseQueueUrl(queueText) : null;
  const plot = flags["plot"] as string | undefined;
  const csv = flags["csv"] as string | undefined;
  const format = plot !== undefined ? checkFigurePath(plot, "--plot") : "svg";
  if (csv !== undefined) checkWritable(csv, "--csv");
  // --csv - : the cells take standard output, the report standard error.
  const streams = reportIo(io, csv, Boolean(flags["json"]));
  io = streams.report;

  // (seedsFromFlags refused every source but a network.)
  const starts =
    seeds && source.kind === "mlp"
      ? Object.fromEntries(
          seeds.map((s) => [String(s), Array.from(initialWeights(flags, source.spec.sizes, s))]),
        )
      : undefined;
  // Each cell is a run: a sweep's size is the product of its grids, checked before any is made.
  const count = lrs.values.length * (momenta?.values.length ?? 1) * (seeds?.length ?? 1);
  if (count > MAX_CELLS)
    throw new CliError(
      `a sweep of ${count.toLocaleString("en-US")} cells (${lrs.values.length.toLocaleString("en-US")} rates${momenta ? ` × ${momenta.values.length.toLocaleString("en-US")} momenta` : ""}${seeds ? ` × ${seeds.length} seeds` : ""}) is past the ${MAX_CELLS.toLocaleString("en-US")} a sweep may have: coarser grids, or several sweeps`,
    );
  const cells: SweepCell[] = [];
  for (const m of momenta?.values ?? [undefined])
    for (const lr of lrs.values)
      for (const seed of seeds ?? [undefined])
        cells.push({
          lr,
          ...(m !== undefined ? { momentum: m } : {}),
          ...(seed !== undefined ? { seed } : {}),
        });
  // Every cell's options are checked here, before any thread starts: a bad combination is one line, not a worker crash.
  let config: OptimizerConfig;
  try {
    config = resolveOptimizerConfig({ ...base, lr: lrs.values[0]! } as never);
    for (const m of momenta?.values ?? []) resolveOptimizerConfig({ ...base, lr: 1, momentum: m } as never);
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }

  const job: SweepJob = {
    source,
    x0,
    optimizer: base,
    cells,
    // Only divergence (run/divergence.ts: non-finite, or past the blow-up bound) ends a run early.
    criteria: { horizon, ...(blowUp !== undefined ? { blowUp } : {}) },
    ...(starts ? { starts } : {}),
  };
  if (where) await preflight(where);
  const progress = makeProgress(io, cells.length);
  // Ctrl-C on a local sweep ends it once the runs under way finish, and writes what they show. (A
  // queued sweep's cells go on on the workers: the same command with --name reattaches to it.)
  const work = where
    ? null
    : new LongWork(cells.length, "run", io.err, false, {
        display: false,
        stopping: "once the runs under way end",
      });
  let results: CellResult[];
  try {
    results = where
      ? await runQueuedSweep(job, {
          where,
          ...(name !== undefined ? { name } : {}),
          ...(secret ? { secret } : {}),
          version: overshootVersion(),
          onProgress: progress.update,
          note: (t) => {
            progress.clear?.();
            io.err(`${t}\n`);
          },
        })
      : await runSweep(job, { workers, onProgress: progress.update, stop: () => work!.stopRequested });
  } finally {
    work?.finish();
    progress.stop();
  }
  const stopped =
    results.length < cells.length
      ? `stopped by Ctrl-C after ${results.length.toLocaleString("en-US")} of ${plural(cells.length, "run")}`
      : null;

  // The prediction: curvature at the start, turned into each cell's critical rate.
  // With seeds: the median over (up to 64 of) the seeds' starts, and the range it spans.
  const curvatures = (starts ? Object.values(starts).slice(0, 64) : [x0]).map((s) =>
    stabilityAt(objective, s, config),
  );
  const lambdas = curvatures.map((c) => c.lambdaMax);
  const lambdaRange = [Math.min(...lambdas), Math.max(...lambdas)] as const;
  const local = {
    lambdaMax: median(lambdas),
    lambdaMin: median(curvatures.map((c) => c.lambdaMin)),
  };
  const groups = seeds ? seedGroups(results) : null;
  const predictedFor = (momentum: number | undefined) =>
    config.name === "sgd"
      ? criticalLearningRate(
          { ...config, momentum: momentum ?? config.momentum },
          local.lambdaMax,
          local.lambdaMin,
        )
      : null;

  const line = predictedFor(undefined);
  if (csv !== undefined) {
    const fixed = "momentum" in config ? String(config.momentum) : "";
    const lines = [
      `lr,momentum,${seeds ? "seed," : ""}status,steps,finalLoss,peakLoss,peakStep`,
      ...results.map(
        (r) =>
          `${r.lr},${r.momentum ?? fixed},${seeds ? `${r.seed},` : ""}${r.status},${r.steps},${r.finalLoss},${r.peakLoss},${r.peakStep}`,
      ),
    ];
    writeOutput(csv, `${lines.join("\n")}\n`, streams.data);
  }
  if (plot !== undefined) {
    const spec = momenta
      ? stabilityMap(
          results,
          momenta.values.map((m) => ({ momentum: m, lr: predictedFor(m)?.lr ?? Number.NaN })),
          {
            boundaryLabel: `${predictedFor(momenta.values.find((m) => m > 0) ?? 0.5)?.formula ?? "—"} with λmax = ${fmt(local.lambdaMax)} at ${seeds ? `the starts (median of ${plural(curvatures.length, "seed")})` : "x₀ (exact for a quadratic)"}`,
          },
        )
      : sweepChart(
          results,
          line?.lr ? { lr: line.lr, label: `predicted ${line.formula} = ${fmt(line.lr)}` } : null,
        );
    const svg = await specToSvg(spec);
    writeFileAtomic(plot, format === "png" ? svgToPng(svg) : svg);
  }
  const bound = objectiveBound(objective, objective.value(Float64Array.from(x0)), blowUp);
  if (flags["json"]) {
    const { lr: _unused, ...optimizer } = config;
    io.out(
      `${JSON.stringify(
        {
          version: JSON_VERSION,
          objective: objectiveJson(objective),
          optimizer,
          x0,
          horizon,
          // The blow-up bound of the sweep's start (each seed's start has its own f(x₀)).
          ...(seeds ? { blowUp: bound.factor } : { bound: boundJson(bound) }),
          lambdaMax: local.lambdaMax,
          ...(seeds && groups
            ? {
                seeds: { from: seeds[0], to: seeds[seeds.length - 1] },
                lambdaMaxRange: lambdaRange,
                groups,
              }
            : {}),
          ...(stopped ? { stopped: `${stopped}: cells holds the runs that finished` } : {}),
          cells: results.map((r) => ({
            ...r,
            finalLoss: jsonNumber(r.finalLoss),
            peakLoss: jsonNumber(r.peakLoss),
            predictedLr: predictedFor(r.momentum)?.lr ?? null,
          })),
        },
        null,
        2,
      )}\n`,
    );
  } else {
    io.out(
      `Sweep of ${config.name} on ${describeObjective(objective)} from ${seeds ? `the initial weights of seeds ${seeds[0]}…${seeds[seeds.length - 1]}` : `x₀ = ${describePoint(x0)}`}, ${plural(horizon, "step")} per run, ${plural(cells.length, "run")} ${where ? `on the workers of ${where.shown}` : `on ${Math.min(workers, cells.length)} thread${workers === 1 ? "" : "s"}`}${stopped ? ` — ${stopped}: below are the runs that finished` : ""}\n`,
    );
    io.out(
      seeds
        ? `Curvature at the starts of seeds ${seeds[0]}…${seeds[seeds.length - 1]}: λmax median ${fmt(local.lambdaMax)} (${fmt(lambdaRange[0])}–${fmt(lambdaRange[1])}${curvatures.length < seeds.length ? `, over the first ${curvatures.length}` : ""})\n\n`
        : `Curvature at x₀: λmax = ${fmt(local.lambdaMax)}\n`,
    );
    io.out(
      `Diverged = a non-finite value, or the loss past the blow-up bound ${seeds ? `${factorText(bound.factor)} × max(|f(x₀)|, baseline) of each seed's start` : boundText(bound)}${objective.baseline ? `; stalled = below the start but at ${STALLED} × the trivial baseline ${fmt(objective.baseline.loss)} or above` : ""}\n\n`,
    );
    io.out(
      groups && momenta
        ? seededMapText(groups, lrs, momenta, predictedFor)
        : groups
          ? seededLineText(groups, line?.lr ?? null, line?.formula ?? "", stopped !== null)
          : momenta
            ? mapText(results, lrs, momenta, predictedFor)
            : lineText(
                results,
                line?.lr ?? null,
                line?.formula ?? "",
                line?.note || "this optimizer rescales its steps, so λmax alone gives no fixed rate",
                stopped !== null,
              ),
    );
    if (plot !== undefined) io.out(`wrote ${plot}\n`);
    if (csv !== undefined && !isStandardOutput(csv)) io.out(`wrote ${csv}\n`);
  }
  if (stopped) {
    io.err(
      `overshoot: ${stopped}: what is written holds the runs that finished (the others are left out, not counted as anything)\n`,
    );
    return 130;
  }
  return 0;
}

function lineText(
  results: readonly CellResult[],
  predicted: number | null,
  formula: string,
  note: string,
  partial: boolean,
): string {
  const lines = results.map(
    (r) =>
      `  ${fmt(r.lr).padStart(10)}  ${r.status.padEnd(11)} ${fmt(r.finalLoss).padStart(11)}  ${r.status === "converged" ? `after ${plural(r.steps, "step")}` : divergedStatus(r.status) ? `at step ${r.steps}` : r.status === "catapult" ? `peak ${fmt(r.peakLoss)} at step ${r.peakStep}` : ""}`,
  );
  const firstBad = results.find((r) => divergedStatus(r.status));
  const tail = [
    "",
    predicted !== null
      ? `Predicted critical rate at x₀: ${formula} = ${fmt(predicted)}`
      : `No fixed critical rate is predicted: ${note}`,
    firstBad
      ? `Smallest swept rate that blew up: ${fmt(firstBad.lr)}`
      : partial
        ? "No finished run blew up."
        : "No swept rate blew up.",
  ];
  return `          lr  outcome      final loss\n${lines.join("\n")}\n${tail.join("\n")}\n`;
}

const SYMBOL: Record<string, string> = {
  converged: "●",
  converging: "○",
  oscillating: "~",
  diverging: "↗",
  diverged: "×",
  nonfinite: "✕",
  unbounded: "↓",
  trained: "•",
  catapult: "◆",
  stalled: "=",
  failed: "−",
};

const SYMBOL_NAME: Record<string, string> = {
  converged: "converged",
  converging: "converging",
  oscillating: "oscillating",
  diverging: "diverging",
  diverged: "diverged (past the blow-up bound)",
  nonfinite: "non-finite",
  unbounded: "unbounded below",
  trained: "trained",
  catapult: "catapult (rose above its start, then trained)",
  stalled: "stalled at the trivial baseline",
  failed: "failed (ended above its start)",
};

function mapText(
  results: readonly CellResult[],
  lrs: Grid,
  momenta: Grid,
  predictedFor: (m: number | undefined) => { lr: number | null } | null,
): string {
  const seen = Object.keys(SYMBOL).filter((k) => results.some((r) => r.status === k));
  // A cell by its place in the grid (momentum-major); a sweep stopped by Ctrl-C lacks some.
  const byIndex = new Map(results.map((r) => [r.index, r]));
  const n = lrs.values.length;
  const missing = byIndex.size < n * momenta.values.length;
  const legend = [
    ...seen.map((k) => `${SYMBOL[k]} ${SYMBOL_NAME[k]}`),
    ...(missing ? ["(blank) not run"] : []),
  ].join("  ");
  return gridText(
    lrs,
    momenta,
    predictedFor,
    (i, j) => {
      const r = byIndex.get(j * n + i);
      return r ? SYMBOL[r.status]! : " ";
    },
    legend,
  );
}

/**
 * The lr × momentum map as text, the largest momentum on top: one mark a cell (`mark(i, j)` for
 * the i-th rate and the j-th momentum), "|" where the predicted boundary crosses a row.
 */
function gridText(
  lrs: Grid,
  momenta: Grid,
  predictedFor: (m: number | undefined) => { lr: number | null } | null,
  mark: (lr: number, momentum: number) => string,
  legend: string,
): string {
  const n = lrs.values.length;
  const rows: string[] = [];
  for (let j = momenta.values.length - 1; j >= 0; j--) {
    const m = momenta.values[j]!;
    const edge = predictedFor(m)?.lr ?? null;
    let row = "";
    for (let i = 0; i < n; i++) {
      const crossing = edge !== null && i > 0 && lrs.values[i - 1]! < edge && lrs.values[i]! >= edge;
      row += (crossing ? "|" : "") + mark(i, j);
    }
    rows.push(`  β = ${fmt(m).padEnd(7)} ${row}`);
  }
  return `${rows.join("\n")}\n  lr from ${fmt(lrs.values[0]!)} (left) to ${fmt(lrs.values[n - 1]!)} (right), ${lrs.scale} grid; | marks the predicted boundary\n  ${legend}\n`;
}

function makeProgress(
  io: Io,
  total: number,
): { update: (done: number, total: number) => void; stop: () => void; clear?: () => void } {
  if (io.isTTY && process.stderr.isTTY) {
    const bar = terminalBar("sweep {bar} {percentage}% | {value}/{total} runs | eta {eta}s");
    bar.start(total, 0);
    // A note is written on a line of its own: the bar's line is cleared first, and redrawn at the next update.
    return {
      update: (done) => bar.update(done),
      stop: () => bar.stop(),
      clear: () => process.stderr.write("\r\x1b[K"),
    };
  }
  // Not a terminal: a plain line at every tenth, and every 5 s between them once the sweep has
  // run 2 s, with the time so far and an estimate of the rest; nothing that redraws.
  let shown = 0;
  const started = Date.now();
  let last = started;
  return {
    update: (done) => {
      const tenth = Math.floor((10 * done) / total);
      const now = Date.now();
      const elapsed = (now - started) / 1000;
      if (tenth > shown || (elapsed >= 2 && now - last >= 5000)) {
        shown = Math.max(shown, tenth);
        last = now;
        const timing =
          elapsed >= 2 && done > 0 && done < total
            ? `, ${duration(elapsed)} so far, about ${duration((elapsed / done) * (total - done))} left`
            : "";
        io.err(`sweep: ${done}/${plural(total, "run")} (${Math.floor((100 * done) / total)}%)${timing}\n`);
      }
    },
    stop: () => {},
  };
}

/** --seeds A:B: the seeds, after checking they can apply (a network with drawn initial weights). */
function seedsFromFlags(flags: ParsedFlags, source: ObjectiveSource): number[] | null {
  const text = flags["seeds"] as string | undefined;
  if (text === undefined) return null;
  const m = /^\s*(-?\d+)\s*:\s*(-?\d+)\s*$/.exec(text);
  const [a, b] = m ? [Number(m[1]), Number(m[2])] : [Number.NaN, Number.NaN];
  if (!m || a > b || b - a >= 1000)
    throw new CliError(
      `invalid --seeds: '${text}' (A:B, whole numbers with A ≤ B and at most 1000 seeds, e.g. 0:9)`,
    );
  if (source.kind !== "mlp")
    throw new CliError(
      "--seeds draws a network's initial weights: it applies to --model mlp (other objectives start at --x0)",
    );
  if (flags["x0"] !== undefined) throw new CliError("--seeds draws each cell's start: leave out --x0");
  if (flags["modelOnnx"] !== undefined)
    throw new CliError(
      "--seeds draws a network's initial weights; --model-onnx brings its own: use one or the other",
    );
  const init = flags["init"] as string | undefined;
  if (init !== undefined && !["pytorch", "glorot", "he"].includes(init))
    throw new CliError(
      "--seeds draws the initial weights: it needs --init pytorch, glorot or he, not a weights file",
    );
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

const spread = (g: SeedGroup) =>
  g.finalLoss ? `${fmt(g.finalLoss.median)} (${fmt(g.finalLoss.min)}–${fmt(g.finalLoss.max)})` : "—";

function seededLineText(
  groups: readonly SeedGroup[],
  predicted: number | null,
  formula: string,
  partial: boolean,
): string {
  const lines = groups.map(
    (g) => `  ${fmt(g.lr).padStart(10)}  ${`${g.diverged}/${g.seeds}`.padStart(8)}   ${spread(g)}`,
  );
  const firstBad = groups.find((g) => g.diverged > 0);
  const allBad = groups.find((g) => g.diverged === g.seeds);
  const tail = [
    ...(predicted !== null
      ? [`Predicted critical rate at the median λmax: ${formula} = ${fmt(predicted)}`]
      : []),
    firstBad
      ? `Smallest swept rate at which some seed blew up: ${fmt(firstBad.lr)}`
      : partial
        ? "No finished run blew up."
        : "No swept rate blew up for any seed.",
    ...(allBad ? [`Smallest swept rate at which every seed blew up: ${fmt(allBad.lr)}`] : []),
  ];
  return `${["          lr  diverged   final loss: median (min–max over the seeds that stayed finite)", ...lines, "", ...tail].join("\n")}\n`;
}

/** A digit a cell: the tenths of its seeds that diverged (· none, ✕ all). */
function seededMapText(
  groups: readonly SeedGroup[],
  lrs: Grid,
  momenta: Grid,
  predictedFor: (m: number | undefined) => { lr: number | null } | null,
): string {
  const mark = (g: SeedGroup) =>
    g.diverged === 0
      ? "·"
      : g.diverged === g.seeds
        ? "✕"
        : String(Math.min(9, Math.max(1, Math.round(10 * g.fractionDiverged))));
  // A group by its rate and momentum; a sweep stopped by Ctrl-C lacks some, and its last may be short of seeds.
  const byCell = new Map(groups.map((g) => [`${g.lr}|${g.momentum ?? ""}`, g]));
  const missing = groups.length < lrs.values.length * momenta.values.length;
  return gridText(
    lrs,
    momenta,
    predictedFor,
    (i, j) => {
      const g = byCell.get(`${lrs.values[i]}|${momenta.values[j]}`);
      return g ? mark(g) : " ";
    },
    `· no seed diverged  1–9 that many tenths of the ${groups[0]?.seeds ?? 0} seeds diverged  ✕ all diverged${missing ? "  (blank) not run" : ""}`,
  );
}
