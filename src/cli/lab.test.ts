import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Io } from "./io.js";
import { ensureLabBuilt, labIsStale, labPaths, packageRoot, SITE_LIMITS, serveFolder } from "./lab-site.js";
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

describe("the lab's server, held by slow clients", () => {
  // Limits small enough for a test; the lab itself runs with SITE_LIMITS.
  const limits = { headersMs: 600, requestMs: 1200, answerMs: 1500, connections: 8 };
  const serve = async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-slow-"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>t</title>");
    writeFileSync(join(dir, "big.bin"), Buffer.alloc(32 << 20, 7));
    const site = await serveFolder(dir, 0, limits);
    const host = `Host: 127.0.0.1:${site.port}\r\n`;
    return { site, host, dir };
  };
  /** A client that connects, runs `feed` on its socket, and resolves with the ms until the server closed it. */
  const client = (port: number, feed: (s: ReturnType<typeof connect>) => void) =>
    new Promise<number>((ok) => {
      const t0 = Date.now();
      const s = connect(port, "127.0.0.1", () => feed(s));
      s.on("error", () => {});
      s.resume(); // read (and drop) whatever comes, so the server's close is seen
      s.on("close", () => ok(Date.now() - t0));
    });
  const every = (s: ReturnType<typeof connect>, ms: number, text: () => string) => {
    const timer = setInterval(() => (s.writable ? s.write(text()) : clearInterval(timer)), ms);
    s.on("close", () => clearInterval(timer));
  };

  it("lets go of a header every 200 ms, a trickled body and a reader that never reads; refuses connections past the cap", async () => {
    expect(SITE_LIMITS).toEqual({ headersMs: 10_000, requestMs: 30_000, answerMs: 60_000, connections: 64 });
    const { site, host, dir } = await serve();
    try {
      let n = 0;
      const trickledHeaders = Array.from({ length: 3 }, () =>
        client(site.port, (s) => {
          s.write(`GET / HTTP/1.1\r\n${host}`);
          every(s, 200, () => `x-${n++}: y\r\n`);
        }),
      );
      const trickledBody = client(site.port, (s) => {
        s.write(`GET / HTTP/1.1\r\n${host}content-length: 100000\r\n\r\n`);
        every(s, 100, () => "z");
      });
      // A reader that reads nothing for 2 s: by then its answer is cut off (the server closed it
      // at 1.5 s with its unsent rest of the 32 MB file); reading on, it gets what the kernel held, then the end.
      let read = 0;
      const neverReads = client(site.port, (s) => {
        s.pause();
        s.on("data", (d: Buffer) => (read += d.length));
        setTimeout(() => s.resume(), 2000);
        s.write(`GET /big.bin HTTP/1.1\r\n${host}\r\n`);
      });
      const held = [...trickledHeaders, trickledBody, neverReads];
      // Connections past the cap are closed on arrival (each opened after the ones above).
      await new Promise((ok) => setTimeout(ok, 100));
      const extra = await Promise.all(Array.from({ length: 6 }, () => client(site.port, () => {})));
      expect(extra.filter((ms) => ms < 400).length).toBeGreaterThanOrEqual(3);
      // The rest sent nothing: let go once silent for 1.2 s.
      for (const ms of extra) expect(ms).toBeLessThan(2000);
      const closedAfter = await Promise.all(held);
      // Headers: 600 ms (checked every 300 ms); the request: 1.2 s; the answer: 1.5 s.
      for (const ms of closedAfter.slice(0, 3)) expect(ms).toBeLessThan(2000);
      expect(closedAfter[3]).toBeLessThan(2500);
      expect(closedAfter[4]).toBeLessThan(3000);
      expect(read).toBeLessThan(32 << 20);
      // Still serving.
      expect(await raw(site.port, `GET / HTTP/1.1\r\n${host}connection: close\r\n\r\n`)).toMatch(
        /^HTTP\/1\.1 200 /,
      );
    } finally {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);

  it("readers of one file share one copy of it (eight that never read a 32 MB file hold less than two)", async () => {
    const { site, host, dir } = await serve();
    try {
      const before = process.memoryUsage().arrayBuffers;
      const sockets: ReturnType<typeof connect>[] = [];
      // 8 at a time (the cap), each asking for the 32 MB file and not reading it.
      for (let i = 0; i < 8; i++) {
        const s = connect(site.port, "127.0.0.1", () => s.write(`GET /big.bin HTTP/1.1\r\n${host}\r\n`));
        s.on("error", () => {});
        s.pause();
        sockets.push(s);
      }
      await new Promise((ok) => setTimeout(ok, 500));
      const grown = process.memoryUsage().arrayBuffers - before;
      for (const s of sockets) s.destroy();
      // One 32 MB copy and socket buffers, not eight copies.
      expect(grown).toBeLessThan(2 * (32 << 20));
    } finally {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
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
