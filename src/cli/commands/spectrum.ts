import { defaultProbes } from "../../analysis/curvature/density.js";
import type { MinibatchCurvature } from "../../analysis/curvature/minibatch.js";
import { type SpectrumReport, spectrumAtAsync } from "../../analysis/curvature/spectrum.js";
import { criticalLearningRate } from "../../analysis/thresholds/critical.js";
import { fmt, plural } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { type OptimizerConfig, resolveOptimizerConfig } from "../../optim/index.js";
import { layerCurvatureChart, spectrumChart, stacked } from "../../report/charts.js";
import { layerLines, layersJson, layersLeftOutLine, minibatchLines } from "../../report/curvature-text.js";
import { describeObjective, describePoint } from "../../report/describe.js";
import { JSON_VERSION, objectiveJson } from "../../report/json.js";
import { specToSvg, svgToPng } from "../../report/render.js";
import { commandFlags, type FlagSpecs, flagHelp } from "../args.js";
import { checkLanczos } from "../budget.js";
import {
  CURVATURE_FLAGS,
  layersAsked,
  measuredObjective,
  minibatchFor,
  minibatchRequest,
  threadedMeasured,
} from "../curvature-flags.js";
import { CliError } from "../errors.js";
import {
  checkFigurePath,
  checkWritable,
  isStandardOutput,
  reportIo,
  writeFileAtomic,
  writeOutput,
} from "../files.js";
import { flagMessage, HELP_FLAG, OBJECTIVE_FLAGS, OPTIMIZER_FLAGS, outputFlags } from "../flag-tables.js";
import {
  measurePointFromFlags,
  objectiveWithSourceFromFlags,
  optimizerFromFlags,
  wholeFlag,
  withoutAtInit,
} from "../flags.js";
import type { Io } from "../io.js";
import { LongWork } from "../progress.js";

export const SPECTRUM_FLAGS: FlagSpecs = {
  ...OBJECTIVE_FLAGS,
  x0: {
    type: "numbers",
    value: "X",
    help: "the point whose Hessian is measured (models: their initial weights by default)",
  },
  at: { type: "numbers", value: "X", help: "the same as --x0" },
  ...OPTIMIZER_FLAGS,
  k: { type: "number", value: "K", help: "how many of the largest eigenvalues (default 3)" },
  probes: {
    type: "number",
    value: "P",
    help: "random (Rademacher) start vectors of the quadrature (default 16; past 2,000 parameters ⌈32,000/n⌉, at least 2)",
  },
  "lanczos-steps": {
    type: "number",
    value: "M",
    help: "Lanczos steps per probe, one HVP each (default min(n, 50))",
  },
  sigma: {
    type: "number",
    value: "S",
    help: "Gaussian broadening of the drawn density (default 1% of the eigenvalue range)",
  },
  "probe-seed": { type: "number", value: "SEED", help: "seed of the start vectors (default 0)" },
  tolerance: {
    type: "number",
    value: "T",
    help: "Lanczos (extremes): relative residual tolerance (default 1e-10)",
  },
  "max-hvps": { type: "number", value: "N", help: "Lanczos (extremes): HVP budget (default min(n, 300))" },
  "finite-difference": { type: "boolean", help: "central differences of gradients instead of exact HVPs" },
  ...CURVATURE_FLAGS,
  ...outputFlags({
    json: "the spectrum",
    csv: "the drawn density (eigenvalue, density)",
    plot: "the density on a log axis (and the layers, for a network)",
  }),
  ...HELP_FLAG,
};

