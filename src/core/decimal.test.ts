import { describe, expect, it } from "vitest";
import { decimal, notDecimal } from "./decimal.js";

describe("decimal numbers", () => {
  it("reads what a person writes in decimal", () => {
    expect(["3", "-1.5", ".5", "+2", "1e-3", "2.", "1E+2", " 7 "].map(decimal)).toEqual([
      3, -1.5, 0.5, 2, 0.001, 2, 100, 7,
    ]);
    expect([decimal("Infinity"), decimal("-inf"), decimal("NaN")]).toEqual([Infinity, -Infinity, Number.NaN]);
  });
  it("does not read what Number() reads but nobody means: hex, binary, octal, empty, junk", () => {
    for (const t of ["0x10", "0b11", "0o7", "-0x1", "", " ", "1_000", "1,5", "e5", "1e", "--1", "0x"])
      expect(decimal(t), t).toBeUndefined();
    expect(notDecimal("0x10")).toBe("'0x10' is a hexadecimal numeral, not read: write it in decimal");
    expect(notDecimal("0b1")).toBe("'0b1' is a binary numeral, not read: write it in decimal");
    expect(notDecimal("")).toBe("empty");
    expect(notDecimal("abc")).toBe("'abc' is not a number");
  });
});
