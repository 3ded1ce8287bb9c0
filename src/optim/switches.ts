import { resolveOptimizerConfig } from "./config.js";
import { checkHyperChanges, HYPER_KEYS, type HyperChange, ownsKey, withHyper } from "./hyper.js";

import { createOptimizer } from "./index.js";
import {
  OPTIMIZER_NAMES,
  type Optimizer,
  type OptimizerConfig,
  type OptimizerName,
  type OptimizerOptions,
  type OptimizerSnapshot,
} from "./types.js";

/**
 * Another optimizer from a given step on, as the lab's optimizer box changed while a run plays:
 * the weights go on from where they are and the new optimizer starts fresh (no momentum or
 * moments carried over), at the rate then in force. In PyTorch this is constructing a new
 * torch.optim object over the same parameters between two steps.
 */
export interface OptimizerSwitch {
  readonly step: number;
  /** The new optimizer; its lr, when absent, is the rate in force at the switch. */
  readonly optimizer: OptimizerOptions;
}

/** The keys a switch may set: the hyper-parameters the lab shows, and SGD's Nesterov form (0 or 1). */
const SWITCH_KEYS = [...HYPER_KEYS, "nesterov"] as const;
const FORM =
  "STEP:NAME[:KEY=VALUE…] (e.g. 40:adam, 60:sgd:momentum=0.9:nesterov=1), NAME one of sgd, adam, adamw, rmsprop, adagrad, KEY one of momentum, beta1, beta2, alpha, nesterov";

/** "40:adam,60:sgd:momentum=0.9" → switches in step order; an error names the part and the form. */
export function parseOptimizerSwitches(text: string): OptimizerSwitch[] {
  if (text.trim() === "") return [];
  const out = text.split(",").map((part) => {
    const [s = "", name = "", ...settings] = part.trim().split(":");
    if (!/^\d+$/.test(s.trim()) || !(OPTIMIZER_NAMES as readonly string[]).includes(name.trim()))
      throw new Error(`invalid switch '${part.trim()}': expected ${FORM}`);
    const options: Record<string, unknown> = { name: name.trim() };
    let betas: [number | undefined, number | undefined] | null = null;
    for (const setting of settings) {
      const m = /^\s*([a-z0-9]+)\s*=\s*([^\s]+)\s*$/.exec(setting);
      const key = m?.[1] as (typeof SWITCH_KEYS)[number] | undefined;
      const value = Number(m?.[2]);
      if (!m || !(SWITCH_KEYS as readonly string[]).includes(key!) || !Number.isFinite(value))
        throw new Error(`invalid switch '${part.trim()}': expected ${FORM}`);
      if (key === "nesterov") {
        if (value !== 0 && value !== 1)
          throw new Error(`invalid switch '${part.trim()}': nesterov is 0 or 1`);
        options["nesterov"] = value === 1;
      } else if (key === "beta1" || key === "beta2") {
        betas ??= [undefined, undefined];
        betas[key === "beta1" ? 0 : 1] = value;
      } else options[key!] = value;
    }
    if (betas) options["betas"] = [betas[0] ?? 0.9, betas[1] ?? 0.999];
    // PyTorch's checks, with the part named (the rate is filled in at the switch).
    try {
      resolveOptimizerConfig({ ...(options as unknown as OptimizerOptions), lr: 1 });
    } catch (e) {
      throw new Error(`invalid switch '${part.trim()}': ${(e as Error).message.replace(/^invalid /, "")}`);
    }
    return { step: Number(s), optimizer: options as unknown as OptimizerOptions };
  });
  for (let i = 1; i < out.length; i++)
    if (out[i]!.step <= out[i - 1]!.step)
      throw new Error(`invalid switches: steps must increase (${out[i - 1]!.step}, then ${out[i]!.step})`);
  return out;
}

