import {
  type BlockCurvature,
  blockCurvature,
  blocksByDefault,
  type LayersLeftOut,
  layersLeftOut,
  type ParameterBlock,
  type Trace,
  traceOf,
} from "../../analysis/curvature/blocks.js";
import { hessianOperator } from "../../analysis/curvature/hvp.js";
import type { MinibatchCurvature } from "../../analysis/curvature/minibatch.js";
import { sharpnessAlongRun } from "../../analysis/curvature/preconditioned.js";
import { objectiveBlocks } from "../../analysis/curvature/spectrum.js";
import { type StabilityReport, stabilityAtAsync } from "../../analysis/thresholds/stability.js";
import { fmt, plural } from "../../core/format.js";
import type { Objective } from "../../core/objective.js";
import { type OptimizerConfig, resolveOptimizerConfig } from "../../optim/index.js";
import { layerLines, layersJson, layersLeftOutLine, minibatchLines } from "../../report/curvature-text.js";
import { describeObjective, describePoint } from "../../report/describe.js";
import { JSON_VERSION, jsonNumber, objectiveJson } from "../../report/json.js";
import { commandFlags, type FlagSpecs, flagHelp, type ParsedFlags } from "../args.js";
import { checkLanczos } from "../budget.js";
import {
  CURVATURE_FLAGS,
  layersAsked,
  type MinibatchRequest,
  measuredObjective,
  minibatchFor,
  minibatchRequest,
  threadedMeasured,
} from "../curvature-flags.js";
import { CliError } from "../errors.js";
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

export const STABILITY_FLAGS: FlagSpecs = {
  ...OBJECTIVE_FLAGS,
  x0: {
    type: "numbers",
    value: "X",
    help: "the point whose Hessian is measured, e.g. -1.2,1 (as every command's start)",
  },
  at: { type: "numbers", value: "X", help: "the same as --x0" },
  ...OPTIMIZER_FLAGS,
  k: { type: "number", value: "K", help: "how many of the largest eigenvalues (default 3)" },
  tolerance: { type: "number", value: "T", help: "Lanczos: relative residual tolerance (default 1e-10)" },
  "max-hvps": {
    type: "number",
    value: "N",
    help: "Lanczos: Hessian-vector product budget (default min(n, 300))",
  },
  "finite-difference": { type: "boolean", help: "central differences of gradients instead of exact HVPs" },
  steps: {
    type: "number",
    value: "N",
    help: "adam, adamw, rmsprop, adagrad: run N steps from the point, measuring the preconditioned sharpness",
  },
  trace: { type: "boolean", help: "also tr H by Hutchinson's estimator, with its standard error" },
  probes: { type: "number", value: "N", help: "--trace: Rademacher probes, one HVP each (default 64)" },
  ...CURVATURE_FLAGS,
  ...outputFlags({ json: "the report" }),
  ...HELP_FLAG,
};

export const STABILITY_HELP = `overshoot stability — curvature at a point, and the largest learning rate it allows

Measures the top eigenvalues of the Hessian and the smallest by Lanczos on Hessian-vector
products, with error bars, and turns λmax into the critical learning rate for the optimizer
(exact for a quadratic; local elsewhere — 'overshoot critical-lr' measures it on real runs).

Usage: overshoot stability --f EXPR --x0 X [optimizer flags] [--json]   (--at X: the same)

Example: overshoot stability --f rosenbrock --x0 -1.2,1 --optimizer sgd --momentum 0.9

${flagHelp(STABILITY_FLAGS)}`;

