// npm run bench: speed figures measured side by side in one run, printed with their ratios.
// Adam on Rosenbrock from (−1.2, 1), lr 1e-3, through three paths:
//   overshoot  — the runner with full step records (x, f, ∇f, ΔC, first- and second-order predictions)
//   mathjs     — mathjs evaluating the expression and its symbolic gradient every step
//                (as `evaluate(text, scope)`, and as pre-compiled expressions)
//   hand loop  — a hand-written JavaScript loop of the same Adam update, no records
import { compile, derivative, evaluate } from "mathjs/number";
import { compileExpression } from "../src/objectives/expression.js";
import { run, Stepper } from "../src/run/runner.js";

const EXPR = "(1-x)^2 + 100*(y-x^2)^2";
const LR = 1e-3;
const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;

function timeIt(
  label: string,
  steps: number,
  body: (steps: number) => number,
): { label: string; perSecond: number; check: number } {
  body(Math.min(steps, 2000)); // warm-up: let the JIT compile the hot path
  let best = Number.POSITIVE_INFINITY;
  let check = 0;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = process.hrtime.bigint();
    check = body(steps);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    best = Math.min(best, dt);
  }
  return { label, perSecond: steps / best, check };
}

function adamLoop(grad: (x: number, y: number, g: Float64Array) => void, steps: number): number {
  let x = -1.2;
  let y = 1;
  const g = new Float64Array(2);
  let m0 = 0;
  let m1 = 0;
  let v0 = 0;
  let v1 = 0;
  for (let t = 1; t <= steps; t++) {
    grad(x, y, g);
    m0 = B1 * m0 + (1 - B1) * g[0]!;
    m1 = B1 * m1 + (1 - B1) * g[1]!;
    v0 = B2 * v0 + (1 - B2) * g[0]! * g[0]!;
    v1 = B2 * v1 + (1 - B2) * g[1]! * g[1]!;
    const bc1 = 1 - B1 ** t;
    const bc2 = Math.sqrt(1 - B2 ** t);
    x -= (LR / bc1) * (m0 / (Math.sqrt(v0) / bc2 + EPS));
    y -= (LR / bc1) * (m1 / (Math.sqrt(v1) / bc2 + EPS));
  }
  return x;
}

const objective = compileExpression(EXPR);
// Runs of 10,000 steps, the length of a typical run, repeated: every record is kept in the trace.
const RUN_LENGTH = 10_000;
const overshoot = timeIt("overshoot runner (10k-step runs, records)", 200_000, (n) => {
  let x = 0;
  for (let done = 0; done < n; done += RUN_LENGTH) {
    const steps = Math.min(RUN_LENGTH, n - done);
    const r = run({ objective, optimizer: { name: "adam", lr: LR }, x0: [-1.2, 1], steps, tolerance: 0 });
    x = r.trace[r.trace.length - 1]!.x[0]!;
  }
  return x;
});

// The same records, consumed as they come and not kept: what retaining them costs is garbage
// collection of three objects per step, shown by the difference between these two rows.
const streaming = timeIt("overshoot stepper (records not kept)", 200_000, (n) => {
  const s = new Stepper({
    objective,
    optimizer: { name: "adam", lr: LR },
    x0: [-1.2, 1],
    steps: n,
    tolerance: 0,
  });
  let last = s.next()!;
  for (let r = s.next(); r !== null; r = s.next()) last = r;
  return last.x[0]!;
});

const dx = derivative(EXPR, "x").toString();
const dy = derivative(EXPR, "y").toString();
const mathjsEvaluate = timeIt("mathjs evaluate(text) per step", 5_000, (n) =>
  adamLoop((x, y, g) => {
    evaluate(EXPR, { x, y });
    g[0] = evaluate(dx, { x, y }) as number;
    g[1] = evaluate(dy, { x, y }) as number;
  }, n),
);
const [cf, cdx, cdy] = [compile(EXPR), compile(dx), compile(dy)];
const mathjsCompiled = timeIt("mathjs compiled .evaluate per step", 50_000, (n) =>
  adamLoop((x, y, g) => {
    cf.evaluate({ x, y });
    g[0] = cdx.evaluate({ x, y }) as number;
    g[1] = cdy.evaluate({ x, y }) as number;
  }, n),
);
const hand = timeIt("hand-written JS loop", 2_000_000, (n) =>
  adamLoop((x, y, g) => {
    const r = y - x * x;
    g[0] = -2 * (1 - x) - 400 * x * r;
    g[1] = 200 * r;
  }, n),
);

const rows = [overshoot, streaming, mathjsEvaluate, mathjsCompiled, hand];
console.log("Adam on Rosenbrock from (−1.2, 1), lr 1e-3 — steps per second (best of 3)\n");
for (const r of rows)
  console.log(`  ${r.label.padEnd(38)} ${Math.round(r.perSecond).toLocaleString("en-US").padStart(12)}`);
// The speed figures only count if both paths compute the same thing: same steps, same end point.
const CHECK_STEPS = 10_000;
const runnerEnd = (() => {
  const r = run({
    objective,
    optimizer: { name: "adam", lr: LR },
    x0: [-1.2, 1],
    steps: CHECK_STEPS,
    tolerance: 0,
  });
  return r.trace[r.trace.length - 1]!.x[0]!;
})();
const handEnd = adamLoop((x, y, g) => {
  const r = y - x * x;
  g[0] = -2 * (1 - x) - 400 * x * r;
  g[1] = 200 * r;
}, CHECK_STEPS);
const agree = Math.abs(runnerEnd - handEnd) <= 1e-9 * Math.abs(handEnd);
console.log("\nratios");
console.log(
  `  overshoot / mathjs evaluate(text)   ${(overshoot.perSecond / mathjsEvaluate.perSecond).toFixed(1)}×  (expect well over 20×)`,
);
console.log(
  `  overshoot / mathjs compiled         ${(overshoot.perSecond / mathjsCompiled.perSecond).toFixed(1)}×`,
);
console.log(
  `  hand loop / overshoot               ${(hand.perSecond / overshoot.perSecond).toFixed(2)}×  (aim: within 2×)`,
);
console.log(`  hand loop / stepper, not kept       ${(hand.perSecond / streaming.perSecond).toFixed(2)}×`);
console.log(
  `\nsame x after ${CHECK_STEPS.toLocaleString("en-US")} steps, runner vs hand loop: ${agree ? "yes" : "NO"} (${runnerEnd} vs ${handEnd})`,
);
if (!agree) process.exitCode = 1;
