import { readFileSync } from "node:fs";
import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { npyFile } from "../../../test/npy-bytes.js";
import { crc32, type NpyArray, NpyError, readNpy, readNpz } from "./npy.js";

/**
 * Files written by numpy itself (scripts/fixtures/numpy_npy.py) against the shapes, descrs and
 * C-order values numpy reported for them, then hand-built and damaged files: each must be read or
 * refused with an NpyError, quickly.
 */
interface Expected {
  shape: number[];
  dtype: string;
  integer: boolean;
  values: number[];
}
const golden = JSON.parse(readFileSync(new URL("./__golden__/expected.json", import.meta.url), "utf8")) as {
  files: Record<string, Expected | { entries: Record<string, Expected> }>;
  refused: Record<string, string>;
};
const bytesOf = (file: string) =>
  new Uint8Array(readFileSync(new URL(`./__golden__/${file}`, import.meta.url)));

const plain = (a: NpyArray): Expected => ({
  shape: [...a.shape],
  dtype: a.dtype,
  integer: a.integer,
  values: Array.from(a.data),
});

const ascii = (s: string) => new TextEncoder().encode(s);

interface ZipEntry {
  name: string;
  data: Uint8Array;
  method?: 0 | 8;
  /** Overrides the declared uncompressed size. */
  size?: number;
  /** Overrides the stored bytes (e.g. a prepared deflate stream). */
  stored?: Uint8Array;
}

/**
 * A ZIP archive as np.savez lays it out: local headers and data, central directory, EOCD. With
 * zip64, the central directory's sizes and offsets and the EOCD's counts are saturated and carried
 * by ZIP64 extra fields and a ZIP64 end record with its locator.
 */
function zip(entries: ZipEntry[], zip64 = false): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = ascii(e.name);
    const method = e.method ?? 0;
    const stored = e.stored ?? (method === 8 ? new Uint8Array(deflateRawSync(e.data)) : e.data);
    const size = e.size ?? e.data.length;
    const crc = crc32(e.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, stored.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const extra = zip64 ? 28 : 0;
    const cd = new Uint8Array(46 + name.length + extra);
    const cv = new DataView(cd.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, zip64 ? 0xffffffff : stored.length, true);
    cv.setUint32(24, zip64 ? 0xffffffff : size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint16(30, extra, true);
    cv.setUint32(42, zip64 ? 0xffffffff : offset, true);
    cd.set(name, 46);
    if (zip64) {
      const x = 46 + name.length;
      cv.setUint16(x, 1, true);
      cv.setUint16(x + 2, 24, true);
      cv.setBigUint64(x + 4, BigInt(size), true);
      cv.setBigUint64(x + 12, BigInt(stored.length), true);
      cv.setBigUint64(x + 20, BigInt(offset), true);
    }
    parts.push(local, stored);
    central.push(cd);
    offset += local.length + stored.length;
  }
  const cdOffset = offset;
  let cdSize = 0;
  for (const c of central) cdSize += c.length;
  const tail: Uint8Array[] = [];
  if (zip64) {
    const rec = new Uint8Array(56 + 20);
    const rv = new DataView(rec.buffer);
    rv.setUint32(0, 0x06064b50, true);
    rv.setBigUint64(4, 44n, true);
    rv.setBigUint64(24, BigInt(entries.length), true);
    rv.setBigUint64(32, BigInt(entries.length), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOffset), true);
    rv.setUint32(56, 0x07064b50, true);
    rv.setBigUint64(64, BigInt(cdOffset + cdSize), true);
    rv.setUint32(72, 1, true);
    tail.push(rec);
  }
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, zip64 ? 0xffff : entries.length, true);
  ev.setUint16(10, zip64 ? 0xffff : entries.length, true);
  ev.setUint32(12, zip64 ? 0xffffffff : cdSize, true);
  ev.setUint32(16, zip64 ? 0xffffffff : cdOffset, true);
  tail.push(eocd);
  const all = [...parts, ...central, ...tail];
  let total = 0;
  for (const p of all) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** mulberry32: a small seeded generator, so the fuzz is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs a read and returns what it did: "ok" (and the result checks out) or the NpyError. */
