/**
 * Text on its way to a terminal, made inert: a file's ONNX producer name, CSV header or log
 * field can hold escape sequences (ESC [ …, OSC 52 that writes the clipboard, a BEL, the C1
 * control CSI U+009B) or bidirectional overrides that reorder what is shown. Every such character
 * becomes its \uXXXX spelling, which is also JSON's, so JSON on standard output means the same.
 * Newlines and tabs pass.
 */
// C0 controls but \t and \n, DEL, C1 controls, the bidirectional embeddings, overrides and isolates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters it escapes
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function forTerminal(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
