import type { Objective } from "../core/objective.js";
import { ExpressionError } from "./expression-error.js";
import { mathjsParse as parse } from "./mathjs-parse.js";

/**
 * Typed expressions as objectives: "(1-x)^2 + 100*(y-x^2)^2" → value, gradient, Hessian and
 * Hessian-vector product as plain JavaScript functions.
 *
 * mathjs only parses. Its tree is then copied into a small AST of our own, node by node, and
 * anything not on the whitelist is refused with its position. Derivatives are taken on our AST and
 * code is generated from it alone: the user's text never reaches the code generator, so no name,
 * string or property access the user types can become JavaScript.
 */

export const MAX_EXPRESSION_LENGTH = 2000;
/** Deepest nesting of brackets and function calls; deeper text is refused before parsing. */
export const MAX_EXPRESSION_DEPTH = 64;
/**
 * Deepest parse tree: chains such as x^x^…^x or a run of signs nest without brackets. Checked on
 * mathjs's tree without recursion, before anything recursive of ours walks it.
 */
export const MAX_TREE_DEPTH = 1000;
/** Most distinct variables: the Hessian's code grows with their number cubed for a product. */
export const MAX_VARIABLES = 64;
/**
 * Most distinct terms in the expression and its derivatives together (interned nodes): a budget
 * that stops a derivative blowing up in a fraction of a second rather than after minutes and
 * gigabytes: every expression within the length and variable limits compiles or is refused in
 * under a second (the product of 64 variables compiles in about 0.5 s, seven sines of it are
 * refused in 0.4 s).
 */
export const MAX_TERMS = 150_000;

export const EXPRESSION_FUNCTIONS = [
  "sin",
  "cos",
  "tan",
  "exp",
  "log",
  "log1p",
  "sqrt",
  "abs",
  "tanh",
  "sinh",
  "cosh",
  "atan",
  "sigmoid",
  "softplus",
  "min",
  "max",
] as const;
type UserFunction = (typeof EXPRESSION_FUNCTIONS)[number];

// A Map, not an object: a name such as toString or valueOf must not find Object.prototype's.
const CONSTANTS: ReadonlyMap<string, number> = new Map([
  ["pi", Math.PI],
  ["e", Math.E],
]);
/** Names that must never be variables: they mean something to JavaScript or to mathjs. */
const RESERVED = new Set([
  "constructor",
  "__proto__",
  "prototype",
  "Infinity",
  "NaN",
  "undefined",
  "null",
  "true",
  "false",
]);

export { ExpressionError };

export interface CompileOptions {
  /** Variable order (default: alphabetical). Every variable of the expression must be listed. */
  readonly vars?: readonly string[];
}

export interface ExpressionObjective extends Objective {
  readonly expression: string;
  readonly hessian: (x: Float64Array, out: Float64Array) => void;
}

// ── Our AST ─────────────────────────────────────────────────────────────────────────────────────
// Nodes are interned (hash-consed): structurally equal subtrees are one object, so derivatives,
// which repeat subtrees heavily, cost memory and generated code once per distinct subtree.

/** Internal functions: the user's whitelist plus sign (for |u|') and `le` (a ≤ b ? p : q, for min/max). */
type Fn = Exclude<UserFunction, "min" | "max"> | "sign" | "le";

type Node =
  | { readonly id: number; readonly k: "num"; readonly v: number }
  | { readonly id: number; readonly k: "var"; readonly i: number }
  | {
      readonly id: number;
      readonly k: "add" | "sub" | "mul" | "div" | "pow";
      readonly a: Node;
      readonly b: Node;
    }
  | { readonly id: number; readonly k: "neg"; readonly a: Node }
  | { readonly id: number; readonly k: "fn"; readonly f: Fn; readonly args: readonly Node[] };

type Binary = Extract<Node, { a: Node; b: Node }>;

/** Runtime helpers the generated code calls; the same functions fold constants at compile time. */
const HELPERS = {
  sigmoid: (u: number): number => (u >= 0 ? 1 / (1 + Math.exp(-u)) : Math.exp(u) / (1 + Math.exp(u))),
  softplus: (u: number): number => Math.max(u, 0) + Math.log1p(Math.exp(-Math.abs(u))),
};

