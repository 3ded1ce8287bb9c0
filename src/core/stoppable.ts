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

/** To its end or until `stop()` says so, checked after a turn of the event loop at every step. */
export async function runStoppable<R>(
  it: Stoppable<R>,
  stop: () => boolean,
): Promise<{ readonly value: R; readonly stopped: boolean }> {
  let r = it.next();
  let stopped = false;
  while (!r.done) {
    await new Promise((ok) => setTimeout(ok, 0));
    if (stop()) stopped = true;
    r = it.next(stopped);
  }
  return { value: r.value, stopped };
}
