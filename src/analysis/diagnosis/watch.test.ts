import { describe, expect, it } from "vitest";
import { resolveOptimizerConfig } from "../../optim/index.js";
import { DivergenceDetector } from "../training/detector.js";
import type { LogRecord } from "./diagnose.js";
import { LogWatch, type WatchEvent } from "./watch.js";

/** A log of a run that falls, then overshoots: the loss ×g a step from step `turn` on. */
function overshooting(steps: number, turn: number, g: number): LogRecord[] {
  const out: LogRecord[] = [];
  let loss = 2;
  for (let k = 0; k < steps; k++) {
    out.push({ step: k, loss: loss > 1e300 ? Number.POSITIVE_INFINITY : loss, lr: 0.1 });
    loss *= k < turn ? 0.9 : g;
  }
  return out;
}

const strip = (events: readonly WatchEvent[]) =>
  events.map((e) => `${e.kind} ${e.step} ${e.state} ${e.text}`);

describe("LogWatch: the detector live over a growing log", () => {
  it("a log read in pieces gives the events of the whole log read at once, and the detector's own warning", () => {
    const log = overshooting(80, 20, 3);
    const whole = new LogWatch();
    const all = whole.feed(log);
    for (const piece of [1, 3, 7, 40]) {
      const w = new LogWatch();
      const events: WatchEvent[] = [];
      for (let n = 0; n <= log.length; n += piece) events.push(...w.feed(log.slice(0, n)));
      events.push(...w.feed(log));
      expect(strip(events)).toEqual(strip(all));
      expect(w.detection).toEqual(whole.detection);
    }
    // The same detector fed the same scalars directly: loss only (no curvature), bound 10⁶ × the first loss.
    const d = new DivergenceDetector(resolveOptimizerConfig({ name: "sgd", lr: 1 }), { curvature: false });
    for (const r of log) d.observeScalars({ step: r.step, loss: r.loss, curvature: Number.NaN, lr: 0.1 });
    expect(whole.detection).toEqual(d.detection);
    // Warned before the loss passed 10⁶ × 2 (at step 20 + ln(10⁶/(2·0.9²⁰))/ln 3 ≈ 35), then diverged.
    const warn = all.find((e) => e.state === "diverging")!;
    const past = log.find((r) => r.loss > 2e6)!.step;
    expect(warn.kind).toBe("state");
    expect(warn.step).toBeLessThan(past);
    expect(warn.pastBound).toBe(false);
    const diverged = all.find((e) => e.kind === "diverged")!;
    expect(diverged.step).toBe(past);
    expect(diverged.pastBound).toBe(true);
    expect(whole.hasDiverged).toBe(true);
  });

  it("a run that only falls says nothing; a minibatch loss's small rises are not news", () => {
    const log: LogRecord[] = Array.from({ length: 300 }, (_, k) => ({
      step: k,
      loss: (1 + 0.3 * Math.sin(k * 1.7)) * Math.exp(-k / 100),
    }));
    const w = new LogWatch();
    expect(w.feed(log)).toEqual([]);
    expect(w.detection.firstWarningStep).toBeNull();
  });

  it("a log that goes back to an earlier step (a resumed run) starts the detector over: the same state as a fresh watch", () => {
    const first = overshooting(30, 10, 1.5);
    const w = new LogWatch();
    w.feed(first);
    // Resumed from step 12 at a lower rate: the steps from 12 on are written again, falling.
    const resumed: LogRecord[] = [
      ...first.slice(0, 12),
      ...Array.from({ length: 40 }, (_, i) => ({
        step: 12 + i,
        loss: first[11]!.loss * 0.95 ** (i + 1),
        lr: 0.05,
      })),
    ];
    const events = w.feed(resumed);
    expect(events[0]).toMatchObject({ kind: "restart", step: 12 });
    const fresh = new LogWatch();
    fresh.feed(resumed);
    expect(w.detection).toEqual(fresh.detection);
    expect(w.records).toBe(resumed.length);
  });

  it("a guard's intervention record is reported, and the detector renewed after it", () => {
    const log: LogRecord[] = [
      ...overshooting(12, 4, 4),
      {
        step: 6,
        loss: 1.3,
        intervention: {
          atStep: 11,
          reason: "the loss rose ×4 a step",
          oldLr: 0.1,
          newLr: 0.02,
          how: "rolled back",
        },
      },
      ...Array.from({ length: 10 }, (_, i) => ({ step: 7 + i, loss: 1.3 * 0.9 ** (i + 1), lr: 0.02 })),
    ];
    const w = new LogWatch();
    const events = w.feed(log);
    const guard = events.find((e) => e.kind === "intervention")!;
    expect(guard.text).toContain("rolled back to step 11");
    expect(guard.text).toContain("0.1 → 0.02");
    expect(w.detection.state).not.toBe("diverging");
  });

  it("λmax logged beside the rate: the edge of stability when it reaches 2/η, said once a rate", () => {
    // λmax oscillates about 2/η = 10 at η = 0.2; at step 8 the rate halves (2/η = 20).
    const log: LogRecord[] = Array.from({ length: 12 }, (_, k) => ({
      step: k,
      loss: 1 - 0.01 * k,
      lr: k < 8 ? 0.2 : 0.1,
      sharpness: [2, 6, 9, 10.2, 11.9, 8.4, 10.4, 10.3, 12, 17, 20.5, 19][k]!,
    }));
    const edges = new LogWatch().feed(log).filter((e) => e.kind === "edge");
    expect(edges.map((e) => e.step)).toEqual([3, 10]);
    expect(edges[0]!.text).toContain("2/η = 10");
    expect(edges[1]!.text).toContain("2/η = 20");
  });

  it("a non-finite loss is a divergence at once, said in one event", () => {
    const log: LogRecord[] = [
      { step: 0, loss: 1033 },
      { step: 1, loss: 1.7e5 },
      { step: 2, loss: Number.NaN },
    ];
    const events = new LogWatch().feed(log);
    const at2 = events.filter((e) => e.step === 2);
    expect(at2).toHaveLength(1);
    expect(at2[0]).toMatchObject({ kind: "state", state: "diverging", pastBound: true });
    expect(at2[0]!.text).toContain("NaN");
  });
});
