/**
 * A computation written as a generator that yields between its steps (a Lanczos step, a quadrature
 * probe) and ends early when `next(true)` is sent: run to its end in one go, or with a turn of the
 * event loop between steps so that a signal's handler (Ctrl-C) can ask it to stop.
 */
export type Stoppable<R> = Generator<unknown, R, boolean | undefined>;

/** To its end, without a break. */
export function runToEnd<R>(it: Stoppable<R>): R {
  let r = it.next();
  while (!r.done) r = it.next();
  return r.value;
}

/**
 * Runs `inner` inside another stoppable, passing a stop on to it, and says whether one came: the
 * outer computation can then keep what the inner one had finished.
 */
export function* delegate<R>(
  inner: Stoppable<R>,
): Generator<unknown, { value: R; stopped: boolean }, boolean | undefined> {
  let stopped = false;
  let r = inner.next();
  while (!r.done) {
    const stop = yield r.value;
    if (stop === true) stopped = true;
    r = inner.next(stop);
  }
  return { value: r.value, stopped };
}

/** To its end or until `stop()` says so, checked after a turn of the event loop at every step. */
export async function runStoppable<R>(
  it: Stoppable<R>,
  stop: () => boolean,
): Promise<{ readonly value: R; readonly stopped: boolean }> {
  let r = it.next();
  let stopped = false;
  while (!r.done) {
    // setImmediate, not setTimeout(0) (clamped to 1 ms): a turn through the poll phase, where a
    // signal is delivered, without a millisecond lost per step.
    await new Promise((ok) => setImmediate(ok));
    if (stop()) stopped = true;
    r = it.next(stopped);
  }
  return { value: r.value, stopped };
}