export async function stabilityCommand(argv: readonly string[], io: Io): Promise<number> {
  const parsed = commandFlags(
    withoutAtInit(argv),
    { name: "stability", flags: STABILITY_FLAGS, help: STABILITY_HELP },
    io,
  );
  if (!parsed) return 0;
  const { flags } = parsed;
  const { objective, source } = objectiveWithSourceFromFlags(flags);
  const options = optimizerFromFlags(flags, { requireLr: false });
  // The point checked on the rows measured: a sample of 256 from 10,000 images need not be
  // preceded by a gradient over all of them.
  const measured = measuredObjective(flags, objective);
  const at = measurePointFromFlags(flags, objective, measured.objective);
  // Everything asked for is checked before the work starts.
  const probes = wholeFlag(flags, "probes", 2, 1_000_000);
  if (probes !== undefined && !flags["trace"])
    throw new CliError("--probes sets the trace estimate: add --trace");
  const minibatch = minibatchRequest(flags, objective);
  const k = wholeFlag(flags, "k", 1, objective.dim);
  const maxHvps = wholeFlag(flags, "maxHvps", 1, Number.POSITIVE_INFINITY);
  // Per-layer blocks when asked, or by default within their budget (blocks.ts blocksByDefault,
  // beside the Lanczos run's cap); the shares of λmax's eigenvector either way.
  const asked = layersAsked(flags, objective);
  const blocksOf = asked === false ? null : objectiveBlocks(objective);
  const lanczosCap = Math.min(maxHvps ?? Math.min(objective.dim, 300), objective.dim);
  const layers = blocksOf !== null && (asked === true || blocksByDefault(blocksOf, lanczosCap));
  // The basis: as many vectors as the Lanczos steps it may take (at most n), and k eigenvectors.
  checkLanczos(
    Math.min(objective.dim, Math.max(maxHvps ?? Math.min(objective.dim, 300), k ?? 1)),
    objective.dim,
    maxHvps !== undefined ? `--max-hvps ${maxHvps}` : `--k ${k ?? 1}`,
  );
  let config: OptimizerConfig;
  let report: StabilityReport & { readonly stopped: boolean };
  // Lanczos steps against their cap, on stderr once it has run 2 s; Ctrl-C ends the iteration
  // after the step under way with the estimates it has, each with its bound.
  const work = new LongWork(1, "Lanczos step", io.err, io.isTTY && Boolean(process.stderr.isTTY), {
    cap: true,
    display: io.progress !== false,
    stopping: "after the Lanczos step under way",
  });
  // The passes split over --threads: the workers end with the measurement, whatever its end.
  const threaded = await threadedMeasured(flags, source, measured);
  let extra: Extras;
  try {
    try {
      // The learning rate does not enter the formulas; sgd may be asked about without one.
      config = resolveOptimizerConfig({ ...options, lr: options.lr ?? 1 } as typeof options);
      report = await stabilityAtAsync(threaded.objective, at, config, {
        ...(k !== undefined ? { k } : {}),
        ...(flags["tolerance"] !== undefined ? { tolerance: flags["tolerance"] as number } : {}),
        ...(maxHvps !== undefined ? { maxHvps } : {}),
        finiteDifference: Boolean(flags["finiteDifference"]),
        vectors: blocksOf !== null,
        onStep: (steps, cap) => work.tick(steps, cap),
        stop: () => work.stopRequested,
      });
    } catch (e) {
      throw new CliError(flagMessage((e as Error).message));
    } finally {
      work.finish();
    }
    if (!report.spectrum.converged) {
      const parts = [
        ...report.spectrum.top.map((e, i) => `λ${i + 1} ≈ ${fmt(e.value)} ± ${fmt(e.residual)}`),
        `λmin ≈ ${fmt(report.lambdaMin)} ± ${fmt(report.spectrum.bottom!.residual)}`,
      ];
      // Stopped: what the steps taken show, each estimate within its residual of an eigenvalue.
      if (report.stopped) {
        io.err(
          `overshoot: stopped by Ctrl-C after ${plural(report.spectrum.iterations, "Lanczos step")}, before convergence: ${parts.join(", ")} (each within its ± of an eigenvalue of the Hessian); run again for the stability answer\n`,
        );
        return 130;
      }
      throw new CliError(
        `Lanczos did not converge in ${report.spectrum.hvps} Hessian-vector products (${parts.join(", ")}); raise --max-hvps or loosen --tolerance`,
      );
    }
    extra = curvatureExtras(
      flags,
      { ...measured, objective: threaded.objective },
      report,
      Float64Array.from(at),
      {
        trace: flags["trace"] ? (probes ?? 64) : null,
        blocks: blocksOf,
        measure: layers,
        rest: lanczosCap,
        minibatch,
      },
    );
  } finally {
    await threaded.close();
  }
  const lr = options.lr;
  const steps = flags["steps"] as number | undefined;
  let along: ReturnType<typeof sharpnessAlongRun> | null = null;
  if (steps !== undefined) {
    if (!Number.isInteger(steps) || steps < 1 || steps > 10_000_000)
      throw new CliError(`invalid --steps: ${steps} (a whole number from 1 to 10000000)`);
    if (config.name === "sgd")
      throw new CliError(
        "--steps measures the preconditioned sharpness of adam, adamw, rmsprop or adagrad; for sgd the critical rate above is exact on a quadratic",
      );
    try {
      along = sharpnessAlongRun(objective, at, options, {
        steps,
        every: Math.max(1, Math.floor(steps / 200)),
      });
    } catch (e) {
      throw new CliError(flagMessage((e as Error).message));
    }
  }
  if (flags["json"]) {
    const json = { ...stabilityJson(objective, config, report, lr), ...extrasJson(extra, config) };
    io.out(
      `${JSON.stringify(along ? { ...json, preconditioned: { formula: along.formula, assumptions: PRECONDITIONED_ASSUMPTIONS, records: along.records.map((r) => ({ ...r, loss: jsonNumber(r.loss) })) } } : json, null, 2)}\n`,
    );
    return 0;
  }
  io.out(stabilityText(objective, config, report, lr, extra));
  if (along) io.out(alongText(along, steps!));
  else if (config.name !== "sgd")
    io.out(
      `For ${config.name}, add --steps N to measure the preconditioned sharpness along a run from the point.\n`,
    );
  return 0;
}