export const SPECTRUM_HELP = `overshoot spectrum — the Hessian's whole eigenvalue density at a point

Stochastic Lanczos quadrature (as PyHessian's density()): P Rademacher probes, M Lanczos steps each
(fully reorthogonalized), whose Gauss quadratures average to the density of eigenvalues; drawn on
a log axis with a stated Gaussian broadening. Beside it, the top-k and λmin by Lanczos with their
Ritz residuals (a bound on the error), the trace with its standard error over the probes, the
count of Hessian-vector products, and for a network each layer's block. On data, every row of
the training split is used (in blocks, in bounded memory); --batch-size adds λmax on sampled
minibatches.

Usage: overshoot spectrum --f EXPR --x0 X [--probes P --lanczos-steps M] [--plot F.svg|F.png] [--json]
       overshoot spectrum --model-onnx model.onnx --data train.csv --target y [--lr η] [--plot spectrum.png]

Example: overshoot spectrum --data spiral --model mlp --hidden 16,16 --lr 0.5 --plot spectrum.png

${flagHelp(SPECTRUM_FLAGS)}`;

export async function spectrumCommand(argv: readonly string[], terminal: Io): Promise<number> {
  let io = terminal;
  const parsed = commandFlags(
    withoutAtInit(argv),
    { name: "spectrum", flags: SPECTRUM_FLAGS, help: SPECTRUM_HELP },
    io,
  );
  if (!parsed) return 0;
  const { flags } = parsed;
  const plot = flags["plot"] as string | undefined;
  const format = plot !== undefined ? checkFigurePath(plot, "--plot") : "svg";
  const csv = flags["csv"] as string | undefined;
  if (csv !== undefined) checkWritable(csv, "--csv");
  // --csv - : the density takes standard output, the report standard error.
  const streams = reportIo(io, csv, Boolean(flags["json"]));
  io = streams.report;
  const { objective, source } = objectiveWithSourceFromFlags(flags);
  const options = optimizerFromFlags(flags, { requireLr: false });
  // The point checked on the rows measured (stability.ts).
  const measured = measuredObjective(flags, objective);
  const at = Float64Array.from(measurePointFromFlags(flags, objective, measured.objective));
  const n = objective.dim;
  const k = wholeFlag(flags, "k", 1, n);
  const probes = wholeFlag(flags, "probes", 1, 100_000);
  const steps = wholeFlag(flags, "lanczosSteps", 1, n);
  if (steps !== undefined) checkLanczos(steps, n, `--lanczos-steps ${steps}`);
  const maxHvps = wholeFlag(flags, "maxHvps", 1, Number.POSITIVE_INFINITY);
  const seed = (flags["probeSeed"] as number | undefined) ?? 0;
  if (!Number.isInteger(seed)) throw new CliError(`invalid --probe-seed: ${seed} (an integer)`);
  const sigma = flags["sigma"] as number | undefined;
  if (sigma !== undefined && !(sigma > 0 && Number.isFinite(sigma)))
    throw new CliError(`invalid --sigma: ${sigma} (a number > 0)`);
  const layers = layersAsked(flags, objective);
  const minibatchAsked = minibatchRequest(flags, objective);
  let config: OptimizerConfig;
  let report: SpectrumReport & { readonly stopped: boolean };
  // Over the quadrature's probes (the bulk of the HVPs), on stderr: a bar on a terminal, else a
  // line every 5 s once it has run 2 s; Ctrl-C ends the density at the probes done.
  const work = new LongWork(1, "probe", io.err, io.isTTY && Boolean(process.stderr.isTTY), {
    stopping: "after the probe under way",
    display: io.progress !== false,
  });
  const threaded = await threadedMeasured(flags, source, measured);
  try {
    config = resolveOptimizerConfig({ ...options, lr: options.lr ?? 1 } as typeof options);
    report = await spectrumAtAsync(threaded.objective, at, {
      ...(k !== undefined ? { k } : {}),
      ...(probes !== undefined ? { probes } : {}),
      ...(steps !== undefined ? { steps } : {}),
      ...(sigma !== undefined ? { sigma } : {}),
      ...(flags["tolerance"] !== undefined ? { tolerance: flags["tolerance"] as number } : {}),
      ...(maxHvps !== undefined ? { maxHvps } : {}),
      seed,
      ...(layers !== undefined ? { layers } : {}),
      finiteDifference: Boolean(flags["finiteDifference"]),
      onProbe: (done: number, of: number) => work.tick(done, of),
      stop: () => work.stopRequested,
    });
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  } finally {
    work.finish();
    await threaded.close();
  }
  const minibatch = minibatchFor(minibatchAsked, at, seed);
  const lr = options.lr;
  const lambdaMax = report.extremes.top[0]!.value;
  const lambdaMin = report.extremes.bottom!.value;
  if (plot !== undefined) {
    const d = report.density;
    const chart = spectrumChart(
      report.curve,
      { lambdaMax, lambdaMin, ...(lr !== undefined ? { twoOverLr: 2 / lr } : {}) },
      {
        // Two short lines: vega sizes the figure by an estimate of the text's width (0.8 em a character).
        subtitle: [
          `${n} eigenvalues by stochastic Lanczos quadrature`,
          `${plural(d.probes.length, "probe")} × ${plural(d.steps, "step")}; Gaussian σ = ${fmt(report.curve.sigma, 3)}; area 1`,
        ],
      },
    );
    const figure = report.blocks
      ? stacked([
          chart,
          layerCurvatureChart(
            report.blocks.map((b) => ({ name: b.block.name, lambdaMax: b.top.value, share: b.share })),
          ),
        ])
      : chart;
    const svg = await specToSvg(figure);
    writeFileAtomic(plot, format === "png" ? svgToPng(svg) : svg);
  }
  if (csv !== undefined) {
    const rows = Array.from(report.curve.x, (x, i) => `${x},${report.curve.density[i]}`);
    writeOutput(csv, `eigenvalue,density\n${rows.join("\n")}\n`, streams.data);
  }
  const stopped = report.stopped
    ? `overshoot: stopped by Ctrl-C after ${report.density.probes.length} of ${plural(probes ?? defaultProbes(objective.dim), "probe")}: the density and the trace are those probes'\n`
    : "";
  if (flags["json"]) {
    io.out(
      `${JSON.stringify({ ...spectrumJson(objective, measured.rows, config, report, minibatch, lr), ...(report.stopped ? { stopped: `by Ctrl-C after ${plural(report.density.probes.length, "probe")}` } : {}) }, null, 2)}\n`,
    );
    io.err(stopped);
    return report.stopped ? 130 : 0;
  }
  io.out(spectrumText(objective, measured.rows, at, config, report, minibatch, lr));
  for (const file of [csv, plot])
    if (file !== undefined && !isStandardOutput(file)) io.out(`wrote ${file}\n`);
  io.err(stopped);
  return report.stopped ? 130 : 0;
}