const EVAL: Readonly<Record<Fn, (...a: number[]) => number>> = {
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  exp: Math.exp,
  log: Math.log,
  log1p: Math.log1p,
  sqrt: Math.sqrt,
  abs: Math.abs,
  tanh: Math.tanh,
  sinh: Math.sinh,
  cosh: Math.cosh,
  atan: Math.atan,
  sign: Math.sign,
  sigmoid: HELPERS.sigmoid,
  softplus: HELPERS.softplus,
  le: (a, b, p, q) => (a! <= b! ? p! : q!),
};

/** The JavaScript each function becomes: fixed strings of ours, never text from the user. */
const CODE: Readonly<Record<Exclude<Fn, "le">, string>> = {
  sin: "M.sin",
  cos: "M.cos",
  tan: "M.tan",
  exp: "M.exp",
  log: "M.log",
  log1p: "M.log1p",
  sqrt: "M.sqrt",
  abs: "M.abs",
  tanh: "M.tanh",
  sinh: "M.sinh",
  cosh: "M.cosh",
  atan: "M.atan",
  sign: "M.sign",
  sigmoid: "H.sigmoid",
  softplus: "H.softplus",
};

class Builder {
  private readonly table = new Map<string, Node>();
  private nextId = 0;

  private intern<T extends Node>(key: string, make: (id: number) => T): T {
    const found = this.table.get(key);
    if (found) return found as T;
    if (this.nextId >= MAX_TERMS)
      throw new ExpressionError(
        `expression too complex: its derivatives need more than ${MAX_TERMS.toLocaleString("en-US")} distinct terms (write it with fewer variables or products)`,
        null,
      );
    const node = make(this.nextId++);
    this.table.set(key, node);
    return node;
  }

  num(v: number): Node {
    return this.intern(`n${Object.is(v, -0) ? "-0" : String(v)}`, (id) => ({ id, k: "num", v }));
  }

  variable(i: number): Node {
    return this.intern(`v${i}`, (id) => ({ id, k: "var", i }));
  }

  private binary(k: Binary["k"], a: Node, b: Node): Node {
    return this.intern(`${k}${a.id},${b.id}`, (id) => ({ id, k, a, b }));
  }

  add(a: Node, b: Node): Node {
    if (a.k === "num" && b.k === "num") return this.num(a.v + b.v);
    if (isZero(a)) return b;
    if (isZero(b)) return a;
    if (b.k === "neg") return this.sub(a, b.a);
    return this.binary("add", a, b);
  }

  sub(a: Node, b: Node): Node {
    if (a.k === "num" && b.k === "num") return this.num(a.v - b.v);
    if (isZero(b)) return a;
    if (isZero(a)) return this.neg(b);
    if (b.k === "neg") return this.add(a, b.a);
    return this.binary("sub", a, b);
  }

  mul(a: Node, b: Node): Node {
    if (a.k === "num" && b.k === "num") return this.num(a.v * b.v);
    // 0·u is taken as 0 even where u is not finite: the standard symbolic convention, and what
    // keeps the derivative of y² with respect to x a plain 0.
    if (isZero(a) || isZero(b)) return this.num(0);
    if (isOne(a)) return b;
    if (isOne(b)) return a;
    if (a.k === "num" && a.v === -1) return this.neg(b);
    if (b.k === "num" && b.v === -1) return this.neg(a);
    if (a.k === "neg") return this.neg(this.mul(a.a, b));
    if (b.k === "neg") return this.neg(this.mul(a, b.a));
    if (b.k === "num" && a.k !== "num") return this.binary("mul", b, a); // constants first, for sharing
    return this.binary("mul", a, b);
  }

  div(a: Node, b: Node): Node {
    if (a.k === "num" && b.k === "num") return this.num(a.v / b.v);
    if (isOne(b)) return a;
    if (isZero(a) && !(b.k === "num")) return this.num(0);
    if (a.k === "neg") return this.neg(this.div(a.a, b));
    return this.binary("div", a, b);
  }

  pow(a: Node, b: Node): Node {
    if (a.k === "num" && b.k === "num") return this.num(a.v ** b.v);
    if (isOne(b)) return a;
    if (isZero(b)) return this.num(1);
    return this.binary("pow", a, b);
  }

  neg(a: Node): Node {
    if (a.k === "num") return this.num(-a.v);
    if (a.k === "neg") return a.a;
    return this.intern(`neg${a.id}`, (id) => ({ id, k: "neg", a }));
  }

