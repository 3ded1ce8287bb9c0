import { createHash } from "node:crypto";

/**
 * Plain data as it crosses Redis: JSON, except that a Float64Array travels as its bytes (exact,
 * little-endian, base64) and a non-finite number as its name (JSON would make both null).
 * Arrays of at least BLOB_BYTES bytes travel once, by content: the value names the SHA-256 of the
 * bytes and the bytes are stored under that name (see blobs), so 400 cells of one data set carry
 * its hash, not 400 copies, and a worker checks what it fetched against the name.
 */
export type Wire = null | boolean | number | string | Wire[] | { [key: string]: Wire };

export const BLOB_BYTES = 4096;

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function f64Bytes(a: Float64Array): Buffer {
  const b = Buffer.alloc(a.length * 8);
  for (let i = 0; i < a.length; i++) b.writeDoubleLE(a[i]!, i * 8);
  return b;
}

function bytesF64(b: Buffer): Float64Array {
  if (b.length % 8 !== 0) throw new Error(`a float64 array of ${b.length} bytes (not a multiple of 8)`);
  const a = new Float64Array(b.length / 8);
  for (let i = 0; i < a.length; i++) a[i] = b.readDoubleLE(i * 8);
  return a;
}

/**
 * `value` as Wire; each large Float64Array becomes {$blob: hash} and its bytes go into `blobs`
 * (hash → bytes). Objects' keys are sorted, so equal values give equal text (and equal hashes).
 */
export function toWire(value: unknown, blobs?: Map<string, Buffer>): Wire {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return Object.is(value, -0) ? { $num: "-0" } : value;
    return { $num: String(value) };
  }
  if (typeof value === "boolean" || typeof value === "string") return value;
  if (value instanceof Float64Array) {
    const bytes = f64Bytes(value);
    if (blobs && bytes.length >= BLOB_BYTES) {
      const hash = sha256(bytes);
      blobs.set(hash, bytes);
      return { $blob: hash };
    }
    return { $f64: bytes.toString("base64") };
  }
  if (Array.isArray(value)) return value.map((v) => toWire(v, blobs));
  if (typeof value === "object") {
    const out: { [key: string]: Wire } = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = toWire(v, blobs);
    }
    return out;
  }
  throw new Error(`cannot send a ${typeof value} to a worker`);
}

/**
 * Wire back to values; {$blob} is looked up in `blobs` (bytes already checked against their
 * hash). Only own keys of plain objects are read: a key such as "__proto__" is data, never a
 * prototype.
 */
export function fromWire(wire: unknown, blobs?: ReadonlyMap<string, Buffer>): unknown {
  if (wire === null || typeof wire !== "object") return wire;
  if (Array.isArray(wire)) return wire.map((w) => fromWire(w, blobs));
  const o = wire as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1) {
    if (typeof o["$num"] === "string") {
      const v = {
        "-0": -0,
        NaN: Number.NaN,
        Infinity: Number.POSITIVE_INFINITY,
        "-Infinity": Number.NEGATIVE_INFINITY,
      }[o["$num"]];
      if (v === undefined) throw new Error(`not a number: ${JSON.stringify(o["$num"])}`);
      return v;
    }
    if (typeof o["$f64"] === "string") return bytesF64(Buffer.from(o["$f64"], "base64"));
    if (typeof o["$blob"] === "string") {
      const bytes = blobs?.get(o["$blob"]);
      if (!bytes) throw new Error(`data ${o["$blob"].slice(0, 12)}… is not at hand`);
      return bytesF64(bytes);
    }
  }
  const out: Record<string, unknown> = Object.create(null);
  for (const key of keys) out[key] = fromWire(o[key], blobs);
  return out;
}

/** The blob hashes a Wire value refers to. */
export function blobRefs(wire: unknown, into = new Set<string>()): Set<string> {
  if (wire && typeof wire === "object") {
    if (!Array.isArray(wire) && typeof (wire as { $blob?: unknown }).$blob === "string")
      into.add((wire as { $blob: string }).$blob);
    else for (const v of Object.values(wire)) blobRefs(v, into);
  }
  return into;
}
