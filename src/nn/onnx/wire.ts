import { plural } from "../../core/format.js";
/**
 * The protobuf wire format, read field by field over a byte view with every length checked against
 * the bytes present before anything is allocated: a tag is a varint (field number << 3 | wire
 * type); wire type 0 a varint, 1 eight bytes, 2 a varint length then that many bytes, 5 four bytes
 * (3 and 4, groups, are obsolete and refused). Nothing is expanded that the caller did not ask for:
 * a length-delimited field is handed over as a view (no copy), and unknown fields are skipped.
 */
export class WireError extends Error {}

export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;
export const FIXED32 = 5;

export interface Field {
  readonly number: number;
  readonly wire: number;
  /** Wire type 0: the varint (NaN past the safe integers; refused where it is read as a number). */
  readonly varint: number;
  /** Wire types 1, 2, 5: the bytes (a view into the file). */
  readonly bytes: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export class Reader {
  private at = 0;
  constructor(
    private readonly buf: Uint8Array,
    private readonly what: string,
  ) {}

  get done(): boolean {
    return this.at >= this.buf.length;
  }

  /**
   * A bare varint (a packed list's element; a field's tag or value) as a number: exact up to 2⁵³,
   * read as a 64-bit two's-complement integer past 7 bytes; NaN when that is not a safe integer.
   */
  varint(): number {
    const start = this.at;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.at >= this.buf.length) throw new WireError(`${this.what} ends inside a number`);
      const b = this.buf[this.at++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return result;
      scale *= 128;
    }
    this.at = start;
    let v = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.at >= this.buf.length) throw new WireError(`${this.what} ends inside a number`);
      const b = this.buf[this.at++]!;
      v |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) {
        const signed = BigInt.asIntN(64, v);
        return signed <= BigInt(Number.MAX_SAFE_INTEGER) && signed >= BigInt(Number.MIN_SAFE_INTEGER)
          ? Number(signed)
          : Number.NaN;
      }
    }
    throw new WireError(`${this.what} holds a number longer than 10 bytes`);
  }

  private take(n: number): Uint8Array {
    if (n > this.buf.length - this.at)
      throw new WireError(`${this.what} declares ${n} bytes where ${this.buf.length - this.at} remain`);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** The next field's number and wire type, its value left to `skip` or `value` (no allocation). */
  tag(): { number: number; wire: number } {
    const tag = this.varint();
    if (!(tag >= 8 && tag < 2 ** 32)) throw new WireError(`${this.what} holds a malformed field tag`);
    return { number: Math.floor(tag / 8), wire: tag % 8 };
  }

  /** Skip the value of a field of this wire type. */
  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === FIXED64) this.take(8);
    else if (wire === FIXED32) this.take(4);
    else if (wire === BYTES) {
      const n = this.varint();
      if (!(n >= 0 && n <= this.buf.length))
        throw new WireError(`${this.what} declares ${n} bytes in a file of ${this.buf.length}`);
      this.take(n);
    } else throw new WireError(`${this.what} holds a field of wire type ${wire}, which ONNX never writes`);
  }

  /** The value of a field whose tag `tag` has read. */
  value(wire: number, number: number): Field {
    switch (wire) {
      case VARINT:
        return { number, wire, varint: this.varint(), bytes: EMPTY };
      case FIXED64:
        return { number, wire, varint: 0, bytes: this.take(8) };
      case FIXED32:
        return { number, wire, varint: 0, bytes: this.take(4) };
      case BYTES: {
        const n = this.varint();
        if (!(n >= 0 && n <= this.buf.length))
          throw new WireError(`${this.what} declares ${n} bytes in a file of ${this.buf.length}`);
        return { number, wire, varint: 0, bytes: this.take(n) };
      }
      default:
        throw new WireError(`${this.what} holds a field of wire type ${wire}, which ONNX never writes`);
    }
  }

  /** The next field. */
  next(): Field {
    const { number, wire } = this.tag();
    return this.value(wire, number);
  }
}

/** A varint as a safe integer (int64 fields: dims, attribute ints), two's complement for negatives. */
export function int64(f: Field, what: string): number {
  if (f.wire !== VARINT) throw new WireError(`${what} is not an integer`);
  if (Number.isNaN(f.varint)) throw new WireError(`${what} is beyond the integers a double holds exactly`);
  return f.varint;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

export function text(f: Field, what: string): string {
  if (f.wire !== BYTES) throw new WireError(`${what} is not a string`);
  return decoder.decode(f.bytes);
}

export function float32(f: Field, what: string): number {
  if (f.wire !== FIXED32) throw new WireError(`${what} is not a float`);
  return new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true);
}

/**
 * A repeated integer field's values, packed (one BYTES field of varints) or not (one VARINT field
 * each): appends to `out`, at most `limit` values in all.
 */
export function repeatedInt64(f: Field, out: number[], limit: number, what: string): void {
  if (f.wire === VARINT) {
    if (out.length >= limit) throw new WireError(`${what} has more than ${plural(limit, "value")}`);
    out.push(int64(f, what));
    return;
  }
  if (f.wire !== BYTES) throw new WireError(`${what} is not a list of integers`);
  const r = new Reader(f.bytes, what);
  while (!r.done) {
    if (out.length >= limit) throw new WireError(`${what} has more than ${plural(limit, "value")}`);
    // A packed list is bare varints, with no tags.
    out.push(int64({ number: 1, wire: VARINT, varint: r.varint(), bytes: EMPTY }, what));
  }
}

/** A repeated float field, packed (BYTES, 4 bytes each) or not (FIXED32 each). */
export function repeatedFloat32(f: Field, out: number[], limit: number, what: string): void {
  if (f.wire === FIXED32) {
    if (out.length >= limit) throw new WireError(`${what} has more than ${plural(limit, "value")}`);
    out.push(float32(f, what));
    return;
  }
  if (f.wire !== BYTES || f.bytes.length % 4 !== 0) throw new WireError(`${what} is not a list of floats`);
  if (out.length + f.bytes.length / 4 > limit)
    throw new WireError(`${what} has more than ${plural(limit, "value")}`);
  const view = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
  for (let i = 0; i < f.bytes.length; i += 4) out.push(view.getFloat32(i, true));
}
