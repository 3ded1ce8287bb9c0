import { OPTIMIZER_NAMES, type OptimizerConfig, type OptimizerName, type OptimizerOptions } from "./types.js";

/** PyTorch 1.13–2.x defaults (torch.optim constructors); SGD has no default learning rate in 1.13. */
const DEFAULTS = {
  sgd: { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0 },
  adam: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false },
  adamw: { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false },
  rmsprop: { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false },
  adagrad: { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 },
} as const;

/** Each optimizer's hyper-parameters, in the order they are printed. */
export const OPTIMIZER_PARAMETERS: Readonly<Record<OptimizerName, readonly string[]>> = {
  sgd: ["lr", "momentum", "dampening", "nesterov", "weightDecay"],
  adam: ["lr", "betas", "eps", "weightDecay", "amsgrad"],
  adamw: ["lr", "betas", "eps", "weightDecay", "amsgrad"],
  rmsprop: ["lr", "alpha", "eps", "weightDecay", "momentum", "centered"],
  adagrad: ["lr", "lrDecay", "weightDecay", "initialAccumulatorValue", "eps"],
};

const BOOLEANS = new Set(["nesterov", "amsgrad", "centered"]);

/**
 * Fills in PyTorch's defaults and checks every value the way torch.optim's constructors do (and a
 * little more: non-finite values are refused). Messages start "invalid <option>: …" so the CLI can
 * name its flag.
 */
export function resolveOptimizerConfig(options: OptimizerOptions | OptimizerConfig): OptimizerConfig {
  const name = options.name as string;
  if (!(OPTIMIZER_NAMES as readonly string[]).includes(name)) {
    throw new Error(`invalid optimizer: ${name} (valid: ${OPTIMIZER_NAMES.join(", ")})`);
  }
  const n = name as OptimizerName;
  const allowed = OPTIMIZER_PARAMETERS[n];
  for (const key of Object.keys(options)) {
    if (key === "name") continue;
    if (!allowed.includes(key)) {
      throw new Error(`invalid ${key}: ${n} has no such option (${n} takes ${allowed.join(", ")})`);
    }
  }
  const given = options as Record<string, unknown>;
  const merged: Record<string, unknown> = { name: n };
  for (const key of allowed) {
    const value = given[key] !== undefined ? given[key] : (DEFAULTS[n] as Record<string, unknown>)[key];
    if (value === undefined)
      throw new Error(`invalid lr: ${n} needs a learning rate (PyTorch 1.13 gives SGD no default)`);
    merged[key] = key === "betas" ? [...(value as number[])] : value;
  }
  validate(merged);
  return merged as unknown as OptimizerConfig;
}

function validate(c: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(c)) {
    if (key === "name") continue;
    if (BOOLEANS.has(key)) {
      if (typeof value !== "boolean") throw new Error(`invalid ${key}: ${String(value)} (true or false)`);
    } else if (key === "betas") {
      const b = value as unknown[];
      if (!Array.isArray(b) || b.length !== 2)
        throw new Error(`invalid betas: ${String(value)} (two numbers, e.g. 0.9,0.999)`);
      b.forEach((beta, i) => {
        if (typeof beta !== "number" || !(beta >= 0 && beta < 1)) {
          throw new Error(`invalid betas: beta${i + 1} = ${String(beta)} (a number in [0, 1))`);
        }
      });
    } else if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new Error(`invalid ${key}: ${String(value)} (a finite number)`);
    } else if (key === "lr" && !(value > 0)) {
      throw new Error(`invalid lr: ${value} (a finite number > 0)`);
    } else if (key === "dampening" && !(value >= 0 && value <= 1)) {
      throw new Error(`invalid dampening: ${value} (a number in [0, 1])`);
    } else if (value < 0) {
      throw new Error(`invalid ${key}: ${value} (a number ≥ 0)`);
    }
  }
  if (c["name"] === "sgd" && c["nesterov"] === true && (c["momentum"] === 0 || c["dampening"] !== 0)) {
    throw new Error(
      "invalid nesterov: Nesterov momentum needs momentum > 0 and dampening = 0 (as in PyTorch)",
    );
  }
}
