/**
 * A number as a person writes it in decimal: "3", "-1.5", ".5", "1e-3", "2.", "Infinity" (or
 * "inf"), "NaN". JavaScript's Number() also reads "0x10" as 16, "0b11" as 3, "0o7" as 7 and "" as
 * 0 — numbers nobody typing a learning rate or a CSV cell means — so those are not numbers here.
 * Returns undefined for anything else.
 */
export function decimal(text: string): number | undefined {
  const t = text.trim();
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) return Number(t);
  if (/^[+-]?inf(inity)?$/i.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
  if (/^nan$/i.test(t)) return Number.NaN;
  return undefined;
}

/** Why `text` is not a decimal number, for a message: hex, binary and octal numerals named as such. */
export function notDecimal(text: string): string {
  const t = text.trim();
  if (t === "") return "empty";
  if (/^[+-]?0[xob]/i.test(t))
    return `'${text}' is a ${/^[+-]?0x/i.test(t) ? "hexadecimal" : /^[+-]?0b/i.test(t) ? "binary" : "octal"} numeral, not read: write it in decimal`;
  return `'${text}' is not a number`;
}
