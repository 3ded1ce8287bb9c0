import { parse } from "mathjs/number";

// The lab's mathjs parser (see mathjs-parse.ts): the number-only ESM build, which the page's
// bundler trims to what parse uses (start-up in a page is not paid per command).
export function mathjsParse(text: string): unknown {
  return parse(text);
}
