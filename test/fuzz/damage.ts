import type { Rng } from "../../src/core/rng.js";

/**
 * A seeded damage to a file: 1 to 4 bytes set to random values, then, one time in five, the file
 * cut at a random length — the mutations the ONNX fuzz tests apply. The original is not touched.
 */
export function damaged(original: Uint8Array, rng: Rng): Uint8Array {
  const b = original.slice();
  const flips = 1 + Math.floor(rng.uniform() * 4);
  for (let f = 0; f < flips; f++) b[Math.floor(rng.uniform() * b.length)] = Math.floor(rng.uniform() * 256);
  return rng.uniform() < 0.2 ? b.subarray(0, Math.floor(rng.uniform() * b.length)) : b;
}
