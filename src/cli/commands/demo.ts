import { fmt } from "../../core/format.js";
import { demoPage } from "../../report/demo-page.js";
import { traceTable } from "../../report/table.js";
import { type RunResult, run } from "../../run/index.js";
import { type FlagSpecs, flagHelp, parseFlags } from "../args.js";
import { CliError } from "../errors.js";
import { HELP_FLAG } from "../flag-tables.js";
import type { Io } from "../io.js";
import { outputDir, writeOutputs } from "../output-dir.js";
import { figureNames, renderDemoCharts } from "../plot.js";
import { demoCatapult } from "./demo-catapult.js";
import { demoCnn } from "./demo-cnn.js";
import { demoEos } from "./demo-eos.js";
import { demoNetwork } from "./demo-network.js";
import { demoUnscaled } from "./demo-unscaled.js";

/** What the seed demo writes into --out (renderDemoCharts' charts and the page). */
const DEMO_FILES = ["path", "loss", "delta"].flatMap(figureNames).concat("index.html");

export const DEMO_FLAGS: FlagSpecs = {
  out: {
    type: "string",
    value: "DIR",
    help: "where to write the charts and index.html (default ./overshoot-demo)",
  },
  steps: { type: "number", value: "N", help: "steps per run (default 12)" },
  ...HELP_FLAG,
};

export const DEMO_HELP = `overshoot demo — gradient descent on f(x) = x² from x₀ = −1 at η = 0.1, 1 and 1.125

Shows each path, the actual change of the loss ΔC beside the first-order prediction −η‖g‖²
(never positive) and the second-order one −η‖g‖² + η²/2·gᵀHg (exact here), and the critical
step 2/f'' = 1. Writes SVG and PNG charts and an index.html.

Usage: overshoot demo [--out DIR] [--steps N]
       overshoot demo unscaled [--out DIR] [--steps N]   linear regression on real car data in raw
       units: lr 1e-4 converges, lr 1e-3 goes to Infinity then NaN, predicted from λmax first
       overshoot demo eos [--out DIR] [--steps N]        a network trained by full-batch GD: the
       sharpness climbs to 2/η and hovers there (edge of stability); a larger η blows up
       overshoot demo network [--out DIR] [--steps N]    a 2-8-1 network on raw car data: 1e-3
       explodes to NaN (or kills ReLU units), 1e-4 trains, predicted from λmax; three fixes
       overshoot demo catapult [--out DIR] [--steps N]   the three regimes on a 2-64-2 network:
       0.5 × 2/λ0 trains, 1.5× and 3× rise first and still train (the catapult), past the
       measured η_max it overflows; λmax along each run against 2/η
       overshoot demo cnn [--out DIR] [--steps N]        a small CNN on 64 MNIST digits, with and
       without BatchNorm: λ0 and 2/λ0, the measured catapult window and η_max, which layer
       limits the rate, and what BatchNorm does to the limit (default 100 steps a run)

${flagHelp(DEMO_FLAGS)}`;

export const DEMO_RATES = [0.1, 1, 1.125] as const;

export async function demoCommand(argv: readonly string[], io: Io): Promise<number> {
  const { flags, positionals } = parseFlags(argv, DEMO_FLAGS, "demo");
  if (flags["help"]) {
    io.out(`${DEMO_HELP}\n`);
    return 0;
  }
  if (positionals[0] === "unscaled" && positionals.length === 1) return demoUnscaled(flags, io);
  if (positionals[0] === "eos" && positionals.length === 1) return demoEos(flags, io);
  if (positionals[0] === "network" && positionals.length === 1) return demoNetwork(flags, io);
  if (positionals[0] === "catapult" && positionals.length === 1) return demoCatapult(flags, io);
  if (positionals[0] === "cnn" && positionals.length === 1) return demoCnn(flags, io);
  if (positionals.length > 0) {
    throw new CliError(
      `unexpected argument '${positionals[0]}' (demos: the default, 'unscaled', 'eos', 'network', 'catapult' or 'cnn'; see overshoot demo --help)`,
    );
  }
  const steps = (flags["steps"] as number | undefined) ?? 12;
  if (!Number.isInteger(steps) || steps < 1 || steps > 1000)
    throw new CliError(`invalid --steps: ${steps} (a whole number from 1 to 1000)`);
  const outDir = outputDir(io, flags["out"] as string | undefined, "overshoot-demo", DEMO_FILES);

  const { compileExpression } = await import("../../objectives/expression.js");
  const objective = compileExpression("x^2");
  const x0 = [-1];
  const curvature = new Float64Array(1);
  objective.hessianVector(Float64Array.from(x0), Float64Array.of(1), curvature);
  const lambda = curvature[0]!;
  const critical = 2 / lambda;
  const runs: { label: string; lr: number; result: RunResult }[] = DEMO_RATES.map((lr) => ({
    label: `η = ${lr}`,
    lr,
    result: run({ objective, optimizer: { name: "sgd", lr }, x0, steps }),
  }));

  io.out("Gradient descent on f(x) = x², from x₀ = −1: x ← x − η·f'(x) = x − 2ηx = (1 − 2η)·x\n");
  io.out(
    `Curvature f'' = ${fmt(lambda)}, so the critical step is 2/f'' = ${fmt(critical)}: below it the path converges, at it x bounces, above it x grows.\n`,
  );
  io.out(
    "ΔC actual = f(x_{k+1}) − f(x_k); 1st-order = −η‖g‖² (never positive); 2nd-order = −η‖g‖² + η²/2·gᵀHg (exact for a quadratic).\n",
  );
  for (const r of runs) {
    const factor = 1 - r.lr * lambda;
    io.out(
      `\n── ${r.label}  (η·f'' = ${fmt(r.lr * lambda)}, ${r.lr * lambda < 2 ? "< 2" : r.lr * lambda === 2 ? "exactly 2" : "> 2"}; each step multiplies x by 1 − 2η = ${fmt(factor)})\n`,
    );
    io.out(`${traceTable(objective, r.result.trace, 5, 2)}\n`);
    io.out(`verdict: ${r.result.verdict.status} — ${r.result.verdict.reason}\n`);
  }
  io.out(
    `\nWhy the loss can go up: −η‖g‖² assumes the slope stays the same along the whole step. It does not: the slope changes at rate f'' = ${fmt(lambda)}, and the second-order term η²/2·gᵀHg outgrows the first once η > 2/f'' = ${fmt(critical)}.\n`,
  );

  const files = await renderDemoCharts(objective, runs);
  writeOutputs(io, outDir, { ...files, "index.html": demoPage({ objective, runs, critical, files }) });
  return 0;
}
