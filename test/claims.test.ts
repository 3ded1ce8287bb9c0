import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadCars } from "../src/cli/datasets.js";
import { packageRoot } from "../src/cli/lab-site.js";

/**
 * Every sentence with a number in the five demos, checked against what the demo's figure draws:
 * the Vega-Lite spec it writes beside each SVG (NAME.vl.json) holds the plotted data. Each demo
 * runs at its default length and at another, so a number that was typed rather than measured
 * shows up as a mismatch at one of them. Where a claim is about steps the chart does not hold
 * (the car regression's NaN), the test computes it itself, by plain gradient descent.
 */
const root = packageRoot();
const scratch = mkdtempSync(join(tmpdir(), "overshoot-claims-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Demo {
  readonly out: string;
  /** The data of every layer of a figure, with the title of the panel it sits in. */
  readonly layers: (figure: string) => { panel: string; values: Record<string, unknown>[] }[];
}

function demo(name: string, steps: number | null): Demo {
  const { dir, args } = demoArgs(name, steps);
  const r = spawnSync(process.execPath, [join(root, "bin", "overshoot.js"), ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`overshoot ${args.join(" ")}: ${r.stderr}`);
  return demoOutput(dir, r.stdout);
}

/**
 * The same, without blocking the test's thread: a demo that runs for a minute or more would stall
 * the worker's messages to vitest (which then reports a timeout of its own).
 */
function demoAsync(name: string, steps: number | null): Promise<Demo> {
  const { dir, args } = demoArgs(name, steps);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [join(root, "bin", "overshoot.js"), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (err += b));
    child.on("close", (code) =>
      code === 0 ? done(demoOutput(dir, out)) : fail(new Error(`overshoot ${args.join(" ")}: ${err}`)),
    );
  });
}

function demoArgs(name: string, steps: number | null): { dir: string; args: string[] } {
  const dir = join(scratch, `${name || "x2"}-${steps ?? "default"}`);
  return {
    dir,
    args: ["demo", ...(name ? [name] : []), "--out", dir, ...(steps ? ["--steps", String(steps)] : [])],
  };
}

function demoOutput(dir: string, out: string): Demo {
  return {
    out,
    layers: (figure) => {
      const found: { panel: string; values: Record<string, unknown>[] }[] = [];
      const walk = (node: Record<string, unknown>, panel: string) => {
        const t = node["title"];
        const here =
          typeof t === "string"
            ? t
            : t && typeof t === "object"
              ? String((t as { text: unknown }).text)
              : panel;
        const data = node["data"] as { values?: Record<string, unknown>[] } | undefined;
        if (data?.values) found.push({ panel: here, values: data.values });
        for (const k of ["layer", "vconcat", "hconcat", "concat"])
          for (const child of (node[k] as Record<string, unknown>[] | undefined) ?? []) walk(child, here);
      };
      walk(JSON.parse(readFileSync(join(dir, `${figure}.vl.json`), "utf8")), "");
      return found;
    },
  };
}

/** run → values by step, of the drawn points that carry `field` (a loss drawn at the edge keeps its actual value). */
function series(layers: ReturnType<Demo["layers"]>, field: string, panel?: string): Map<string, number[]> {
  const runs = new Map<string, number[]>();
  for (const l of layers) {
    if (panel !== undefined && !l.panel.startsWith(panel)) continue;
    for (const p of l.values) {
      if (typeof p["run"] !== "string" || typeof p["step"] !== "number" || !(field in p) || "text" in p)
        continue;
      const v = field === "loss" && "actual" in p ? p["actual"] : p[field];
      const s = runs.get(p["run"]) ?? [];
      s[p["step"]] = v === null ? Number.NaN : (v as number);
      runs.set(p["run"], s);
    }
  }
  return runs;
}

/** The texts of the drawn markers and labels. */
const texts = (layers: ReturnType<Demo["layers"]>) =>
  layers.flatMap((l) =>
    l.values.map((p) => p["text"] ?? p["label"]).filter((t): t is string => typeof t === "string"),
  );

/** A number as a sentence prints it (4 significant digits): equal to `value` to that precision. */
function same(printed: string | undefined, value: number | undefined, what: string): void {
  expect(printed, what).toBeDefined();
  expect(value, what).toBeDefined();
  const p = Number(printed);
  expect(Number.isFinite(p), `${what}: "${printed}"`).toBe(true);
  expect(Math.abs(p - value!), `${what}: printed ${printed}, drawn ${value}`).toBeLessThanOrEqual(
    6e-4 * Math.abs(value!) + 1e-12,
  );
}

const N = String.raw`(-?\d+(?:\.\d+)?(?:e-?\d+)?)`;
function match(text: string, pattern: string): RegExpExecArray {
  const m = new RegExp(pattern).exec(text);
  expect(m, `"${pattern}" in:\n${text}`).not.toBeNull();
  return m!;
}
const last = (s: number[]) => s.length - 1;
const defined = (s: number[]) => s.map((v, k) => [k, v] as const).filter(([, v]) => v !== undefined);
/** The text of one run's section of a demo's output (from its "── η = …" heading to the next). */
const section = (out: string, heading: string) => {
  const at = out.indexOf(`── ${heading}`);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const next = out.indexOf("── ", at + 3);
  return out.slice(at, next < 0 ? undefined : next);
};

