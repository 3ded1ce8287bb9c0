import { describe, expect, it } from "vitest";
import { forTerminal } from "./terminal.js";

describe("forTerminal", () => {
  it("spells every control and bidirectional character as \\uXXXX, keeps newlines, tabs and other text", () => {
    expect(forTerminal("a\u001b[31mb\u0007\r\u009b2J\u202e\u2066é→λ\t\n")).toBe(
      "a\\u001b[31mb\\u0007\\u000d\\u009b2J\\u202e\\u2066é→λ\t\n",
    );
  });

  it("leaves JSON meaning the same: C1 and bidirectional characters inside strings become JSON escapes", () => {
    const value = { "name\u009b": "x\u202ey\u0085", list: ["\u001b", "\u007f"] };
    const text = JSON.stringify(value);
    expect(text).toMatch(/\u009b/); // JSON.stringify leaves these raw
    expect(forTerminal(text)).not.toMatch(/[\u0080-\u009f\u202e]/);
    expect(JSON.parse(forTerminal(text))).toEqual(value);
  });
});
