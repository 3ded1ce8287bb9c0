import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// Each load runs in a process of its own, as a command does: within one process V8 compiles a
// source once and never looks at the cache again.
function load(home: string): string {
  const module = new URL("./code-cache.ts", import.meta.url).href;
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `const { requireWithCodeCache } = await import(${JSON.stringify(module)});
       const m = requireWithCodeCache(${JSON.stringify(module)}, "mathjs/lib/browser/math.js", "test");
       console.log(m.parse("x^2 + 1").toString());`,
    ],
    { env: { ...process.env, XDG_CACHE_HOME: home }, encoding: "utf8" },
  );
  expect(r.stderr).toBe("");
  return r.stdout.trim();
}

describe("requireWithCodeCache", () => {
  it("loads the bundle, writes V8's cache once, keeps an accepted one, rewrites a damaged one", () => {
    const home = mkdtempSync(join(tmpdir(), "overshoot-cache-"));
    const file = join(home, "overshoot", `test-${process.version}-${process.arch}.v8`);
    try {
      expect(load(home)).toBe("x ^ 2 + 1");
      const cache = readFileSync(file);
      expect(cache.length).toBeGreaterThan(1000);
      expect(load(home)).toBe("x ^ 2 + 1");
      expect(readFileSync(file).equals(cache)).toBe(true); // accepted, so not written again
      writeFileSync(file, "not a code cache");
      expect(load(home)).toBe("x ^ 2 + 1");
      expect(readFileSync(file).length).toBeGreaterThan(1000);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 30_000);
});
