import { inflateRawSync } from "node:zlib";

/**
 * Reader for NumPy's `.npy` arrays and `.npz` archives of them, for numeric data only.
 *
 * `.npy` (numpy/lib/format.py, NEP 1):
 * - bytes 0–5: the magic `\x93NUMPY`; byte 6: major version; byte 7: minor version.
 * - version 1.0: header length as little-endian u16 at byte 8, header from byte 10;
 *   versions 2.0 and 3.0: little-endian u32 at byte 8, header from byte 12. 1.0 and 2.0 headers
 *   are latin-1, 3.0 headers UTF-8.
 * - the header is a Python dict literal, space-padded and ending in `\n`, e.g.
 *   `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }`.
 * - the data follows the header: prod(shape) items of the descr's size, in C order, or in
 *   Fortran order (first index fastest) when `fortran_order` is True. A 0-d array has shape `()`
 *   and one item.
 *
 * `.npz` is a ZIP archive of `.npy` files, one per array (np.savez stores them, method 0;
 * np.savez_compressed deflates them, method 8). numpy always writes ZIP64 extra fields in the
 * local headers (force_zip64), so the sizes are taken from the central directory, which carries
 * them as ZIP64 extras only when they pass 4 GiB.
 *
 * Every size in the file is checked against the bytes present before anything is allocated, so a
 * damaged or hostile file is one {@link NpyError}, never a crash, a hang or a huge allocation.
 */

/** One array, widened to float64 in row-major (C) order. */
export interface NpyArray {
  readonly shape: readonly number[];
  /** numpy's descr as written in the file, e.g. `"<f8"`, `">i4"`, `"|u1"`. */
  readonly dtype: string;
  /** Row-major (C order) values widened to float64. */
  readonly data: Float64Array;
  /** True for integer or bool dtypes. */
  readonly integer: boolean;
}

/** A file that is not a readable numeric .npy / .npz; the message names the file and the fix. */
export class NpyError extends Error {
  override name = "NpyError";
}

export interface NpyLimits {
  /** Largest array payload, and largest total of decompressed .npz entries, in bytes. Default 2 GiB. */
  readonly maxBytes?: number;
  /** Largest number of elements in one array. Default 2e8 (1.6 GB as float64). */
  readonly maxElements?: number;
}

const DEFAULT_MAX_BYTES = 2 * 1024 * 1024 * 1024;
const DEFAULT_MAX_ELEMENTS = 2e8;
/** numpy itself refuses headers over 10,000 bytes by default; a numeric array's is under 1 KiB. */
const MAX_HEADER_BYTES = 65536;
/** numpy's NPY_MAXDIMS is 32 (64 since numpy 2). */
const MAX_DIMS = 64;
/** Most entries read from one .npz. */
const MAX_ENTRIES = 10_000;
/** 2^53: the largest magnitude up to which every integer is exact in float64. */
const TWO_53 = 9007199254740992;
const TWO_32 = 4294967296;

const SAVE_FLOAT64 = "save it with np.save(path, np.asarray(array, dtype=np.float64))";

interface Resolved {
  readonly maxBytes: number;
  readonly maxElements: number;
}

function resolve(limits: NpyLimits | undefined): Resolved {
  return {
    maxBytes: limits?.maxBytes ?? DEFAULT_MAX_BYTES,
    maxElements: limits?.maxElements ?? DEFAULT_MAX_ELEMENTS,
  };
}

// ---------------------------------------------------------------------------------------------
// .npy
// ---------------------------------------------------------------------------------------------

/** Parsed `.npy` header dict. */
interface Header {
  readonly descr: string;
  readonly fortranOrder: boolean;
  readonly shape: number[];
}

type Kind = "f" | "i" | "u" | "b";

interface Dtype {
  readonly kind: Kind;
  readonly size: number;
  readonly littleEndian: boolean;
}

/** Reads one `.npy` file (format 1.0, 2.0 or 3.0). `where` names it in error messages. */
export function readNpy(bytes: Uint8Array, where: string, limits?: NpyLimits): NpyArray {
  return decodeNpy(bytes, where, resolve(limits));
}