function attempt(read: () => NpyArray | Map<string, NpyArray>): { outcome: "ok" | NpyError; ms: number } {
  const t0 = performance.now();
  let outcome: "ok" | NpyError = "ok";
  try {
    const r = read();
    const arrays = r instanceof Map ? [...r.values()] : [r];
    for (const a of arrays) {
      let n = 1;
      for (const d of a.shape) n *= d;
      if (a.data.length !== n) throw new Error(`result of ${a.data.length} values for shape ${a.shape}`);
    }
  } catch (e) {
    if (!(e instanceof NpyError)) throw e;
    outcome = e;
  }
  return { outcome, ms: performance.now() - t0 };
}

/**
 * The most any single damaged file may take. Reads take well under 2 ms, but a garbage-collection
 * pause (each inflate allocates a zlib state) can land in any one of them on a loaded machine: CI's
 * 2-core runner saw 84 ms. What this bound catches is a hang or an allocation of a claimed size
 * (hundreds of megabytes), which take seconds; the messages asserted beside it say why a file was
 * refused.
 */
const MAX_MS = 1000;
/** The mean over a fuzz run, which GC pauses cannot inflate much. */
const MEAN_MS = 2;

function message(read: () => unknown): string {
  try {
    read();
  } catch (e) {
    expect(e).toBeInstanceOf(NpyError);
    return (e as Error).message;
  }
  throw new Error("expected an NpyError, but the file was read");
}

describe("numpy's own files", () => {
  for (const [file, want] of Object.entries(golden.files)) {
    it(`reads ${file} exactly`, () => {
      if ("entries" in want) {
        const got = readNpz(bytesOf(file), file);
        expect([...got.keys()].sort()).toEqual(Object.keys(want.entries).sort());
        for (const [key, entry] of Object.entries(want.entries)) expect(plain(got.get(key)!)).toEqual(entry);
      } else {
        expect(plain(readNpy(bytesOf(file), file))).toEqual(want);
      }
    });
  }

  it("transposes Fortran order to C order", () => {
    const a = readNpy(bytesOf("fortran_2d.npy"), "fortran_2d.npy");
    expect(a.shape).toEqual([3, 4]);
    expect(Array.from(a.data.subarray(0, 4))).toEqual([0, 0.25, 0.5, 0.75]);
  });

  it("refuses what cannot be numbers exactly", () => {
    for (const [file, fragment] of Object.entries(golden.refused)) {
      const m = message(() => readNpy(bytesOf(file), file));
      expect(m).toContain(file);
      expect(m).toContain(fragment);
    }
    expect(message(() => readNpy(bytesOf("i64_beyond.npy"), "labels.npy"))).toBe(
      "labels.npy: element 1 of the <i8 array is 9007199254740993, beyond ±2^53 (9007199254740992), so it " +
        "cannot be held exactly as a float64; if approximate values will do, save it with " +
        "np.save(path, np.asarray(array, dtype=np.float64))",
    );
  });

  it("reads hand-built archives, ZIP64 fields included", () => {
    const x = bytesOf("f32_nchw.npy");
    const y = bytesOf("i64_labels.npy");
    for (const zip64 of [false, true]) {
      const got = readNpz(
        zip(
          [
            { name: "x.npy", data: x, method: 8 },
            { name: "notes.txt", data: ascii("hi") },
            { name: "y.npy", data: y },
          ],
          zip64,
        ),
        "hand.npz",
      );
      expect([...got.keys()]).toEqual(["x", "y"]);
      expect(got.get("x")).toEqual(readNpy(x, "x"));
      expect(got.get("y")).toEqual(readNpy(y, "y"));
    }
  });
});