  fn(f: Fn, args: readonly Node[]): Node {
    if (args.every((u) => u.k === "num"))
      return this.num(EVAL[f](...args.map((u) => (u as { v: number }).v)));
    if (f === "le" && args[2] === args[3]) return args[2]!;
    return this.intern(`${f}(${args.map((u) => u.id).join(",")})`, (id) => ({ id, k: "fn", f, args }));
  }
}

const isZero = (u: Node): boolean => u.k === "num" && u.v === 0;
const isOne = (u: Node): boolean => u.k === "num" && u.v === 1;

// ── From mathjs's tree to ours, refusing everything off the whitelist ───────────────────────────

// The parts of mathjs's node objects we read; anything else about them is ignored.
interface MathNode {
  readonly type: string;
  readonly value?: unknown;
  readonly name?: string;
  readonly fn?: unknown;
  readonly op?: string;
  readonly args?: readonly MathNode[];
  readonly content?: MathNode;
}

const OPERATOR_NAMES: Readonly<Record<string, string>> = {
  AssignmentNode: "assignment '='",
  FunctionAssignmentNode: "function definition",
  AccessorNode: "property or index access",
  IndexNode: "index",
  ArrayNode: "matrix or array '[…]'",
  ObjectNode: "object '{…}'",
  RangeNode: "range ':'",
  ConditionalNode: "conditional '? :'",
  BlockNode: "more than one expression (';' or a new line)",
  RelationalNode: "comparison",
};
const NODE_TOKENS: Readonly<Record<string, readonly string[]>> = {
  AssignmentNode: ["="],
  FunctionAssignmentNode: ["="],
  AccessorNode: [".", "["],
  IndexNode: ["[", "."],
  ArrayNode: ["["],
  ObjectNode: ["{"],
  RangeNode: [":"],
  ConditionalNode: ["?"],
  BlockNode: [";", "\n"],
  RelationalNode: ["<", ">", "=", "!"],
};

class Converter {
  readonly names = new Map<string, number>();

  constructor(
    private readonly text: string,
    private readonly b: Builder,
    private readonly allowed: ReadonlyMap<string, number> | null,
  ) {}

  convert(node: MathNode): Node {
    switch (node.type) {
      case "ParenthesisNode":
        return this.convert(node.content!);
      case "ConstantNode":
        return this.constant(node);
      case "SymbolNode":
        return this.symbol(node.name!);
      case "OperatorNode":
        return this.operator(node);
      case "FunctionNode":
        return this.call(node);
      default: {
        const what = OPERATOR_NAMES[node.type] ?? node.type.replace(/Node$/, "").toLowerCase();
        throw this.error(
          `${what} is not allowed (only numbers, pi, e, variables, + - * / ^ and ${EXPRESSION_FUNCTIONS.join(" ")})`,
          ...(NODE_TOKENS[node.type] ?? []),
        );
      }
    }
  }

  private constant(node: MathNode): Node {
    const v = node.value;
    if (typeof v === "string") throw this.error("strings are not allowed", '"', "'");
    if (typeof v !== "number") throw this.error(`${String(v)} is not allowed (numbers only)`, String(v));
    if (!Number.isFinite(v)) {
      const m = /(\d+\.?\d*|\.\d+)[eE][+]?\d{3,}|Infinity|NaN/.exec(this.text);
      throw this.errorAt(
        `the number ${m ? m[0] : String(v)} is not finite in float64`,
        m ? m.index + 1 : null,
      );
    }
    return this.b.num(v);
  }

  private symbol(name: string): Node {
    if (RESERVED.has(name))
      throw this.errorAt(`'${name}' is a reserved name, not a variable`, this.wordPosition(name));
    if ((EXPRESSION_FUNCTIONS as readonly string[]).includes(name)) {
      throw this.errorAt(`${name} is a function: call it as ${name}(…)`, this.wordPosition(name));
    }
    const constant = CONSTANTS.get(name);
    if (constant !== undefined) return this.b.num(constant);
    if (this.allowed) {
      const i = this.allowed.get(name);
      if (i === undefined) {
        throw this.errorAt(
          `unknown variable ${name} (variables: ${[...this.allowed.keys()].join(", ")})`,
          this.wordPosition(name),
        );
      }
      this.names.set(name, i);
      return this.b.variable(i);
    }
    // Without a given order, indices are provisional (first seen) and renumbered alphabetically later.
    let i = this.names.get(name);
    if (i === undefined) {
      if (this.names.size >= MAX_VARIABLES)
        throw this.errorAt(
          `too many variables: ${name} would be the ${MAX_VARIABLES + 1}th (the limit is ${MAX_VARIABLES})`,
          this.wordPosition(name),
        );
      i = this.names.size;
      this.names.set(name, i);
    }
    return this.b.variable(i);
  }

