/**
 * Seeded pseudo-random numbers. Randomness in overshoot always comes from an Rng that is
 * passed in (never Math.random), so every run is reproducible from its reported seed.
 */
export interface Rng {
  readonly seed: number;
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Standard normal N(0, 1) by the Box–Muller transform. */
  normal(): number;
  /** The generator's state, to continue the same stream later (a checkpoint). */
  save(): RngState;
}

export interface RngState {
  readonly state: number;
  readonly spare: number | null;
}

/**
 * Mulberry32 (Tommy Ettinger's 32-bit generator): small, fast, passes PractRand to 2^32,
 * which is ample for initial points, rotations and data shuffles.
 */
export function createRng(seed: number, from?: RngState): Rng {
  if (!Number.isInteger(seed)) throw new Error(`invalid seed: ${seed} (use an integer)`);
  let state = from ? from.state >>> 0 : seed >>> 0;
  let spare: number | null = from ? from.spare : null;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = uniform();
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  return { seed, uniform, normal, save: () => ({ state, spare }) };
}

/**
 * `count` entries of `order` drawn uniformly without replacement, by a partial Fisher–Yates
 * shuffle in place (its first `count` entries become the draw), returned as a copy. Called again
 * on the same array, it draws afresh from all of it.
 */
export function drawWithoutReplacement(order: Int32Array, count: number, rng: Rng): Int32Array {
  const n = order.length;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(rng.uniform() * (n - i));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order.slice(0, count);
}
