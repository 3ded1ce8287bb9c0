import type { Objective } from "../core/objective.js";
import { beale, booth, himmelblau, rastrigin, rosenbrock } from "./builtins.js";
import { quadratic, quadraticFromEigenvalues } from "./quadratic.js";

export const BUILTIN_NAMES = [
  "rosenbrock",
  "himmelblau",
  "beale",
  "booth",
  "rastrigin",
  "quadratic",
] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

/** What names an objective: a built-in's name or a typed expression, plus the options that shape it. */
export interface ObjectiveSpec {
  /** A built-in name or an expression such as "(1-x)^2 + 100*(y-x^2)^2". */
  readonly f: string;
  /** Variable order for an expression (default alphabetical). */
  readonly vars?: readonly string[];
  /** For quadratic: the symmetric matrix A (row-major) and its size. */
  readonly matrix?: { readonly values: Float64Array; readonly n: number };
  /** For quadratic: the eigenvalues of A. */
  readonly eigenvalues?: readonly number[];
  /** For quadratic with eigenvalues: the seed of a random rotation. */
  readonly rotate?: number;
  /** For quadratic: the linear term b. */
  readonly linear?: readonly number[];
  /** For rastrigin: the number of variables (default 2). */
  readonly dim?: number;
}

export function isBuiltinName(f: string): f is BuiltinName {
  return (BUILTIN_NAMES as readonly string[]).includes(f.trim());
}

/**
 * The objective a spec names, with the expression compiler passed in: worker threads that only
 * need built-ins then never load mathjs (a third of a second per thread). Options that do not apply to it are refused rather than ignored,
 * so a typo in intent (say, --eigenvalues with an expression) is never a silent wrong answer.
 */
export function createObjectiveWith(
  spec: ObjectiveSpec,
  compile: (text: string, options?: { vars: readonly string[] }) => Objective,
): Objective {
  const f = spec.f.trim();
  const given = (["vars", "matrix", "eigenvalues", "rotate", "linear", "dim"] as const).filter(
    (k) => spec[k] !== undefined,
  );
  const allow = (...ok: string[]): void => {
    const extra = given.filter((k) => !ok.includes(k));
    if (extra.length > 0)
      throw new Error(
        `invalid option ${extra[0]} for ${isBuiltinName(f) ? f : "an expression"} (it applies to ${optionOwner(extra[0]!)})`,
      );
  };
  switch (isBuiltinName(f) ? f : null) {
    case "rosenbrock":
      allow();
      return rosenbrock();
    case "himmelblau":
      allow();
      return himmelblau();
    case "beale":
      allow();
      return beale();
    case "booth":
      allow();
      return booth();
    case "rastrigin":
      allow("dim");
      return rastrigin(spec.dim ?? 2);
    case "quadratic": {
      allow("matrix", "eigenvalues", "rotate", "linear");
      const linear = spec.linear ? Float64Array.from(spec.linear) : undefined;
      if (spec.matrix && spec.eigenvalues)
        throw new Error("invalid quadratic: give --matrix or --eigenvalues, not both");
      if (spec.matrix) {
        if (spec.rotate !== undefined)
          throw new Error("invalid option rotate for quadratic with --matrix (it applies to --eigenvalues)");
        return quadratic(spec.matrix.values, spec.matrix.n, linear);
      }
      if (!spec.eigenvalues)
        throw new Error("invalid quadratic: needs --matrix A.csv or --eigenvalues 1,100");
      const q = quadraticFromEigenvalues(spec.eigenvalues, spec.rotate);
      return linear
        ? quadratic(q.matrix, q.dim, linear, {
            eigenvalues: [...spec.eigenvalues],
            ...(spec.rotate === undefined ? {} : { rotate: spec.rotate }),
            linear: [...linear],
          })
        : q;
    }
    default:
      allow("vars");
      return compile(f, spec.vars ? { vars: spec.vars } : undefined);
  }
}

function optionOwner(option: string): string {
  switch (option) {
    case "vars":
      return "expressions";
    case "dim":
      return "rastrigin";
    default:
      return "quadratic";
  }
}
