import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import {
  ensureLabBuilt,
  labPaths,
  packageRoot,
  type StaticSite,
  serveFolder,
} from "../../src/cli/lab-site.js";

/**
 * Browser tests drive Debian's chromium through playwright-core against the built lab, served from
 * web/dist exactly as `overshoot lab` serves it. Chromium runs with the flags in DEVELOPERS.md:
 * headless, no sandbox (CI runs as root), no GPU, and nothing that phones home (the machines have
 * no open network), with a fresh profile each launch.
 */

export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Screenshots land here; the folder is printed once so CI can keep it as an artifact. */
export const SCREENSHOTS = join(packageRoot(), ".ci-out", "screenshots");

export interface Lab {
  readonly url: string;
  readonly context: BrowserContext;
  close(): Promise<void>;
}

let printed = false;

/** Builds the lab if its build is stale, serves it on a free port and launches chromium. */
export async function openLab(): Promise<Lab> {
  if (!existsSync(CHROMIUM))
    throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  await ensureLabBuilt();
  const site: StaticSite = await serveFolder(labPaths().dist, 0);
  const profile = mkdtempSync(join(tmpdir(), "overshoot-chromium-"));
  // Playwright passes the fresh profile as --user-data-dir itself (it refuses the flag in args).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  if (!printed) {
    console.log(`screenshots: ${SCREENSHOTS}`);
    printed = true;
  }
  return {
    url: site.url,
    context,
    async close() {
      await context.close();
      await site.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface WatchedPage {
  readonly page: Page;
  /** Console errors and uncaught exceptions seen so far, as text. */
  readonly problems: string[];
  /** Requests that left 127.0.0.1 (the lab must work offline). */
  readonly outside: string[];
}

/**
 * A new page at the given size that records every console error and warning, page error,
 * violation of the server's Content-Security-Policy and outside request.
 */
export async function newPage(lab: Lab, width = 1280, height = 900): Promise<WatchedPage> {
  const page = await lab.context.newPage();
  await page.setViewportSize({ width, height });
  const problems: string[] = [];
  const outside: string[] = [];
  page.on("console", (m) => {
    // A first visit has a clean console: a warning (vega's among them) is a problem too.
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`));
  // The server's Content-Security-Policy: anything the page does that it forbids is a problem too.
  await page.addInitScript(
    `document.addEventListener("securitypolicyviolation", (e) => console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));`,
  );
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.protocol !== "data:" && u.protocol !== "blob:" && u.hostname !== "127.0.0.1") outside.push(r.url());
  });
  return { page, problems, outside };
}

/** Waits until every chart in the panel has drawn an SVG. */
export async function chartsDrawn(page: Page, panel: string): Promise<void> {
  // A string, not a function: this project type-checks without the DOM library.
  await page.waitForFunction(
    `(() => { const c = [...document.querySelectorAll("#panel-${panel} .chart")];
      return c.length > 0 && c.every((e) => e.querySelector("svg") !== null); })()`,
    undefined,
    { timeout: 20_000 },
  );
}

/** Presses the network panel's Train and waits for its verdict and the final drawing; the verdict's text. */
export async function trainToEnd(page: Page): Promise<string> {
  await page.click("#network-play");
  await page.waitForFunction(
    `/^(Trained|Stalled|Failed|Diverged|Dead units|Saturated units)/.test(document.querySelector("#network-verdict").textContent)`,
    undefined,
    { timeout: 60_000 },
  );
  await page.waitForTimeout(300);
  return (await page.textContent("#network-verdict"))!;
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const file = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
