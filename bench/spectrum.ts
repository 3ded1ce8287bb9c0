// Spectral density for `npm run bench` (issue 17): overshoot's stochastic Lanczos quadrature
// beside PyHessian's density() on the same networks, weights and rows (float64), scored against
// the exact spectrum from PyTorch's dense Hessian (src/analysis/curvature/__golden__/
// torch-spectrum.json): the Wasserstein-1 distance of each density from the exact one, the error of
// its top node against λmax, the HVPs spent, and the time of one call.
//
// What each side does: both run P probes of m fully reorthogonalized Lanczos steps from Rademacher
// vectors on the full batch, one HVP a step. PyHessian (its density(iter = m, n_v = P), unpatched,
// through bench/pyhessian_density.py with PYHESSIAN_DIR naming a checkout, torch with one thread:
// OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 and torch.set_num_threads(1)); overshoot's
// spectralDensity(probes P, steps m) on exact R-operator HVPs. Each timed round is one whole call,
// after a warm-up, the two sides interleaved (PyHessian's time is measured inside its process, not
// counting Python's start-up). Accuracy is the median over 5 probe seeds.
import { spawnSync } from "node:child_process";
import { densityMeasure, spectralDensity, wasserstein1 } from "../src/analysis/curvature/density.js";
import { hessianOperator } from "../src/analysis/curvature/hvp.js";
import { caseObjective, type SpectrumCase, spectrumFixture } from "../test/spectrum-fixture.js";
import { fmtSpread, interleave, ratios, spread } from "./ab.js";
import { cpuFlags, judge, torchEnvironment } from "./torch-blas.js";

type Case = SpectrumCase;
const golden = spectrumFixture;

const ROUNDS = 5;
const SEEDS = [0, 1, 2, 3, 4];
const script = new URL("./pyhessian_density.py", import.meta.url).pathname;

interface PyHessianOut {
  eigen: number[][];
  weight: number[][];
  hvps: number;
  seconds: number[];
  pyhessian_commit: string;
}
let missing: string | null = process.env["PYHESSIAN_DIR"] ? null : "PYHESSIAN_DIR is not set";
// One thread, and PyTorch's BLAS checked before a time ratio is formed against it (bench/torch-blas.ts).
const side = missing ? null : torchEnvironment("/usr/bin/python3");
const PYTHON_ENV = side?.env ?? {};
const fairness = side ? judge(side.report, cpuFlags()) : null;
if (side?.note) console.log(side.note);
if (fairness) console.log(`${fairness.fair ? "" : "NO RATIOS: "}${fairness.says}`);

function pyhessian(
  c: Case,
  probes: number,
  steps: number,
  seed: number,
  rounds: number,
): PyHessianOut | null {
  if (missing) return null;
  const spec = { ...c, iter: steps, n_v: probes, seed, rounds };
  const r = spawnSync("/usr/bin/python3", [script], {
    input: JSON.stringify(spec),
    env: PYTHON_ENV,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) {
    missing = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n").pop()!;
    return null;
  }
  return JSON.parse(r.stdout) as PyHessianOut;
}

const median = (xs: number[]) => spread(xs).median;

console.log(
  "\nSpectral density (stochastic Lanczos quadrature) against the exact spectrum of a dense Hessian",
);
console.log(
  `exact: PyTorch ${golden.torch}, torch.autograd.functional.hessian + eigvalsh; W1 and |top node − λmax| are medians over ${SEEDS.length} probe seeds\n`,
);
let commit = "";
for (const c of golden.cases.filter((c) => c.point === "init" || c.name === "tanh-mse")) {
  const { f, theta } = caseObjective(c);
  const exact = c.eigenvalues;
  const lambdaMax = exact[exact.length - 1]!;
  const spreadOf = lambdaMax - exact[0]!;
  console.log(
    `${c.name} at ${c.point}: ${f.dim} parameters, ${c.rows} rows, λ in [${exact[0]!.toFixed(4)}, ${lambdaMax.toFixed(4)}]`,
  );
  for (const [probes, steps] of [
    [1, 100],
    [10, 100],
  ] as const) {
    const ours = SEEDS.map((seed) => {
      const d = spectralDensity(hessianOperator(f, theta), { probes, steps, seed });
      const m = densityMeasure(d);
      return { w1: wasserstein1(m, { x: exact }), top: Math.abs(Math.max(...m.x) - lambdaMax), hvps: d.hvps };
    });
    const theirs = SEEDS.map((seed) => pyhessian(c, probes, steps, seed, 1));
    const line = (who: string, w1: number[], top: number[], hvps: number) =>
      `  ${who.padEnd(11)} ${String(probes).padStart(2)} × ${steps} steps: ${String(hvps).padStart(5)} HVPs, W1 ${median(w1).toExponential(2)} (${((median(w1) / spreadOf) * 100).toFixed(2)}% of the spread), |top − λmax| ${median(top).toExponential(1)}`;
    console.log(
      line(
        "overshoot",
        ours.map((o) => o.w1),
        ours.map((o) => o.top),
        ours[0]!.hvps,
      ),
    );
    if (theirs.every((t) => t !== null)) {
      const t = theirs as PyHessianOut[];
      commit = t[0]!.pyhessian_commit;
      const measures = t.map((o) => ({
        x: o.eigen.flat(),
        w: o.weight.flat().map((v) => v / o.eigen.length),
      }));
      console.log(
        line(
          "PyHessian",
          measures.map((m) => wasserstein1(m, { x: exact })),
          measures.map((m) => Math.abs(Math.max(...m.x) - lambdaMax)),
          t[0]!.hvps,
        ),
      );
      // Time: one call a side per round, interleaved; PyHessian's from inside its process.
      const [a, b] = await interleave(ROUNDS, [
        () => {
          const t0 = performance.now();
          spectralDensity(hessianOperator(f, theta), { probes, steps, seed: 0 });
          return performance.now() - t0;
        },
        () => 1000 * pyhessian(c, probes, steps, 0, 1)!.seconds[0]!,
      ]);
      console.log(
        `  time of one call: overshoot ${fmtSpread(spread(a!), 1)} ms, PyHessian ${fmtSpread(spread(b!), 1)} ms; ${fairness?.fair ? `overshoot/PyHessian ${fmtSpread(spread(ratios(a!, b!)), 2)}×` : "no ratio (PyTorch's BLAS, above)"}`,
      );
    }
  }
}
console.log(
  missing
    ? `\nPyHessian: not run (${missing}); set PYHESSIAN_DIR to a checkout of github.com/amirgholami/PyHessian to measure it beside`
    : `\nPyHessian ${commit.slice(0, 12)}, float64 (its tridiagonal T too: torch's default dtype set to float64 around the call), torch one thread.`,
);
