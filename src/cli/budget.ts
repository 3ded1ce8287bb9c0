import { totalmem } from "node:os";
import { BLOCK_ROWS } from "../nn/mlp/mlp-passes.js";
import { CliError } from "./errors.js";

/**
 * What a command may plan to allocate: three quarters of this machine's memory. Sizes the user
 * chooses (widths, rows, steps kept in memory) are checked against an estimate of what they
 * allocate before anything is allocated, and refused in one line naming the flag, the estimate
 * and the limit: past it the process would be killed, or wait on swap, with nothing said.
 */
export function memoryLimit(): number {
  const given = process.env["OVERSHOOT_MEMORY_LIMIT"];
  if (given !== undefined && given !== "") {
    const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(given.trim());
    if (!m || !(Number(m[1]) > 0))
      throw new CliError(
        `invalid OVERSHOOT_MEMORY_LIMIT: ${JSON.stringify(given)} (bytes a command may use, e.g. 4G or 512M)`,
      );
    const unit = { "": 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as "" | "k"]!;
    return Math.floor(Number(m[1]) * unit);
  }
  return Math.floor(available().bytes * 0.75);
}

/**
 * The memory this process may use: a container's limit (cgroups) where one is set below the
 * host's total, else the machine's; `where` names which, for the refusal's reader.
 */
function available(): { bytes: number; where: string } {
  const constrained = process.constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < totalmem()
    ? { bytes: constrained, where: "this container's" }
    : { bytes: totalmem(), where: "this machine's" };
}

/** Where the limit comes from, for the refusal's reader. */
function limitSource(): string {
  if (process.env["OVERSHOOT_MEMORY_LIMIT"]) return "OVERSHOOT_MEMORY_LIMIT";
  const { bytes: total, where } = available();
  return `3/4 of ${where} ${bytes(total)}`;
}

const bytes = (n: number): string =>
  n >= 2 ** 30
    ? `${Number((n / 2 ** 30).toPrecision(3))} GiB`
    : `${Number((n / 2 ** 20).toPrecision(3))} MiB`;

/** Refuses `estimate` bytes past the limit: `what` names the flags' values, `fix` what to change. */
export function checkMemory(estimate: number, what: string, fix: string): void {
  const limit = memoryLimit();
  if (estimate <= limit) return;
  const shown =
    Number.isFinite(estimate) && estimate < 1e18
      ? `about ${bytes(estimate)}`
      : "more memory than any machine has";
  throw new CliError(
    `${what} needs ${shown}, past the ${bytes(limit)} a command may use here (${limitSource()}): ${fix}`,
  );
}

/**
 * A Lanczos run's basis, in bytes: full reorthogonalization keeps every one of its `vectors`
 * vectors of `n` numbers (lanczos.ts, density.ts), and the eigenvectors it returns are as many
 * again at most. `flag` names what set the count.
 */
export function checkLanczos(vectors: number, n: number, flag: string): void {
  checkMemory(
    16 * vectors * n,
    `${flag} (a Lanczos basis of ${vectors.toLocaleString("en-US")} vectors of ${n.toLocaleString("en-US")} numbers)`,
    `a smaller ${flag.split(" ")[0]} (the basis is kept whole for full reorthogonalization)`,
  );
}

/**
 * An MLP's working memory, in bytes: its parameters with the optimizer's copies of them (θ, the
 * step, the gradient, a velocity or Adam's two moments, the best and last snapshots: 12 vectors),
 * the kernels' heap (mlp-passes.ts: 4 vectors of parameters, the input layer's 4 transposes, and
 * per layer six blocks of BLOCK_ROWS rows), and the data (inputs and targets, twice: the rows and
 * their split).
 */
export function mlpBytes(sizes: readonly number[], rows: number): number {
  let parameters = 0;
  let units = 0;
  for (let l = 1; l < sizes.length; l++) {
    parameters += (sizes[l - 1]! + 1) * sizes[l]!;
    units += sizes[l]!;
  }
  const inputs = sizes[0]!;
  const heap =
    4 * parameters + 4 * inputs * (sizes[1] ?? 0) + 6 * BLOCK_ROWS * units + 3 * BLOCK_ROWS * inputs;
  const data = 2 * rows * (inputs + sizes[sizes.length - 1]!);
  return 8 * (12 * parameters + heap + data);
}

/** A data set of `rows` rows of `columns` numbers, in bytes: the rows and their split copies. */
export const rowsBytes = (rows: number, columns: number): number => 8 * 3 * rows * (columns + 1);