  private operator(node: MathNode): Node {
    const args = (node.args ?? []).map((a) => this.convert(a));
    const [a, b] = args;
    switch (node.fn) {
      case "add":
        return args.reduce((s, u) => this.b.add(s, u));
      case "multiply":
        return args.reduce((s, u) => this.b.mul(s, u));
      case "subtract":
        return this.b.sub(a!, b!);
      case "divide":
        return this.b.div(a!, b!);
      case "pow":
        return this.b.pow(a!, b!);
      case "unaryMinus":
        return this.b.neg(a!);
      case "unaryPlus":
        return a!;
      default:
        throw this.error(`operator '${node.op}' is not allowed (only + - * / ^)`, node.op ?? "");
    }
  }

  private call(node: MathNode): Node {
    const fn = node.fn as MathNode;
    if (fn.type !== "SymbolNode") throw this.error("only named functions can be called", "(");
    const name = fn.name!;
    const position = this.callPosition(name);
    if (!(EXPRESSION_FUNCTIONS as readonly string[]).includes(name)) {
      throw this.errorAt(
        `unknown function ${name} (functions: ${EXPRESSION_FUNCTIONS.join(", ")})`,
        position,
      );
    }
    const args = (node.args ?? []).map((a) => this.convert(a));
    if (name === "min" || name === "max") {
      if (args.length < 2)
        throw this.errorAt(`${name} takes two or more arguments, got ${args.length}`, position);
      return args.reduce((acc, u) =>
        name === "min" ? this.b.fn("le", [acc, u, acc, u]) : this.b.fn("le", [acc, u, u, acc]),
      );
    }
    if (args.length !== 1) throw this.errorAt(`${name} takes one argument, got ${args.length}`, position);
    return this.b.fn(name as Fn, args);
  }

  private error(message: string, ...tokens: string[]): ExpressionError {
    let position: number | null = null;
    for (const t of tokens) {
      if (t === "") continue;
      const i = this.text.indexOf(t);
      if (i >= 0 && (position === null || i + 1 < position)) position = i + 1;
    }
    return this.errorAt(message, position);
  }

  errorAt(message: string, position: number | null): ExpressionError {
    return new ExpressionError(position === null ? message : `${message}, at position ${position}`, position);
  }

  private wordPosition(name: string): number | null {
    const m = new RegExp(`(?<![\\p{L}\\p{N}_$])${escapeRegExp(name)}(?![\\p{L}\\p{N}_$])`, "u").exec(
      this.text,
    );
    return m ? m.index + 1 : null;
  }

  private callPosition(name: string): number | null {
    const m = new RegExp(`(?<![\\p{L}\\p{N}_$])${escapeRegExp(name)}\\s*\\(`, "u").exec(this.text);
    return m ? m.index + 1 : this.wordPosition(name);
  }
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The depth of mathjs's tree, by an explicit stack (a recursive walk is what a deep tree breaks). */
function treeDepth(root: MathNode): number {
  let deepest = 0;
  const stack: [MathNode, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, d] = stack.pop()!;
    deepest = Math.max(deepest, d);
    if (d > MAX_TREE_DEPTH) break;
    if (node.content) stack.push([node.content, d + 1]);
    for (const a of node.args ?? []) stack.push([a, d + 1]);
  }
  return deepest;
}

/** Remaps variable indices (first-seen order → the final order). */
function renumber(b: Builder, u: Node, map: readonly number[], memo = new Map<number, Node>()): Node {
  const done = memo.get(u.id);
  if (done) return done;
  let r: Node;
  switch (u.k) {
    case "num":
      r = u;
      break;
    case "var":
      r = b.variable(map[u.i]!);
      break;
    case "neg":
      r = b.neg(renumber(b, u.a, map, memo));
      break;
    case "fn":
      r = b.fn(
        u.f,
        u.args.map((a) => renumber(b, a, map, memo)),
      );
      break;
    default:
      r = b[u.k](renumber(b, u.a, map, memo), renumber(b, u.b, map, memo));
  }
  memo.set(u.id, r);
  return r;
}

