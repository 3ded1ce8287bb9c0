import { createRequire } from "node:module";
import type { SingleBar } from "cli-progress";

const require = createRequire(import.meta.url);

/**
 * A progress bar on stderr for a terminal. cli-progress is loaded here, on first use: a command
 * whose output is not a terminal (a pipe, CI, a test) never loads it.
 */
export function terminalBar(format: string): SingleBar {
  const cliProgress = require("cli-progress") as typeof import("cli-progress");
  return new cliProgress.SingleBar(
    { format, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
}

/** A duration for a person: "40 s", "12 min", "3.5 h", "11 days", "3,200 years". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "forever";
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 48 * 3600) return `${Number((seconds / 3600).toPrecision(2))} h`;
  if (seconds < 730 * 86400) return `${Math.round(seconds / 86400).toLocaleString("en-US")} days`;
  return `${Math.round(seconds / (365.25 * 86400)).toLocaleString("en-US")} years`;
}

/** The time a unit takes, for a person: "0.42 µs", "3.1 ms", "2.4 s". */
function perUnit(seconds: number): string {
  if (seconds < 1e-3) return `${Number((seconds * 1e6).toPrecision(2))} µs`;
  if (seconds < 1) return `${Number((seconds * 1e3).toPrecision(2))} ms`;
  return `${Number(seconds.toPrecision(2))} s`;
}

/**
 * Long work of a known size (a run of N steps): silent for its first 2 s, then its estimate in one
 * line and another every 5 s (a bar on a terminal), on standard error. Ctrl-C asks the work to stop
 * (`stopRequested`: it ends at the next step and writes what it did), a second Ctrl-C exits at once.
 */
export class LongWork {
  private readonly started = Date.now();
  /**
   * The first tick's time and count: once a later tick comes, the rate is measured from there, so
   * work done before the first unit ends (reading the data, evaluating the start over every row)
   * is not taken for units' time ("78 s a step" for steps of 5 s). Null until a tick comes.
   */
  private first: { readonly at: number; readonly done: number } | null = null;
  private lastLine = 0;
  private stop = false;
  private bar: ReturnType<typeof terminalBar> | null = null;
  private readonly onSignal = () => {
    if (this.stop) process.exit(130);
    this.stop = true;
    this.clear();
    this.err(
      `overshoot: stopping ${this.options.stopping ?? "at the next step"} (Ctrl-C again to stop at once)\n`,
    );
  };

  constructor(
    private total: number,
    private readonly unit: string,
    private readonly err: (text: string) => void,
    private readonly tty: boolean,
    /**
     * display: false — only Ctrl-C is handled (the caller shows progress its own way);
     * approximate: the total is an estimate that `tick` may revise ("of about N"); stopping: when
     * Ctrl-C takes effect, in its message.
     */
    private readonly options: {
      readonly display?: boolean;
      readonly approximate?: boolean;
      /** The total is a cap the work usually ends well before ("of at most N", "about … left if it runs to the cap"). */
      readonly cap?: boolean;
      /** When Ctrl-C takes effect, for its message (default "at the next step"). */
      readonly stopping?: string;
      /**
       * false: work that cannot stop part-way (one synchronous computation): Ctrl-C keeps its
       * default (the process ends, nothing written), and the lines say so.
       */
      readonly interruptible?: boolean;
    } = {},
  ) {
    if (this.options.interruptible !== false) process.on("SIGINT", this.onSignal);
  }

  get stopRequested(): boolean {
    return this.stop;
  }

  /** `done` units so far (cheap: call it every thousand steps); `total` revises an approximate total. */
  tick(done: number, total?: number): void {
    if (total !== undefined) this.total = total;
    const now = Date.now();
    const elapsed = (now - this.started) / 1000;
    this.first ??= { at: now, done };
    if (elapsed < 2 || done <= 0 || this.stop || this.options.display === false) return;
    // From the first tick on once a second has come; until then all the time so far over the units.
    const each =
      done > this.first.done ? (now - this.first.at) / 1000 / (done - this.first.done) : elapsed / done;
    const left = duration(each * (this.total - done));
    if (this.tty) {
      if (!this.bar) {
        this.bar = terminalBar(
          `{bar} {percentage}% | ${this.unit} {value}/{total} | about {left} left | Ctrl-C ${this.options.interruptible === false ? "abandons" : "stops"}`,
        );
        this.bar.start(this.total, done, { left });
      } else {
        this.bar.setTotal(this.total);
        this.bar.update(done, { left });
      }
      return;
    }
    if (now - this.lastLine < 5000 && this.lastLine !== 0) return;
    this.lastLine = now;
    const share = (100 * done) / this.total;
    this.err(
      `overshoot: ${this.unit} ${done.toLocaleString("en-US")} of ${this.options.approximate ? "about " : this.options.cap ? "at most " : ""}${this.total.toLocaleString("en-US")} (${Number(share.toPrecision(2))}%), ${duration(elapsed)} so far, about ${left} left${this.options.cap ? " if it runs to the cap," : ""} at ${perUnit(each)} a ${this.unit}; ${this.options.interruptible === false ? "Ctrl-C abandons it" : "Ctrl-C stops and keeps what was done"}\n`,
    );
  }

  private clear(): void {
    this.bar?.stop();
    this.bar = null;
  }

  /** Ends the display and the Ctrl-C handling. */
  finish(): void {
    this.clear();
    process.off("SIGINT", this.onSignal);
  }
}
