/**
 * Loads a CommonJS bundle in Node through V8's code cache, kept per user in
 * $XDG_CACHE_HOME/overshoot (or ~/.cache/overshoot, mode 0700): the next process skips compiling
 * it. The cache is checked by V8 against the source and the engine; a stale, foreign or damaged
 * one is rejected and written anew, atomically (a temporary file, then rename). Any failure to
 * read or write it only costs the time it would have saved. Returns null outside Node, where the
 * caller imports the module as usual.
 */
type Builtin = (id: string) => unknown;

export function requireWithCodeCache(from: string, id: string, tag: string): unknown {
  const get = (globalThis as { process?: { getBuiltinModule?: Builtin } }).process?.getBuiltinModule;
  if (!get) return null;
  const fs = get("node:fs") as typeof import("node:fs");
  const path = get("node:path") as typeof import("node:path");
  const os = get("node:os") as typeof import("node:os");
  const vm = get("node:vm") as typeof import("node:vm");
  const { createRequire } = get("node:module") as typeof import("node:module");
  const file = createRequire(from).resolve(id);
  const home = process.env["XDG_CACHE_HOME"] || path.join(os.homedir(), ".cache");
  const dir = path.join(home, "overshoot");
  const cacheFile = path.join(dir, `${tag}-${process.version}-${process.arch}.v8`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const source = fs.readFileSync(file, "utf8");
  // The CommonJS wrapper, as Node's own loader builds it for this file.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(module.exports, createRequire(file), module, file, path.dirname(file));
  if (!cachedData || script.cachedDataRejected) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {
      // A read-only or missing home: no cache, the same result.
    }
  }
  return module.exports;
}
