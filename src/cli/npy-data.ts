import { plural } from "../core/format.js";
import { type NpyArray, NpyError, readNpy, readNpz } from "../nn/data/npy.js";
import type { Loss } from "../nn/mlp/mlp.js";
import type { ParsedFlags } from "./args.js";
import { CliError } from "./errors.js";
import { readInputBytes } from "./files.js";

/**
 * Rows from NumPy files, as a PyTorch user writes them with np.save / np.savez: `--data x.npz`
 * with the inputs and targets as two arrays (named by --features and --target, default x and y),
 * or `--data inputs.npy --target targets.npy`. The inputs are N × … (N×C×H×W images, N×T×D
 * sequences, N×F tables), float or integer; each row is flattened in C order, as the model's input
 * shape reads it back. Targets: N integer class labels (or any targets under cross-entropy or bce),
 * or N (or N×1) numbers for mse.
 */
export interface NpyRows {
  readonly x: Float64Array;
  readonly labels: Int32Array | null;
  readonly target: Float64Array | null;
  readonly rows: number;
  readonly inputs: number;
  readonly classes: number;
  readonly shape: readonly number[];
  readonly describe: string;
}

const bytesOf = (path: string, flag: string): Uint8Array => readInputBytes(path, flag, {});

function read<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof NpyError) throw new CliError(e.message);
    throw e;
  }
}

export function npyRows(flags: ParsedFlags, path: string, loss: Loss | undefined): NpyRows {
  let inputs: NpyArray;
  let targets: NpyArray;
  let what: string;
  if (/\.npz$/i.test(path)) {
    const arrays = read(() => readNpz(bytesOf(path, "data"), path));
    const xName = (flags["features"] as string | undefined) ?? "x";
    const yName = (flags["target"] as string | undefined) ?? "y";
    const names = [...arrays.keys()].join(", ") || "none";
    const pick = (name: string): NpyArray => {
      const a = arrays.get(name);
      if (!a)
        throw new CliError(
          `${path} has no array '${name}' (it holds ${names}): name the inputs with --features and the targets with --target`,
        );
      return a;
    };
    inputs = pick(xName);
    targets = pick(yName);
    what = `${path} (${xName}, ${yName})`;
  } else {
    const t = flags["target"] as string | undefined;
    if (t === undefined || !/\.npy$/i.test(t))
      throw new CliError(
        `--data ${path} holds the inputs: give the targets as --target targets.npy (or both in one .npz)`,
      );
    if (flags["features"] !== undefined)
      throw new CliError(`--features picks an array of a .npz; --data ${path} is one array`);
    inputs = read(() => readNpy(bytesOf(path, "data"), path));
    targets = read(() => readNpy(bytesOf(t, "target"), t));
    what = `${path}, ${t}`;
  }
  if (inputs.shape.length < 1 || inputs.shape[0]! < 1)
    throw new CliError(
      `${what}: the inputs have shape (${inputs.shape.join(", ")}); they need rows along the first axis`,
    );
  const rows = inputs.shape[0]!;
  const width = inputs.data.length / rows;
  if (targets.shape[0] !== rows)
    throw new CliError(`${what}: ${plural(rows, "row")} of inputs but ${targets.shape[0] ?? 0} targets`);
  if (targets.data.length !== rows)
    throw new CliError(
      `${what}: the targets have shape (${targets.shape.join(", ")}); overshoot takes one target per row (class labels, or one number for mse)`,
    );
  const classify = loss === "cross-entropy" || loss === "bce" || (loss === undefined && targets.integer);
  let labels: Int32Array | null = null;
  let classes = 0;
  if (classify) {
    labels = Int32Array.from(targets.data, (v, r) => {
      if (!Number.isInteger(v) || v < 0)
        throw new CliError(`${what}: target ${r} is ${v}; class labels are whole numbers 0, 1, 2, …`);
      return v;
    });
    classes = labels.reduce((m, v) => Math.max(m, v + 1), 0);
    if (classes > 1000) throw new CliError(`${what}: ${classes} classes (at most 1000)`);
  }
  return {
    x: inputs.data,
    labels,
    target: classify ? null : targets.data,
    rows,
    inputs: width,
    classes,
    shape: inputs.shape.slice(1),
    describe: `${what}: ${plural(rows, "row")} of ${inputs.shape.slice(1).join("×") || "1"} (${inputs.dtype}${inputs.dtype.endsWith("f4") ? ", widened to float64 exactly" : ""})`,
  };
}
