// Seeded random expressions for the fuzz test (test/fuzz/expressions.test.ts, 10⁴ a CI run) and
// the larger corpus (scripts/fuzz-expressions.ts): + − × ÷, small powers, unary minus and the
// functions, over x and y, kept inside their domains (log and sqrt of 1 + u², division by 1 + u²).
// Each case is compared at two points in [−1.5, 1.5]² with mathjs's value and with the jet's exact
// gradient and Hessian (test/fuzz/jet.ts).
import { compile } from "mathjs/number";
import type { Rng } from "../../src/core/rng.js";
import { compileExpression } from "../../src/objectives/expression.js";
import { jetOf } from "./jet.js";

const UNARY = ["sin", "cos", "exp", "tanh", "atan", "sigmoid", "softplus"] as const;

export function randomExpression(rng: Rng, depth = 4): string {
  const leaf = () => {
    const r = rng.uniform();
    if (r < 0.55) return rng.uniform() < 0.5 ? "x" : "y";
    if (r < 0.85) return String(1 + Math.floor(rng.uniform() * 5));
    const v = Math.round(rng.uniform() * 40) / 10 - 2;
    return v < 0 ? `(${v.toFixed(1)})` : v.toFixed(1);
  };
  const go = (d: number): string => {
    if (d === 0 || rng.uniform() < 0.25) return leaf();
    const r = rng.uniform();
    const a = () => go(d - 1);
    if (r < 0.18) return `(${a()} + ${a()})`;
    if (r < 0.3) return `(${a()} - ${a()})`;
    if (r < 0.48) return `${a()} * ${a()}`;
    if (r < 0.56) return `${a()} / (1 + (${a()})^2)`;
    if (r < 0.64) return `(${a()})^${2 + Math.floor(rng.uniform() * 2)}`;
    if (r < 0.68) return `-(${a()})`;
    if (r < 0.74) return `log(1 + (${a()})^2)`;
    if (r < 0.78) return `sqrt(1 + (${a()})^2)`;
    return `${UNARY[Math.floor(rng.uniform() * UNARY.length)]}(${a()})`;
  };
  return go(depth);
}

/**
 * The wide family: large powers, exponentials and their quotients, at points far from 0, where the
 * value and its derivatives are ordinary numbers but a square of an intermediate is not (the
 * quotient rule's b², log of 1/x^100): log(c/x^k), log(x^k/y^j), c/(x^k)·y^j, sqrt(x^k + y^j),
 * log(1/exp(k·x)), … summed or multiplied in pairs.
 */
export function randomWideExpression(rng: Rng): string {
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const v = () => (rng.uniform() < 0.5 ? "x" : "y");
  const power = () => `${v()}^${int(20, 110)}`;
  const term = (): string => {
    switch (int(0, 7)) {
      case 0:
        return `log(${int(1, 9)}/${power()})`;
      case 1:
        return `log(${power()}/${power()})`;
      case 2:
        return `${int(1, 9)}/(${power()})*${v()}^${int(1, 3)}`;
      case 3:
        return `sqrt(${power()} + ${power()})/${v()}^${int(20, 60)}`;
      case 4:
        return `log(1/exp(${int(5, 25)}*${v()}))`;
      case 5:
        return `log(${power()} + ${power()})`;
      case 6:
        return `exp(${int(5, 25)}*${v()})/exp(${int(5, 25)}*${v()})`;
      default:
        return `atan(${power()})*${v()}`;
    }
  };
  const r = rng.uniform();
  if (r < 0.4) return term();
  return `${term()} ${r < 0.7 ? "+" : "*"} ${term()}`;
}

export interface FuzzFamily {
  readonly expression: (rng: Rng) => string;
  /** One coordinate of a point. */
  readonly coordinate: (rng: Rng) => number;
}

/** The default family: depth-4 trees at points in [−1.5, 1.5]². */
export const SMALL: FuzzFamily = {
  expression: (rng) => randomExpression(rng),
  coordinate: (rng) => 3 * rng.uniform() - 1.5,
};

