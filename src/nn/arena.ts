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
 */

/** Below this many doubles (32 KiB) a fresh array from V8's young space is as cheap as a reused one. */
const SMALL = 4096;

let handed: Float64Array[] | null = null;
let free = new Map<number, Float64Array[]>();
/** Doubles handed out so far, reused or not: what a pass needs, for a memory estimate. */
let made = 0;

/** The doubles `floats` has handed out since the process started (differences measure a pass). */
export function floatsMade(): number {
  return made;
}

/** A zeroed array of n doubles: reused inside a `pooled` scope, fresh outside one. */
export function floats(n: number): Float64Array {
  made += n;
  if (handed === null || n < SMALL) return new Float64Array(n);
  const reused = free.get(n)?.pop();
  const a = reused ? reused.fill(0) : new Float64Array(n);
  handed.push(a);
  return a;
}

/**
 * Runs body with the arrays `floats` hands out reused across calls; none of them may be kept past
 * it. A scope inside a scope is part of the outer one.
 */
export function pooled<T>(body: () => T): T {
  if (handed !== null) return body();
  handed = [];
  try {
    return body();
  } finally {
    const next = new Map<number, Float64Array[]>();
    for (const a of handed) {
      const list = next.get(a.length);
      if (list) list.push(a);
      else next.set(a.length, [a]);
    }
    free = next;
    handed = null;
  }
}
