import type { OptimizerConfig } from "./types.js";

/**
 * Hyper-parameters besides η that a run may change part-way, as the lab's boxes do while a path
 * plays. The semantics are PyTorch's for `optimizer.param_groups[0][key] = value` between two
 * steps: the new value is used from that step on and every buffer (momentum, moments, averages)
 * is kept, so the run goes on from where it is rather than restarting.
 */
export const HYPER_KEYS = ["momentum", "beta1", "beta2", "alpha"] as const;
export type HyperKey = (typeof HYPER_KEYS)[number];

export interface HyperChange {
  readonly step: number;
  readonly key: HyperKey;
  readonly value: number;
}

/** Which optimizers have each key (Adam's betas are two keys, as the lab shows them). */
const OWNERS: Readonly<Record<HyperKey, readonly OptimizerConfig["name"][]>> = {
  momentum: ["sgd", "rmsprop"],
  beta1: ["adam", "adamw"],
  beta2: ["adam", "adamw"],
  alpha: ["rmsprop"],
};

/** Whether an optimizer (by its resolved name) has a key. */
export function ownsKey(name: string, key: HyperKey): boolean {
  return (OWNERS[key] as readonly string[]).includes(name);
}

const FORM = "STEP:KEY=VALUE (e.g. 40:momentum=0.5), KEY one of momentum, beta1, beta2, alpha";

/** "40:momentum=0.5,60:beta1=0.8" → changes; an error names the part and the form. */
export function parseHyperChanges(text: string): HyperChange[] {
  if (text.trim() === "") return [];
  return text.split(",").map((part) => {
    const m = /^\s*(\d+)\s*:\s*([a-z0-9]+)\s*=\s*([^\s]+)\s*$/.exec(part);
    const key = m?.[2] as HyperKey | undefined;
    if (!m || !(HYPER_KEYS as readonly string[]).includes(key!))
      throw new Error(`invalid change '${part.trim()}': expected ${FORM}`);
    const value = Number(m[3]);
    checkValue(key!, value, part.trim());
    return { step: Number(m[1]), key: key!, value };
  });
}

export const formatHyperChanges = (changes: readonly HyperChange[]): string =>
  changes.map((c) => `${c.step}:${c.key}=${c.value}`).join(",");

/** PyTorch's ranges: momentum and alpha ≥ 0, each beta in [0, 1). */
function checkValue(key: HyperKey, value: number, part: string): void {
  const beta = key === "beta1" || key === "beta2";
  if (!Number.isFinite(value) || value < 0 || (beta && value >= 1))
    throw new Error(
      `invalid change '${part}': ${key} must be ${beta ? "a number in [0, 1)" : "a finite number ≥ 0"}`,
    );
}

/** Refuses a change the optimizer has no such hyper-parameter for, in one sentence. */
export function checkHyperChanges(name: OptimizerConfig["name"], changes: readonly HyperChange[]): void {
  for (const c of changes) {
    if (!OWNERS[c.key].includes(name)) {
      const own = HYPER_KEYS.filter((k) => OWNERS[k].includes(name));
      throw new Error(
        `invalid change '${c.step}:${c.key}=${c.value}': ${name} has no ${c.key} (${own.length > 0 ? `it takes ${own.join(", ")}` : "it has none to change besides η"})`,
      );
    }
    checkValue(c.key, c.value, `${c.step}:${c.key}=${c.value}`);
  }
}

/** The configuration with one hyper-parameter set (checked by checkHyperChanges beforehand). */
export function withHyper<C extends OptimizerConfig>(config: C, key: HyperKey, value: number): C {
  if (key === "beta1" || key === "beta2") {
    const betas = (config as C & { betas: readonly [number, number] }).betas;
    return { ...config, betas: key === "beta1" ? [value, betas[1]] : [betas[0], value] };
  }
  return { ...config, [key]: value };
}

/** A key's value in a configuration that has it. */
export function hyperValue(config: OptimizerConfig, key: HyperKey): number {
  if (key === "beta1" || key === "beta2")
    return (config as { betas: readonly [number, number] }).betas[key === "beta1" ? 0 : 1];
  return (config as unknown as Record<string, number>)[key]!;
}

/**
 * The value of each changed key at step k: the latest change at or before k, else the value the
 * run started with — so a run rolled back before a change (the guard) uses the old value again.
 */
export function hyperAt(base: OptimizerConfig, changes: readonly HyperChange[], k: number): OptimizerConfig {
  let config = base;
  const sorted = [...changes].sort((a, b) => a.step - b.step);
  for (const c of sorted) if (c.step <= k) config = withHyper(config, c.key, c.value);
  return config;
}
