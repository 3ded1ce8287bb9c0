import { allFinite } from "../core/vec.js";
import type { StepRecord } from "./types.js";

/**
 * What a verdict reads of a trace, whether the trace was kept whole or summarized as it went:
 * the first and last records, the tail, the peak, and the few quantities the sentences quote.
 */
export interface TraceView {
  /** Records seen. */
  readonly count: number;
  readonly first: StepRecord;
  readonly last: StepRecord;
  /** The last m records (m at most `tailCapacity`), oldest first. */
  tail(m: number): readonly StepRecord[];
  readonly tailCapacity: number;
  /** The largest loss and its step (the first record's when it never rose). */
  readonly peak: { readonly loss: number; readonly step: number };
  /** The first step of the trailing run of records whose loss is above the first's (null when the last is not). */
  readonly aboveStartFrom: number | null;
  /** The last record with a finite loss, x and gradient and ‖g‖ > 0. */
  readonly lastFinite: StepRecord | null;
  /** The learning rate of the latest record that carries one (under a schedule). */
  readonly lastLr: number | undefined;
  /** The first record whose loss passed the blow-up bound the view was given (run/divergence.ts), or null. */
  readonly firstPastBound: { readonly step: number; readonly loss: number } | null;
}

/** A view of a trace held whole; `bound` is the blow-up bound's value B (none: +Infinity). */
export function viewOf(trace: readonly StepRecord[], bound = Number.POSITIVE_INFINITY): TraceView {
  if (trace.length === 0) throw new Error("invalid trace: empty");
  const first = trace[0]!;
  let peak = { loss: first.loss, step: first.step };
  for (const r of trace) if (r.loss > peak.loss) peak = { loss: r.loss, step: r.step };
  let aboveStartFrom: number | null = null;
  for (let i = trace.length - 1; i >= 1 && trace[i]!.loss > first.loss; i--) aboveStartFrom = trace[i]!.step;
  let lastFinite: StepRecord | null = null;
  for (let i = trace.length - 1; i >= 0 && lastFinite === null; i--)
    if (usable(trace[i]!)) lastFinite = trace[i]!;
  let lastLr: number | undefined;
  for (let i = trace.length - 1; i >= 0 && lastLr === undefined; i--) lastLr = trace[i]!.lr;
  const past = trace.find((r) => r.loss > bound);
  return {
    count: trace.length,
    first,
    last: trace[trace.length - 1]!,
    tail: (m) => trace.slice(Math.max(0, trace.length - m)),
    tailCapacity: trace.length,
    peak,
    aboveStartFrom,
    lastFinite,
    lastLr,
    firstPastBound: past ? { step: past.step, loss: past.loss } : null,
  };
}

const usable = (r: StepRecord) =>
  Number.isFinite(r.loss) && allFinite(r.x) && allFinite(r.grad) && r.gradNorm > 0;

/**
 * A trace summarized as it is produced, in memory that does not grow with the number of steps:
 * the first `head` records, a ring of the last `tail`, the running quantities a verdict needs,
 * and an evenly thinned sample of at most `sample` records for charts (when full, every other
 * one is dropped and the stride doubles).
 */
export class TraceSummary implements TraceView {
  readonly head: StepRecord[] = [];
  private readonly ring: StepRecord[] = [];
  private ringAt = 0;
  private readonly headSize: number;
  readonly tailCapacity: number;
  private readonly sampleSize: number;
  private readonly thinned: StepRecord[] = [];
  private stride = 1;
  count = 0;
  private firstRecord: StepRecord | null = null;
  private lastRecord: StepRecord | null = null;
  peak = { loss: Number.NEGATIVE_INFINITY, step: 0 };
  aboveStartFrom: number | null = null;
  lastFinite: StepRecord | null = null;
  lastLr: number | undefined;
  firstPastBound: { step: number; loss: number } | null = null;
  /** The blow-up bound's value B, set by the runner once f(x₀) is known (+Infinity until then). */
  bound = Number.POSITIVE_INFINITY;

  constructor(options: { head?: number; tail?: number; sample?: number } = {}) {
    this.headSize = options.head ?? 6;
    // The verdict reads up to 51 trailing records.
    this.tailCapacity = Math.max(options.tail ?? 51, 51);
    this.sampleSize = options.sample ?? 2048;
  }

  get first(): StepRecord {
    if (!this.firstRecord) throw new Error("invalid trace: empty");
    return this.firstRecord;
  }

  get last(): StepRecord {
    if (!this.lastRecord) throw new Error("invalid trace: empty");
    return this.lastRecord;
  }

  push(r: StepRecord): void {
    if (this.count === 0) {
      this.firstRecord = r;
      this.peak = { loss: r.loss, step: r.step };
    } else if (r.loss > this.peak.loss) this.peak = { loss: r.loss, step: r.step };
    if (this.count > 0 && r.loss > this.firstRecord!.loss) this.aboveStartFrom ??= r.step;
    else if (this.count > 0) this.aboveStartFrom = null;
    if (usable(r)) this.lastFinite = r;
    if (this.firstPastBound === null && r.loss > this.bound)
      this.firstPastBound = { step: r.step, loss: r.loss };
    if (r.lr !== undefined) this.lastLr = r.lr;
    if (this.head.length < this.headSize) this.head.push(r);
    if (this.ring.length < this.tailCapacity) this.ring.push(r);
    else {
      this.ring[this.ringAt] = r;
      this.ringAt = (this.ringAt + 1) % this.tailCapacity;
    }
    if (this.count % this.stride === 0) {
      this.thinned.push(r);
      if (this.thinned.length > this.sampleSize) {
        // Keep every other one: the sample stays evenly spaced at twice the stride.
        let j = 0;
        for (let i = 0; i < this.thinned.length; i += 2) this.thinned[j++] = this.thinned[i]!;
        this.thinned.length = j;
        this.stride *= 2;
      }
    }
    this.count++;
    this.lastRecord = r;
  }

  tail(m: number): readonly StepRecord[] {
    const ordered =
      this.ring.length < this.tailCapacity
        ? this.ring
        : [...this.ring.slice(this.ringAt), ...this.ring.slice(0, this.ringAt)];
    return ordered.slice(Math.max(0, ordered.length - m));
  }

  /** An evenly spaced sample of the records, the last one included, for charts. */
  sample(): StepRecord[] {
    const out = [...this.thinned];
    if (this.lastRecord && out[out.length - 1] !== this.lastRecord) out.push(this.lastRecord);
    return out;
  }
}
