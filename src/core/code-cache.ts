/**
 * Loads a CommonJS bundle in Node through V8's code cache, kept per user in
 * $XDG_CACHE_HOME/overshoot (or ~/.cache/overshoot, mode 0700): the next process skips compiling
 * it. Any failure to read or write the cache only costs the time it would have saved. Returns
 * null outside Node, where the caller imports the module as usual.
 *
 * Trust: V8 checks a code cache against the source's length only, so whoever can write the cache
 * chooses the code that runs. The cache is therefore used only from a folder and a file owned by
 * this user that no one else can write and that are not symbolic links (as ssh treats ~/.ssh);
 * elsewhere the bundle is compiled every time. Within it, the file is keyed by the SHA-256 of the
 * source, the Node version and the architecture, and carries the SHA-256 of the source and of the
 * code it holds, both checked before V8 sees a byte: a changed bundle or a damaged file is
 * rejected and written anew, atomically (a temporary file, then rename).
 */
type Builtin = (id: string) => unknown;

/** Header: magic (8 bytes), SHA-256 of the source (32), SHA-256 of the code that follows (32). */
const MAGIC = Buffer.from("ovsv8c01", "latin1");
const HEADER = MAGIC.length + 64;

export function requireWithCodeCache(from: string, id: string, tag: string): unknown {
  const get = (globalThis as { process?: { getBuiltinModule?: Builtin } }).process?.getBuiltinModule;
  if (!get) return null;
  const fs = get("node:fs") as typeof import("node:fs");
  const path = get("node:path") as typeof import("node:path");
  const os = get("node:os") as typeof import("node:os");
  const vm = get("node:vm") as typeof import("node:vm");
  const crypto = get("node:crypto") as typeof import("node:crypto");
  const { createRequire } = get("node:module") as typeof import("node:module");
  const sha256 = (data: string | Buffer): Buffer => crypto.createHash("sha256").update(data).digest();
  const file = createRequire(from).resolve(id);
  const source = fs.readFileSync(file, "utf8");
  const sourceHash = sha256(source);
  const home = process.env["XDG_CACHE_HOME"] || path.join(os.homedir(), ".cache");
  const dir = path.join(home, "overshoot");
  const key = sha256(`${sourceHash.toString("hex")} ${process.version} ${process.arch}`).toString("hex");
  const cacheFile = path.join(dir, `${tag}-${key.slice(0, 32)}.v8`);

  // Only this user (or root) may have written what is read: owner, mode and no symbolic link.
  const uid = process.getuid?.();
  const ownedAndPrivate = (p: string): boolean => {
    try {
      const s = fs.lstatSync(p);
      return uid !== undefined && !s.isSymbolicLink() && s.uid === uid && (s.mode & 0o022) === 0;
    } catch {
      return false;
    }
  };
  let trusted = uid !== undefined;
  if (trusted && !fs.existsSync(dir)) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch {
      trusted = false;
    }
  }
  trusted &&= ownedAndPrivate(dir);

  let cachedData: Buffer | undefined;
  if (trusted && ownedAndPrivate(cacheFile)) {
    try {
      const raw = fs.readFileSync(cacheFile);
      const code = raw.subarray(HEADER);
      if (
        raw.length > HEADER &&
        raw.subarray(0, MAGIC.length).equals(MAGIC) &&
        raw.subarray(MAGIC.length, MAGIC.length + 32).equals(sourceHash) &&
        raw.subarray(MAGIC.length + 32, HEADER).equals(sha256(code))
      )
        cachedData = code;
    } catch {
      cachedData = undefined;
    }
  }
  // The CommonJS wrapper, as Node's own loader builds it for this file.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  const module = { exports: {} as unknown };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  run(module.exports, createRequire(file), module, file, path.dirname(file));
  if (trusted && (!cachedData || script.cachedDataRejected)) {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      const code = script.createCachedData();
      fs.writeFileSync(tmp, Buffer.concat([MAGIC, sourceHash, sha256(code), code]), {
        mode: 0o600,
        flag: "wx",
      });
      fs.renameSync(tmp, cacheFile);
    } catch {
      // A read-only or full home: no cache, the same result.
      fs.rmSync(tmp, { force: true });
    }
  }
  return module.exports;
}