function decodeNpy(bytes: Uint8Array, where: string, limits: Resolved): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  let isMagic = bytes.length >= 10;
  for (let i = 0; i < magic.length && isMagic; i++) if (bytes[i] !== magic[i]) isMagic = false;
  if (!isMagic) {
    throw new NpyError(
      `${where} is not a .npy file: it does not start with numpy's magic "\\x93NUMPY" ` +
        `(${bytes.length} bytes); write it with np.save(path, array)`,
    );
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new NpyError(
      `${where}: .npy format version ${major}.${minor} is not supported (numpy writes 1.0, 2.0 and 3.0)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = major === 1 ? 10 : 12;
  if (bytes.length < start) {
    throw new NpyError(`${where} is truncated: ${bytes.length} bytes end inside the .npy preamble`);
  }
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  if (headerLength > bytes.length - start) {
    throw new NpyError(
      `${where} is truncated: its header claims ${headerLength} bytes but only ` +
        `${bytes.length - start} follow the preamble`,
    );
  }
  if (headerLength > MAX_HEADER_BYTES) {
    throw new NpyError(
      `${where}: the .npy header is ${headerLength} bytes, more than the ${MAX_HEADER_BYTES} ` +
        `a numeric array needs`,
    );
  }
  const headerBytes = bytes.subarray(start, start + headerLength);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? "utf-8" : "latin1", { fatal: true }).decode(headerBytes);
  } catch {
    throw new NpyError(`${where}: the .npy header is not valid UTF-8`);
  }
  const header = parseHeader(text, where);
  const dtype = parseDescr(header.descr, where);

  const shape = header.shape;
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new NpyError(
        `${where}: shape ${showShape(shape)} has dimension ${d}, not a non-negative integer`,
      );
    }
  }
  // Multiply until the limit is passed (so the product stays exact); a zero dim anywhere means none.
  let zero = false;
  for (let i = 0; i < shape.length; i++) if (shape[i] === 0) zero = true;
  for (let i = 0; i < shape.length && !zero && count <= limits.maxElements; i++) count *= shape[i]!;
  if (zero) count = 0;
  if (count > limits.maxElements) {
    throw new NpyError(
      `${where}: shape ${showShape(shape)} has ${count} elements, more than the limit of ` +
        `${limits.maxElements}; load a slice of it (np.load(path, mmap_mode='r')[...]) and save that`,
    );
  }
  const payload = count * dtype.size;
  if (payload > limits.maxBytes) {
    throw new NpyError(
      `${where}: shape ${showShape(shape)} of ${header.descr} is ${payload} bytes, more than the ` +
        `limit of ${limits.maxBytes}`,
    );
  }
  const dataStart = start + headerLength;
  const present = bytes.length - dataStart;
  if (present !== payload) {
    throw new NpyError(
      `${where}: shape ${showShape(shape)} of ${header.descr} needs ${payload} bytes of data but ` +
        `${present} follow the header; the file is ${present < payload ? "truncated" : "damaged (extra bytes)"}, ` +
        `save it again with np.save(path, array)`,
    );
  }

  const raw = decodeValues(view, dataStart, count, dtype, header.descr, where);
  const data = header.fortranOrder && shape.length > 1 ? fortranToC(raw, shape) : raw;
  return { shape, dtype: header.descr, data, integer: dtype.kind !== "f" };
}

function showShape(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
}

/**
 * Parses exactly numpy's header dict: `{` then `'key': value` pairs separated by commas (a
 * trailing comma allowed), `}`, then whitespace. Keys are `descr` (a quoted string),
 * `fortran_order` (`True`/`False`) and `shape` (a tuple of integers, `()` for 0-d, `(n,)` for 1-d,
 * Python 2's `L` suffix allowed). Anything else — a list descr (structured dtype), other keys,
 * nested values — is refused. No eval.
 */
function parseHeader(text: string, where: string): Header {
  let pos = 0;
  const fail = (what: string): never => {
    throw new NpyError(
      `${where}: the .npy header is not numpy's dict (${what} at character ${pos}): ` +
        `${JSON.stringify(text.slice(0, 120))}`,
    );
  };
  const skip = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };
  const expect = (ch: string) => {
    skip();
    if (text[pos] !== ch) fail(`expected '${ch}'`);
    pos++;
  };
  const readString = (): string => {
    skip();
    const quote = text[pos];
    if (quote !== "'" && quote !== '"') return fail("expected a quoted string");
    const end = text.indexOf(quote, pos + 1);
    if (end < 0) return fail("unterminated string");
    const s = text.slice(pos + 1, end);
    if (s.includes("\\")) return fail("escaped string");
    pos = end + 1;
    return s;
  };
  const readInt = (): number => {
    skip();
    const from = pos;
    while (pos < text.length && text.charCodeAt(pos) >= 0x30 && text.charCodeAt(pos) <= 0x39) pos++;
    if (pos === from) {
      if (text[pos] === "-") {
        throw new NpyError(`${where}: the .npy shape has a negative dimension; the file is damaged`);
      }
      return fail("expected a dimension");
    }
    if (pos - from > 20) {
      throw new NpyError(
        `${where}: the .npy shape has a dimension of ${pos - from} digits; the file is damaged`,
      );
    }
    const n = Number(text.slice(from, pos));
    if (text[pos] === "L") pos++;
    return n;
  };

  let descr: string | undefined;
  let fortranOrder: boolean | undefined;
  let shape: number[] | undefined;
  expect("{");
  for (;;) {
    skip();
    if (text[pos] === "}") break;
    const key = readString();
    expect(":");
    skip();
    if (key === "descr") {
      if (descr !== undefined) fail("repeated 'descr'");
      if (text[pos] === "[") {
        throw new NpyError(
          `${where} holds a structured dtype (fields), which is not a plain numeric array; ` +
            `save each field separately, e.g. np.save(path, array['field'].astype(np.float64))`,
        );
      }
      descr = readString();
    } else if (key === "fortran_order") {
      if (fortranOrder !== undefined) fail("repeated 'fortran_order'");
      if (text.startsWith("True", pos)) {
        fortranOrder = true;
        pos += 4;
      } else if (text.startsWith("False", pos)) {
        fortranOrder = false;
        pos += 5;
      } else fail("expected True or False");
    } else if (key === "shape") {
      if (shape !== undefined) fail("repeated 'shape'");
      expect("(");
      const dims: number[] = [];
      for (;;) {
        skip();
        if (text[pos] === ")") break;
        if (dims.length >= MAX_DIMS) {
          throw new NpyError(`${where}: the .npy shape has more than ${MAX_DIMS} dimensions`);
        }
        dims.push(readInt());
        skip();
        if (text[pos] === ",") pos++;
        else if (text[pos] !== ")") fail("expected ',' or ')'");
      }
      pos++;
      shape = dims;
    } else {
      fail(`unexpected key '${key.slice(0, 40)}'`);
    }
    skip();
    if (text[pos] === ",") pos++;
    else if (text[pos] !== "}") fail("expected ',' or '}'");
  }
  pos++;
  skip();
  if (pos !== text.length) fail("trailing text");
  if (descr === undefined || fortranOrder === undefined || shape === undefined) {
    return fail("missing 'descr', 'fortran_order' or 'shape'");
  }
  return { descr, fortranOrder, shape };
}