function stabilityJson(
  objective: Objective,
  config: OptimizerConfig,
  r: StabilityReport,
  lr: number | undefined,
) {
  const { lr: _unused, ...hyper } = config;
  return {
    version: JSON_VERSION,
    objective: objectiveJson(objective),
    at: Array.from(r.at, jsonNumber),
    optimizer: { ...hyper, ...(lr !== undefined ? { lr } : {}) },
    spectrum: {
      method: r.spectrum.method,
      top: r.spectrum.top.map((e) => ({ value: e.value, residual: e.residual })),
      min: { value: r.lambdaMin, residual: r.spectrum.bottom!.residual },
      hvps: r.spectrum.hvps,
      exactHvp: r.spectrum.exactHvp,
    },
    conditionNumber: r.conditionNumber,
    negativeCurvature: r.negativeCurvature,
    critical: {
      lr: r.critical.lr,
      formula: r.critical.formula,
      evaluated: r.critical.evaluated,
      note: r.critical.note || null,
    },
    criticalGd: r.criticalGd.lr,
    optimal: r.optimal,
    warnings: r.warnings,
  };
}

/** What stability measures beyond the extremes, when asked (--trace) or for a network (its layers). */
interface Extras {
  readonly trace: (Trace & { readonly probes: number }) | null;
  readonly layers: readonly BlockCurvature[] | null;
  readonly layersLeftOut: LayersLeftOut | null;
  readonly minibatch: MinibatchCurvature | null;
  readonly rows: { rows: number; text: string } | null;
}

function curvatureExtras(
  flags: ParsedFlags,
  measured: ReturnType<typeof measuredObjective>,
  report: StabilityReport,
  at: Float64Array,
  wants: {
    trace: number | null;
    /** The network's blocks (null: none, or --layers=false), measured or left out with their account (beside `rest` HVPs). */
    blocks: readonly ParameterBlock[] | null;
    measure: boolean;
    rest: number;
    minibatch: MinibatchRequest | null;
  },
): Extras {
  const exact = !flags["finiteDifference"];
  const op = hessianOperator(measured.objective, at, exact ? {} : { finiteDifference: true });
  const trace = wants.trace === null ? null : { ...traceOf(op, wants.trace, 1), probes: wants.trace };
  // The shares come from the report's own top Ritz vector (asked for with vectors wherever there are blocks).
  const blocks = wants.blocks;
  const top = report.spectrum.vectors?.top[0];
  return {
    trace,
    layers: blocks && wants.measure ? blockCurvature(op, blocks, top!, { seed: 2 }) : null,
    layersLeftOut: blocks && !wants.measure && top ? layersLeftOut(blocks, top, wants.rest) : null,
    minibatch: minibatchFor(wants.minibatch, at, 0),
    rows: measured.rows,
  };
}

