// The larger expression corpus (issue 14): `npx tsx scripts/fuzz-expressions.ts [N] [SEED]`, by
// default 100,000 seeded random expressions (and 20,000 of the wide family), each at two points: values against mathjs's,
// gradients and Hessians against the exact second-order jet (test/fuzz/jet.ts). Prints the counts;
// exits 1 on the first case past a tolerance.
import { createRng } from "../src/core/rng.js";
import { fuzz, SMALL, WIDE } from "../test/fuzz/expressions.js";

const n = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isInteger(n) || n < 1 || !Number.isFinite(seed)) {
  console.error("usage: npx tsx scripts/fuzz-expressions.ts [N ≥ 1] [SEED]");
  process.exit(2);
}
// The small family n times, then the wide one (large powers and quotients, issue 14's overflow)
// a fifth as often.
for (const [name, family, count] of [
  ["small", SMALL, n],
  ["wide", WIDE, Math.max(1, Math.round(n / 5))],
] as const) {
  const t0 = performance.now();
  const c = fuzz(createRng(seed), count, family);
  console.log(
    `${name}: ${c.cases.toLocaleString("en-US")} expressions (seed ${seed}), ${c.compared.toLocaleString("en-US")} points compared, ${c.nonFinite} skipped (reference not finite), in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  console.log(
    `  worst relative error: value ${c.worstValue.toExponential(2)}, gradient ${c.worstGradient.toExponential(2)}, Hessian ${c.worstHessian.toExponential(2)}; slowest case ${c.slowestMs.toFixed(0)} ms`,
  );
  if (c.failure) {
    console.log(`  FAILED: ${c.failure}`);
    process.exitCode = 1;
  }
}
