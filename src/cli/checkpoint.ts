import { readFileSync } from "node:fs";
import type { TrainCheckpoint } from "../analysis/training/train.js";
import type { OptimizerSnapshot } from "../optim/index.js";
import { CliError } from "./errors.js";
import { writeFileAtomic } from "./files.js";

/**
 * Training checkpoints on disk: JSON with the model's layer sizes (checked on resume), the step,
 * the flat weights, the optimizer's state and the guard's rate cap. Written atomically (temporary
 * file, fsync, rename), so a process killed mid-write leaves the previous checkpoint whole.
 */
interface CheckpointFile {
  readonly overshootCheckpoint: 1;
  readonly sizes: readonly number[];
  readonly step: number;
  readonly theta: number[];
  readonly optimizer: { name: string; stepCount: number; buffers: Record<string, number[] | null> };
  readonly lrCap: number | null;
}

export function saveCheckpoint(path: string, sizes: readonly number[], c: TrainCheckpoint): void {
  const file: CheckpointFile = {
    overshootCheckpoint: 1,
    sizes: [...sizes],
    step: c.step,
    theta: Array.from(c.theta),
    optimizer: {
      name: c.optimizer.name,
      stepCount: c.optimizer.stepCount,
      buffers: Object.fromEntries(
        Object.entries(c.optimizer.buffers).map(([k, v]) => [k, v ? Array.from(v) : null]),
      ),
    },
    lrCap: Number.isFinite(c.lrCap) ? c.lrCap : null,
  };
  writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}

export function loadCheckpoint(path: string, sizes: readonly number[], optimizer: string): TrainCheckpoint {
  let file: CheckpointFile;
  try {
    file = JSON.parse(readFileSync(path, "utf8")) as CheckpointFile;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(
      code === "ENOENT"
        ? `cannot resume: ${path} does not exist`
        : `cannot resume from ${path}: ${code ?? (e as Error).message}`,
    );
  }
  if (file?.overshootCheckpoint !== 1)
    throw new CliError(`cannot resume from ${path}: not an overshoot checkpoint`);
  if (file.sizes.join("-") !== sizes.join("-")) {
    throw new CliError(
      `cannot resume from ${path}: it holds a ${file.sizes.join("-")} network, this model is ${sizes.join("-")}`,
    );
  }
  if (file.optimizer.name !== optimizer)
    throw new CliError(
      `cannot resume from ${path}: it was saved by ${file.optimizer.name}, this run uses ${optimizer}`,
    );
  const buffers: OptimizerSnapshot["buffers"] = Object.fromEntries(
    Object.entries(file.optimizer.buffers).map(([k, v]) => [k, v ? Float64Array.from(v) : null]),
  );
  return {
    step: file.step,
    theta: Float64Array.from(file.theta),
    optimizer: {
      name: file.optimizer.name as OptimizerSnapshot["name"],
      stepCount: file.optimizer.stepCount,
      buffers,
    },
    lrCap: file.lrCap ?? Number.POSITIVE_INFINITY,
  };
}