function extrasJson(e: Extras, config: OptimizerConfig) {
  return {
    ...(e.rows ? { rows: e.rows.rows } : {}),
    ...(e.trace ? { trace: e.trace } : {}),
    ...(e.layers
      ? {
          layers: layersJson(e.layers, config),
        }
      : {}),
    ...(e.layersLeftOut ? { layersLeftOut: e.layersLeftOut } : {}),
    ...(e.minibatch ? { minibatch: e.minibatch } : {}),
  };
}

function stabilityText(
  objective: Objective,
  config: OptimizerConfig,
  r: StabilityReport,
  lr: number | undefined,
  extra: Extras,
): string {
  const lines: string[] = [];
  const what = describeObjective(objective);
  const s = r.spectrum;
  lines.push(`Curvature of ${what} at ${describePoint(r.at)}${extra.rows ? `, ${extra.rows.text}` : ""}`);
  lines.push(
    `  Lanczos, ${s.hvps} Hessian-vector product${s.hvps === 1 ? "" : "s"} (${s.exactHvp ? "exact" : "finite differences"}); ± is the Ritz residual, a bound on the error`,
  );
  for (const [i, e] of s.top.entries()) {
    lines.push(`  λ${i + 1} = ${fmt(e.value)} ± ${fmt(e.residual)}${i === 0 ? "   (λmax)" : ""}`);
  }
  lines.push(`  λmin = ${fmt(r.lambdaMin)} ± ${fmt(s.bottom!.residual)}`);
  lines.push(
    `  condition number κ = λmax/λmin = ${r.conditionNumber === null ? "— (λmin ≤ 0)" : fmt(r.conditionNumber)}`,
  );
  const t = extra.trace;
  if (t)
    lines.push(
      t.exact
        ? `  trace = ${fmt(t.estimate)} (exact: Σ eᵢᵀHeᵢ over the ${t.hvps} unit vectors, no more HVPs than --probes ${t.probes})`
        : `  trace = ${fmt(t.estimate)} ± ${fmt(t.standardError)} (Hutchinson, ${t.probes} Rademacher probes = ${t.hvps} HVPs; ± is the standard error)`,
    );
  lines.push("");
  const name = describeOptimizer(config);
  if (r.critical.lr !== null) lines.push(`Critical learning rate for ${name}: ${r.critical.evaluated}`);
  else lines.push(`Critical learning rate for ${name}: none — ${r.critical.note}`);
  if (config.name !== "sgd" || config.momentum !== 0 || config.weightDecay !== 0) {
    if (r.criticalGd.lr !== null)
      lines.push(`Plain gradient descent, for comparison: ${r.criticalGd.evaluated}`);
  }
  if (r.optimal) {
    lines.push(
      `Fastest fixed step for plain GD: 2/(λmin + λmax) = ${fmt(r.optimal.gd.lr)}, shrinking the error by ×${fmt(r.optimal.gd.rate)} per step`,
    );
    lines.push(
      `Fastest heavy ball (Polyak): lr ${fmt(r.optimal.heavyBall.lr)} with momentum ${fmt(r.optimal.heavyBall.momentum)}, ×${fmt(r.optimal.heavyBall.rate)} per step`,
    );
  }
  if (lr !== undefined && r.critical.lr !== null) {
    const ratio = lr / r.critical.lr;
    lines.push("");
    lines.push(
      ratio < 1
        ? `Your lr ${fmt(lr)} is ${fmt(ratio)}× the critical rate: stable on a quadratic with this curvature.`
        : `Your lr ${fmt(lr)} is ${fmt(ratio)}× the critical rate: on a quadratic with this curvature it ${ratio === 1 ? "neither shrinks nor grows the error along the top eigenvector" : "overshoots and diverges"}.`,
    );
  }
  if (extra.layersLeftOut) {
    lines.push("");
    lines.push(layersLeftOutLine(extra.layersLeftOut));
  }
  if (extra.layers) {
    lines.push("");
    lines.push(...layerLines(extra.layers, config, r.lambdaMax));
  }
  if (extra.minibatch) {
    lines.push("");
    lines.push(...minibatchLines(extra.minibatch, r.lambdaMax, config, lr));
  }
  const neg = r.negativeCurvature;
  if (neg) {
    lines.push("");
    lines.push(
      neg.unboundedBelow
        ? `Negative curvature: λmin = ${fmt(neg.lambdaMin)} < 0, and the Hessian is the same at every point (a quadratic), so ${what} is unbounded below: along that eigenvector the loss falls without limit and runs that move along it never converge, at any learning rate. That is the objective, not the step size.`
        : `Negative curvature: λmin = ${fmt(neg.lambdaMin)} < 0 — directions in which the loss decreases from this point (it is not a minimum; at a network's initial weights this is normal). They limit no learning rate; the limit above comes from λmax.`,
    );
  }
  // "No positive curvature" is what the critical-rate line has just said.
  for (const w of r.warnings)
    if (!(r.critical.lr === null && w.startsWith("no positive curvature"))) lines.push(`warning: ${w}`);
  lines.push("");
  // A constant Hessian (linear regression, a quadratic) is the same at every point: the limit is
  // exact everywhere, and nothing can catapult — saying otherwise there would be wrong.
  lines.push(
    objective.constantHessian
      ? `The Hessian is the same at every point (${objective.training ? "a linear model: its loss is quadratic in the weights" : "a quadratic"}), so this limit holds for the whole run, not only near this point: below it the error shrinks along every eigenvector, above it the error along the top one grows at every step.`
      : objective.training
        ? "Local to these weights: as training moves them the curvature changes (λmax often rises toward 2/η and hovers there), and rates above this limit can still train after a spike (the catapult) — 'overshoot critical-lr' measures where training really breaks."
        : "Exact for a quadratic; elsewhere local to this point — the curvature changes as x moves ('overshoot critical-lr' measures the threshold on real runs).",
  );
  return `${lines.join("\n")}\n`;
}

