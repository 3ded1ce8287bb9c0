import { fmt } from "../../core/format.js";

/**
 * Hidden units that stop working: the commonest way a too-high rate ruins a ReLU net without ever
 * overflowing. A ReLU unit is dead when its pre-activation is ≤ 0 on every row — its gradient is
 * then 0 on every row and no step can revive it; a tanh or sigmoid unit is saturated when
 * |f′| < 0.01 on more than 90% of rows (train.ts counts both). One overshooting step that moves a
 * layer's pre-activations by η·‖∂L/∂W‖·‖x‖ past zero kills a unit for good, so the loss can stay
 * finite and flat at a poor value while the network has lost most of its capacity.
 *
 * A layer has collapsed when more than COLLAPSED_FRACTION of its units are inactive. It collapsed
 * in training when it passed that fraction from below it, or rose by RISE more from a start already
 * above it, and was still collapsed at its last measurement (a saturation that recovered is not a
 * failure). The likely cause, told apart by what the log and the data show:
 *
 * - `initialization`: the layer was collapsed at the first measurement, before any step, and did
 *   not collapse further (`fromStart`);
 * - `unscaled-inputs`: it collapsed in training, and the inputs (given) have features whose scale
 *   is ≥ 10 — large inputs make the first steps' changes to the pre-activations large;
 * - `learning-rate`: it collapsed in training otherwise — the steps were too large.
 */
export const COLLAPSED_FRACTION = 0.5;

/** A layer already past COLLAPSED_FRACTION at the start collapses in training when it rises this much more. */
export const RISE = 0.25;

/** Inputs this far from standardized (a feature's |mean| or standard deviation ≥ 10) count as unscaled. */
export const UNSCALED_INPUT = 10;

export type UnitKind = "relu" | "tanh" | "sigmoid" | "gelu" | "identity";

export interface UnitsFinding {
  /** "dead" (relu), "saturated" (tanh, sigmoid), or "inactive" when the kind is not known. */
  readonly kind: "dead" | "saturated" | "inactive";
  /** The hidden layer, from 1. */
  readonly layer: number;
  /** The step (record) at which the layer first passed COLLAPSED_FRACTION, and its fraction then. */
  readonly atStep: number;
  readonly fraction: number;
  /** The layer's fraction at the first measurement and at the last. */
  readonly atStart: number;
  readonly atEnd: number;
  readonly cause: "initialization" | "unscaled-inputs" | "learning-rate";
  /** The layer was collapsed from the first measurement and did not collapse further. */
  readonly fromStart: boolean;
  readonly summary: string;
  readonly evidence: readonly string[];
  readonly fix: string;
}

export interface UnitsContext {
  /** Each hidden layer's activation, when known (a training log does not carry it). */
  readonly kinds?: readonly UnitKind[];
  /** The learning rate of the run. */
  readonly lr?: number;
  /** The largest feature |mean| or standard deviation of the inputs, when the data are at hand. */
  readonly inputScale?: number;
  /** What one record is: "step" or "epoch". */
  readonly unit?: "step" | "epoch" | "batch";
}

const pct = (v: number) => `${Number((100 * v).toPrecision(3))}%`;

/** Follows the per-layer inactive fractions of a run, record by record, in constant memory. */
export class UnitsWatch {
  private first: { step: number; inactive: readonly number[] } | null = null;
  private last: { step: number; inactive: readonly number[] } | null = null;
  /** Per layer: the first record at which it was collapsed (and its fraction then). */
  private readonly collapsed = new Map<number, { step: number; fraction: number }>();

  /** Feeds one measurement; returns the layers (from 1) that collapsed in training at it. */
  observe(step: number, inactive: readonly number[]): number[] {
    if (this.first === null) this.first = { step, inactive: [...inactive] };
    this.last = { step, inactive: [...inactive] };
    const fresh: number[] = [];
    for (const l of collapsedSince(this.first.inactive, inactive))
      if (!this.collapsed.has(l) && step !== this.first.step) {
        this.collapsed.set(l, { step, fraction: inactive[l - 1]! });
        fresh.push(l);
      }
    return fresh;
  }

