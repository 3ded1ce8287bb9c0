/// <reference path="./mathjs-browser.d.ts" />
import { requireWithCodeCache } from "../core/code-cache.js";

// mathjs's parser, alone in one file (build/mathjs-parse.cjs, made from mathjs's factories by
// scripts/mathjs-parse-bundle.mjs): Node loads it in about 20 ms through V8's code cache
// (core/code-cache.ts), where mathjs's full bundle took 0.13 s and the ESM build's hundreds of
// modules 0.5 s; and only when an expression is first parsed. The lab's bundler swaps in
// mathjs-parse.browser.ts (web/vite.config.ts), which imports the same number-only parser.
type MathJs = Pick<typeof import("mathjs/lib/browser/math.js").default, "parse">;
let mathjs: MathJs | null = null;

export function mathjsParse(text: string): unknown {
  mathjs ??= requireWithCodeCache(
    import.meta.url,
    "../../build/mathjs-parse.cjs",
    "mathjs-parse",
  ) as MathJs | null;
  if (!mathjs) throw new Error("mathjs is not loaded here: a page bundles mathjs-parse.browser.ts instead");
  return mathjs.parse(text);
}