// ── Differentiation ─────────────────────────────────────────────────────────────────────────────

function derivative(b: Builder, u: Node, i: number, memo: Map<number, Node>): Node {
  const done = memo.get(u.id);
  if (done) return done;
  const d = (w: Node) => derivative(b, w, i, memo);
  let r: Node;
  switch (u.k) {
    case "num":
      r = b.num(0);
      break;
    case "var":
      r = b.num(u.i === i ? 1 : 0);
      break;
    case "add":
      r = b.add(d(u.a), d(u.b));
      break;
    case "sub":
      r = b.sub(d(u.a), d(u.b));
      break;
    case "mul":
      r = b.add(b.mul(d(u.a), u.b), b.mul(u.a, d(u.b)));
      break;
    case "div":
      // (a/b)' = (a' − (a/b)·b')/b: the quotient itself, not a·b'/b², whose b² (and, a derivative
      // later, b⁴) overflows long before the true value does (log(1/x^100) at x = 10).
      r = b.div(b.sub(d(u.a), b.mul(u, d(u.b))), u.b);
      break;
    case "pow":
      r = powDerivative(b, u.a, u.b, d(u.a), d(u.b));
      break;
    case "neg":
      r = b.neg(d(u.a));
      break;
    case "fn":
      r = fnDerivative(b, u.f, u.args, u.args.map(d));
      break;
  }
  memo.set(u.id, r);
  return r;
}

function powDerivative(b: Builder, base: Node, exponent: Node, dBase: Node, dExponent: Node): Node {
  // c·u^(c−1)·u' for a constant exponent keeps (−2)^2 and friends well defined (no log of a negative).
  if (isZero(dExponent)) return b.mul(b.mul(exponent, b.pow(base, b.sub(exponent, b.num(1)))), dBase);
  const power = b.pow(base, exponent);
  if (isZero(dBase)) return b.mul(b.mul(power, b.fn("log", [base])), dExponent);
  // (u^v)' = u^v·(v'·log u + v·u'/u)
  return b.mul(power, b.add(b.mul(dExponent, b.fn("log", [base])), b.div(b.mul(exponent, dBase), base)));
}

function fnDerivative(b: Builder, f: Fn, args: readonly Node[], d: readonly Node[]): Node {
  const u = args[0]!;
  const du = d[0]!;
  const one = b.num(1);
  const chain = (outer: Node) => b.mul(outer, du);
  switch (f) {
    case "sin":
      return chain(b.fn("cos", [u]));
    case "cos":
      return chain(b.neg(b.fn("sin", [u])));
    case "tan":
      return chain(b.add(one, b.pow(b.fn("tan", [u]), b.num(2))));
    case "exp":
      return chain(b.fn("exp", [u]));
    case "log":
      return b.div(du, u);
    case "log1p":
      return b.div(du, b.add(one, u));
    case "sqrt":
      return b.div(du, b.mul(b.num(2), b.fn("sqrt", [u])));
    case "abs":
      return chain(b.fn("sign", [u]));
    case "sign":
      return b.num(0);
    case "tanh":
      return chain(b.sub(one, b.pow(b.fn("tanh", [u]), b.num(2))));
    case "sinh":
      return chain(b.fn("cosh", [u]));
    case "cosh":
      return chain(b.fn("sinh", [u]));
    case "atan":
      return b.div(du, b.add(one, b.pow(u, b.num(2))));
    case "sigmoid": {
      const s = b.fn("sigmoid", [u]);
      return chain(b.mul(s, b.sub(one, s)));
    }
    case "softplus":
      return chain(b.fn("sigmoid", [u]));
    case "le":
      // min/max: the derivative of whichever branch is taken (a one-sided choice at a tie).
      return b.fn("le", [args[0]!, args[1]!, d[2]!, d[3]!]);
  }
}

// ── Code generation ─────────────────────────────────────────────────────────────────────────────

