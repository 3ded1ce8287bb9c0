import { describe, expect, it } from "vitest";
import { BLOB_BYTES, fromWire, sha256, toWire } from "./wire.js";

describe("the wire form of a job", () => {
  it("carries every float64 exactly: -0, NaN, ±Infinity, subnormals, and arrays by their bytes", () => {
    const values = [
      0,
      -0,
      Number.NaN,
      Infinity,
      -Infinity,
      5e-324,
      1.7976931348623157e308,
      0.1 + 0.2,
      -1 / 3,
    ];
    const back = fromWire(JSON.parse(JSON.stringify(toWire(values)))) as number[];
    for (const [i, v] of values.entries()) expect(Object.is(back[i], v), `${v}`).toBe(true);
    const a = Float64Array.from(values);
    const b = fromWire(JSON.parse(JSON.stringify(toWire({ a })))) as { a: Float64Array };
    expect(b.a).toBeInstanceOf(Float64Array);
    expect(new Uint8Array(b.a.buffer)).toEqual(new Uint8Array(a.buffer));
  });

  it("sends a large array once, by the SHA-256 of its bytes, and refuses one it does not have", () => {
    const big = new Float64Array(BLOB_BYTES / 8).map((_, i) => Math.sin(i));
    const blobs = new Map<string, Buffer>();
    const wire = toWire({ x: big, y: big }, blobs) as { x: { $blob: string } };
    expect(blobs.size).toBe(1);
    const [hash, bytes] = [...blobs][0]!;
    expect(wire.x.$blob).toBe(hash);
    expect(sha256(bytes)).toBe(hash);
    const back = fromWire(JSON.parse(JSON.stringify(wire)), blobs) as { x: Float64Array; y: Float64Array };
    expect(Array.from(back.x)).toEqual(Array.from(big));
    expect(() => fromWire(wire, new Map())).toThrow(/is not at hand/);
  });

  it("sorts keys (equal values, equal text) and reads '__proto__' as data, never as a prototype", () => {
    expect(JSON.stringify(toWire({ b: 1, a: 2 }))).toBe(JSON.stringify(toWire({ a: 2, b: 1 })));
    const o = fromWire(JSON.parse('{"__proto__": {"polluted": 1}, "x": 1}')) as Record<string, unknown>;
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(Object.getPrototypeOf(o)).toBeNull();
    expect(Object.keys(o).sort()).toEqual(["__proto__", "x"]);
  });
});