/**
 * Maps a descr to kind, item size and byte order. Byte order `<` little, `>` big, `=` native
 * (taken as little-endian), `|` not applicable (one-byte types). Kinds: `f` float (2, 4, 8
 * bytes), `i` signed and `u` unsigned integer (1, 2, 4, 8), `b` bool (1).
 */
function parseDescr(descr: string, where: string): Dtype {
  const order = descr[0];
  const body = order === "<" || order === ">" || order === "=" || order === "|" ? descr.slice(1) : descr;
  const kind = body[0];
  const refuse = (what: string): never => {
    throw new NpyError(`${where} holds ${what} (dtype '${descr}'), not numbers; ${SAVE_FLOAT64}`);
  };
  switch (kind) {
    case "O":
      throw new NpyError(
        `${where} holds Python objects (dtype '${descr}'), which can only be read with pickle; ` +
          `convert to numbers first: ${SAVE_FLOAT64}`,
      );
    case "U":
    case "S":
    case "a":
      return refuse("strings");
    case "c":
      return refuse("complex numbers");
    case "M":
    case "m":
      return refuse("dates or time deltas");
    case "V":
      return refuse("raw or structured records");
  }
  const size = Number(body.slice(1));
  const known =
    (kind === "f" && (size === 2 || size === 4 || size === 8)) ||
    ((kind === "i" || kind === "u") && (size === 1 || size === 2 || size === 4 || size === 8)) ||
    (kind === "b" && size === 1);
  if (!known || !/^[0-9]+$/.test(body.slice(1)) || (order === "|" && size !== 1)) {
    throw new NpyError(
      `${where}: dtype '${descr.slice(0, 40)}' is not supported (float16/32/64, int8–64, uint8–64 ` +
        `and bool are); ${SAVE_FLOAT64}`,
    );
  }
  return { kind: kind as Kind, size, littleEndian: order !== ">" };
}