describe("damaged and hostile files", () => {
  const smallNpy = bytesOf("i32.npy");
  const npzStored = bytesOf("savez.npz");
  const npzDeflated = bytesOf("savez_compressed.npz");
  const f32 = (n: number) => new Uint8Array(4 * n);

  it("truncated at every length: read or refused, quickly", () => {
    let slowest = 0;
    let spent = 0;
    let runs = 0;
    let refused = 0;
    for (const [file, bytes, read] of [
      ["i32.npy", smallNpy, readNpy],
      ["savez.npz", npzStored, readNpz],
      ["savez_compressed.npz", npzDeflated, readNpz],
    ] as const) {
      for (let n = 0; n < bytes.length; n++) {
        const r = attempt(() => read(bytes.subarray(0, n), file));
        slowest = Math.max(slowest, r.ms);
        spent += r.ms;
        runs++;
        if (r.outcome !== "ok") refused++;
      }
    }
    expect(refused).toBe(smallNpy.length + npzStored.length + npzDeflated.length);
    expect(slowest).toBeLessThan(MAX_MS);
    expect(spent / runs).toBeLessThan(MEAN_MS);
  });

  it("random bytes flipped: read or refused, quickly", () => {
    const next = rng(20261207);
    let slowest = 0;
    let spent = 0;
    let runs = 0;
    for (const [file, bytes, read] of [
      ["i32.npy", smallNpy, readNpy],
      ["f64_nchw.npy", bytesOf("f64_nchw.npy"), readNpy],
      ["savez.npz", npzStored, readNpz],
      ["savez_compressed.npz", npzDeflated, readNpz],
    ] as const) {
      for (let trial = 0; trial < 600; trial++) {
        const copy = bytes.slice();
        const flips = 1 + Math.floor(next() * 4);
        // Half the trials aim at the header / zip structure, where the sizes live.
        const span = next() < 0.5 ? Math.min(copy.length, 128) : copy.length;
        for (let f = 0; f < flips; f++) {
          const at = next() < 0.5 ? Math.floor(next() * span) : copy.length - 1 - Math.floor(next() * span);
          copy[at] = Math.floor(next() * 256);
        }
        const r = attempt(() => read(copy, file));
        slowest = Math.max(slowest, r.ms);
        spent += r.ms;
        runs++;
      }
    }
    expect(slowest).toBeLessThan(MAX_MS);
    expect(spent / runs).toBeLessThan(MEAN_MS);
  });

  it("absurd shapes are refused before allocating", () => {
    const cases: [string, string][] = [
      ["(1000000000000,)", "more than the limit of 200000000"],
      ["(4294967296, 4294967296, 4294967296, 4294967296, 4294967296)", "more than the limit"],
      ["(0, 10000000000000000000)", "not a non-negative integer"],
      ["(0, 100000000000000000000)", "21 digits"],
      ["(9007199254740993,)", "not a non-negative integer"],
      ["(-1, 3)", "negative dimension"],
      ["(1e12,)", "not numpy's dict"],
      [`(${"1, ".repeat(65)})`, "more than 64 dimensions"],
    ];
    for (const [shape, fragment] of cases) {
      const bytes = npyFile(`{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`, f32(8));
      const r = attempt(() => readNpy(bytes, "big.npy"));
      expect(r.outcome).toBeInstanceOf(NpyError);
      expect((r.outcome as NpyError).message).toContain(fragment);
      expect(r.ms).toBeLessThan(MAX_MS);
    }
    const fine = readNpy(
      npyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9007199254740991), }", f32(0)),
      "e",
    );
    expect(fine.shape).toEqual([0, 9007199254740991]);
    expect(fine.data.length).toBe(0);
    expect(message(() => readNpy(smallNpy, "i32.npy", { maxElements: 5 }))).toContain(
      "more than the limit of 5",
    );
  });

  it("payload and header sizes must match the bytes present", () => {
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }";
    expect(readNpy(npyFile(dict, f32(8)), "ok.npy").data.length).toBe(8);
    expect(message(() => readNpy(npyFile(dict, new Uint8Array(33)), "x.npy"))).toBe(
      "x.npy: shape (8,) of <f4 needs 32 bytes of data but 33 follow the header; the file is damaged " +
        "(extra bytes), save it again with np.save(path, array)",
    );
    expect(message(() => readNpy(npyFile(dict, new Uint8Array(31)), "x.npy"))).toContain(
      "31 follow the header",
    );
    const v1 = npyFile(dict, f32(8));
    new DataView(v1.buffer).setUint16(8, 0xffff, true);
    expect(message(() => readNpy(v1, "x.npy"))).toBe(
      "x.npy is truncated: its header claims 65535 bytes but only 150 follow the preamble",
    );
    const v2 = npyFile(dict, f32(8), 2);
    expect(readNpy(v2, "v2.npy").data.length).toBe(8);
    new DataView(v2.buffer).setUint32(8, 0xffffffff, true);
    expect(message(() => readNpy(v2, "x.npy"))).toContain("claims 4294967295 bytes");
    expect(message(() => readNpy(ascii("PK\x03\x04 not numpy"), "x.npy"))).toContain("is not a .npy file");
    const v9 = npyFile(dict, f32(8));
    v9[6] = 9;
    expect(message(() => readNpy(v9, "x.npy"))).toContain("version 9.0 is not supported");
  });

  it("refuses non-numeric dtypes with what to do", () => {
    const header = (descr: string) =>
      npyFile(`{'descr': ${descr}, 'fortran_order': False, 'shape': (1,), }`, f32(2));
    expect(message(() => readNpy(header("'|O'"), "obj.npy"))).toBe(
      "obj.npy holds Python objects (dtype '|O'), which can only be read with pickle; convert to numbers " +
        "first: save it with np.save(path, np.asarray(array, dtype=np.float64))",
    );
    expect(message(() => readNpy(header("[('a', '<f4'), ('b', '<f4')]"), "rec.npy"))).toContain(
      "structured dtype",
    );
    expect(message(() => readNpy(header("'<U2'"), "s.npy"))).toContain("holds strings");
    expect(message(() => readNpy(header("'<c8'"), "c.npy"))).toContain("complex numbers");
    expect(message(() => readNpy(header("'<f16'"), "l.npy"))).toContain("dtype '<f16' is not supported");
    expect(message(() => readNpy(header("__import__('os')"), "e.npy"))).toContain("not numpy's dict");
  });

  it("a deflate bomb stops at its declared size", () => {
    const bomb = new Uint8Array(deflateRawSync(new Uint8Array(2 << 20)));
    const archive = zip([{ name: "x.npy", data: bytesOf("i32.npy"), method: 8, stored: bomb, size: 152 }]);
    const r = attempt(() => readNpz(archive, "bomb.npz"));
    expect((r.outcome as NpyError).message).toBe(
      'bomb.npz (entry "x.npy"): inflates to more than its declared 152 bytes; the archive is damaged or hostile',
    );
    expect(r.ms).toBeLessThan(MAX_MS);
    const big = zip([{ name: "x.npy", data: new Uint8Array(8), method: 8, stored: bomb, size: 2 << 20 }]);
    expect(message(() => readNpz(big, "big.npz", { maxBytes: 1 << 20 }))).toContain(
      "passes the limit of 1048576",
    );
  });

  it("offsets outside the archive are refused", () => {
    const good = zip([{ name: "x.npy", data: smallNpy }]);
    const eocd = good.length - 22;
    const outside = good.slice();
    new DataView(outside.buffer).setUint32(eocd + 16, good.length + 100, true);
    expect(message(() => readNpz(outside, "o.npz"))).toContain("central directory");
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(eocd + 12, 0xfffffff0, true);
    expect(message(() => readNpz(huge, "o.npz"))).toContain("lies outside");
    const local = good.slice();
    const cd = new DataView(local.buffer).getUint32(eocd + 16, true);
    new DataView(local.buffer).setUint32(cd + 42, 0x7fffffff, true);
    expect(message(() => readNpz(local, "o.npz"))).toBe(
      'o.npz (entry "x.npy"): its local header offset 2147483647 does not point at a ZIP local header',
    );
    const size = good.slice();
    new DataView(size.buffer).setUint32(cd + 20, 0x7fffffff, true);
    expect(message(() => readNpz(size, "o.npz"))).toContain("run past the end");
    const many = good.slice();
    new DataView(many.buffer).setUint16(eocd + 10, 60000, true);
    expect(message(() => readNpz(many, "o.npz"))).toContain("more than the 10000");
    const crc = good.slice();
    crc[40] = crc[40]! ^ 1;
    expect(message(() => readNpz(crc, "o.npz"))).toContain("does not match");
    expect(message(() => readNpz(smallNpy, "i32.npy"))).toContain("i32.npy is not a .npz archive");
  });
});
