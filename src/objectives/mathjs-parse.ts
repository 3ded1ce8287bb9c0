/// <reference path="./mathjs-browser.d.ts" />
import { requireWithCodeCache } from "../core/code-cache.js";

// mathjs's parser, from its prebuilt bundle: one file, which Node loads in about 0.1 s through
// V8's code cache (core/code-cache.ts) where the ESM build's hundreds of modules take 0.5 s; and
// only when an expression is first parsed. The lab's bundler swaps in mathjs-parse.browser.ts
// (web/vite.config.ts), which imports the same bundle.
type MathJs = typeof import("mathjs/lib/browser/math.js").default;
let mathjs: MathJs | null = null;

export function mathjsParse(text: string): unknown {
  mathjs ??= requireWithCodeCache(import.meta.url, "mathjs/lib/browser/math.js", "mathjs") as MathJs | null;
  if (!mathjs) throw new Error("mathjs is not loaded here: a page bundles mathjs-parse.browser.ts instead");
  return mathjs.parse(text);
}