/** The wide family at points in [1.5, 8]²: x^110 reaches 1e99, its square of a square overflows. */
export const WIDE: FuzzFamily = {
  expression: randomWideExpression,
  coordinate: (rng) => 1.5 + 6.5 * rng.uniform(),
};

export interface FuzzCounts {
  cases: number;
  /**
   * Points where the reference (mathjs's value or the jet) is not finite: skipped, not compared.
   * Where the reference is finite and we are not, the case fails.
   */
  nonFinite: number;
  compared: number;
  worstValue: number;
  worstGradient: number;
  worstHessian: number;
  /** Our compile, value, gradient and Hessian of the slowest case. */
  slowestMs: number;
  /** The first case past a tolerance, if any. */
  failure: string | null;
}

const TOLERANCE = { value: 1e-12, gradient: 1e-10, hessian: 1e-9 };

export function fuzz(rng: Rng, n: number, family: FuzzFamily = SMALL): FuzzCounts {
  const c: FuzzCounts = {
    cases: 0,
    nonFinite: 0,
    compared: 0,
    worstValue: 0,
    worstGradient: 0,
    worstHessian: 0,
    slowestMs: 0,
    failure: null,
  };
  const rel = (a: number, b: number, scale: number) => Math.abs(a - b) / Math.max(1, scale);
  for (let k = 0; k < n; k++) {
    let text = family.expression(rng);
    // An objective needs a variable (a constant expression is refused by design).
    while (!/\b[xy]\b/.test(text)) text = family.expression(rng);
    // mathjs has no sigmoid or softplus: its scope gets them, for the value only.
    const value = compile(text);
    const t0 = performance.now();
    const f = compileExpression(text);
    const names = f.names;
    const m = names.length;
    let ms = performance.now() - t0;
    c.cases++;
    for (let p = 0; p < 2; p++) {
      const at = Float64Array.from(names, () => family.coordinate(rng));
      const t1 = performance.now();
      const g = new Float64Array(m);
      const got = f.gradient(at, g);
      const hess = new Float64Array(m * m);
      const e = new Float64Array(m);
      const col = new Float64Array(m);
      for (let j = 0; j < m; j++) {
        e.fill(0);
        e[j] = 1;
        f.hessianVector(at, e, col);
        for (let i = 0; i < m; i++) hess[i * m + j] = col[i]!;
      }
      ms += performance.now() - t1;
      const scope: Record<string, unknown> = {
        sigmoid: (t: number) => 1 / (1 + Math.exp(-t)),
        softplus: (t: number) => Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t))),
      };
      names.forEach((v, i) => {
        scope[v] = at[i]!;
      });
      const want = value.evaluate(scope) as number;
      const jet = jetOf(text, names, at);
      if (![want, jet.v, ...jet.g, ...jet.h].every(Number.isFinite)) {
        c.nonFinite++;
        continue;
      }
      if (![got, ...g, ...hess].every(Number.isFinite)) {
        c.failure ??= `${text} at (${[...at].join(", ")}): ours not finite where the jet is (value ${got}, gradient ${[...g]}, Hessian ${[...hess]})`;
        continue;
      }
      c.compared++;
      const gScale = Math.max(...jet.g.map(Math.abs));
      const hScale = Math.max(...jet.h.map(Math.abs));
      const ev = rel(got, want, Math.abs(want));
      const eg = Math.max(...jet.g.map((w, i) => rel(g[i]!, w, gScale)));
      const eh = Math.max(...jet.h.map((w, i) => rel(hess[i]!, w, hScale)));
      c.worstValue = Math.max(c.worstValue, ev);
      c.worstGradient = Math.max(c.worstGradient, eg);
      c.worstHessian = Math.max(c.worstHessian, eh);
      if (!c.failure && (ev > TOLERANCE.value || eg > TOLERANCE.gradient || eh > TOLERANCE.hessian))
        c.failure = `${text} at (${[...at].join(", ")}): value ${ev}, gradient ${eg}, Hessian ${eh}`;
    }
    c.slowestMs = Math.max(c.slowestMs, ms);
  }
  return c;
}
