import { createRequire } from "node:module";

/** This package's version, from package.json (beside dist/ when built, beside src/ in development). */
export function overshootVersion(): string {
  return (createRequire(import.meta.url)("../../package.json") as { version: string }).version;
}