function spectrumJson(
  objective: Objective,
  rows: RowsUsed,
  config: OptimizerConfig,
  r: SpectrumReport,
  minibatch: MinibatchCurvature | null,
  lr: number | undefined,
) {
  const d = r.density;
  return {
    version: JSON_VERSION,
    objective: objectiveJson(objective),
    ...(rows ? { rows: rows.rows } : {}),
    extremes: {
      top: r.extremes.top.map((e) => ({ value: e.value, residual: e.residual })),
      min: { value: r.extremes.bottom!.value, residual: r.extremes.bottom!.residual },
      hvps: r.extremes.hvps,
      converged: r.extremes.converged,
    },
    trace: { estimate: d.trace.estimate, standardError: d.trace.standardError, probes: d.probes.length },
    density: {
      method: "stochastic Lanczos quadrature",
      probes: d.probes.length,
      steps: d.steps,
      seed: d.seed,
      hvps: d.hvps,
      firstProbe: d.reusedFirst ? "the extremes' Lanczos run" : "its own",
      quadrature: d.probes.map((p) => ({ nodes: Array.from(p.nodes), weights: Array.from(p.weights) })),
      sigma: r.curve.sigma,
      grid: { eigenvalue: Array.from(r.curve.x), density: Array.from(r.curve.density) },
    },
    layers: r.blocks ? layersJson(r.blocks, config) : null,
    ...(r.layersLeftOut ? { layersLeftOut: r.layersLeftOut } : {}),
    critical: criticalOf(config, r),
    ...(minibatch ? { minibatch } : {}),
    ...(lr !== undefined ? { lr } : {}),
    exactHvp: r.extremes.exactHvp,
    hvps: r.hvps + (minibatch?.hvps ?? 0),
  };
}

