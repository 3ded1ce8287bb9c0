import { type CriticalSearch, criticalLrSearch } from "../../analysis/thresholds/critical-search.js";
import type { ThresholdResult } from "../../analysis/thresholds/threshold.js";
import { fmt } from "../../core/format.js";
import type { Objective } from "../../objectives/types.js";
import { describeObjective, describePoint } from "../../report/describe.js";
import { JSON_VERSION, jsonNumber, objectiveJson } from "../../report/json.js";
import { type FlagSpecs, flagHelp, parseFlags } from "../args.js";
import { CliError } from "../errors.js";
import {
  flagMessage,
  OBJECTIVE_FLAGS,
  OPTIMIZER_FLAGS,
  objectiveFromFlags,
  optimizerFromFlags,
  requireStart,
} from "../flags.js";
import type { Io } from "../io.js";

const { lr: _lr, ...OPTIMIZER_FLAGS_WITHOUT_LR } = OPTIMIZER_FLAGS;

export const CRITICAL_FLAGS: FlagSpecs = {
  ...OBJECTIVE_FLAGS,
  x0: { type: "numbers", value: "X", help: "start point of every run" },
  ...OPTIMIZER_FLAGS_WITHOUT_LR,
  steps: { type: "number", value: "N", help: "horizon of each run (default 200000)" },
  tolerance: {
    type: "number",
    value: "T",
    help: "bisect until the bracket is within relative T (default 1e-6)",
  },
  "max-lr": { type: "number", value: "LR", help: "largest rate tried (default 1e6)" },
  json: { type: "boolean", help: "print the result as JSON" },
  help: { type: "boolean", help: "show this help" },
};

export const CRITICAL_HELP = `overshoot critical-lr — the largest learning rate that converges and the smallest that diverges, measured on real runs

Brackets and bisects the learning rate, running the optimizer from --x0 each time, and shows the
measured thresholds beside the local predictions from the curvature at the start and at the
minimizer the runs reach, with a sentence on why they differ.

Usage: overshoot critical-lr --f EXPR --x0 X [optimizer flags] [--steps N] [--json]

Example: overshoot critical-lr --f "x^4 + x^2" --x0 2

${flagHelp(CRITICAL_FLAGS)}`;

export async function criticalLrCommand(argv: readonly string[], io: Io): Promise<number> {
  if (argv.includes("--lr") || argv.some((a) => a.startsWith("--lr="))) {
    throw new CliError(
      "critical-lr searches over the learning rate: drop --lr (see overshoot critical-lr --help)",
    );
  }
  const { flags, positionals } = parseFlags(argv, CRITICAL_FLAGS, "critical-lr");
  if (flags["help"]) {
    io.out(`${CRITICAL_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(`unexpected argument '${positionals[0]}' (see overshoot critical-lr --help)`);
  const objective = objectiveFromFlags(flags);
  const optimizer = optimizerFromFlags(flags, { requireLr: false });
  const x0 = requireStart(flags, objective);
  const horizon = (flags["steps"] as number | undefined) ?? 200_000;
  if (!Number.isInteger(horizon) || horizon < 1)
    throw new CliError(`invalid --steps: ${horizon} (a whole number ≥ 1)`);
  const rtol = (flags["tolerance"] as number | undefined) ?? 1e-6;
  if (!(rtol > 0 && rtol < 1)) throw new CliError(`invalid --tolerance: ${rtol} (a number between 0 and 1)`);
  const maxLr = (flags["maxLr"] as number | undefined) ?? 1e6;
  if (!(maxLr > 0 && Number.isFinite(maxLr)))
    throw new CliError(`invalid --max-lr: ${maxLr} (a finite number > 0)`);
  let result: CriticalSearch;
  try {
    result = criticalLrSearch(objective, x0, optimizer, { horizon, relativeTolerance: rtol, maxLr });
  } catch (e) {
    throw new CliError(flagMessage((e as Error).message));
  }
  if (flags["json"]) io.out(`${JSON.stringify(criticalJson(objective, result), null, 2)}\n`);
  else io.out(criticalText(objective, result));
  return 0;
}

const bracket = (t: ThresholdResult | null) =>
  t === null ? null : { estimate: t.estimate, below: t.below, above: t.above, runs: t.probes };

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
      diverged: `non-finite, or loss > f(x0) + ${r.criteria.divergenceFactor}·max(|f(x0)|, 1)`,
      converged: `‖∇f‖ < ${r.criteria.gradientTolerance}`,
      horizon: r.criteria.horizon,
      relativeTolerance: r.criteria.relativeTolerance,
      maxLr: r.criteria.maxLr,
    },
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
    `Criteria: diverged = non-finite or loss > f(x₀) + ${fmt(c.divergenceFactor)}·max(|f(x₀)|, 1); converged = ‖∇f‖ < ${fmt(c.gradientTolerance)}; horizon ${c.horizon.toLocaleString("en-US")} steps; bisection to relative ${fmt(c.relativeTolerance)}.`,
    "",
  ];
  const row = (label: string, value: string, detail: string) =>
    lines.push(`  ${label.padEnd(46)} ${value.padEnd(12)} ${detail}`);
  const measured = (t: ThresholdResult | null, none: string) =>
    t === null
      ? [none, ""]
      : t.below === 0
        ? [`< ${fmt(t.above)}`, "(even the smallest rate tried)"]
        : [fmt(t.estimate, 7), `[${fmt(t.below, 7)} … ${fmt(t.above, 7)}, ${t.probes} runs]`];
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
  row(`local prediction at the start ${point(r.x0)}`, sv!, sd!);
  if (r.minimizer) {
    const [mv, md] = local(r.atMinimizer);
    row(`local prediction at the minimizer ${point(r.minimizer)}`, mv!, md!);
  }
  lines.push("");
  if (r.explanation) lines.push(r.explanation);
  return `${lines.join("\n")}\n`;
}
