import { describe, expect, it } from "vitest";
import { centralGradient, centralHessian, centralHessianVector } from "../core/finite-differences.js";
import { createRng } from "../core/rng.js";
import {
  compileExpression,
  EXPRESSION_FUNCTIONS,
  ExpressionError,
  MAX_EXPRESSION_LENGTH,
  MAX_TREE_DEPTH,
  MAX_VARIABLES,
} from "./expression.js";

/** max |a − b| / max(1, |b|): relative where values are large, absolute near zero. */
function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return worst;
}

// Each expression with a box its test points are drawn from (away from kinks and singularities).
const CASES: readonly [string, number, number][] = [
  ["(1-x)^2 + 100*(y-x^2)^2", -1.5, 1.5],
  ["x^2", -2, 2],
  ["sin(x)*cos(y) + tan(x)/3", -1, 1],
  ["exp(-x^2-y^2) + 2^x", -1.5, 1.5],
  ["log(1+x^2) + sqrt(y^2+1)", -2, 2],
  ["tanh(x)*sinh(y)/cosh(x)", -1.5, 1.5],
  ["atan(x*y) + log1p(x^2)", -2, 2],
  ["sigmoid(x) + softplus(3*y) - sigmoid(-2*x*y)", -3, 3],
  ["x^y + y^x", 0.5, 2],
  ["abs(x-5) + abs(y+5) + x^2", -1, 1],
  ["max(x, y+3)^2 + min(x, y-3)", -1, 1],
  ["pi*e*x - x^3 + +y - -z", -2, 2],
  ["2x y + 3(x - z)^2 / (1 + y^2)", -2, 2],
  ["log(x) / sqrt(y) + x^-1.5", 0.5, 3],
];

describe("compileExpression: derivatives against central finite differences", () => {
  it.each(CASES)("%s", (text, lo, hi) => {
    const f = compileExpression(text);
    const n = f.dim;
    const rng = createRng(7);
    const g = new Float64Array(n);
    const hv = new Float64Array(n);
    const h = new Float64Array(n * n);
    for (let trial = 0; trial < 5; trial++) {
      const x = Float64Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
      const v = Float64Array.from({ length: n }, () => rng.normal());
      const fx = f.gradient(x, g);
      expect(fx).toBe(f.value(x));
      expect(maxError(g, centralGradient(f.value, x))).toBeLessThan(1e-6);
      f.hessianVector(x, v, hv);
      expect(maxError(hv, centralHessianVector(f.gradient, x, v))).toBeLessThan(1e-5);
      f.hessian(x, h);
      expect(maxError(h, centralHessian(f.gradient, x))).toBeLessThan(1e-5);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(h[i * n + j]).toBe(h[j * n + i]);
    }
  });

  it("covers every whitelisted function", () => {
    const used = CASES.map((c) => c[0]).join(" ");
    for (const name of EXPRESSION_FUNCTIONS) expect(used).toMatch(new RegExp(`\\b${name}\\(`));
  });

  it("gives exact values where the closed form is known", () => {
    const square = compileExpression("x^2");
    const h = new Float64Array(1);
    square.hessian(Float64Array.of(-1), h);
    expect(h[0]).toBe(2);
    const g = new Float64Array(1);
    expect(square.gradient(Float64Array.of(-1), g)).toBe(1);
    expect(g[0]).toBe(-2);
    const rb = compileExpression("(1-x)^2 + 100*(y-x^2)^2");
    const g2 = new Float64Array(2);
    const h2 = new Float64Array(4);
    // ∇f(−1.2, 1) = (−215.6, −88), H = [[1330, 480], [480, 200]]
    expect(rb.gradient(Float64Array.of(-1.2, 1), g2)).toBeCloseTo(24.2, 12);
    expect(Array.from(g2).map((u) => Number(u.toFixed(9)))).toEqual([-215.6, -88]);
    rb.hessian(Float64Array.of(-1.2, 1), h2);
    expect(Array.from(h2).map((u) => Number(u.toFixed(9)))).toEqual([1330, 480, 480, 200]);
  });

  it("takes second derivatives without squaring a quotient's denominator (exact where b² overflows)", () => {
    // f″ in closed form: log(1/x^100) = −100·log x → 100/x²; log(1/exp(x)) = −x → 0;
    // log(2/x^60) → 60/x². The old rule a'/b − a·b'/b² gave −199, −2 and NaN.
    const h = new Float64Array(1);
    const cases: [string, number, number][] = [
      ["log(1/x^100)", 10, 1],
      ["log(1/exp(x))", 200, 0],
      ["log(2/x^60)", 100, 0.006],
      ["1/x^100", 10, 10100 * 1e-102],
    ];
    for (const [text, at, want] of cases) {
      compileExpression(text).hessian(Float64Array.of(at), h);
      expect(Math.abs(h[0]! - want), text).toBeLessThanOrEqual(1e-12 * Math.max(Math.abs(want), 1e-300));
    }
  });

  it("evaluates sigmoid and softplus stably far out", () => {
    const f = compileExpression("sigmoid(x) + softplus(x)");
    expect(f.value(Float64Array.of(-800))).toBe(0);
    expect(f.value(Float64Array.of(800))).toBe(801);
  });
});

