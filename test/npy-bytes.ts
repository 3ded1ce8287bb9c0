/**
 * A .npy file from a header dict text and a payload, padded as numpy pads it (the preamble and
 * header to a multiple of 64 bytes): format 1.0 (a 2-byte header length) or 2.0 (4 bytes).
 */
export function npyFile(dict: string, payload: Uint8Array, version: 1 | 2 = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  let header = `${dict}\n`;
  const pad = (64 - ((pre + header.length) % 64)) % 64;
  header = `${dict}${" ".repeat(pad)}\n`;
  const out = new Uint8Array(pre + header.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(payload, pre + header.length);
  return out;
}