function describeOptimizer(c: OptimizerConfig): string {
  if (c.name !== "sgd") return c.name;
  const parts: string[] = [];
  if (c.momentum !== 0) parts.push(`${c.nesterov ? "Nesterov " : ""}momentum β = ${fmt(c.momentum)}`);
  if (c.dampening !== 0) parts.push(`dampening τ = ${fmt(c.dampening)}`);
  if (c.weightDecay !== 0) parts.push(`weight decay w = ${fmt(c.weightDecay)}`);
  return parts.length > 0 ? `sgd (${parts.join(", ")})` : "sgd";
}

const PRECONDITIONED_ASSUMPTIONS =
  "P is taken as frozen at each step (it moves slowly once the second moments settle, not in the first steps); L2 weight decay is part of H, AdamW's decoupled decay is left out; ε is part of P.";

function alongText(along: ReturnType<typeof sharpnessAlongRun>, steps: number): string {
  const r = along.records;
  if (r.length === 0)
    return "\nNo preconditioned sharpness: the run became non-finite before the optimizer had any state.\n";
  const lines = [
    "",
    `Preconditioned sharpness λmax(P^{-1/2} H P^{-1/2}) along ${plural(steps, "step")}, against the bound ${along.formula}:`,
  ];
  lines.push(
    `  ${"step".padStart(8)}  ${"loss".padStart(11)}  ${"sharpness".padStart(11)}  ${"bound".padStart(11)}  ratio`,
  );
  const shown = r.filter((_, i) => i % Math.max(1, Math.ceil(r.length / 12)) === 0 || i === r.length - 1);
  for (const x of shown)
    lines.push(
      `  ${String(x.step).padStart(8)}  ${fmt(x.loss).padStart(11)}  ${fmt(x.sharpness).padStart(11)}  ${fmt(x.bound).padStart(11)}  ${fmt(x.sharpness / x.bound)}`,
    );
  const worst = r.reduce((a, b) => (b.sharpness / b.bound > a.sharpness / a.bound ? b : a));
  const ratio = worst.sharpness / worst.bound;
  lines.push(
    ratio >= 1
      ? `The sharpness reached ${fmt(ratio)}× the bound at step ${worst.step}: past it the preconditioned step overshoots, the loss spikes and the second moments grow until it is back under (the edge of stability).`
      : `The sharpness stayed under the bound (at most ${fmt(ratio)}× at step ${worst.step}): stable at this learning rate.`,
  );
  lines.push(`Assumptions: ${PRECONDITIONED_ASSUMPTIONS}`);
  return `${lines.join("\n")}\n`;
}
