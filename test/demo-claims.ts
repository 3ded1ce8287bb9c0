import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";

/**
 * Reading a demo's claims against what its figure draws: the Vega-Lite spec it writes beside each
 * SVG (NAME.vl.json) holds the plotted data. Shared by claims.test.ts, which runs the demos, and
 * readme.test.ts, whose run of the README's `demo cnn` (the slowest demo) is the one checked.
 */
export interface Demo {
  readonly out: string;
  /** The data of every layer of a figure, with the title of the panel it sits in. */
  readonly layers: (figure: string) => { panel: string; values: Record<string, unknown>[] }[];
}

export function demoOutput(dir: string, out: string): Demo {
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
export function series(
  layers: ReturnType<Demo["layers"]>,
  field: string,
  panel?: string,
): Map<string, number[]> {
  const runs = new Map<string, number[]>();
  for (const l of layers) {
    if (panel !== undefined && !l.panel.startsWith(panel)) continue;
    for (const p of l.values) {
      if (typeof p["run"] !== "string" || typeof p["step"] !== "number" || !(field in p) || "text" in p)
        continue;
      const v = field === "loss" && "actual" in p ? p["actual"] : p[field];
      // The sharpness chart names each run's limit in its legend: "η = 0.2 (dashed: 2/η = 10)".
      const run = p["run"].replace(/ \(dashed: 2\/η = [^)]*\)$/, "");
      const s = runs.get(run) ?? [];
      s[p["step"]] = v === null ? Number.NaN : (v as number);
      runs.set(run, s);
    }
  }
  return runs;
}

/** The texts of the drawn markers and labels. */
export const texts = (layers: ReturnType<Demo["layers"]>) =>
  layers.flatMap((l) =>
    l.values.map((p) => p["text"] ?? p["label"]).filter((t): t is string => typeof t === "string"),
  );

/** A number as a sentence prints it (4 significant digits): equal to `value` to that precision. */
export function same(printed: string | undefined, value: number | undefined, what: string): void {
  expect(printed, what).toBeDefined();
  expect(value, what).toBeDefined();
  const p = Number(printed);
  expect(Number.isFinite(p), `${what}: "${printed}"`).toBe(true);
  expect(Math.abs(p - value!), `${what}: printed ${printed}, drawn ${value}`).toBeLessThanOrEqual(
    6e-4 * Math.abs(value!) + 1e-12,
  );
}

export const N = String.raw`(-?\d+(?:\.\d+)?(?:e-?\d+)?)`;
export function match(text: string, pattern: string): RegExpExecArray {
  const m = new RegExp(pattern).exec(text);
  expect(m, `"${pattern}" in:\n${text}`).not.toBeNull();
  return m!;
}
export const last = (s: number[]) => s.length - 1;
export const defined = (s: number[]) => s.map((v, k) => [k, v] as const).filter(([, v]) => v !== undefined);
/** The text of one run's section of a demo's output (from its "── η = …" heading to the next). */
export const section = (out: string, heading: string) => {
  const at = out.indexOf(`── ${heading}`);
  expect(at, heading).toBeGreaterThanOrEqual(0);
  const next = out.indexOf("── ", at + 3);
  return out.slice(at, next < 0 ? undefined : next);
};

/**
 * demo cnn, run for n steps: each run's sentence is its drawn loss and sharpness; λ0, the shares
 * and BatchNorm's summary are the tables'.
 */
export function checkCnnDemo(d: Demo, n: number): void {
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
}
