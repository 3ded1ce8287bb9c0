import { rosenbrock } from "../../src/objectives/builtins.js";
import { run } from "../../src/run/runner.js";
import { OPTIMIZERS, optimizerOptions } from "./plane/model.js";

/**
 * In-page measurements for `npm run bench` (bench/lab.ts drives them through chromium): how many
 * optimizer steps per second the 2-D panel's library code makes in this browser, and a frame
 * counter. Loaded only with ?bench in the URL.
 */
export interface OptimizerSpeed {
  readonly optimizer: string;
  readonly steps: number;
  readonly stepsPerSecond: number;
}

function optimizerSpeeds(steps = 200_000): OptimizerSpeed[] {
  const f = rosenbrock();
  return OPTIMIZERS.map((o) => {
    const values = Object.fromEntries(o.params.map((p) => [p.key, p.key === "lr" ? 1e-4 : p.value]));
    const options = optimizerOptions(o.id, values);
    run({ objective: f, optimizer: options, x0: [-1.2, 1], steps: 20_000, tolerance: 0 });
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      run({ objective: f, optimizer: options, x0: [-1.2, 1], steps, tolerance: 0 });
      best = Math.min(best, performance.now() - t0);
    }
    return { optimizer: o.label, steps, stepsPerSecond: (steps / best) * 1000 };
  });
}

/** Frames per second over `ms`, counted with requestAnimationFrame. */
function frameRate(ms: number): Promise<number> {
  return new Promise((resolve) => {
    let frames = 0;
    const t0 = performance.now();
    const tick = (t: number) => {
      frames++;
      if (t - t0 < ms) requestAnimationFrame(tick);
      else resolve((frames * 1000) / (t - t0));
    };
    requestAnimationFrame(tick);
  });
}

/** Long main-thread tasks (over 50 ms) since the observer started, as [start, duration] in ms. */
function watchLongTasks(): { tasks: [number, number][] } {
  const seen = { tasks: [] as [number, number][] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) seen.tasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
  return seen;
}

(window as unknown as { overshootBench: unknown }).overshootBench = {
  optimizerSpeeds,
  frameRate,
  watchLongTasks,
};
