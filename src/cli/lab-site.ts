import { existsSync, readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer, type Server, type ServerResponse } from "node:http";
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
  const { web, index } = labPaths(root);
  if (!existsSync(join(web, "index.html"))) {
    // An installed package ships the built lab (web/dist) without its sources: serve that.
    if (existsSync(index)) return false;
    throw new CliError(
      `the lab is not here: neither its build (${index}) nor its sources (${web}/index.html); reinstall overshoot, or run it from a clone`,
    );
  }
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
 * What every answer says about itself: never sniff a type, and the page may load only its own
 * files. Vega compiles its expressions with Function ('unsafe-eval'), the network kernels are
 * WebAssembly ('wasm-unsafe-eval'), and its charts set style attributes ('unsafe-inline' styles);
 * no inline script, no other origin, no frames, no forms.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "content-security-policy": [
    "default-src 'self'",
    "script-src 'self' 'unsafe-eval' 'wasm-unsafe-eval'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; "),
  "referrer-policy": "no-referrer",
};

/**
 * Serves a folder on 127.0.0.1 (never the network: the lab is for the person at the machine).
 * Paths are resolved inside the folder only; anything else is a 404. Only GET and HEAD (405), a
 * Host naming this machine and port (403: a page on another site that points its own name at
 * 127.0.0.1, DNS rebinding, gets nothing), and a path that decodes (400); no request ends the
 * server.
 *
 * Slow or idle clients are let go, so none can hold the server: the headers within
 * `headersMs`, the whole request within `requestMs` (a trickled body included; a connection
 * silent that long is closed too), an answer sent
 * within `answerMs` (a reader that takes less is cut off), at most `connections` open at once (the
 * rest are closed on arrival), and an idle kept-alive connection closed after 5 s. The folder's
 * files are read once and shared by every answer, so a thousand readers of one file hold one copy.
 */
export interface SiteLimits {
  readonly headersMs: number;
  readonly requestMs: number;
  readonly answerMs: number;
  readonly connections: number;
}

export const SITE_LIMITS: SiteLimits = {
  headersMs: 10_000,
  requestMs: 30_000,
  answerMs: 60_000,
  connections: 64,
};

export async function serveFolder(
  folder: string,
  port: number,
  limits: SiteLimits = SITE_LIMITS,
): Promise<StaticSite> {
  const base = resolve(folder);
  const files = new Map<string, Promise<Buffer>>();
  let hosts = new Set<string>();
  const refuse = (res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}) =>
    res
      .writeHead(status, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS, ...extra })
      .end(text);
  const server: Server = createServer(
    {
      headersTimeout: limits.headersMs,
      requestTimeout: limits.requestMs,
      keepAliveTimeout: 5000,
      // How often the two timeouts above are checked (Node's default is every 30 s).
      connectionsCheckingInterval: Math.min(1000, limits.headersMs / 2),
    },
    (req, res) => {
      // An answer not delivered in time frees its connection (a slow reader cannot hold a slot).
      const deadline = setTimeout(() => res.destroy(), limits.answerMs);
      deadline.unref();
      res.once("close", () => clearTimeout(deadline));
      if (req.method !== "GET" && req.method !== "HEAD") {
        refuse(res, 405, "only GET and HEAD\n", { allow: "GET, HEAD" });
        return;
      }
      if (!hosts.has((req.headers.host ?? "").toLowerCase())) {
        refuse(res, 403, "unknown Host: open the lab at the address it printed\n");
        return;
      }
      let path: string;
      try {
        path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
      } catch {
        refuse(res, 400, "malformed URL\n");
        return;
      }
      if (path.endsWith("/")) path += "index.html";
      const file = normalize(join(base, path));
      if (path.includes("\0") || (file !== base && !file.startsWith(base + sep))) {
        refuse(res, 404, "not found\n");
        return;
      }
      let body = files.get(file);
      if (body === undefined) {
        body = readFile(file);
        // A missing file is not remembered: it may be built later.
        body.catch(() => files.delete(file));
        files.set(file, body);
      }
      body.then(
        (body) => {
          res.writeHead(200, {
            "content-type": TYPES[extname(file)] ?? "application/octet-stream",
            "cache-control": "no-cache",
            ...SECURITY_HEADERS,
          });
          res.end(req.method === "HEAD" ? undefined : body);
        },
        () => refuse(res, 404, "not found\n"),
      );
    },
  );
  server.maxConnections = limits.connections;
  // A connection that sends nothing at all is not a request yet: no timeout above covers it.
  server.timeout = limits.requestMs;
  // A client that sends garbage gets a 400 from Node's parser; it never reaches the handler.
  server.on("clientError", (e: NodeJS.ErrnoException, socket) => {
    const status = e.code === "ERR_HTTP_REQUEST_TIMEOUT" ? "408 Request Timeout" : "400 Bad Request";
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
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
  hosts = new Set([`127.0.0.1:${actual}`, `localhost:${actual}`, `[::1]:${actual}`]);
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
