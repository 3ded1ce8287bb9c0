import { describe, expect, it } from "vitest";
import { cli } from "../cli-harness.js";
import { chartsDrawn, newPage } from "./harness.js";
import { commands, saved } from "./page-export.js";
import { useLab } from "./use-lab.js";

/**
 * Export from the page (issue 29, point 3): each chart as SVG and PNG, the run as CSV and JSON,
 * and the CLI command that reproduces it — checked by running that command: its numbers are the
 * page's. Everything is made in the page; no request leaves it.
 */
const lab = useLab();

describe("export from the page", () => {
  it("1-D: the CLI command computes the page's run, step for step; CSV and JSON as the CLI writes them", async () => {
    const { page, problems, outside } = await newPage(lab, 1280, 900);
    await page.goto(`${lab.url}?seed.lr=0.1&seed.steps=40&seed.changes=9:1.125&seed.schedule=warmup:5`);
    await chartsDrawn(page, "seed");
    const [args] = await commands(page, "seed");
    expect(args).toEqual([
      "run",
      "--f",
      "x^2",
      "--x0",
      "-1",
      "--lr",
      "0.1",
      "--steps",
      "40",
      "--schedule",
      "warmup:5",
      "--lr-changes",
      "9:1.125",
    ]);
    const json = await saved(page, "#seed-export-json");
    expect(json.name).toBe("overshoot-seed.json");
    const ours = JSON.parse(json.text) as { trace: { loss: number | string; lr?: number }[] };
    const theirs = await cli([...args!, "--json"]);
    expect(theirs.code).toBe(0);
    const cliRun = JSON.parse(theirs.out) as { trace: { loss: number | string }[] };
    expect(ours.trace.length).toBe(41);
    expect(cliRun.trace.map((r) => r.loss)).toEqual(ours.trace.map((r) => r.loss));
    // The CSV is the CLI's --csv, byte for byte.
    const csv = await saved(page, "#seed-export-csv");
    expect(csv.name).toBe("overshoot-seed.csv");
    const cliCsv = await cli([...args!, "--csv", "-"]);
    expect(csv.text).toBe(cliCsv.out);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 60_000);

  it("each chart saves as SVG (vega's own, with its text) and as PNG at twice its pixels", async () => {
    const { page, problems, outside } = await newPage(lab, 1280, 900);
    await page.goto(`${lab.url}?seed.lr=1.125`);
    await chartsDrawn(page, "seed");
    const svg = await saved(page, "#seed-loss-chart [data-export=svg]");
    expect(svg.name).toBe("overshoot-seed-loss.svg");
    expect(svg.text).toMatch(/^<svg /);
    expect(svg.text).toContain("Loss per step");
    const png = await saved(page, "#seed-loss-chart [data-export=png]");
    expect(png.name).toBe("overshoot-seed-loss.png");
    expect([...png.bytes.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
    const width = png.bytes.readUInt32BE(16);
    const drawn = (await page.$eval(
      "#seed-loss-chart svg",
      (e) => e.getBoundingClientRect().width,
    )) as number;
    expect(width).toBeGreaterThanOrEqual(Math.floor(2 * drawn) - 2);
    // The network's decision boundary is drawn on a canvas; it saves as SVG too.
    await page.goto(`${lab.url}?panel=network`);
    await page.waitForSelector("#network-boundary-chart canvas");
    const boundary = await saved(page, "#network-boundary-chart [data-export=svg]");
    expect(boundary.text).toContain("Decision boundary");
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 60_000);

  it("network: the train command reproduces the page's training, to the last step's loss", async () => {
    const { page, problems, outside } = await newPage(lab, 1280, 900);
    await page.goto(
      `${lab.url}?panel=network&network.steps=200&network.schedule=cosine:400&network.changes=50:0.1`,
    );
    await page.waitForSelector("#network-sharpness-chart svg");
    await page.click("#network-play");
    await page.waitForFunction(
      `/^(Trained|Stalled|Failed|Dead|Saturated|Diverged)/.test(document.querySelector("#network-verdict").textContent)`,
      undefined,
      { timeout: 60_000 },
    );
    const [args] = await commands(page, "network");
    expect(args).toContain("--lr-changes");
    const json = JSON.parse((await saved(page, "#network-export-json")).text) as {
      records: { step: number; loss: number }[];
    };
    const last = json.records[json.records.length - 1]!;
    expect(last.step).toBe(200);
    const theirs = await cli([...args!, "--json"]);
    expect(theirs.code).toBe(0);
    const records = (JSON.parse(theirs.out) as { records: { step: number; loss: number }[] }).records;
    const end = records[records.length - 1]!;
    expect(end.step).toBe(200);
    // The CLI shuffles the rows it keeps (--validation 0 keeps all): the same mean, summed in
    // another order, so equal to rounding.
    expect(Math.abs(end.loss - last.loss) / last.loss).toBeLessThan(1e-9);
    const csv = (await saved(page, "#network-export-csv")).text.trim().split("\n");
    expect(csv[0]).toBe("step,loss,lr,sharpness,gradNorm,trainAccuracy");
    expect(csv).toHaveLength(202);
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 120_000);

  it("2-D: one run command per optimizer, each computing its path", async () => {
    const { page, problems, outside } = await newPage(lab, 1280, 900);
    await page.goto(`${lab.url}?panel=plane&plane.f=rosenbrock&plane.x0=-1.2,1&plane.schedule=step:50,0.5`);
    await chartsDrawn(page, "plane");
    const lines = await commands(page, "plane");
    const json = JSON.parse((await saved(page, "#plane-export-json")).text) as {
      paths: { optimizer: string; trace: { loss: number | string }[] }[];
    };
    expect(lines.length).toBe(json.paths.length);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const [i, args] of lines.entries()) {
      const theirs = await cli([...args, "--json"]);
      expect(theirs.code).toBe(0);
      const trace = (JSON.parse(theirs.out) as { trace: { loss: number | string }[] }).trace;
      expect(trace.map((r) => r.loss)).toEqual(json.paths[i]!.trace.map((r) => r.loss));
    }
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await page.close();
  }, 120_000);
});
