// npm run bench: a typed expression's value and gradient, three ways, inside the same loop.
//
// Every side runs the same 50,000 steps of Adam (PyTorch's update, lr 1e-3) on Rosenbrock from
// (−1.2, 1), and every step computes f and ∇f at the current point:
//   overshoot  — the expression compiled by overshoot (whitelisted AST → symbolic gradient →
//                generated JavaScript), called as objective.gradient(x, g)
//   mathjs     — mathjs's own compiled expressions: f, ∂f/∂x and ∂f/∂y from mathjs.derivative,
//                each compiled once, evaluated with a scope every step
//   by hand    — f and ∇f written out in JavaScript (the floor)
// The update and the loop are the same code for all three.
// 7 interleaved rounds after a warm-up round, median (min–max), ratios formed round by round.
// The runner with its records against a hand loop doing the same work is bench/runner.ts.
import { compile, derivative } from "mathjs/number";
import { compileExpression } from "../src/objectives/expression.js";
import { fmtSpread, interleave, ratios, spread } from "./ab.js";

const EXPR = "(1-x)^2 + 100*(y-x^2)^2";
const STEPS = 50_000;
const ROUNDS = 7;

/** PyTorch's Adam (bias-corrected) on (x, y), with `fg` filling the gradient and returning f. */
function adam(fg: (p: Float64Array, g: Float64Array) => number): { x: number; f: number } {
  const p = Float64Array.of(-1.2, 1);
  const g = new Float64Array(2);
  const m = new Float64Array(2);
  const v = new Float64Array(2);
  let f = 0;
  for (let t = 1; t <= STEPS; t++) {
    f = fg(p, g);
    const bc1 = 1 - 0.9 ** t;
    const bc2 = Math.sqrt(1 - 0.999 ** t);
    for (let i = 0; i < 2; i++) {
      m[i] = 0.9 * m[i]! + 0.1 * g[i]!;
      v[i] = 0.999 * v[i]! + 0.001 * (g[i]! * g[i]!);
      p[i] = p[i]! - (1e-3 / bc1) * (m[i]! / (Math.sqrt(v[i]!) / bc2 + 1e-8));
    }
  }
  return { x: p[0]!, f };
}

const objective = compileExpression(EXPR);
const [cf, cdx, cdy] = [EXPR, derivative(EXPR, "x").toString(), derivative(EXPR, "y").toString()].map((e) =>
  compile(e),
);
const scope = { x: 0, y: 0 };
const sides = {
  overshoot: (p: Float64Array, g: Float64Array) => objective.gradient(p, g),
  mathjs: (p: Float64Array, g: Float64Array) => {
    scope.x = p[0]!;
    scope.y = p[1]!;
    g[0] = cdx!.evaluate(scope) as number;
    g[1] = cdy!.evaluate(scope) as number;
    return cf!.evaluate(scope) as number;
  },
  "by hand": (p: Float64Array, g: Float64Array) => {
    const [x, y] = [p[0]!, p[1]!];
    const r = y - x * x;
    g[0] = -2 * (1 - x) - 400 * x * r;
    g[1] = 200 * r;
    return (1 - x) ** 2 + 100 * r * r;
  },
};

// The same work: the three compute the same f and ∇f (checked at 1,000 points to 1e-12 of the
// gradient's size; the formulas differ, so their last bits do), and end at the same point (to
// 1e-6: Adam divides by √v, so in the last steps rounding in a tiny gradient moves x by ~lr).
let worst = 0;
for (let k = 0; k < 1000; k++) {
  const p = Float64Array.of(-2 + 4 * ((k * 0.618) % 1), -1 + 3 * ((k * 0.414) % 1));
  const ref = new Float64Array(2);
  const fr = sides["by hand"](p, ref);
  for (const fg of [sides.overshoot, sides.mathjs]) {
    const g = new Float64Array(2);
    const f = fg(p, g);
    const scale = Math.max(Math.abs(fr), Math.hypot(ref[0]!, ref[1]!));
    worst = Math.max(
      worst,
      Math.abs(f - fr) / scale,
      Math.abs(g[0]! - ref[0]!) / scale,
      Math.abs(g[1]! - ref[1]!) / scale,
    );
  }
}
const ends = Object.values(sides).map((fg) => adam(fg));
const agree = worst <= 1e-12 && ends.every((e) => Math.abs(e.x - ends[2]!.x) <= 1e-6);
const ms = await interleave(
  ROUNDS,
  Object.values(sides).map((fg) => () => {
    const t0 = performance.now();
    adam(fg);
    return performance.now() - t0;
  }),
);
console.log(
  `\nA typed expression's f and ∇f every step: Adam on ${EXPR} from (−1.2, 1), ${STEPS.toLocaleString("en-US")} steps;`,
);
console.log(`ms per run, median (min–max) of ${ROUNDS} interleaved rounds\n`);
Object.keys(sides).forEach((name, i) => {
  const s = spread(ms[i]!);
  const rate = Math.round((STEPS / s.median) * 1000).toLocaleString("en-US");
  console.log(`  ${name.padEnd(10)} ${fmtSpread(s, 1).padStart(24)} ms   ${rate.padStart(12)} steps/s`);
});
console.log(
  `\n  mathjs / overshoot:  ${fmtSpread(spread(ratios(ms[1]!, ms[0]!)), 1)}×   overshoot / by hand: ${fmtSpread(spread(ratios(ms[0]!, ms[2]!)))}×`,
);
console.log(
  `  same f and ∇f (worst ${worst.toExponential(1)} of the scale at 1,000 points) and end point (x to 1e-6): ${agree ? "yes" : "NO"} (${ends.map((e) => e.x.toFixed(9)).join(", ")})`,
);
if (!agree) process.exitCode = 1;