describe("demo (x² at η = 0.1, 1, 1.125): the verdicts and the table are the drawn runs'", () => {
  it.each([[null], [20]])("--steps %s", (steps) => {
    const d = demo("", steps);
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

  it.each([[null], [800]])("--steps %s", (steps) => {
    const d = demo("unscaled", steps);
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
    (steps) => {
      const d = demo("eos", steps);
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
    (steps) => {
      const d = demo("catapult", steps);
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
    (steps) => {
      const d = demo("network", steps);
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
        .find((p) => String(p["label"]).startsWith("variance of mpg"));
      expect(variance!["loss"]).toBeCloseTo(mpg, 9);
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
      for (const fix of ["standardized inputs, lr 1e-3", "raw inputs, lr 1e-4", "raw inputs, Adam lr 1e-3"]) {
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

describe("demo cnn: each run's sentence is its drawn loss and sharpness; λ0, the shares and BatchNorm's summary are the tables'", () => {
  it("--steps 20", async () => {
    const n = 20;
    const d = await demoAsync("cnn", n);
    const layers = d.layers("cnn");
    const lambda0s: number[] = [];
    for (const name of ["the CNN", "the CNN with BatchNorm"]) {
      // Its search table (between "━━ name (" and the next "━━"), and its trained runs.
      const table = d.out.slice(
        d.out.indexOf(`━━ ${name} (`),
        d.out.indexOf(`${name}, trained for ${n} steps:`),
      );
      const lambda0 = Number(match(table, String.raw`2/λmax, λ0 = ${N} \(λmin`)[1]);
      lambda0s.push(lambda0);
      const bound = Number(match(table, String.raw`the blow-up bound 10⁶ × [^=]+= ${N};`)[1]);
      const baseline = Number(match(table, String.raw`trivial baseline ${N} \(`)[1]);
      // Which layer limits the rate: the sentence's share is the largest drawn share.
      const shares = layers
        .filter((l) => l.panel === `${name}: each layer's block at the initial weights`)
        .flatMap((l) => l.values);
      const limiting = match(table, String.raw`λmax's direction lies (\d+)% in (\w+): that layer limits`);
      const top = shares.reduce((a, b) => ((b["share"] as number) > (a["share"] as number) ? b : a));
      expect(top["layer"]).toBe(limiting[2]);
      expect(Number(limiting[1])).toBe(Math.round(100 * (top["share"] as number)));

      const loss = series(layers, "loss", `${name}: training loss`);
      const sharp = series(layers, "sharpness", `${name}: sharpness`);
      const start = d.out.indexOf(`${name}, trained for ${n} steps:`);
      const block = d.out.slice(start, d.out.indexOf("\n\n", start));
      const lines = block.split("\n").slice(1);
      expect(lines.length).toBe(loss.size);
      for (const line of lines) {
        const head = match(line, String.raw`^  η = ${N} \((.*?)\): `);
        const lr = Number(head[1]);
        const run = [...loss.keys()].find((k) => k.endsWith(`: ${head[2]}`))!;
        expect(run, line).toBeDefined();
        const l = loss.get(run)!;
        const h = sharp.get(run)!;
        same(String(lambda0), h[0], `${run}: λmax at step 0 is the table's λ0`);
        if (line.includes("runs away")) {
          const m = match(line, String.raw`the loss runs away: ${N} at step (\d+), diverged$`);
          const k = Number(m[2]);
          same(m[1], l[k], `${run}: the loss past the bound`);
          expect(last(l), "the run stops where it diverged").toBe(k);
          expect(l[k]!).toBeGreaterThan(bound);
          expect(l.slice(0, k).every((v) => v <= bound)).toBe(true);
          continue;
        }
        const m = match(
          line,
          String.raw`: ${N} → ${N}(?:, rising first to ${N} at step (\d+) \(×${N}\))?; λmax ${N} → ${N} against 2/η = ${N}; (.*)$`,
        );
        expect(last(l), `${run}: every step drawn`).toBe(n);
        same(m[1], l[0], `${run}: start`);
        same(m[2], l[n], `${run}: end`);
        const peak = Math.max(...l);
        if (m[3] !== undefined) {
          same(m[3], peak, `${run}: peak`);
          expect(l[Number(m[4])]).toBe(peak);
          same(m[5], peak / l[0]!, `${run}: peak ×`);
        } else expect(peak).toBeLessThanOrEqual(l[0]!);
        same(m[6], h[0], `${run}: λmax at the start`);
        same(m[7], h[last(h)], `${run}: λmax at the end`);
        same(m[8], 2 / lr, `${run}: 2/η`);
        const stalled = l[n]! >= 0.95 * baseline;
        expect(m[9]!.startsWith("stalled at the trivial baseline"), `${run}: ${m[9]}`).toBe(
          stalled && l[n]! < l[0]!,
        );
        if (m[9]!.startsWith("trained")) expect(l[n]! < l[0]! && !stalled).toBe(true);
      }
    }
    const summary = match(
      d.out,
      String.raw`λ0 goes from ${N} to ${N} \(×${N}\), so 2/λ0 goes from ${N} to ${N}\.`,
    );
    same(summary[1], lambda0s[0], "λ0 without BatchNorm");
    same(summary[2], lambda0s[1], "λ0 with BatchNorm");
    same(summary[3], lambda0s[1]! / lambda0s[0]!, "the ratio");
    same(summary[4], 2 / lambda0s[0]!, "2/λ0 without");
    same(summary[5], 2 / lambda0s[1]!, "2/λ0 with");
  }, 300_000);
});
