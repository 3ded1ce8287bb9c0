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
 * Inside a scope an array no longer read may be given back (`release`: graph.ts's forward pass
 * gives back the values no derivative reads, its reverse pass a value, tangent or adjoint once the
 * last operator that reads it is done, and the operators their scratch), and the scope's next
 * `floats` that fits it takes it: a pass then holds the values its derivatives read and the
 * reverse pass's frontier, not every array it made.
 */

/** Below this many doubles (32 KiB) a fresh array from V8's young space is as cheap as a reused one. */
const SMALL = 4096;

/** The scope's arrays, each once, whether in use or given back. */
let handed: Set<Float64Array> | null = null;
/** Doubles in them (every one is kept until the scope ends), and the most of them seen. */
let held = 0;
let heldPeak = 0;
/** The scope's arrays in use (handed out and not released), by their buffers. */
let inUse = new Map<ArrayBufferLike, { readonly whole: Float64Array; readonly n: number }>();
let free = new Map<number, Float64Array[]>();
/** Doubles handed out and not released (or ended with their scope), and the most of them at once. */
let live = 0;
let peak = 0;
let poison = false;

/** Arrays of fewer doubles than this are made fresh, not pooled. */
let small = SMALL;

/**
 * Tests: pool arrays of every size and fill each one given back with NaN, so that a pass reading
 * an array after giving it back (an operator's `reads` that leaves out what its derivatives read)
 * fails loudly, on test-sized graphs too.
 */
export function poisonReleased(on: boolean): void {
  poison = on;
  small = on ? 0 : SMALL;
}

/**
 * The most doubles `floats` held at once while body ran, beyond what was held before it: what a
 * pass needs, for a memory estimate. Arrays made outside a scope count until the body returns;
 * inside one, every array the scope handed out counts, given back or not.
 */
export function peakFloats(body: () => void): number {
  const before = live;
  peak = live;
  heldPeak = 0;
  body();
  // A scope keeps every array it handed out until it ends, given back or not (the next `floats`
  // may only reuse one that fits): what a pass holds is the larger of the two counts.
  return Math.max(peak - before, heldPeak);
}

/**
 * A zeroed array of n doubles: reused inside a `pooled` scope, fresh outside one. A reused array
 * is the smallest free one of n to 2n doubles, handed out as a view of its first n (a pass's
 * arrays come in a few sizes, layer by layer: a reverse pass's small adjoints can take the large
 * arrays its forward pass gave back, instead of new ones beside them).
 */
export function floats(n: number): Float64Array {
  live += n;
  if (live > peak) peak = live;
  if (handed === null || n < small) return new Float64Array(n);
  const whole = bestFit(n) ?? new Float64Array(n);
  const a = whole.length === n ? whole : whole.subarray(0, n);
  a.fill(0);
  if (!handed.has(whole)) {
    handed.add(whole);
    held += whole.length;
    if (held > heldPeak) heldPeak = held;
  }
  inUse.set(whole.buffer, { whole, n });
  return a;
}

/**
 * Takes the smallest free array of n to 2n doubles off its list, or returns undefined: a view
 * leaves at most half of the array it pins unused. (ResNet-8's H·v over 128 images: 612 MB of
 * arrays against 639 when only the exact length is taken.)
 */
function bestFit(n: number): Float64Array | undefined {
  let best = Number.POSITIVE_INFINITY;
  for (const [length, list] of free)
    if (length >= n && length <= 2 * n && length < best && list.length > 0) best = length;
  return Number.isFinite(best) ? free.get(best)!.pop() : undefined;
}

/**
 * Gives back the scope's array on this buffer for the scope's next `floats` that fits it; any
 * other buffer (a view of θ or of the data, a constant, a small array) is left alone. The caller
 * guarantees nothing reads it any more, through this array or a view of its buffer.
 */
export function release(buffer: ArrayBufferLike): void {
  const held = inUse.get(buffer);
  if (held === undefined) return;
  inUse.delete(buffer);
  live -= held.n;
  const a = held.whole;
  if (poison) a.fill(Number.NaN);
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
  handed = new Set();
  held = 0;
  const before = live;
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
    inUse = new Map();
    live = before;
  }
}