/** The form parseOptimizerSwitches reads, for a command that reproduces a run. */
export function formatOptimizerSwitches(switches: readonly OptimizerSwitch[]): string {
  return switches
    .map(({ step, optimizer }) => {
      const o = optimizer as Record<string, unknown>;
      const parts = [String(step), String(o["name"])];
      if (o["momentum"] !== undefined) parts.push(`momentum=${o["momentum"]}`);
      if (o["nesterov"] === true) parts.push("nesterov=1");
      if (o["alpha"] !== undefined) parts.push(`alpha=${o["alpha"]}`);
      const betas = o["betas"] as readonly [number, number] | undefined;
      if (betas) parts.push(`beta1=${betas[0]}`, `beta2=${betas[1]}`);
      return parts.join(":");
    })
    .join(",");
}

/**
 * The optimizer of a run whose optimizer may be switched part-way. `before(k)` makes the optimizer
 * the one that takes step k (switching, fresh, when a switch is at k); `restore(k, snapshot)` goes
 * back to the state saved before step k, re-making the optimizer of that time when a rollback
 * crosses a switch (the switch is then made again when step k comes round).
 *
 * The switches are read through `switchAt(k)`, so the lab can add one while the run plays; those
 * made are remembered, since a rollback needs the optimizer of an earlier step.
 */
export class OptimizerSequence {
  private current: Optimizer;
  /** The switches made, in step order: the optimizer from each step on. */
  private readonly made: OptimizerSwitch[] = [];

  constructor(
    private readonly base: OptimizerOptions,
    private readonly dim: number,
    private readonly switchAt: (step: number) => OptimizerOptions | undefined,
  ) {
    this.current = createOptimizer(base, dim);
  }

  get optimizer(): Optimizer {
    return this.current;
  }

  /** Makes the optimizer that takes step k current; true when it switched here. */
  before(k: number): boolean {
    const next = this.switchAt(k);
    if (!next || (this.made.length > 0 && this.made[this.made.length - 1]!.step === k)) return false;
    const lr = this.current.config.lr;
    this.current = createOptimizer({ lr, ...next } as OptimizerOptions, this.dim);
    this.made.push({ step: k, optimizer: next });
    return true;
  }

  /** Back to the state saved before step k (made by `optimizer.snapshot()` then), with its rate. */
  restore(k: number, snapshot: OptimizerSnapshot, lr: number): void {
    let dropped = false;
    while (this.made.length > 0 && this.made[this.made.length - 1]!.step >= k) {
      this.made.pop();
      dropped = true;
    }
    if (dropped) {
      const options = this.made[this.made.length - 1]?.optimizer ?? this.base;
      this.current = createOptimizer({ ...options, lr } as OptimizerOptions, this.dim);
    }
    this.current.restore(snapshot);
  }
}

/** A fixed list of switches as the sequence reads them. */
export const switchesAt =
  (switches: readonly OptimizerSwitch[]) =>
  (k: number): OptimizerOptions | undefined =>
    switches.find((s) => s.step === k)?.optimizer;

/**
 * Each hyper-parameter change checked against the optimizer in use at its step (the run's first,
 * or the latest switch at or before it), in one sentence when it has no such key.
 */
export function checkChangesAgainstSwitches(
  first: OptimizerName,
  switches: readonly OptimizerSwitch[],
  changes: readonly HyperChange[],
): void {
  for (const c of changes)
    checkHyperChanges([...switches].reverse().find((s) => s.step <= c.step)?.optimizer.name ?? first, [c]);
}

/**
 * The hyper-parameters in force at step k of a run that starts with `first` and switches as given:
 * the optimizer in use then (the latest switch at or before k), with the changes made since it took
 * over and at or before k — a change meant for an earlier optimizer is not carried to a later one.
 * The rate is not this function's (the schedule's).
 */
export function hyperWithSwitches(
  first: OptimizerConfig,
  switches: readonly OptimizerSwitch[],
  changes: readonly HyperChange[],
  k: number,
): OptimizerConfig {
  const from = [...switches].reverse().find((s) => s.step <= k);
  let config = from ? resolveOptimizerConfig({ lr: first.lr, ...from.optimizer } as OptimizerOptions) : first;
  for (const c of [...changes].sort((a, b) => a.step - b.step))
    if (c.step >= (from?.step ?? 0) && c.step <= k && ownsKey(config.name, c.key))
      config = withHyper(config, c.key, c.value);
  return config;
}
