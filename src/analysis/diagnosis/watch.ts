import { fmt } from "../../core/format.js";
import type { OptimizerConfig } from "../../optim/index.js";
import { type BlowUpBound, blowUpBound, boundText } from "../../run/divergence.js";
import { type Detection, type DetectionState, DivergenceDetector } from "../training/detector.js";
import type { LogRecord } from "./diagnose.js";

/**
 * The divergence detector (training/detector.ts) run live over a training log as it grows: fed the
 * whole log each time it is read, it observes the records it has not seen and says what changed.
 *
 * A log is all a watcher has: a loss a record, perhaps the learning rate, rarely the curvature
 * along the steps (an `overshoot run --json` trace). Without the curvature the detector reads the
 * loss alone (its T1 uncorroborated and T3), as it does for minibatches, whose logged losses are
 * what practitioners' trainers write. A log carries no baseline, so the blow-up bound is
 * blowUp × the first loss (diagnose's reading: run/divergence.ts).
 *
 * The log may be rewritten under the watcher: a resumed or restarted run appends steps it logged
 * before (the reader keeps the newest record of each step), a guard's rollback writes an
 * intervention record. Where the records already observed are no longer the log's prefix, the
 * detector starts over: the unchanged prefix is replayed silently and the rest observed.
 */
export type WatchEventKind = "state" | "edge" | "diverged" | "restart" | "intervention";

export interface WatchEvent {
  readonly kind: WatchEventKind;
  readonly step: number;
  readonly loss: number;
  /** The learning rate logged at or before this record, where the log has one. */
  readonly lr?: number;
  /** The gradient's norm logged at this record, where the log has one. */
  readonly gradNorm?: number;
  /** The detector's state after this record. */
  readonly state: DetectionState;
  /** What happened, in one sentence: the detector's reason for a state. */
  readonly text: string;
  /** Whether this record's loss is past the blow-up bound or not finite (the run has diverged here). */
  readonly pastBound: boolean;
}

export interface LogWatchOptions {
  /**
   * The run's optimizer, as far as the detector needs it: the SGD family's steps can grow the loss
   * geometrically from one step to the next, an adaptive optimizer's cannot (detector.ts). Default
   * plain SGD, the reading that warns soonest.
   */
  readonly optimizer?: OptimizerConfig | { readonly name: string };
  /** The blow-up bound's factor (default 10⁶). */
  readonly blowUp?: number;
}

export class LogWatch {
  private readonly options: LogWatchOptions;
  private detector: DivergenceDetector;
  /** The records observed, in order (step and loss: enough to tell whether the log was rewritten). */
  private fed: { step: number; loss: number; intervention: boolean }[] = [];
  private state: DetectionState = "stable";
  private bound: BlowUpBound | null = null;
  private diverged = false;
  private curvature = false;
  /** The last state reported in an event (what the watcher was told). */
  private shown: DetectionState = "stable";
  /** The 2/η that λmax last reached (null: not yet). */
  private edgeLimit: number | null = null;

  constructor(options: LogWatchOptions = {}) {
    this.options = options;
    this.detector = this.newDetector(null);
  }

  /** The detector's reading after the last record. */
  get detection(): Detection {
    return this.detector.detection;
  }

  /** The state last reported in an event: the detector's, less the changes that are not news (worthSaying). */
  get reportedState(): DetectionState {
    return this.shown;
  }

  /** How many records have been observed. */
  get records(): number {
    return this.fed.length;
  }

  /** The bound B the run is judged by, once its first loss is known. */
  get blowUp(): BlowUpBound | null {
    return this.bound;
  }

  /** True once a loss was not finite or passed B. */
  get hasDiverged(): boolean {
    return this.diverged;
  }

  private newDetector(bound: number | null): DivergenceDetector {
    return new DivergenceDetector(this.options.optimizer ?? { name: "sgd", lr: 1 }, {
      ...(this.options.blowUp !== undefined ? { blowUp: this.options.blowUp } : {}),
      ...(bound !== null ? { bound } : {}),
      curvature: this.curvature,
    });
  }

  /** Observes the records of `log` (the whole log as read now) that were not observed before. */
  feed(log: readonly LogRecord[]): WatchEvent[] {
    const events: WatchEvent[] = [];
    let same = 0;
    while (
      same < this.fed.length &&
      same < log.length &&
      log[same]!.step === this.fed[same]!.step &&
      Object.is(log[same]!.loss, this.fed[same]!.loss) &&
      Boolean(log[same]!.intervention) === this.fed[same]!.intervention
    )
      same++;
    if (same < this.fed.length) {
      // Rewritten from record `same` on: a restarted or resumed run. Start over, replaying what is unchanged.
      const from = log[same];
      const replay = log.slice(0, same);
      this.reset(log);
      for (let i = 0; i < replay.length; i++) this.observe(replay, i, null);
      // A guard's rollback rewrites the log too; its intervention record says so itself.
      if (from !== undefined && !from.intervention)
        events.push({
          kind: "restart",
          step: from.step,
          loss: from.loss,
          ...lrOf(from),
          state: this.state,
          pastBound: false,
          text: `the log goes back to step ${from.step} (a resumed or restarted run wrote it again): the detector starts over from there`,
        });
    } else if (this.fed.length === 0 && log.length > 0) {
      this.reset(log);
    }
    for (let i = this.fed.length; i < log.length; i++) this.observe(log, i, events);
    return events;
  }

