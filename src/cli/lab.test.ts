import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import type { Io } from "./io.js";
import { labIsStale } from "./lab-site.js";
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