/** A JavaScript literal for a number we hold (never text from the user). */
function literal(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "(1/0)";
  if (v === Number.NEGATIVE_INFINITY) return "(-1/0)";
  if (Object.is(v, -0)) return "(-0)";
  return v < 0 ? `(${String(v)})` : String(v);
}

/**
 * The body of a function computing `outputs` (one statement per distinct subtree, in dependency
 * order) and the expression naming each output.
 */
function emit(roots: readonly Node[]): { lines: string[]; refs: string[] } {
  const lines: string[] = [];
  const names = new Map<number, string>();
  const ref = (u: Node): string => {
    if (u.k === "num") return literal(u.v);
    if (u.k === "var") return `v${u.i}`;
    const known = names.get(u.id);
    if (known) return known;
    // Iterative post-order: derivative trees can be deep, and recursion would be bounded by the stack.
    const stack: [Node, boolean][] = [[u, false]];
    while (stack.length > 0) {
      const [w, ready] = stack.pop()!;
      if (w.k === "num" || w.k === "var" || names.has(w.id)) continue;
      const kids = w.k === "neg" ? [w.a] : w.k === "fn" ? w.args : [w.a, w.b];
      if (!ready) {
        stack.push([w, true]);
        for (const c of kids) stack.push([c, false]);
        continue;
      }
      const r = kids.map((c) =>
        c.k === "num" ? literal(c.v) : c.k === "var" ? `v${c.i}` : names.get(c.id)!,
      );
      let code: string;
      switch (w.k) {
        case "add":
          code = `${r[0]} + ${r[1]}`;
          break;
        case "sub":
          code = `${r[0]} - ${r[1]}`;
          break;
        case "mul":
          code = `${r[0]} * ${r[1]}`;
          break;
        case "div":
          code = `${r[0]} / ${r[1]}`;
          break;
        case "pow":
          // u·u is the correctly rounded square, as pow would give, without the call.
          code = w.b.k === "num" && w.b.v === 2 ? `${r[0]} * ${r[0]}` : `M.pow(${r[0]}, ${r[1]})`;
          break;
        case "neg":
          code = `-${r[0]}`;
          break;
        case "fn":
          code = w.f === "le" ? `(${r[0]} <= ${r[1]} ? ${r[2]} : ${r[3]})` : `${CODE[w.f]}(${r[0]})`;
          break;
      }
      const name = `t${names.size}`;
      names.set(w.id, name);
      lines.push(`const ${name} = ${code};`);
    }
    return names.get(u.id)!;
  };
  const refs = roots.map(ref);
  return { lines, refs };
}

function compileFunction<T>(n: number, params: string, body: string[]): T {
  const unpack = Array.from({ length: n }, (_, i) => `const v${i} = x[${i}];`);
  const source = `"use strict";\nreturn function (${params}) {\n${[...unpack, ...body].join("\n")}\n};`;
  // The source is assembled above from our own node kinds, variable indices and numeric literals
  // only; no character of the user's expression is part of it.
  return new Function("M", "H", source)(Math, HELPERS) as T;
}

// ── Entry point ─────────────────────────────────────────────────────────────────────────────────

/** Parses, checks and compiles an expression into an Objective (see the module comment). */
export function compileExpression(text: string, options?: CompileOptions): ExpressionObjective {
  if (typeof text !== "string" || text.trim() === "") {
    throw new ExpressionError('empty expression (type a function such as "x^2")', null);
  }
  if (text.length > MAX_EXPRESSION_LENGTH) {
    throw new ExpressionError(
      `expression too long: ${text.length} characters (the limit is ${MAX_EXPRESSION_LENGTH})`,
      null,
    );
  }
  checkNesting(text);
  const allowed = options?.vars ? checkVars(options.vars) : null;

  let tree: MathNode;
  try {
    tree = parse(text) as unknown as MathNode;
  } catch (e) {
    throw syntaxError(e, text);
  }
  if (treeDepth(tree) > MAX_TREE_DEPTH)
    throw new ExpressionError(
      `expression nested too deeply: more than ${MAX_TREE_DEPTH} levels of operators (a long run of signs or of ^)`,
      null,
    );
  const b = new Builder();
  const converter = new Converter(text, b, allowed);
  let f = converter.convert(tree);

  let names: string[];
  if (allowed) {
    names = [...allowed.keys()];
  } else {
    const seen = [...converter.names.keys()];
    if (seen.length === 0)
      throw new ExpressionError(
        `no variables in '${text.trim()}' (an objective needs at least one, e.g. x^2)`,
        null,
      );
    names = [...seen].sort();
    f = renumber(
      b,
      f,
      seen.map((name) => names.indexOf(name)),
    );
  }
  return build(b, f, names, text);
}

