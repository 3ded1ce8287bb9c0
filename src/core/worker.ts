import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { type ResourceLimits, Worker } from "node:worker_threads";

/**
 * A worker thread running the module `name` (without extension) beside `from` (a module's
 * import.meta.url): the compiled .js when built; in development (sources run as .ts through tsx
 * or vitest) the worker first loads tsx's loader, then the .ts entry. Node only.
 */
export function spawnWorker(from: string, name: string, resourceLimits?: ResourceLimits): Worker {
  const limits = resourceLimits ? { resourceLimits } : {};
  if (!from.endsWith(".ts")) return new Worker(new URL(`./${name}.js`, from), limits);
  // tsx's ESM API (its "import" export; require.resolve would find the CommonJS one).
  const manifest = createRequire(from).resolve("tsx/package.json");
  const exports = (
    JSON.parse(readFileSync(manifest, "utf8")) as { exports: Record<string, { import: { default: string } }> }
  ).exports;
  const tsx = pathToFileURL(join(dirname(manifest), exports["./esm/api"]!.import.default)).href;
  const entry = new URL(`./${name}.ts`, from).href;
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, ...limits },
  );
}
