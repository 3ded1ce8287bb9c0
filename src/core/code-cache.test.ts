import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
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

const require = createRequire(import.meta.url);
/** A cache file whose header holds the SHA-256 of the bundle's source and of the code it carries. */
function wellFormed(cache: Buffer): boolean {
  const source = readFileSync(require.resolve("mathjs/lib/browser/math.js"), "utf8");
  return (
    cache.length > 1000 &&
    cache.subarray(8, 40).equals(createHash("sha256").update(source).digest()) &&
    cache.subarray(40, 72).equals(createHash("sha256").update(cache.subarray(72)).digest())
  );
}

const cacheFiles = (dir: string): string[] =>
  readdirSync(dir).filter((f) => f.startsWith("test-") && f.endsWith(".v8"));

describe("requireWithCodeCache", () => {
  it("loads the bundle, writes V8's cache once, keeps an accepted one, rewrites a damaged one", () => {
    const home = mkdtempSync(join(tmpdir(), "overshoot-cache-"));
    const dir = join(home, "overshoot");
    try {
      expect(load(home)).toBe("x ^ 2 + 1");
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      const [name] = cacheFiles(dir);
      // Keyed by the SHA-256 of the source (with the Node version and architecture).
      expect(name).toMatch(/^test-[0-9a-f]{32}\.v8$/);
      const file = join(dir, name!);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const cache = readFileSync(file);
      expect(wellFormed(cache)).toBe(true);
      expect(load(home)).toBe("x ^ 2 + 1");
      expect(readFileSync(file).equals(cache)).toBe(true); // accepted, so not written again
      writeFileSync(file, "not a code cache");
      expect(load(home)).toBe("x ^ 2 + 1");
      expect(wellFormed(readFileSync(file))).toBe(true);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 30_000);

  it("code edited in the cache (its length kept, which is all V8 checks) is refused by its hash and written anew", () => {
    const home = mkdtempSync(join(tmpdir(), "overshoot-cache-"));
    const dir = join(home, "overshoot");
    try {
      load(home);
      const file = join(dir, cacheFiles(dir)[0]!);
      const cache = readFileSync(file);
      const edited = Buffer.from(cache);
      for (let i = 200; i < edited.length; i += 97) edited[i] = edited[i]! ^ 0x5a;
      writeFileSync(file, edited);
      expect(wellFormed(edited)).toBe(false);
      expect(load(home)).toBe("x ^ 2 + 1");
      const rewritten = readFileSync(file);
      expect(rewritten.equals(edited)).toBe(false);
      expect(wellFormed(rewritten)).toBe(true);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 30_000);

  it("a cache folder others can write, or a cache file that is a symbolic link, is neither read nor written", () => {
    const home = mkdtempSync(join(tmpdir(), "overshoot-cache-"));
    const dir = join(home, "overshoot");
    try {
      load(home);
      const file = join(dir, cacheFiles(dir)[0]!);
      const cache = readFileSync(file);
      rmSync(file);
      chmodSync(dir, 0o777);
      expect(load(home)).toBe("x ^ 2 + 1");
      expect(cacheFiles(dir)).toEqual([]);
      chmodSync(dir, 0o700);
      const elsewhere = join(home, "planted.v8");
      writeFileSync(elsewhere, cache);
      symlinkSync(elsewhere, file);
      expect(load(home)).toBe("x ^ 2 + 1");
      // The link was replaced by a file of this user's own, the planted file left untouched.
      expect(lstatSync(file).isSymbolicLink()).toBe(false);
      expect(readFileSync(elsewhere).equals(cache)).toBe(true);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 30_000);
});