function criticalOf(config: OptimizerConfig, r: SpectrumReport) {
  const lambdaMax = r.extremes.top[0]!.value;
  if (!(lambdaMax > 0)) return { lr: null, formula: "—", note: "no positive curvature at this point" };
  const c = criticalLearningRate(config, lambdaMax, r.extremes.bottom!.value);
  return { lr: c.lr, formula: c.formula, evaluated: c.evaluated };
}

function spectrumText(
  objective: Objective,
  rows: RowsUsed,
  at: Float64Array,
  config: OptimizerConfig,
  r: SpectrumReport,
  minibatch: MinibatchCurvature | null,
  lr: number | undefined,
): string {
  const lines: string[] = [];
  const s = r.extremes;
  const d = r.density;
  lines.push(
    `Spectrum of the Hessian of ${describeObjective(objective)} at ${describePoint(at)}${rows ? `, ${rows.text}` : ""}`,
  );
  lines.push(
    `  Extremes by Lanczos, ${s.hvps} HVPs (${s.exactHvp ? "exact" : "finite differences"}); ± is the Ritz residual, a bound on the error${s.converged ? "" : " — NOT converged: raise --max-hvps"}`,
  );
  for (const [i, e] of s.top.entries())
    lines.push(`  λ${i + 1} = ${fmt(e.value)} ± ${fmt(e.residual)}${i === 0 ? "   (λmax)" : ""}`);
  lines.push(`  λmin = ${fmt(s.bottom!.value)} ± ${fmt(s.bottom!.residual)}`);
  const se = d.trace.standardError;
  lines.push(
    `  trace = ${fmt(d.trace.estimate)}${se === null ? " (one probe: no standard error; use --probes 2 or more)" : ` ± ${fmt(se)} (standard error, Hutchinson over the ${plural(d.probes.length, "probe")})`}`,
  );
  lines.push("");
  const lambdaMax = s.top[0]!.value;
  lines.push(
    `Density by stochastic Lanczos quadrature: ${plural(d.probes.length, "probe")} × ${plural(d.reusedFirst && d.probes.length > 1 ? Math.max(...d.probes.slice(1).map((p) => p.nodes.length)) : d.steps, "step")} (seed ${d.seed}${d.reusedFirst ? `; the first probe is the extremes' Lanczos run of ${plural(d.probes[0]!.nodes.length, "step")}, ${d.hvps} HVPs for the others` : `, ${d.hvps} HVPs`}); drawn with Gaussian broadening σ = ${fmt(r.curve.sigma, 3)}`,
  );
  const critical = criticalOf(config, r);
  lines.push("");
  if (critical.lr !== null) lines.push(`Critical learning rate for ${config.name}: ${critical.evaluated}`);
  else
    lines.push(
      `Critical learning rate for ${config.name}: none — ${"note" in critical ? critical.note : "—"}`,
    );
  if (lr !== undefined && critical.lr !== null)
    lines.push(`Your lr ${fmt(lr)} is ${fmt(lr / critical.lr)}× it (2/η = ${fmt(2 / lr)}).`);
  if (r.blocks) {
    lines.push("");
    lines.push(...layerLines(r.blocks, config, lambdaMax));
  }
  const out = r.layersLeftOut;
  if (out) {
    lines.push("");
    lines.push(layersLeftOutLine(out));
  }
  if (minibatch) {
    lines.push("");
    lines.push(...minibatchLines(minibatch, lambdaMax, config, lr));
  }
  lines.push("");
  lines.push(`Hessian-vector products in all: ${r.hvps + (minibatch?.hvps ?? 0)}`);
  return `${lines.join("\n")}\n`;
}

type RowsUsed = ReturnType<typeof measuredObjective>["rows"];
