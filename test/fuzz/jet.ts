// Second-order forward-mode differentiation (a jet: value, gradient, Hessian) over mathjs's parse
// tree: the independent exact reference of the expression fuzz. It shares nothing with overshoot's
// symbolic derivatives: every operation carries (v, ∇v, ∇²v) by the chain rule,
//   φ(u):  v = φ(u),  g = φ′(u)·∇u,  H = φ′(u)·∇²u + φ″(u)·∇u∇uᵀ
//   u·w:   g = u∇w + w∇u,  H = u∇²w + w∇²u + ∇u∇wᵀ + ∇w∇uᵀ
import { parse } from "mathjs/number";

export interface Jet {
  readonly v: number;
  readonly g: Float64Array;
  readonly h: Float64Array; // n × n, row-major
}

interface Node {
  readonly type: string;
  readonly value?: unknown;
  readonly name?: string;
  readonly fn?: string | { name: string };
  readonly args?: readonly Node[];
  readonly content?: Node;
}

const SIGMOID = (t: number) => 1 / (1 + Math.exp(-t));

/** φ, φ′, φ″ at t. */
const FUNCTIONS: Record<string, (t: number) => [number, number, number]> = {
  sin: (t) => [Math.sin(t), Math.cos(t), -Math.sin(t)],
  cos: (t) => [Math.cos(t), -Math.sin(t), -Math.cos(t)],
  exp: (t) => [Math.exp(t), Math.exp(t), Math.exp(t)],
  // 1/t before its powers: t² alone overflows (or underflows) where (1/t)² does not.
  log: (t) => [Math.log(t), 1 / t, -(1 / t) * (1 / t)],
  sqrt: (t) => [Math.sqrt(t), 0.5 / Math.sqrt(t), -0.25 / (t * Math.sqrt(t))],
  tanh: (t) => {
    const y = Math.tanh(t);
    return [y, 1 - y * y, -2 * y * (1 - y * y)];
  },
  atan: (t) => [Math.atan(t), 1 / (1 + t * t), (-2 * t) / ((1 + t * t) * (1 + t * t))],
  sigmoid: (t) => {
    const s = SIGMOID(t);
    return [s, s * (1 - s), s * (1 - s) * (1 - 2 * s)];
  },
  softplus: (t) => {
    const s = SIGMOID(t);
    return [Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t))), s, s * (1 - s)];
  },
};

export function jetOf(text: string, names: readonly string[], at: Float64Array): Jet {
  const n = names.length;
  const constant = (v: number): Jet => ({ v, g: new Float64Array(n), h: new Float64Array(n * n) });
  const apply = (u: Jet, [f, f1, f2]: [number, number, number]): Jet => {
    const g = u.g.map((x) => f1 * x);
    const h = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) h[i * n + j] = f1 * u.h[i * n + j]! + f2 * u.g[i]! * u.g[j]!;
    return { v: f, g, h };
  };
  const add = (u: Jet, w: Jet, s = 1): Jet => ({
    v: u.v + s * w.v,
    g: u.g.map((x, i) => x + s * w.g[i]!),
    h: u.h.map((x, i) => x + s * w.h[i]!),
  });
  const mul = (u: Jet, w: Jet): Jet => {
    const h = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        h[i * n + j] = u.v * w.h[i * n + j]! + w.v * u.h[i * n + j]! + u.g[i]! * w.g[j]! + w.g[i]! * u.g[j]!;
    return { v: u.v * w.v, g: u.g.map((x, i) => u.v * w.g[i]! + w.v * x), h };
  };
  const reciprocal = (u: Jet) => {
    const r = 1 / u.v;
    return apply(u, [r, -r * r, 2 * r * r * r]);
  };
  const go = (node: Node): Jet => {
    switch (node.type) {
      case "ConstantNode":
        return constant(Number(node.value));
      case "ParenthesisNode":
        return go(node.content!);
      case "SymbolNode": {
        const i = names.indexOf(node.name!);
        if (i < 0) return constant(node.name === "pi" ? Math.PI : Math.E);
        const j = constant(at[i]!);
        j.g[i] = 1;
        return j;
      }
      case "OperatorNode": {
        const args = node.args!.map(go);
        switch (node.fn) {
          case "add":
            return add(args[0]!, args[1]!);
          case "subtract":
            return add(args[0]!, args[1]!, -1);
          case "multiply":
            return mul(args[0]!, args[1]!);
          case "divide":
            return mul(args[0]!, reciprocal(args[1]!));
          case "unaryMinus":
            return add(constant(0), args[0]!, -1);
          case "unaryPlus":
            return args[0]!;
          case "pow": {
            // Exponents in the fuzz are constants: u^c, c·u^(c−1), c(c−1)·u^(c−2).
            const c = args[1]!.v;
            const u = args[0]!.v;
            return apply(args[0]!, [u ** c, c * u ** (c - 1), c * (c - 1) * u ** (c - 2)]);
          }
        }
        throw new Error(`jet: operator ${String(node.fn)}`);
      }
      case "FunctionNode": {
        const name = typeof node.fn === "string" ? node.fn : node.fn!.name;
        return apply(go(node.args![0]!), FUNCTIONS[name]!(go(node.args![0]!).v));
      }
    }
    throw new Error(`jet: node ${node.type}`);
  };
  return go(parse(text) as unknown as Node);
}