  /**
   * The finding for the run so far: the first layer that collapsed in training and is still
   * collapsed, else the first layer collapsed from the start (`fromStart`), else null.
   */
  finding(context: UnitsContext = {}): UnitsFinding | null {
    if (!this.first || !this.last) return null;
    const first = this.first;
    const last = this.last;
    const unit = context.unit ?? "step";
    const still = new Set(collapsedSince(first.inactive, last.inactive));
    const trained = [...this.collapsed.entries()]
      .filter(([l]) => still.has(l))
      .sort((a, b) => a[1].step - b[1].step || a[0] - b[0])[0];
    const fromStartLayer = trained
      ? undefined
      : last.inactive.findIndex((v, l) => v > COLLAPSED_FRACTION && first.inactive[l]! > COLLAPSED_FRACTION) +
        1;
    if (!trained && !fromStartLayer) return null;
    const layer = trained ? trained[0] : fromStartLayer!;
    const at = trained ? trained[1] : { step: first.step, fraction: first.inactive[layer - 1]! };
    const atStart = first.inactive[layer - 1] ?? 0;
    const atEnd = last.inactive[layer - 1]!;
    const activation = context.kinds?.[layer - 1];
    const kind =
      activation === "relu"
        ? "dead"
        : activation === "tanh" || activation === "sigmoid"
          ? "saturated"
          : "inactive";
    const what = kind === "inactive" ? "dead or saturated" : kind;
    const evidence = [
      `layer ${layer}: ${pct(atStart)} of its units ${what} at ${unit} ${first.step}${trained ? `, ${pct(at.fraction)} at ${unit} ${at.step}` : ""}, ${pct(atEnd)} at ${unit} ${last.step}`,
    ];
    const units = `${pct(atEnd)} of layer ${layer}'s units are ${what}`;
    const scale = context.inputScale;
    const unscaled = scale !== undefined && scale >= UNSCALED_INPUT;
    const base = { kind, layer, atStep: at.step, fraction: at.fraction, atStart, atEnd } as const;
    if (!trained) {
      if (unscaled)
        evidence.push(
          `the inputs are unscaled (a feature's mean or standard deviation reaches ${fmt(scale!)}): the initial weights times such inputs put most pre-activations far from zero`,
        );
      return {
        ...base,
        cause: "initialization",
        fromStart: true,
        summary: `${units}, as they were from the start: the initialization${unscaled ? " on unscaled inputs" : ""} crippled the layer before any step.`,
        evidence,
        fix: `${unscaled ? "standardize the inputs (--standardize), and " : ""}initialize for the activation (He for ReLU, Glorot for tanh: --init he | glorot)`,
      };
    }
    const from = `${pct(atStart)} at ${unit} ${first.step}, ${pct(at.fraction)} by ${unit} ${at.step}`;
    if (unscaled) {
      evidence.push(
        `the inputs are unscaled (a feature's mean or standard deviation reaches ${fmt(scale!)}), so each step moves the first layer's pre-activations by η·‖x‖² times the error: far past zero`,
      );
      return {
        ...base,
        cause: "unscaled-inputs",
        fromStart: false,
        summary: `${units} (${from}): steps on unscaled inputs pushed them ${kind === "dead" ? "below zero on every row, where no gradient can revive them" : "out of their working range"}.`,
        evidence,
        fix: `standardize the inputs (--standardize)${context.lr !== undefined ? `, and lower the learning rate below ${fmt(context.lr)} if units still die` : ""}; train --guard --guard-units rolls back a step that kills them`,
      };
    }
    return {
      ...base,
      cause: "learning-rate",
      fromStart: false,
      summary: `${units} (${from}): the steps were too large — an overshooting step ${kind === "dead" ? "pushes a unit's pre-activation below zero on every row, and with a zero gradient it never comes back" : kind === "saturated" ? "drives the pre-activations far into the flat tails" : "pushes the units out of their working range"}.`,
      evidence,
      fix: `lower the learning rate${context.lr !== undefined ? ` (×10 below ${fmt(context.lr)} as a start)` : ""}; train --guard --guard-units rolls back a step that kills them and lowers the rate`,
    };
  }
}

/** "at step 9 100% of layer 1's units are dead or saturated (68.8% at the start): the layer collapsed" */
export function collapseText(
  step: number,
  layers: readonly number[],
  start: readonly number[],
  now: readonly number[],
): string {
  const each = layers.map(
    (l) =>
      `${pct(now[l - 1]!)} of layer ${l}'s units are dead or saturated (${pct(start[l - 1]!)} at the start)`,
  );
  return `at step ${step} ${each.join(", ")}: the layer collapsed`;
}

/**
 * The layers (from 1) collapsed now that were not at the start: past COLLAPSED_FRACTION from below
 * it, or RISE higher than a start already past it.
 */
export function collapsedSince(start: readonly number[], now: readonly number[]): number[] {
  const out: number[] = [];
  now.forEach((v, l) => {
    const s = start[l] ?? 0;
    if (v > COLLAPSED_FRACTION && (s <= COLLAPSED_FRACTION || v >= s + RISE)) out.push(l + 1);
  });
  return out;
}
