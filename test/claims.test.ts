import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCars } from "../src/cli/datasets.js";
import { packageRoot } from "../src/cli/lab-site.js";
import { runProcess } from "./cli-harness.js";
import {
  type Demo,
  defined,
  demoOutput,
  last,
  match,
  N,
  same,
  section,
  series,
  texts,
} from "./demo-claims.js";

/**
 * Every sentence with a number in the five demos, checked against what the demo's figure draws:
 * the Vega-Lite spec it writes beside each SVG (NAME.vl.json) holds the plotted data. Each demo
 * runs at its default length and at another, so a number that was typed rather than measured
 * shows up as a mismatch at one of them. Where a claim is about steps the chart does not hold
 * (the car regression's NaN), the test computes it itself, by plain gradient descent. The CNN demo
 * (a minute or two) is checked the same way on the README test's run of it, at its default length.
 */
const root = packageRoot();
const scratch = mkdtempSync(join(tmpdir(), "overshoot-claims-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs a demo in a child process (awaited: runProcess). */
async function demo(name: string, steps: number | null): Promise<Demo> {
  const { dir, args } = demoArgs(name, steps);
  const r = await runProcess(process.execPath, [join(root, "bin", "overshoot.js"), ...args]);
  if (r.code !== 0) throw new Error(`overshoot ${args.join(" ")}: ${r.err}`);
  return demoOutput(dir, r.out);
}

function demoArgs(name: string, steps: number | null): { dir: string; args: string[] } {
  const dir = join(scratch, `${name || "x2"}-${steps ?? "default"}`);
  return {
    dir,
    args: ["demo", ...(name ? [name] : []), "--out", dir, ...(steps ? ["--steps", String(steps)] : [])],
  };
}

describe("demo (x² at η = 0.1, 1, 1.125): the verdicts and the table are the drawn runs'", () => {
  it.each([[null], [20]])("--steps %s", async (steps) => {
    const d = await demo("", steps);
    const n = steps ?? 12;
    const loss = series(d.layers("loss"), "loss");
    const path = series(d.layers("path"), "f");
    const delta = d.layers("delta");
    for (const lr of ["0.1", "1", "1.125"]) {
      const s = loss.get(`η = ${lr}`)!;
      // The window: every step of the run, on both charts.
      expect(last(s), `η = ${lr}: steps drawn`).toBe(n);
      expect(defined(s)).toHaveLength(n + 1);
      const text = section(d.out, `η = ${lr} `);
      // Each row of the table: f(x) is the drawn loss, ΔC and its predictions the drawn bars.
      const panel = delta.filter((l) => l.panel === `η = ${lr}`);
      const dc = (name: string, k: number) =>
        panel.flatMap((l) => l.values).find((p) => p["series"] === name && p["step"] === k)?.["value"] as
          | number
          | undefined;
      const rows = [
        ...text.matchAll(new RegExp(String.raw`^ +(\d+) +${N} +${N} +${N}(?: +${N} +${N} +${N})? *$`, "gm")),
      ];
      expect(rows.length).toBeGreaterThanOrEqual(Math.min(n + 1, 7));
      expect(Number(rows[rows.length - 1]![1]), "the table ends at the last step").toBe(n);
      for (const r of rows) {
        const k = Number(r[1]);
        same(r[3], s[k], `η = ${lr} step ${k} f(x)`);
        if (k < n) {
          same(r[5], dc("actual ΔC", k), `η = ${lr} step ${k} ΔC`);
          same(r[6], dc("1st order ∇fᵀΔx", k), `η = ${lr} step ${k} 1st order`);
          same(r[7], dc("2nd order + ½ΔxᵀHΔx", k), `η = ${lr} step ${k} 2nd order`);
        }
      }
      // The path chart's points are the same runs.
      for (const [k, v] of defined(path.get(`η = ${lr}`) ?? [])) expect(v).toBeCloseTo(s[k]!, 12);
      const verdict = match(text, "verdict: ([a-z]+) — (.*)");
      if (lr === "0.1") {
        expect(verdict[1]).toBe("converging");
        const m = match(
          verdict[2]!,
          String.raw`after (\d+) steps the loss is still falling \(×${N} per step\), f = ${N}`,
        );
        expect(Number(m[1])).toBe(n);
        same(m[3], s[n], "f at the last step");
        const span = Math.max(2, Math.min(50, Math.ceil(n / 4), n));
        same(m[2], (s[n]! / s[n - span]!) ** (1 / span), "falling per step");
        expect(s[n]!).toBeLessThan(s[n - 1]!);
      } else if (lr === "1") {
        expect(verdict[1]).toBe("oscillating");
        const m = match(verdict[2]!, String.raw`over the last (\d+) steps the loss stayed at ${N}`);
        for (let k = n - Number(m[1]); k <= n; k++) same(m[2], s[k], `stays at step ${k}`);
      } else {
        expect(verdict[1]).toBe("diverging");
        const m = match(
          verdict[2]!,
          String.raw`the loss rose from ${N} to ${N} over the last (\d+) steps, ×${N} per step`,
        );
        const span = Number(m[3]);
        same(m[1], s[n - span], "rose from");
        same(m[2], s[n], "rose to");
        same(m[4], (s[n]! / s[n - span]!) ** (1 / span), "rose per step");
      }
    }
  });
});

describe("demo unscaled: the car regression's sentences are its drawn runs', and plain GD agrees", () => {
  // Plain gradient descent on the same data, written here: w ← w − η·(2/n)·Aᵀ(Aw − y),
  // A = [year acceleration 1], from w = 0.
  const cars = loadCars();
  const { columns, values, rows } = cars.table;
  const col = (name: string) => columns.indexOf(name);
  const plainGd = (lr: number, steps: number) => {
    const w = [0, 0, 0];
    const losses: number[] = [];
    for (let k = 0; k <= steps; k++) {
      const g = [0, 0, 0];
      let sum = 0;
      for (let i = 0; i < rows; i++) {
        const a = [
          values[i * columns.length + col("year")]!,
          values[i * columns.length + col("acceleration")]!,
          1,
        ];
        const r = a[0]! * w[0]! + a[1]! * w[1]! + a[2]! * w[2]! - values[i * columns.length + col("mpg")]!;
        sum += r * r;
        for (let p = 0; p < 3; p++) g[p]! += ((2 * r) / rows) * a[p]!;
      }
      // The mean as torch's mse_loss takes it: the sum of squares over n (so it overflows once
      // the sum passes 1.8e308).
      const loss = sum / rows;
      losses.push(loss);
      if (Number.isNaN(loss)) break;
      for (let p = 0; p < 3; p++) w[p]! -= lr * g[p]!;
    }
    return losses;
  };

  it.each([[null], [800]])("--steps %s", async (steps) => {
    const d = await demo("unscaled", steps);
    const n = steps ?? 3000;
    const layers = d.layers("loss");
    const loss = series(layers, "loss");
    const slow = loss.get("raw, lr 0.0001")!;
    const fast = loss.get("raw, lr 0.001")!;
    const scaled = loss.get("standardized, lr 0.5")!;
    // The window covers the whole of each run the text describes.
    expect(last(slow)).toBe(n);
    const fell = match(
      section(d.out, "lr 0.0001"),
      String.raw`the loss fell from ${N} to ${N} \(×${N}\) over (\d+) steps`,
    );
    same(fell[1], slow[0], "fell from");
    same(fell[2], slow[n], "fell to");
    same(fell[3], slow[n]! / slow[0]!, "fell ×");
    expect(Number(fell[4])).toBe(n);
    const gd = plainGd(1e-3, 400);
    const blow = match(
      d.out,
      String.raw`At lr 0\.001 the loss goes from ${N} to ${N} after one step, past a trillion at step (\d+), to Infinity at step (\d+) and NaN at step (\d+)`,
    );
    same(blow[1], fast[0], "goes from");
    same(blow[2], fast[1], "after one step");
    expect(Number(blow[3])).toBe(gd.findIndex((l) => l >= 1e12));
    expect(Number(blow[4])).toBe(gd.indexOf(Number.POSITIVE_INFINITY));
    expect(Number(blow[5])).toBe(gd.findIndex(Number.isNaN));
    for (const [k, v] of defined(fast))
      if (Number.isFinite(v)) expect(Math.abs(v / gd[k]! - 1)).toBeLessThan(1e-9);
    // The chart says where the run went: its marker names the step the loss became infinite.
    expect(texts(layers).some((t) => t.includes(`non-finite at step ${blow[4]}`))).toBe(true);
    const std = match(
      d.out,
      String.raw`lr 0\.5 on standardized features: converged, loss ${N} after (\d+) steps`,
    );
    expect(last(scaled)).toBe(Number(std[2]));
    same(std[1], scaled[last(scaled)], "standardized loss");
  });
});

describe("demo eos: the table, the climb to 2/η and the hovering are the drawn sharpness and loss", () => {
  it.each([[null], [2600]])(
    "--steps %s",
    async (steps) => {
      const d = await demo("eos", steps);
      const n = steps ?? 4000;
      const layers = d.layers("eos");
      const sharp = series(layers, "sharpness");
      const loss = series(layers, "loss");
      for (const lr of [0.2, 1]) {
        const text = section(d.out, `η = ${lr} `);
        const l = loss.get(`η = ${lr}`)!;
        const h = sharp.get(`η = ${lr}`)!;
        for (const r of text.matchAll(new RegExp(String.raw`step +(\d+) +loss +${N} +λmax +${N}`, "g"))) {
          same(r[2], l[Number(r[1])], `η = ${lr} loss at step ${r[1]}`);
          same(r[3], h[Number(r[1])], `η = ${lr} λmax at step ${r[1]}`);
        }
        const limit = 2 / lr;
        if (lr === 1) {
          const inf = match(
            text,
            String.raw`λmax at the start is ${N} > 2/η = ${N}: every step overshoots, and the loss reaches Infinity at step (\d+)`,
          );
          same(inf[1], h[0], "λmax at the start");
          expect(h[0]!).toBeGreaterThan(limit);
          expect(texts(layers).some((t) => t.includes(`non-finite at step ${inf[3]}`))).toBe(true);
          expect(last(l)).toBeLessThan(Number(inf[3]));
          continue;
        }
        expect(last(l), "the loss chart holds every step").toBe(n);
        const climb = match(
          text,
          String.raw`climbs from ${N} to 2/η by step (\d+) \(progressive sharpening\), then hovers between ${N} and ${N} \(${N}–${N} × 2/η\)`,
        );
        const at = Number(climb[2]);
        same(climb[1], h[0], "climbs from");
        const measured = defined(h);
        // "By step s": the first measurement within 5% of 2/η; none before it.
        expect(h[at]!).toBeGreaterThanOrEqual(0.95 * limit);
        for (const [k, v] of measured) if (k < at) expect(v).toBeLessThan(0.95 * limit);
        const after = measured.filter(([k]) => k >= at).map(([, v]) => v);
        same(climb[3], Math.min(...after), "hovers from");
        same(climb[4], Math.max(...after), "hovers to");
        same(climb[5], Math.min(...after) / limit, "hovers from ×");
        same(climb[6], Math.max(...after) / limit, "hovers to ×");
        const fall = match(
          text,
          String.raw`falling overall, ${N} → ${N}, but not monotonically: it rose on (\d+) of the (\d+) steps after that`,
        );
        same(fall[1], l[0], "falls from");
        same(fall[2], l[n], "falls to");
        let rises = 0;
        for (let k = at + 1; k <= n; k++) if (l[k]! > l[k - 1]!) rises++;
        expect(Number(fall[3])).toBe(rises);
        expect(Number(fall[4])).toBe(n - at);
        expect(rises).toBeGreaterThan(0);
      }
    },
    60_000,
  );
});

describe("demo catapult: each run's rise, drop and settling are its drawn loss and sharpness", () => {
  it.each([[null], [600]])(
    "--steps %s",
    async (steps) => {
      const d = await demo("catapult", steps);
      const n = steps ?? 1000;
      const layers = d.layers("catapult");
      const loss = series(layers, "loss");
      const sharp = series(layers, "sharpness");
      const head = match(
        d.out,
        String.raw`λ0 = λmax\(H\) = ${N} \(λmin = ${N}: [^)]*\), so the classical limit is 2/λ0 = ${N}`,
      );
      const runs = [...loss.keys()];
      expect(runs).toHaveLength(4);
      for (const run of runs) {
        const l = loss.get(run)!;
        const h = sharp.get(run)!;
        same(head[1], h[0], `${run}: λ0`);
        same(head[3], 2 / h[0]!, "2/λ0");
        const lr = Number(/^η = ([\d.]+)/.exec(run)![1]);
        // The run's section: its heading is "── η = <rate> = <the label after the chart's colon>".
        const label = run.slice(run.indexOf(": ") + 2);
        const heading = d.out.lastIndexOf("── ", d.out.indexOf(` = ${label}   (`));
        const text = section(d.out.slice(heading), "η = ");
        const limit = Number(match(text, String.raw`\(2/η = ${N};`)[1]);
        expect(Math.abs((limit * lr) / 2 - 1)).toBeLessThan(2e-3);
        const peak = Math.max(...l.filter(Number.isFinite));
        if (text.includes("never comes back") && text.includes("past the blow-up bound")) {
          // Stopped where it diverged: the first step whose loss passed the bound it names.
          const m = match(
            text,
            String.raw`it is ${N} at step (\d+), past the blow-up bound [^=]+= ${N}\. λmax drops too, but only to ${N}`,
          );
          const k = Number(m[2]);
          same(m[1], l[k], "the loss past the bound");
          expect(l[k]!).toBeGreaterThan(Number(m[3]));
          expect(l.slice(0, k).every((v) => v <= Number(m[3]))).toBe(true);
          expect(last(l), "the run stops where it diverged").toBe(k);
          expect(
            texts(layers).some(
              (t) => t.startsWith(run) && t.includes(`diverged at step ${k} (past the blow-up bound)`),
            ),
          ).toBe(true);
          const low = Math.min(...defined(h).map(([, v]) => v));
          same(m[4], low, "drops only to");
          expect(low).toBeGreaterThan(2 / lr);
          continue;
        }
        if (text.includes("never comes back")) {
          const m = match(
            text,
            String.raw`it is ${N} at step (\d+) and non-finite at step (\d+)\. λmax drops too, but only to ${N}`,
          );
          expect(
            texts(layers).some((t) => t.startsWith(run) && t.includes(`non-finite at step ${m[3]}`)),
          ).toBe(true);
          expect(Number(m[2])).toBe(Number(m[3]) - 1);
          same(m[1], l[Number(m[2])], "the last finite loss");
          const low = Math.min(...defined(h).map(([, v]) => v));
          same(m[4], low, "drops only to");
          // "It never gets under the limit": every measured λmax is above 2/η.
          expect(low).toBeGreaterThan(2 / lr);
          continue;
        }
        expect(last(l), `${run}: the chart holds every step`).toBe(n);
        if (text.includes("The loss falls")) {
          const m = match(text, String.raw`The loss falls, ${N} → ${N}; λmax goes ${N} → ${N}`);
          same(m[1], l[0], "falls from");
          same(m[2], l[n], "falls to");
          expect(peak).toBeLessThanOrEqual(l[0]!);
          same(m[4], h[last(h)], "λmax at the end");
          continue;
        }
        const m = match(
          text,
          String.raw`The loss first rises, ${N} → ${N} \(×${N}\) at step (\d+); λmax \(${N} at the start\)(?: first rises with it, to ${N}, then)? drops to ${N}, under 2/η = ${N}`,
        );
        same(m[1], l[0], "rises from");
        same(m[2], peak, "the peak");
        expect(l[Number(m[4])]).toBe(peak);
        same(m[3], peak / l[0]!, "the peak ×");
        const low = Math.min(...defined(h).map(([, v]) => v));
        same(m[7], low, "λmax drops to");
        expect(low).toBeLessThan(limit);
        if (m[6] !== undefined)
          same(
            m[6],
            Math.max(
              ...defined(h)
                .filter(([k]) => k <= Number(m[4]) + 1)
                .map(([, v]) => v),
            ),
            "λmax rises to",
          );
        const settles = match(text, String.raw`Training settles: ${N} after (\d+) steps\. The catapult\.`);
        same(settles[1], l[n], "settles at");
        expect(Number(settles[2])).toBe(n);
        expect(l[n]!).toBeLessThan(l[0]!);
        const end = /at the end λmax = ${N}|\(${N} at the end/.exec(text);
        if (end) same(end[1] ?? end[2], h[last(h)], "λmax at the end");
      }
    },
    90_000,
  );
});

describe("demo network: the runs' sentences are the drawn losses; the reference line is the variance of mpg", () => {
  const mpg = (() => {
    const { columns, values, rows } = loadCars().table;
    const c = columns.indexOf("mpg");
    const y = Array.from({ length: rows }, (_, i) => values[i * columns.length + c]!);
    const mean = y.reduce((a, b) => a + b, 0) / rows;
    return y.reduce((a, b) => a + (b - mean) ** 2, 0) / rows;
  })();

  it.each([[null], [600]])(
    "--steps %s",
    async (steps) => {
      const d = await demo("network", steps);
      const n = steps ?? 2000;
      const layers = d.layers("loss");
      const loss = series(layers, "loss");
      const slow = loss.get("linear, lr 1e-4")!;
      const fast = loss.get("linear, lr 1e-3")!;
      const a = match(d.out, String.raw`lr 1e-4: loss ${N} → ${N} after (\d+) steps`);
      same(a[1], slow[0], "1e-4 from");
      same(a[2], slow[n], "1e-4 to");
      expect(Number(a[3])).toBe(n);
      expect(last(slow)).toBe(n);
      const b = match(
        d.out,
        String.raw`lr 1e-3: loss ${N} → ${N} after one step, past a trillion at step (\d+), ${N} at step (\d+), where the gradient's norm overflows`,
      );
      same(b[1], fast[0], "1e-3 from");
      same(b[2], fast[1], "1e-3 after one step");
      expect(Number(b[3])).toBe(fast.findIndex((l) => l >= 1e12));
      // The run stops where the chart's marker says.
      expect(
        texts(layers).some(
          (t) => t.startsWith("linear, lr 1e-3") && t.includes(`non-finite at step ${b[5]}`),
        ),
      ).toBe(true);
      const variance = layers
        .flatMap((l) => l.values)
        .find((p) => String(p["label"]).startsWith("the variance of mpg"));
      expect(variance!["loss"]).toBeCloseTo(mpg, 9);
      // The rate chart: the linear net's limit is the 2/λmax the text gives, the rate 1e-3 above it.
      const critical = match(d.out, `the critical step 2/λmax = ${N}`)[1];
      const rates = layers.flatMap((l) => l.values).filter((p) => "limit" in p && "lr" in p);
      const linear = rates.filter((p) => String(p["run"]).startsWith("linear, lr"));
      expect(linear.map((p) => p["lr"])).toEqual([1e-4, 1e-3]);
      for (const p of linear) same(critical, p["limit"] as number, "the linear net's 2/λmax");
      expect(String(linear[1]!["run"])).toContain("above 2/λmax");
      const relu = loss.get("ReLU, lr 1e-3")!;
      const ends = match(d.out, String.raw`(?:it ends at|the loss ends at) ${N}`);
      same(ends[1], relu[n], "ReLU ends at");
      expect(last(relu)).toBe(n);
      // The words about the ReLU run follow the drawn window: "sticks" needs its last fifth to move
      // under 1%; "no lower than the variance" needs the end within 5% of it.
      const tail = relu.slice(Math.ceil(0.8 * n));
      const moves = (Math.max(...tail) - Math.min(...tail)) / Math.min(...tail);
      if (/sticks at|stalls/.test(d.out)) expect(moves).toBeLessThan(0.01);
      if (d.out.includes("can fall no lower than the variance"))
        expect(Math.abs(relu[n]! / mpg - 1)).toBeLessThan(0.05);
      else expect(Math.abs(relu[n]! / mpg - 1)).toBeGreaterThanOrEqual(0.05);
      for (const fix of ["standardized inputs, lr 1e-3", "linear, lr 1e-4", "linear, Adam lr 1e-3"]) {
        const m = match(
          d.out,
          String.raw`${fix.replace(/[.,]/g, "\\$&")} +loss ${N} → ${N} after (\d+) steps`,
        );
        const s = loss.get(fix)!;
        same(m[1], s[0], `${fix} from`);
        same(m[2], s[n], `${fix} to`);
        expect(Number(m[3])).toBe(n);
      }
    },
    60_000,
  );
});
