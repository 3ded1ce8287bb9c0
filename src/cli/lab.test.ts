import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Io } from "./io.js";
import { ensureLabBuilt, labIsStale, labPaths, packageRoot, serveFolder } from "./lab-site.js";
import { execute } from "./main.js";

/** `overshoot lab` builds the page when needed, serves it on 127.0.0.1, prints the URL, and stops. */

function io(signal?: AbortSignal): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return {
    lines,
    errors,
    out: (t) => lines.push(t),
    err: (t) => errors.push(t),
    isTTY: false,
    cwd: process.cwd(),
    ...(signal ? { signal } : {}),
  };
}

describe("overshoot lab", () => {
  it("builds if needed, serves the lab on the printed URL, and stops on its signal", async () => {
    const stop = new AbortController();
    const session = io(stop.signal);
    const done = execute(["lab", "--port", "0"], session);
    let url = "";
    for (let i = 0; i < 1200 && url === ""; i++) {
      const line = session.lines.find((l) => l.startsWith("overshoot lab: "));
      if (line) url = line.slice("overshoot lab: ".length).trim();
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(labIsStale()).toBe(false);
    const page = await (await fetch(url)).text();
    expect(page).toContain("<title>overshoot lab");
    const script = page.match(/src="\.\/(assets\/[^"]+\.js)"/)?.[1];
    expect(script).toBeDefined();
    const js = await fetch(new URL(script!, url));
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect((await fetch(new URL("../../package.json", url))).status).toBe(404);
    expect((await fetch(new URL("/%2e%2e/%2e%2e/package.json", url))).status).toBe(404);
    stop.abort();
    expect(await done).toBe(0);
  }, 120_000);

  it("refuses a port in use, a bad port and an unknown flag in one line, exit 2", async () => {
    const busy = createServer();
    await new Promise<void>((ok) => busy.listen(0, "127.0.0.1", ok));
    const port = (busy.address() as { port: number }).port;
    const taken = io();
    expect(await execute(["lab", "--port", String(port)], taken)).toBe(2);
    expect(taken.errors.join("")).toContain(`port ${port} is in use: pick another with --port N`);
    busy.close();

    const bad = io();
    expect(await execute(["lab", "--port", "70000"], bad)).toBe(2);
    expect(bad.errors.join("")).toBe(
      "overshoot: invalid --port: 70000 (a whole number from 0 to 65535; 0 picks a free port)\n",
    );

    const unknown = io();
    expect(await execute(["lab", "--prot", "80"], unknown)).toBe(2);
    expect(unknown.errors.join("")).toContain("--port");
  }, 120_000);
});

/** One raw HTTP exchange: the request bytes as written, the response as received. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((ok, fail) => {
    // Written, not ended: the server answers, then closes (Connection: close, or HTTP/1.0).
    const socket = connect(port, "127.0.0.1", () => socket.write(request));
    let got = "";
    socket.setEncoding("latin1");
    socket.on("data", (d) => {
      got += d;
    });
    socket.on("end", () => ok(got));
    socket.on("error", fail);
  });
}

describe("the lab's server, asked as a stray page or an attacker would", () => {
  it("answers malformed URLs 400, other hosts 403, other methods 405, and keeps serving", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-site-"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>t</title>");
    const site = await serveFolder(dir, 0);
    const host = `127.0.0.1:${site.port}`;
    const get = (path: string, h = host, method = "GET") =>
      raw(site.port, `${method} ${path} HTTP/1.1\r\nHost: ${h}\r\nConnection: close\r\n\r\n`);
    try {
      expect(await get("/%")).toMatch(/^HTTP\/1\.1 400 /);
      expect(await get("/%c0%ae")).toMatch(/^HTTP\/1\.1 400 /);
      expect(await get("/", "evil.example")).toMatch(/^HTTP\/1\.1 403 /);
      expect(await get("/", `evil.example:${site.port}`)).toMatch(/^HTTP\/1\.1 403 /);
      expect(await raw(site.port, "GET / HTTP/1.0\r\n\r\n")).toMatch(/^HTTP\/1\.1 403 /);
      const post = await get("/", host, "POST");
      expect(post).toMatch(/^HTTP\/1\.1 405 /);
      expect(post.toLowerCase()).toContain("allow: get, head");
      expect(await get("/%00/index.html")).toMatch(/^HTTP\/1\.1 404 /);
      expect(await raw(site.port, "NOT HTTP AT ALL\r\n\r\n")).toMatch(/^HTTP\/1\.1 400 /);
      // Still serving, under every name of this machine, with its headers.
      for (const h of [host, `localhost:${site.port}`, `LOCALHOST:${site.port}`]) {
        const ok = await get("/", h);
        expect(ok).toMatch(/^HTTP\/1\.1 200 /);
        expect(ok.toLowerCase()).toContain("x-content-type-options: nosniff");
        expect(ok.toLowerCase()).toContain("content-security-policy: default-src 'self'");
        expect(ok).toContain("<title>t</title>");
      }
      const head = await get("/", host, "HEAD");
      expect(head).toMatch(/^HTTP\/1\.1 200 /);
      expect(head).not.toContain("<title>");
    } finally {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the package", () => {
  it("ships the built lab and everything the CLI needs, and no install script", () => {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8"));
    expect(pkg.files).toEqual(expect.arrayContaining(["bin", "dist", "build/mlp-kernels.wasm", "web/dist"]));
    // npm runs these when a consumer installs; the package is built before it is packed (prepack).
    for (const hook of ["prepare", "preinstall", "install", "postinstall"])
      expect(pkg.scripts[hook]).toBeUndefined();
    expect(pkg.scripts.prepack).toContain("build:web");
  });

  it("an installed package (no sources, no Vite) serves the lab it ships", async () => {
    await ensureLabBuilt();
    const root = packageRoot();
    // What `npm install overshoot` puts in node_modules/overshoot: the package's files only.
    const installed = mkdtempSync(join(tmpdir(), "overshoot-installed-"));
    for (const part of ["package.json", "bin", "dist", "build/mlp-kernels.wasm"])
      cpSync(join(root, part), join(installed, part), { recursive: true });
    mkdirSync(join(installed, "web"));
    cpSync(labPaths(root).dist, join(installed, "web", "dist"), { recursive: true });
    // Its dependencies resolve from the clone's node_modules, linked beside it as a project's would be.
    symlinkSync(join(root, "node_modules"), join(installed, "node_modules"));
    const child = spawn(process.execPath, [join(installed, "bin", "overshoot.js"), "lab", "--port", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    try {
      for (let i = 0; i < 200 && !/overshoot lab: http/.test(out); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(err).not.toMatch(/not here|error/i);
      const url = /overshoot lab: (\S+)/.exec(out)![1]!;
      const page = await (await fetch(url)).text();
      expect(page).toContain("<title>overshoot lab");
    } finally {
      child.kill();
      rmSync(installed, { recursive: true, force: true });
    }
  }, 120_000);
});
