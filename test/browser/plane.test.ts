import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { newPage, screenshot, type WatchedPage } from "./harness.js";
import { useLab } from "./use-lab.js";

/** The 2-D panel: critical steps from the Hessian's eigenvalues, clicks that move the start, bad input, the URL. */

const lab = useLab();

async function open(query = "", width = 1280): Promise<WatchedPage> {
  const w = await newPage(lab, width, 900);
  await w.page.goto(`${lab.url}?panel=plane${query}`);
  await mapDrawn(w.page);
  return w;
}

async function mapDrawn(page: Page): Promise<void> {
  await page.waitForSelector("#plane-map-chart svg", { timeout: 20_000 });
  await page.waitForSelector("#plane-loss-chart svg", { timeout: 20_000 });
}

const verdict = (page: Page, id: string) => page.textContent(`#plane-verdicts [data-optimizer=${id}]`);

describe("the 2-D panel", () => {
  it("draws the critical steps 2/λᵢ of the ill-conditioned quadratic (λ = 20 and 1: 0.1 and 2)", async () => {
    const { page, problems, outside } = await open();
    const eigen = await page.textContent("#plane-eigen");
    expect(eigen).toContain("λ₁ = 20");
    expect(eigen).toContain("critical step 2/λ₁ = 0.1;");
    expect(eigen).toContain("λ₂ = 1 ");
    expect(eigen).toContain("critical step 2/λ₂ = 2.");
    // Plain GD's limit 2/λmax, heavy ball's 2(1+β)/λmax = 3.8/20.
    expect(await verdict(page, "sgd")).toContain("critical rate from λmax at the start is 0.1 ");
    expect(await verdict(page, "momentum")).toContain("is 0.19 ");
    expect(await page.textContent("#plane-map-chart")).toContain("2/λ = 0.1");
    expect(problems).toEqual([]);
    expect(outside).toEqual([]);
    await screenshot(page, "plane-quadratic-1280");
    await page.close();
  });

  it("says which optimizers diverge on Rosenbrock from (−1.2, 1), 'diverged at step k', no NaN", async () => {
    const { page, problems } = await open("&plane.f=rosenbrock&plane.x0=-1.2,1");
    expect(await verdict(page, "sgd")).toMatch(/diverged at step \d+/);
    expect(await verdict(page, "adam")).not.toMatch(/diverged/);
    for (const id of ["plane-map-chart", "plane-loss-chart", "plane-verdicts"])
      expect(await page.textContent(`#${id}`)).not.toContain("NaN");
    expect(problems).toEqual([]);
    await page.close();
  });

  it("typing Rosenbrock over a start at its minimum (1, 1) starts from its usual (−1.2, 1) instead, and says so", async () => {
    const { page, problems } = await open("&plane.x0=1,1");
    await page.fill("#plane-f", "rosenbrock");
    await page.dispatchEvent("#plane-f", "change");
    await page.waitForFunction(`document.querySelector("#plane-x0").value === "-1.2,1"`);
    expect(await page.textContent("#plane-x0-error")).toContain(
      "(1, 1) is a stationary point of Rosenbrock, where gradient descent never moves: started from its usual (-1.2, 1) instead.",
    );
    expect(await verdict(page, "sgd")).not.toMatch(/converges \(at step 0\)/);
    expect(new URL(page.url()).searchParams.get("plane.x0")).toBe("-1.2,1");
    // A typed function whose stationary point is the start is not moved, but said.
    await page.fill("#plane-f", "x^2 + y^2");
    await page.fill("#plane-x0", "0,0");
    await page.dispatchEvent("#plane-x0", "change");
    await page.waitForFunction(
      `document.querySelector("#plane-x0-error").textContent.includes("stationary point")`,
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it("moves the start where the map is clicked, into the URL", async () => {
    const { page, problems } = await open();
    const before = new URL(page.url()).searchParams.get("plane.x0");
    const box = (await page.$("#plane-map-chart svg"))!;
    const r = (await box.boundingBox())!;
    await page.mouse.click(r.x + r.width * 0.3, r.y + r.height * 0.5);
    await page.waitForFunction(
      `new URL(location.href).searchParams.get("plane.x0") !== ${JSON.stringify(before)}`,
    );
    const x0 = new URL(page.url()).searchParams.get("plane.x0")!.split(",").map(Number);
    expect(x0.every(Number.isFinite)).toBe(true);
    expect(await page.inputValue("#plane-x0")).toBe(x0.join(","));
    expect(await page.textContent("#plane-eigen")).toContain(`(${x0[0]}, ${x0[1]})`);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows bad input under its box and keeps the last good drawing", async () => {
    const { page, problems } = await open();
    const before = await page.innerHTML("#plane-map-chart");
    await page.fill("#plane-f", "(1-x)^2 + 100*(y-x^2");
    await page.dispatchEvent("#plane-f", "change");
    expect(await page.textContent("#plane-f-error")).toMatch(/position \d+[\s\S]*\^/);
    await page.fill("#plane-f", "x^2");
    await page.dispatchEvent("#plane-f", "change");
    expect(await page.textContent("#plane-f-error")).toContain("two variables");
    await page.fill("#plane-sgd-lr", "-1");
    await page.dispatchEvent("#plane-sgd-lr", "change");
    expect(await page.textContent("#plane-sgd-error")).toContain("lr");
    expect(await page.innerHTML("#plane-map-chart")).toBe(before);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("keeps its settings in the URL: a link reproduces the view, back restores the previous one", async () => {
    const { page, problems } = await open();
    await page.click('.presets button[data-f="himmelblau"]');
    await mapDrawn(page);
    await page.check("#plane-on-rmsprop");
    await page.fill("#plane-rmsprop-lr", "0.02");
    await page.dispatchEvent("#plane-rmsprop-lr", "change");
    const link = page.url();
    const text = await page.textContent("#plane-verdicts");
    const again = await newPage(lab);
    await again.page.goto(link);
    await mapDrawn(again.page);
    expect(await again.page.inputValue("#plane-f")).toBe("himmelblau");
    expect(await again.page.isChecked("#plane-on-rmsprop")).toBe(true);
    expect(await again.page.inputValue("#plane-rmsprop-lr")).toBe("0.02");
    expect(await again.page.textContent("#plane-verdicts")).toBe(text);
    await again.page.close();
    await page.goBack();
    await page.waitForFunction(`document.querySelector("#plane-rmsprop-lr").value === "0.01"`);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("reads at 360 px wide and on a wide screen (screenshots)", async () => {
    for (const width of [360, 1280]) {
      const { page, problems } = await open("", width);
      expect(await page.evaluate(`document.documentElement.scrollWidth - ${width}`)).toBeLessThanOrEqual(0);
      await screenshot(page, `plane-${width}`);
      expect(problems).toEqual([]);
      await page.close();
    }
  });
});