/** Decodes `count` items from `offset` in file order, widened to float64. */
function decodeValues(
  view: DataView,
  offset: number,
  count: number,
  dtype: Dtype,
  descr: string,
  where: string,
): Float64Array {
  const out = new Float64Array(count);
  const le = dtype.littleEndian;
  const size = dtype.size;
  if (dtype.kind === "f") {
    if (size === 8) for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, le);
    else if (size === 4) for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, le);
    else for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(offset + 2 * i, le));
  } else if (dtype.kind === "b") {
    for (let i = 0; i < count; i++) out[i] = view.getUint8(offset + i) !== 0 ? 1 : 0;
  } else if (dtype.kind === "i") {
    if (size === 1) for (let i = 0; i < count; i++) out[i] = view.getInt8(offset + i);
    else if (size === 2) for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, le);
    else if (size === 4) for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, le);
    else {
      // hi·2^32 + lo is exact in float64 iff −2^53 ≤ value ≤ 2^53: hi in [−2^21, 2^21), or hi = 2^21, lo = 0.
      for (let i = 0; i < count; i++) {
        const at = offset + 8 * i;
        const hi = view.getInt32(le ? at + 4 : at, le);
        const lo = view.getUint32(le ? at : at + 4, le);
        if (hi < -2097152 || hi > 2097152 || (hi === 2097152 && lo !== 0)) {
          tooLarge(where, descr, i, view.getBigInt64(at, le));
        }
        out[i] = hi * TWO_32 + lo;
      }
    }
  } else {
    if (size === 1) for (let i = 0; i < count; i++) out[i] = view.getUint8(offset + i);
    else if (size === 2) for (let i = 0; i < count; i++) out[i] = view.getUint16(offset + 2 * i, le);
    else if (size === 4) for (let i = 0; i < count; i++) out[i] = view.getUint32(offset + 4 * i, le);
    else {
      for (let i = 0; i < count; i++) {
        const at = offset + 8 * i;
        const hi = view.getUint32(le ? at + 4 : at, le);
        const lo = view.getUint32(le ? at : at + 4, le);
        if (hi > 2097152 || (hi === 2097152 && lo !== 0))
          tooLarge(where, descr, i, view.getBigUint64(at, le));
        out[i] = hi * TWO_32 + lo;
      }
    }
  }
  return out;
}

function tooLarge(where: string, descr: string, index: number, value: bigint): never {
  throw new NpyError(
    `${where}: element ${index} of the ${descr} array is ${value}, beyond ±2^53 (${TWO_53}), so it ` +
      `cannot be held exactly as a float64; if approximate values will do, ${SAVE_FLOAT64}`,
  );
}

/** IEEE 754 binary16: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/**
 * Reorders Fortran-order values (first index fastest) to C order (last index fastest): walks the
 * input in order with an odometer over the indices, first index first, keeping the C-order offset.
 */