function build(b: Builder, f: Node, names: readonly string[], text: string): ExpressionObjective {
  const n = names.length;
  const grads = names.map((_, i) => derivative(b, f, i, new Map()));
  const hess: Node[] = [];
  const gradMemos = names.map(() => new Map<number, Node>());
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) hess.push(derivative(b, grads[i]!, j, gradMemos[j]!));

  const v = emit([f]);
  const value = compileFunction<(x: Float64Array) => number>(n, "x", [...v.lines, `return ${v.refs[0]};`]);
  const g = emit([f, ...grads]);
  const gradient = compileFunction<(x: Float64Array, out: Float64Array) => number>(n, "x, out", [
    ...g.lines,
    ...grads.map((_, i) => `out[${i}] = ${g.refs[i + 1]};`),
    `return ${g.refs[0]};`,
  ]);
  const h = emit(hess);
  const stores: string[] = [];
  let k = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      stores.push(`out[${i * n + j}] = ${h.refs[k]};`);
      if (i !== j) stores.push(`out[${j * n + i}] = ${h.refs[k]};`);
      k++;
    }
  }
  const hessian = compileFunction<(x: Float64Array, out: Float64Array) => void>(n, "x, out", [
    ...h.lines,
    ...stores,
  ]);
  const scratch = new Float64Array(n * n);
  return {
    dim: n,
    names,
    description: { kind: "expression", expression: text },
    // Constants fold as the derivatives are built, so a quadratic's second derivatives are numbers.
    constantHessian: hess.every((node) => node.k === "num"),
    expression: text,
    value,
    gradient,
    hessian,
    hessianVector(x, vec, out) {
      hessian(x, scratch);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += scratch[i * n + j]! * vec[j]!;
        out[i] = s;
      }
    },
  };
}

function checkNesting(text: string): void {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "(" || c === "[" || c === "{") {
      depth++;
      if (depth > MAX_EXPRESSION_DEPTH) {
        throw new ExpressionError(
          `expression nested too deeply: more than ${MAX_EXPRESSION_DEPTH} levels of brackets, at position ${i + 1}`,
          i + 1,
        );
      }
    } else if (c === ")" || c === "]" || c === "}") {
      depth = Math.max(0, depth - 1);
    }
  }
}

function checkVars(vars: readonly string[]): Map<string, number> {
  const order = new Map<string, number>();
  if (vars.length === 0) throw new ExpressionError("invalid vars: the list is empty", null);
  if (vars.length > MAX_VARIABLES)
    throw new ExpressionError(`invalid vars: ${vars.length} variables (the limit is ${MAX_VARIABLES})`, null);
  for (const name of vars) {
    if (!/^[\p{L}_][\p{L}\p{N}_]*$/u.test(name))
      throw new ExpressionError(
        `invalid vars: '${name}' is not a variable name (letters, digits and _)`,
        null,
      );
    if (
      RESERVED.has(name) ||
      CONSTANTS.has(name) ||
      (EXPRESSION_FUNCTIONS as readonly string[]).includes(name)
    ) {
      throw new ExpressionError(
        `invalid vars: '${name}' is reserved (a constant, function or JavaScript name)`,
        null,
      );
    }
    if (order.has(name)) throw new ExpressionError(`invalid vars: '${name}' is listed twice`, null);
    order.set(name, order.size);
  }
  return order;
}

function syntaxError(e: unknown, text: string): ExpressionError {
  if (e instanceof RangeError) return new ExpressionError("expression nested too deeply to parse", null);
  const message = e instanceof Error ? e.message : String(e);
  const m = /\(char (\d+)\)/.exec(message);
  const what = message.replace(/\s*\(char \d+\)\s*$/, "").replace(/^./, (c) => c.toLowerCase());
  if (!m) return new ExpressionError(`syntax error: ${what}`, null);
  const position = Math.min(Number(m[1]), text.length + 1);
  return new ExpressionError(`syntax error at position ${position}: ${what}`, position);
}