describe("compileExpression: variables", () => {
  it("orders variables alphabetically by default", () => {
    const f = compileExpression("y^2 + 3*x + b");
    expect(f.names).toEqual(["b", "x", "y"]);
    const g = new Float64Array(3);
    f.gradient(Float64Array.of(0, 0, 2), g);
    expect(Array.from(g)).toEqual([1, 3, 4]);
  });

  it("follows vars when given, including unused ones", () => {
    const f = compileExpression("x*y^2", { vars: ["y", "x", "z"] });
    expect(f.names).toEqual(["y", "x", "z"]);
    const g = new Float64Array(3);
    f.gradient(Float64Array.of(3, 2, 9), g);
    expect(Array.from(g)).toEqual([12, 9, 0]);
  });

  it("reads pi and e as constants", () => {
    const f = compileExpression("pi*x + e");
    expect(f.names).toEqual(["x"]);
    expect(f.value(Float64Array.of(1))).toBe(Math.PI + Math.E);
  });
});

describe("compileExpression: names that exist on Object.prototype", () => {
  it("are variables like any other (or reserved), never the prototype's functions", () => {
    for (const name of Object.getOwnPropertyNames(Object.prototype)) {
      let f: ReturnType<typeof compileExpression>;
      try {
        f = compileExpression(`x + 2*sin(${name})`);
      } catch (e) {
        // constructor and __proto__ are refused as reserved names, with the position.
        expect((e as Error).message).toMatch(/is a reserved name, not a variable, at position/);
        continue;
      }
      expect([...f.names].sort()).toEqual([name, "x"].sort());
      const at = Float64Array.from(f.names.map((n) => (n === "x" ? 1 : 0.5)));
      expect(f.value(at)).toBeCloseTo(1 + 2 * Math.sin(0.5), 14);
      const g = new Float64Array(2);
      f.gradient(at, g);
      expect(g[f.names.indexOf(name)]).toBeCloseTo(2 * Math.cos(0.5), 14);
    }
  });
});