function fortranToC(src: Float64Array, shape: readonly number[]): Float64Array {
  const n = src.length;
  const out = new Float64Array(n);
  if (n === 0) return out;
  const nd = shape.length;
  const stride = new Array<number>(nd).fill(1);
  for (let k = nd - 2; k >= 0; k--) stride[k] = stride[k + 1]! * shape[k + 1]!;
  const index = new Array<number>(nd).fill(0);
  let at = 0;
  for (let i = 0; i < n; i++) {
    out[at] = src[i]!;
    for (let k = 0; k < nd; k++) {
      index[k]!++;
      at += stride[k]!;
      if (index[k]! < shape[k]!) break;
      at -= index[k]! * stride[k]!;
      index[k] = 0;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// .npz
// ---------------------------------------------------------------------------------------------

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

/**
 * Reads the `.npy` entries of a `.npz` (ZIP) archive, keyed by name without `.npy`. Other entries
 * are skipped.
 *
 * ZIP layout used (APPNOTE 6.3): the end-of-central-directory record (EOCD, 22 bytes + comment
 * of at most 65,535 bytes) ends the file: entry count u16 at 10, central directory size u32 at 12
 * and offset u32 at 16. When any is saturated (0xFFFF / 0xFFFFFFFF) a ZIP64 EOCD locator (20
 * bytes) precedes it, pointing (u64 at 8) at the ZIP64 EOCD record: entry count u64 at 32, size
 * u64 at 40, offset u64 at 48. Each central directory header (46 bytes + name + extra + comment):
 * flags u16 at 8, method u16 at 10, CRC-32 u32 at 16, compressed size u32 at 20, uncompressed
 * u32 at 24, name/extra/comment lengths u16 at 28/30/32, local header offset u32 at 42; saturated
 * values come from the ZIP64 extra field (id 0x0001) in that order. The local header (30 bytes +
 * name + extra, lengths u16 at 26/28) precedes the data.
 */
export function readNpz(bytes: Uint8Array, where: string, limits?: NpyLimits): Map<string, NpyArray> {
  const lim = resolve(limits);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = bytes.length;
  const notZip = (why: string): never => {
    throw new NpyError(
      `${where} is not a .npz archive (${why}); write it with np.savez(path, x=x, y=y) or np.savez_compressed`,
    );
  };
  if (length < 22) return notZip(`${length} bytes is too short for a ZIP file`);

  // Find the EOCD: the last signature within the final 22 + 65,535 bytes whose comment fits.
  let eocd = -1;
  const lowest = Math.max(0, length - 22 - 65535);
  for (let at = length - 22; at >= lowest; at--) {
    if (view.getUint32(at, true) === EOCD_SIG && at + 22 + view.getUint16(at + 20, true) <= length) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) return notZip("no end-of-central-directory record");
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    throw new NpyError(`${where} is a multi-part (spanned) ZIP archive, which is not supported`);
  }
  let entries = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || view.getUint32(loc, true) !== ZIP64_LOCATOR_SIG) {
      // A genuine 65,535-entry archive without ZIP64 keeps these values; check them below.
      if (cdSize === 0xffffffff || cdOffset === 0xffffffff) return notZip("its ZIP64 locator is missing");
    } else {
      const rec = readU64(view, loc + 8, where, "ZIP64 end record offset");
      if (rec > loc - 56) return notZip("its ZIP64 end record lies outside the file");
      if (view.getUint32(rec, true) !== ZIP64_EOCD_SIG) return notZip("its ZIP64 end record is missing");
      entries = readU64(view, rec + 32, where, "entry count");
      cdSize = readU64(view, rec + 40, where, "central directory size");
      cdOffset = readU64(view, rec + 48, where, "central directory offset");
    }
  }
  if (entries > MAX_ENTRIES) {
    throw new NpyError(`${where} lists ${entries} entries, more than the ${MAX_ENTRIES} read from one .npz`);
  }
  if (cdOffset > length || cdSize > length - cdOffset || cdOffset + cdSize > eocd) {
    return notZip(
      `its central directory (${cdSize} bytes at ${cdOffset}) lies outside the ${length}-byte file`,
    );
  }
  if (entries * 46 > cdSize) {
    return notZip(`${entries} entries cannot fit in a ${cdSize}-byte central directory`);
  }

  const out = new Map<string, NpyArray>();
  let total = 0;
  let at = cdOffset;
  const cdEnd = cdOffset + cdSize;
  for (let e = 0; e < entries; e++) {
    if (at + 46 > cdEnd || view.getUint32(at, true) !== CENTRAL_SIG) {
      return notZip(`central directory entry ${e} is damaged`);
    }
    const flags = view.getUint16(at + 8, true);
    const method = view.getUint16(at + 10, true);
    const crc = view.getUint32(at + 16, true);
    let compressed = view.getUint32(at + 20, true);
    let size = view.getUint32(at + 24, true);
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    let local = view.getUint32(at + 42, true);
    const next = at + 46 + nameLength + extraLength + commentLength;
    if (next > cdEnd) return notZip(`central directory entry ${e} runs past the directory`);
    const nameBytes = bytes.subarray(at + 46, at + 46 + nameLength);
    const name = new TextDecoder(flags & 0x800 ? "utf-8" : "latin1").decode(nameBytes);
    const entry = `${where} (entry ${JSON.stringify(name)})`;

    if (compressed === 0xffffffff || size === 0xffffffff || local === 0xffffffff) {
      // ZIP64 extra: the saturated fields, in the order uncompressed, compressed, local offset.
      let x = at + 46 + nameLength;
      const xEnd = x + extraLength;
      let found = false;
      while (x + 4 <= xEnd) {
        const id = view.getUint16(x, true);
        const len = view.getUint16(x + 2, true);
        if (x + 4 + len > xEnd) break;
        if (id === 0x0001) {
          let f = x + 4;
          const fEnd = f + len;
          const take = (what: string): number => {
            if (f + 8 > fEnd) throw new NpyError(`${entry}: its ZIP64 extra field is too short for ${what}`);
            const v = readU64(view, f, entry, what);
            f += 8;
            return v;
          };
          if (size === 0xffffffff) size = take("the uncompressed size");
          if (compressed === 0xffffffff) compressed = take("the compressed size");
          if (local === 0xffffffff) local = take("the local header offset");
          found = true;
          break;
        }
        x += 4 + len;
      }
      if (!found) throw new NpyError(`${entry}: its sizes need a ZIP64 extra field, which is missing`);
    }
    at = next;

    if (!name.endsWith(".npy")) continue;
    const key = name.slice(0, -4);
    if (out.has(key)) throw new NpyError(`${where} holds the entry ${JSON.stringify(name)} twice`);
    if (flags & 0x1) {
      throw new NpyError(`${entry} is encrypted; save the arrays again without a password`);
    }
    if (method !== 0 && method !== 8) {
      throw new NpyError(
        `${entry} uses ZIP compression method ${method}; only stored (np.savez) and deflated ` +
          `(np.savez_compressed) entries are read`,
      );
    }
    if (size > lim.maxBytes || total + size > lim.maxBytes) {
      throw new NpyError(
        `${entry}: unpacks to ${size} bytes, which with the entries before it passes the limit of ` +
          `${lim.maxBytes} bytes; save fewer or smaller arrays per .npz`,
      );
    }
    if (local > length - 30 || view.getUint32(local, true) !== LOCAL_SIG) {
      throw new NpyError(`${entry}: its local header offset ${local} does not point at a ZIP local header`);
    }
    const dataStart = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    if (dataStart > length || compressed > length - dataStart) {
      throw new NpyError(
        `${entry}: its ${compressed} compressed bytes at ${dataStart} run past the end of the ` +
          `${length}-byte archive; the file is truncated`,
      );
    }
    const stored = bytes.subarray(dataStart, dataStart + compressed);
    let data: Uint8Array;
    if (method === 0) {
      if (compressed !== size) {
        throw new NpyError(`${entry}: stored entry with ${compressed} bytes claims ${size} unpacked`);
      }
      data = stored;
    } else {
      try {
        // maxOutputLength bounds the work: inflating stops with an error past the declared size.
        data = inflateRawSync(stored, { maxOutputLength: Math.max(1, size) });
      } catch (err) {
        const tooBig = (err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
        throw new NpyError(
          tooBig
            ? `${entry}: inflates to more than its declared ${size} bytes; the archive is damaged or hostile`
            : `${entry}: its deflated data is damaged (${(err as Error).message})`,
        );
      }
      if (data.length !== size) {
        throw new NpyError(`${entry}: inflates to ${data.length} bytes, not its declared ${size}`);
      }
    }
    const actual = crc32(data);
    if (actual !== crc) {
      throw new NpyError(
        `${entry}: CRC-32 ${hex(actual)} does not match the archive's ${hex(crc)}; the file is damaged`,
      );
    }
    total += size;
    out.set(key, decodeNpy(data, entry, lim));
  }
  return out;
}

/** A little-endian u64 as a number, refused past 2^53 (no archive here is that large). */
function readU64(view: DataView, at: number, where: string, what: string): number {
  if (at < 0 || at + 8 > view.byteLength) throw new NpyError(`${where}: its ${what} lies outside the file`);
  const lo = view.getUint32(at, true);
  const hi = view.getUint32(at + 4, true);
  if (hi >= 0x200000) throw new NpyError(`${where}: its ${what} (ZIP64) is beyond 2^53; the file is damaged`);
  return hi * TWO_32 + lo;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 as in ZIP (reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF). */
export function crc32(data: Uint8Array): number {
  let table = crcTable;
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    crcTable = table;
  }
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
