/**
 * The float64 arrays one pass over a block of rows makes — every operator's outputs, tangents,
 * adjoints and scratch — reused by the next pass instead of made again. A fresh large array costs
 * the kernel's zeroed pages and then the garbage collector's time, about twice a pass over it (a
 * transformer's gradient makes 150 MB of them); a reused one costs a fill.
 *
 * Outside `pooled` (a graph run for its outputs, which the caller keeps) `floats` is `new
 * Float64Array`. Inside, every array it hands out belongs to the scope: when the body returns,
 * they become the next scope's to reuse, so nothing made inside may outlive the body (the
 * objective reads the loss into a number and adds the gradient into the caller's vector first).
 * The pool keeps only what the last scope used, so it holds at most one pass's arrays.
 *
 * Inside a scope an array no longer read may be given back (`release`, graph.ts's reverse pass:
 * a value, tangent or adjoint once the last operator that reads it is done), and the scope's
 * next `floats` of that length takes it: a pass then holds its forward values and the reverse
 * pass's frontier, not every adjoint it made.
 */

/** Below this many doubles (32 KiB) a fresh array from V8's young space is as cheap as a reused one. */
const SMALL = 4096;

let handed: Float64Array[] | null = null;
/** The scope's arrays in use (handed out and not released), by their buffers. */
let inUse = new Map<ArrayBufferLike, Float64Array>();
let free = new Map<number, Float64Array[]>();
/** Doubles handed out and not released (or ended with their scope), and the most of them at once. */
let live = 0;
let peak = 0;

/**
 * The most doubles `floats` held at once while body ran, beyond what was held before it: what a
 * pass needs (arrays made outside a scope count until the body returns), for a memory estimate.
 */
export function peakFloats(body: () => void): number {
  const before = live;
  peak = live;
  body();
  return peak - before;
}

/** A zeroed array of n doubles: reused inside a `pooled` scope, fresh outside one. */
export function floats(n: number): Float64Array {
  live += n;
  if (live > peak) peak = live;
  if (handed === null || n < SMALL) return new Float64Array(n);
  const reused = free.get(n)?.pop();
  const a = reused ? reused.fill(0) : new Float64Array(n);
  handed.push(a);
  inUse.set(a.buffer, a);
  return a;
}

/**
 * Gives back the scope's array on this buffer for the scope's next `floats` of its length; any
 * other buffer (a view of θ or of the data, a constant, a small array) is left alone. The caller
 * guarantees nothing reads it any more, through this array or a view of its buffer.
 */
export function release(buffer: ArrayBufferLike): void {
  const a = inUse.get(buffer);
  if (a === undefined) return;
  inUse.delete(buffer);
  live -= a.length;
  const list = free.get(a.length);
  if (list) list.push(a);
  else free.set(a.length, [a]);
}

/**
 * Runs body with the arrays `floats` hands out reused across calls; none of them may be kept past
 * it. A scope inside a scope is part of the outer one.
 */
export function pooled<T>(body: () => T): T {
  if (handed !== null) return body();
  handed = [];
  const before = live;
  try {
    return body();
  } finally {
    // Each array once (a released one handed out again is listed twice).
    const next = new Map<number, Float64Array[]>();
    for (const a of new Set(handed)) {
      const list = next.get(a.length);
      if (list) list.push(a);
      else next.set(a.length, [a]);
    }
    free = next;
    handed = null;
    inUse = new Map();
    live = before;
  }
}
