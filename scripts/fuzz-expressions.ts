// The larger expression corpus (issue 14): `npx tsx scripts/fuzz-expressions.ts [N] [SEED]`, by
// default 100,000 seeded random expressions, each at two points: values against mathjs's,
// gradients and Hessians against the exact second-order jet (test/fuzz/jet.ts). Prints the counts;
// exits 1 on the first case past a tolerance.
import { createRng } from "../src/core/rng.js";
import { fuzz } from "../test/fuzz/expressions.js";

const n = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isInteger(n) || n < 1 || !Number.isFinite(seed)) {
  console.error("usage: npx tsx scripts/fuzz-expressions.ts [N ≥ 1] [SEED]");
  process.exit(2);
}
const t0 = performance.now();
const c = fuzz(createRng(seed), n);
console.log(
  `${c.cases.toLocaleString("en-US")} expressions (seed ${seed}), ${c.compared.toLocaleString("en-US")} points compared, ${c.nonFinite} non-finite skipped, in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);
console.log(
  `worst relative error: value ${c.worstValue.toExponential(2)}, gradient ${c.worstGradient.toExponential(2)}, Hessian ${c.worstHessian.toExponential(2)}; slowest case ${c.slowestMs.toFixed(0)} ms`,
);
if (c.failure) {
  console.log(`FAILED: ${c.failure}`);
  process.exitCode = 1;
}
