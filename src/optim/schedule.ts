/**
 * Learning-rate schedules as pure functions of the step: the learning rate used for the update
 * from x_k to x_{k+1}. Closed forms of PyTorch's StepLR, ExponentialLR, CosineAnnealingLR,
 * LinearLR-style warmup and OneCycleLR (cosine annealing, div_factor 25, final_div_factor 1e4).
 */
export type Schedule = (step: number) => number;

export const SCHEDULE_NAMES = ["constant", "step", "exp", "cosine", "warmup", "onecycle"] as const;

export interface ScheduleSpec {
  readonly name: (typeof SCHEDULE_NAMES)[number];
  readonly args: readonly number[];
  /** The text it was parsed from, for reports. */
  readonly text: string;
}

const USAGE =
  "constant, step:S,G (×G every S steps), exp:G (×G per step), cosine:T[,MIN] (to MIN over T steps), warmup:W (linear over W steps), onecycle:T[,PCT] (up for PCT of T, default 0.3, then down)";

/** Parses "cosine:1000", "step:100,0.5", "onecycle:500,0.25" …; errors name the valid forms. */
export function parseSchedule(text: string): ScheduleSpec {
  const [rawName, rawArgs = ""] = text.trim().split(":", 2) as [string, string?];
  const name = rawName.trim();
  if (!(SCHEDULE_NAMES as readonly string[]).includes(name))
    throw new Error(`invalid schedule: '${text}' (valid: ${USAGE})`);
  const args = rawArgs.trim() === "" ? [] : rawArgs.split(",").map((a) => Number(a.trim()));
  if (args.some((a) => !Number.isFinite(a)))
    throw new Error(`invalid schedule: '${text}' has a value that is not a number (${USAGE})`);
  const need: Record<string, [number, number]> = {
    constant: [0, 0],
    step: [2, 2],
    exp: [1, 1],
    cosine: [1, 2],
    warmup: [1, 1],
    onecycle: [1, 2],
  };
  const [lo, hi] = need[name]!;
  if (args.length < lo || args.length > hi) throw new Error(`invalid schedule: '${text}' (${USAGE})`);
  const positiveInt = (v: number | undefined) => v !== undefined && Number.isInteger(v) && v >= 1;
  if (
    (name === "step" || name === "cosine" || name === "warmup" || name === "onecycle") &&
    !positiveInt(args[0])
  ) {
    throw new Error(`invalid schedule: '${text}' needs a whole number of steps ≥ 1 first (${USAGE})`);
  }
  if ((name === "step" && !(args[1]! > 0)) || (name === "exp" && !(args[0]! > 0)))
    throw new Error(`invalid schedule: '${text}' needs a factor > 0`);
  if (name === "onecycle" && args[1] !== undefined && !(args[1] > 0 && args[1] < 1))
    throw new Error(`invalid schedule: '${text}': PCT must be in (0, 1)`);
  return { name: name as ScheduleSpec["name"], args, text: text.trim() };
}

/**
 * A schedule as a box or a link holds it: empty or "constant" is none (null), anything else is
 * parsed (errors as parseSchedule's). Null means no schedule to state: no flag, no label.
 */
export function optionalSchedule(text: string): ScheduleSpec | null {
  const t = text.trim();
  return t === "" || t === "constant" ? null : parseSchedule(t);
}

/** The schedule for a base learning rate. */
export function schedule(spec: ScheduleSpec, lr: number): Schedule {
  const a = spec.args;
  const cosineBetween = (from: number, to: number, p: number) =>
    to + ((from - to) * (1 + Math.cos(Math.PI * Math.min(1, Math.max(0, p))))) / 2;
  switch (spec.name) {
    case "constant":
      return () => lr;
    case "step":
      return (k) => lr * a[1]! ** Math.floor(k / a[0]!);
    case "exp":
      return (k) => lr * a[0]! ** k;
    case "cosine": {
      const min = a[1] ?? 0;
      return (k) => cosineBetween(lr, min, k / a[0]!);
    }
    case "warmup":
      return (k) => lr * Math.min(1, (k + 1) / a[0]!);
    case "onecycle": {
      const total = a[0]!;
      const pct = a[1] ?? 0.3;
      const initial = lr / 25;
      const final = initial / 1e4;
      const peak = Math.max(1, pct * total - 1);
      return (k) =>
        k <= peak
          ? cosineBetween(initial, lr, k / peak)
          : cosineBetween(lr, final, (k - peak) / Math.max(1, total - 1 - peak));
    }
  }
}

/** A new base learning rate from a step on: η moved while the run ran (the lab), or a plan of rates. */
export interface RateChange {
  readonly step: number;
  readonly lr: number;
}

/**
 * The schedule `spec` (null: constant) on a base rate that changes at the given steps: from each
 * change's step on the base is its rate, and the schedule keeps its shape over the run's own step
 * count (a cosine over 100 steps with η halved at step 40 goes on from its step-40 value, halved).
 * The steps before the first change use `lr`.
 */
export function scheduleWithChanges(
  spec: ScheduleSpec | null,
  lr: number,
  changes: readonly RateChange[],
): Schedule {
  const sorted = [...changes].sort((a, b) => a.step - b.step);
  // One schedule per base rate (not the shape times the base: cosine's MIN is a rate of its own).
  const bases = new Map<number, Schedule>();
  const on = (base: number) => {
    let f = bases.get(base);
    if (!f) {
      f = spec ? schedule(spec, base) : () => base;
      bases.set(base, f);
    }
    return f;
  };
  return (k) => {
    let base = lr;
    for (const c of sorted) if (c.step <= k) base = c.lr;
    return on(base)(k);
  };
}

/** "12:0.5,30:1.1" (step:η pairs, as the lab's links carry them) → changes; errors say the form. */
export function parseRateChanges(text: string): RateChange[] {
  if (text.trim() === "") return [];
  return text.split(",").map((part) => {
    const [s, v] = part.split(":");
    const step = Number(s);
    const lr = Number(v);
    if (!(Number.isInteger(step) && step >= 0 && Number.isFinite(lr) && lr > 0))
      throw new Error(
        `invalid rate change '${part.trim()}': expected STEP:η with a whole step ≥ 0 and η > 0 (e.g. 12:0.5)`,
      );
    return { step, lr };
  });
}

export const formatRateChanges = (changes: readonly RateChange[]): string =>
  changes.map((c) => `${c.step}:${c.lr}`).join(",");
