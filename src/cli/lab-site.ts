import { existsSync, readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { CliError } from "./errors.js";

/**
 * The lab as files: where its sources and build live, building it when the build is missing or
 * older than the sources, and serving the built folder on localhost. Shared by `overshoot lab`
 * and the browser tests, so both see the same page.
 */

/** The package root: the nearest folder above this module with a package.json. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("package.json not found above the CLI");
    dir = up;
  }
  return dir;
}

export function labPaths(root = packageRoot()): { web: string; dist: string; index: string } {
  const web = join(root, "web");
  const dist = join(web, "dist");
  return { web, dist, index: join(dist, "index.html") };
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === "dist" || entry.name === "node_modules" || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (!entry.name.includes(".test.")) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * True when web/dist is missing or older than a source of the page (web/, the library in src/, or
 * the WebAssembly kernels it bundles from build/).
 */
export function labIsStale(root = packageRoot()): boolean {
  const { web, index } = labPaths(root);
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const kernels = join(root, "build", "mlp-kernels.wasm");
  const wasm = existsSync(kernels) ? statSync(kernels).mtimeMs : 0;
  return Math.max(newestSource(web), newestSource(join(root, "src")), wasm) > built;
}

/**
 * Builds the lab with Vite into web/dist when it is stale. Vite is a development dependency: an
 * install without it gets a sentence saying so rather than a module-not-found trace.
 */
export async function ensureLabBuilt(
  root = packageRoot(),
  log: (line: string) => void = () => {},
): Promise<boolean> {
  const { web } = labPaths(root);
  if (!existsSync(join(web, "index.html")))
    throw new CliError(
      `the lab's sources are not here (${web}/index.html is missing): run it from a clone of overshoot`,
    );
  if (!labIsStale(root)) return false;
  let vite: typeof import("vite");
  try {
    vite = await import("vite");
  } catch {
    throw new CliError(
      "building the lab needs Vite, which is not installed: run npm install (or npm ci) first",
    );
  }
  log("building the lab (vite build web) …");
  await vite.build({ root: web, configFile: join(web, "vite.config.ts"), logLevel: "warn" });
  return true;
}

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ttf": "font/ttf",
  ".woff2": "font/woff2",
  ".wasm": "application/wasm",
  ".ico": "image/x-icon",
};

export interface StaticSite {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves a folder on 127.0.0.1 (never the network: the lab is for the person at the machine).
 * Paths are resolved inside the folder only; anything else is a 404.
 */
export async function serveFolder(folder: string, port: number): Promise<StaticSite> {
  const base = resolve(folder);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    let path = decodeURIComponent(url.pathname);
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(404).end("not found");
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, {
          "content-type": TYPES[extname(file)] ?? "application/octet-stream",
          "cache-control": "no-cache",
        });
        res.end(body);
      },
      () => res.writeHead(404, { "content-type": "text/plain" }).end("not found"),
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EADDRINUSE")
        fail(
          new CliError(`port ${port} is in use: pick another with --port N (or --port 0 for any free port)`),
        );
      else if (e.code === "EACCES")
        fail(new CliError(`port ${port} needs privileges: pick a port above 1023 with --port N`));
      else fail(e);
    });
    server.listen(port, "127.0.0.1", () => ok());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