describe("compileExpression: refused input names the problem and where", () => {
  const refused: readonly [string, string, RegExp, number | null][] = [
    ["syntax error", "x^2 +", /syntax error at position 6: unexpected end/, 6],
    ["unbalanced parenthesis", "(x", /syntax error at position 3: parenthesis \) expected/, 3],
    ["stray parenthesis", "(1-x)^2 + )", /syntax error at position 11/, 11],
    ["assignment", "x = 1", /assignment '=' is not allowed/, 3],
    ["function definition", "f(x) = x^2", /function definition is not allowed/, 6],
    ["constructor", "constructor", /'constructor' is a reserved name/, 1],
    ["__proto__", "x + __proto__", /'__proto__' is a reserved name/, 5],
    ["property access", "x.y", /property or index access is not allowed/, 2],
    ["property access to constructor", "x.constructor", /property or index access is not allowed/, 2],
    ["index", "x[1]", /property or index access is not allowed/, 2],
    ["string", 'x + "a"', /strings are not allowed/, 5],
    ["matrix", "[1,2]", /matrix or array '\[…\]' is not allowed/, 1],
    ["object", "{a: x}", /object '\{…\}' is not allowed/, 1],
    ["unknown function", "x + foo(x)", /unknown function foo \(functions: sin, cos/, 5],
    ["comparison", "x > 1", /operator '>' is not allowed/, 3],
    ["factorial", "x!", /operator '!' is not allowed/, 2],
    ["modulo", "x mod 2", /operator 'mod' is not allowed/, 3],
    ["conditional", "x ? 1 : 2", /conditional/, 3],
    ["range", "1:x", /range/, 2],
    ["two expressions", "x; y", /more than one expression/, 2],
    ["boolean", "x + true", /'true' is a reserved name|true is not allowed/, 5],
    ["non-finite number", "1e400*x", /the number 1e400 is not finite/, 1],
    ["function without call", "sin + x", /sin is a function: call it as sin\(…\)/, 1],
    ["wrong arity", "sin(x, 2)", /sin takes one argument, got 2/, 1],
    ["min of one", "min(x)", /min takes two or more arguments/, 1],
    ["empty", "  ", /empty expression/, null],
    ["no variables", "2 + 3", /no variables/, null],
  ];
  it.each(refused)("%s: %s", (_, text, message, position) => {
    let error: unknown;
    try {
      compileExpression(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ExpressionError);
    expect((error as ExpressionError).message).toMatch(message);
    expect((error as ExpressionError).position).toBe(position);
    if (position !== null) expect((error as ExpressionError).message).toContain(`position ${position}`);
  });

  it("unknown variable when vars are given", () => {
    expect(() => compileExpression("x + y", { vars: ["x"] })).toThrow(
      /unknown variable y \(variables: x\), at position 5/,
    );
  });

  it("too long", () => {
    const text = `x${"+x".repeat(MAX_EXPRESSION_LENGTH / 2)}`;
    expect(text.length).toBe(MAX_EXPRESSION_LENGTH + 1);
    expect(() => compileExpression(text)).toThrow(/too long: 2001 characters \(the limit is 2000\)/);
  });

  it("nested too deeply", () => {
    const text = `${"(".repeat(200)}x${")".repeat(200)}`;
    expect(() => compileExpression(text)).toThrow(
      /nested too deeply: more than 64 levels of brackets, at position 65/,
    );
    const deepCalls = `${"sin(".repeat(100)}x${")".repeat(100)}`;
    expect(() => compileExpression(deepCalls)).toThrow(/nested too deeply/);
  });

  it("a long run of signs or powers: refused by depth before any recursion (no stack overflow)", () => {
    for (const text of [`${"-".repeat(1999)}x`, `${"+".repeat(1999)}x`, `${"x^-".repeat(666)}x`]) {
      const t0 = performance.now();
      expect(() => compileExpression(text)).toThrow(
        new RegExp(`nested too deeply: more than ${MAX_TREE_DEPTH} levels of operators`),
      );
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    // Within the depth limit it compiles: 999 powers, and 500 signs that cancel to x.
    expect(compileExpression(`${"x^".repeat(499)}x`).dim).toBe(1);
    expect(compileExpression(`${"-".repeat(500)}x`).value(Float64Array.of(3))).toBe(3);
  });

  it("too many variables, or derivatives too large: one line, at once, not minutes and gigabytes", () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `x${i}`);
    const t0 = performance.now();
    expect(() => compileExpression(names(200).join("*"))).toThrow(
      new RegExp(
        `too many variables: x\\d+ would be the ${MAX_VARIABLES + 1}th \\(the limit is ${MAX_VARIABLES}\\), at position \\d+`,
      ),
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(() => compileExpression("x", { vars: names(MAX_VARIABLES + 1) })).toThrow(
      /invalid vars: 65 variables \(the limit is 64\)/,
    );
    // 64 variables are fine; seven sines of their product exceed the term budget.
    const product = names(MAX_VARIABLES).join("*");
    const f = compileExpression(product);
    const g = new Float64Array(MAX_VARIABLES);
    f.gradient(new Float64Array(MAX_VARIABLES).fill(1), g);
    expect([...g].every((u) => u === 1)).toBe(true);
    const seven = Array.from({ length: 7 }, (_, k) => `sin(${k + 1}*${product})`).join("*");
    expect(() => compileExpression(seven)).toThrow(
      /too complex: its derivatives need more than 150,000 distinct terms/,
    );
  }, 30_000);

  it("vars that are not plain names never reach the code generator", () => {
    expect(() => compileExpression("x", { vars: ["x; process.exit()"] })).toThrow(
      /'x; process.exit\(\)' is not a variable name/,
    );
    expect(() => compileExpression("x", { vars: ["x", "constructor"] })).toThrow(/'constructor' is reserved/);
    expect(() => compileExpression("x", { vars: ["x", "x"] })).toThrow(/'x' is listed twice/);
  });

  it("generated code contains no user text", () => {
    // A variable name that would be harmful as code is only ever an index into x.
    const f = compileExpression("alert_me^2 + process_exit", { vars: ["alert_me", "process_exit"] });
    expect(f.gradient.toString()).not.toMatch(/alert_me|process_exit/);
    expect(f.value.toString()).toMatch(/x\[0\]/);
  });
});