  private reset(log: readonly LogRecord[]): void {
    this.curvature = log.some((r) => r.curvature !== undefined);
    this.fed = [];
    this.state = "stable";
    this.bound = null;
    this.diverged = false;
    this.edgeLimit = null;
    this.shown = "stable";
    this.detector = this.newDetector(null);
  }

  /** Observes log[i]; events are collected unless replaying (events null). */
  private observe(log: readonly LogRecord[], i: number, events: WatchEvent[] | null): void {
    const r = log[i]!;
    this.fed.push({ step: r.step, loss: r.loss, intervention: Boolean(r.intervention) });
    const emit = (kind: WatchEventKind, text: string) =>
      events?.push({
        kind,
        step: r.step,
        loss: r.loss,
        ...lrOf(r),
        state: this.state,
        text,
        pastBound: !Number.isFinite(r.loss) || (this.bound !== null && r.loss > this.bound.value),
      });
    if (r.intervention) {
      // A guard rolled the run back and lowered the rate: a new detector from the next record, with
      // the run's bound (as the guard's own detector is renewed).
      const v = r.intervention;
      this.detector = this.newDetector(this.bound?.value ?? null);
      this.state = "stable";
      this.shown = "stable";
      emit(
        "intervention",
        `the guard rolled back to step ${v.atStep} and set the learning rate ${fmt(v.oldLr)} → ${fmt(v.newLr)}: ${v.reason}`,
      );
      return;
    }
    this.bound ??= blowUpBound(r.loss, null, this.options.blowUp);
    // The curvature a record carries is along the step from it: the step into r is the one before.
    const previous = i > 0 ? log[i - 1] : undefined;
    const state = this.detector.observeScalars({
      step: r.step,
      loss: r.loss,
      curvature: previous?.curvature ?? Number.NaN,
      lr: previous?.lr ?? r.lr ?? Number.NaN,
    });
    const was = this.state;
    this.state = state;
    const changed = state !== was && this.worthSaying(was, state);
    if (changed) {
      this.shown = state;
      emit("state", this.detector.detection.reason);
    }
    // λmax logged beside the rate (overshoot train --sharpness-every): the edge of stability itself.
    const limit = r.twoOverLr ?? (r.lr !== undefined && r.lr > 0 ? 2 / r.lr : undefined);
    if (r.sharpness !== undefined && limit !== undefined) {
      // Said once a rate: at the edge λmax oscillates about 2/η (±20% is common), so crossings
      // are not news; a new rate (a schedule, a guard's cap) is a new limit to reach.
      if (r.sharpness >= limit && this.edgeLimit !== limit)
        emit(
          "edge",
          `λmax = ${fmt(r.sharpness)} reached 2/η = ${fmt(limit)}: the edge of stability (the loss may rise and fall while λmax hovers there; past it a run either comes back or diverges)`,
        );
      if (r.sharpness >= limit) this.edgeLimit = limit;
    }
    if (!this.diverged && (!Number.isFinite(r.loss) || r.loss > this.bound.value)) {
      this.diverged = true;
      // Said once: the warning of this same record says it already.
      if (!(changed && state === "diverging"))
        emit(
          "diverged",
          Number.isFinite(r.loss)
            ? `the loss ${fmt(r.loss)} passed the blow-up bound ${boundText(this.bound)}: diverged`
            : `the loss is ${r.loss}: diverged`,
        );
    }
  }

  /**
   * Which of the detector's state changes are news to someone watching a log. Read from the loss
   * alone (no curvature in the log), a rise is not the edge of stability — a minibatch loss rises
   * on every other step — and a "catapult" over a peak within an order of magnitude of the start is
   * the same noise; a warning, a recovery from one, and a catapult of ×10 or more are news.
   */
  private worthSaying(was: DetectionState, now: DetectionState): boolean {
    if (now === "diverging" || was === "diverging") return true;
    if (now === "edge-of-stability") return this.curvature;
    if (now === "catapult") return this.curvature || this.peakRatio() >= 10;
    return true;
  }

  private peakRatio(): number {
    const start = this.fed.find((f) => !f.intervention)?.loss ?? Number.NaN;
    let peak = Number.NEGATIVE_INFINITY;
    for (const f of this.fed) if (!f.intervention && f.loss > peak) peak = f.loss;
    return start > 0 ? peak / start : Number.NaN;
  }
}

const lrOf = (r: LogRecord): { lr?: number; gradNorm?: number } => ({
  ...(r.lr !== undefined ? { lr: r.lr } : {}),
  ...(r.gradNorm !== undefined ? { gradNorm: r.gradNorm } : {}),
});
