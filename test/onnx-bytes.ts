/**
 * ONNX files by hand, in the protobuf wire format, for tests of the reader: a varint, a
 * length-delimited field (tag = number << 3 | 2), a varint field, UTF-8 text.
 */
export const varint = (n: number | bigint): number[] => {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return out;
};
export const field = (number: number, bytes: ArrayLike<number>): number[] => [
  ...varint((number << 3) | 2),
  ...varint(bytes.length),
  ...Array.from(bytes),
];
export const intField = (number: number, v: number): number[] => [...varint(number << 3), ...varint(v)];
export const str = (s: string): number[] => Array.from(new TextEncoder().encode(s));
