import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { crossedLabels } from "../../test/charts/svg-text.js";
import type { StepRecord } from "../run/types.js";
import {
  type ChartRun,
  type ChartSpec,
  contourChart2d,
  decisionChart,
  deltaChart,
  fitToWidth,
  limitChart,
  lossChart,
  OPTIMIZER_COLORS,
  pathChart1d,
  RUN_COLORS,
  rangeTestChart,
  rateChart,
  rateLimitChart,
  seriesChart,
  sharpnessChart,
  sideBySide,
  stabilityMap,
  stacked,
  sweepChart,
} from "./charts.js";
import { fontFile, specToSvg, svgToPng } from "./render.js";

/** Gradient descent on x² by hand: x ← (1 − 2η)x, with the exact ΔC and both predictions. */
function squareRun(lr: number, steps: number): ChartRun {
  const trace: StepRecord[] = [];
  let x = -1;
  for (let k = 0; k <= steps; k++) {
    const g = 2 * x;
    const next = x - lr * g;
    const last = k === steps;
    trace.push({
      step: k,
      x: Float64Array.of(x),
      loss: x * x,
      grad: Float64Array.of(g),
      gradNorm: Math.abs(g),
      ...(last
        ? {}
        : {
            deltaLoss: next * next - x * x,
            firstOrder: -lr * g * g,
            secondOrder: -lr * g * g + lr * lr * g * g,
          }),
    });
    x = next;
  }
  return { label: `η = ${lr}`, trace };
}

/** A run whose loss overflows at its last step. */
function blowUpRun(): ChartRun {
  const run = squareRun(1.125, 4);
  const last = run.trace[run.trace.length - 1]!;
  return {
    label: "blow-up",
    trace: [
      ...run.trace.slice(0, -1),
      { ...last, loss: Number.POSITIVE_INFINITY, x: Float64Array.of(Number.NaN) },
    ],
  };
}

/** Every number inside every inline data set of a spec. */
function dataNumbers(spec: unknown, out: number[] = []): number[] {
  if (Array.isArray(spec)) for (const s of spec) dataNumbers(s, out);
  else if (spec !== null && typeof spec === "object") {
    for (const [key, value] of Object.entries(spec)) {
      if (key === "values" && Array.isArray(value)) {
        for (const row of value)
          for (const v of Object.values(row as object)) if (typeof v === "number") out.push(v);
      } else dataNumbers(value, out);
    }
  }
  return out;
}

const runs = [squareRun(0.1, 12), squareRun(1, 12), squareRun(1.125, 12)];

describe("chart specs", () => {
  const specs: Record<string, ChartSpec> = {
    loss: lossChart([...runs, blowUpRun()]),
    path: pathChart1d((x) => x * x, [...runs, blowUpRun()]),
    contour: contourChart2d((x, y) => (1 - x) ** 2 + 100 * (y - x * x) ** 2, [runs[0]!], {
      names: ["a", "b"],
    }),
    delta: sideBySide(
      "ΔC",
      runs.map((r) => deltaChart(r)),
    ),
    stacked: stacked([pathChart1d((x) => x * x, runs), lossChart(runs)]),
    decision: decisionChart(
      [0, 1].flatMap((i) => [0, 1].map((j) => ({ x: i, x2: i + 1, y: j, y2: j + 1, p: (i + j) / 2 }))),
      [
        { x: 0.5, y: 0.5, label: 0 },
        { x: 1.5, y: 1.5, label: 1 },
      ],
    ),
  };

  it.each(Object.entries(specs))(
    "%s holds only finite numbers and renders to SVG without a DOM",
    async (_, spec) => {
      for (const v of dataNumbers(spec)) expect(Number.isFinite(v)).toBe(true);
      const svg = await specToSvg(spec);
      expect(svg.startsWith("<svg")).toBe(true);
      expect(svg).toContain('font-family="DejaVu Sans"');
    },
  );

  it("the loss chart marks where a run became non-finite", async () => {
    const svg = await specToSvg(specs["loss"]!);
    expect(svg).toContain("diverged at step 4: loss +∞");
    expect(svg).toContain("log scale");
  });

  it("a loss of zero sits on the log axis floor instead of vanishing", () => {
    const zero: ChartRun = { label: "z", trace: [{ ...runs[0]!.trace[0]!, loss: 0 }, runs[0]!.trace[1]!] };
    const values = (
      (lossChart([zero]).layer as ChartSpec[])[0]!.data as { values: { loss: number; atFloor: boolean }[] }
    ).values;
    expect(values[0]!.atFloor).toBe(true);
    expect(values[0]!.loss).toBeCloseTo(0.064, 12); // a tenth of the smallest positive loss, 0.64
  });

  it("the path chart draws the iterates in step order, one panel per run", () => {
    const panels = specs["path"]!.hconcat as ChartSpec[];
    expect(panels).toHaveLength(4);
    const bounce = ((panels[1]!.layer as ChartSpec[])[1]!.data as { values: { step: number; x: number }[] })
      .values;
    expect(bounce.map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(bounce.map((p) => p.x)).toEqual([-1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1]);
    const labels = (panels[1]!.layer as ChartSpec[])
      .slice(3)
      .flatMap((l) => (l.data as { values: { label: string }[] }).values.map((v) => v.label));
    expect(labels).toEqual(["0, 2, 4, …", "1, 3, 5, …"]);
    const cut = panels[3]!.title as { subtitle: string };
    expect(cut.subtitle).toMatch(/1 later step off the chart/);
  });

  it("the contour map names its axes after the variables and covers the path", async () => {
    const svg = await specToSvg(specs["contour"]!);
    expect(svg).toMatch(/aria-label="X-axis titled 'a'/);
    expect(svg).toMatch(/aria-label="Y-axis titled 'b'/);
  });

  it("the delta chart keeps the three series apart", () => {
    const one = deltaChart(runs[2]!);
    const layers = one.layer as ChartSpec[];
    const actual = (layers[1]!.data as { values: { step: number; value: number }[] }).values;
    const first = (layers[2]!.data as { values: { step: number; value: number }[] }).values;
    // η = 1.125 on x² from −1: ΔC₀ = 1.25² − 1 = 0.5625 while −η‖g‖² = −4.5.
    expect(actual[0]!.value).toBeCloseTo(0.5625, 14);
    expect(first[0]!.value).toBeCloseTo(-4.5, 14);
    expect(actual).toHaveLength(12);
  });
});

describe("PNG", () => {
  it("ships its own font and renders the same bytes every time", async () => {
    expect(existsSync(fontFile())).toBe(true);
    const svg = await specToSvg(lossChart(runs));
    const a = svgToPng(svg, { scale: 1 });
    const b = svgToPng(svg, { scale: 1 });
    expect(Array.from(a.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const width = Number(/width="(\d+)"/.exec(svg)![1]);
    const pngWidth = (n: Uint8Array) => new DataView(n.buffer, n.byteOffset).getUint32(16);
    expect(pngWidth(a)).toBe(width);
    expect(pngWidth(svgToPng(svg, { scale: 2 }))).toBe(2 * width);
  });
});

/** Relative luminance of a #rrggbb colour (WCAG), 1 for white. */
function luminance(hex: string): number {
  const c = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
  const lin = c.map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * lin[0]! + 0.7152 * lin[1]! + 0.0722 * lin[2]!;
}

/** Every colour a spec gives a mark or a scale range (not the page background or outlines). */
function markColors(spec: unknown, out: string[] = []): string[] {
  if (Array.isArray(spec)) for (const s of spec) markColors(s, out);
  else if (spec !== null && typeof spec === "object") {
    for (const [key, value] of Object.entries(spec)) {
      if (key === "config" || key === "stroke") continue;
      if ((key === "color" || key === "fill") && typeof value === "string") out.push(value);
      else if (key === "range" && Array.isArray(value))
        out.push(...value.filter((v) => typeof v === "string"));
      else markColors(value, out);
    }
  }
  return out;
}

describe("one chart style", () => {
  const sweepCells = [0.1, 1, 1.5].map((lr) => ({
    lr,
    status: lr < 1 ? "converged" : "diverging",
    finalLoss: lr,
  }));
  const families: Record<string, ChartSpec> = {
    loss: lossChart([...runs, blowUpRun()]),
    path: pathChart1d((x) => x * x, runs),
    contour: contourChart2d(
      (x, y) => x * x + 10 * y * y,
      [
        ...runs.map((r) => ({
          ...r,
          trace: r.trace.map((t) => ({ ...t, x: Float64Array.of(t.x[0]!, t.x[0]! / 2) })),
        })),
      ],
    ),
    delta: deltaChart(runs[2]!),
    sweep: sweepChart(sweepCells, { lr: 1, label: "2/λ = 1" }),
    map: stabilityMap(
      sweepCells.map((c) => ({ ...c, momentum: 0.5 })),
      [{ momentum: 0.5, lr: 3 }],
    ),
    sharpness: sharpnessChart([{ label: "η = 0.1", lr: 0.1, points: [{ step: 0, sharpness: 5 }] }]),
    limit: limitChart([{ step: 0, value: 1, limit: 2 }], {
      title: "t",
      valueLabel: "v",
      limitLabel: "l",
      yTitle: "y",
    }),
    rate: rateChart([{ step: 0, lr: 0.1 }], [{ step: 3, from: 1, to: 0.5 }]),
    series: seriesChart([{ label: "layer 1", points: [{ step: 0, value: 1 }] }], { title: "t", yTitle: "y" }),
    range: rangeTestChart([{ lr: 1e-3, loss: 1, smoothed: 1 }], [{ label: "valley", lr: 1e-3 }]),
  };

  it.each(Object.entries(families))("%s draws no white or near-white mark", (_, spec) => {
    const colors = markColors(spec).filter((c) => c.startsWith("#") && c.length === 7);
    for (const c of colors) expect(luminance(c), c).toBeLessThan(0.5);
  });

  it("runs and optimizers have one fixed colour each, none of them white or the alarm red", () => {
    for (const c of [...RUN_COLORS, ...Object.values(OPTIMIZER_COLORS)]) {
      expect(luminance(c)).toBeLessThan(0.3);
      expect(c).not.toBe("#c62828");
    }
    // A run that carries its own colour (an optimizer's) keeps it on every chart: the same scale.
    const adam = { ...runs[0]!, label: "Adam", color: OPTIMIZER_COLORS["adam"]! };
    const sgd = { ...runs[1]!, label: "SGD", color: OPTIMIZER_COLORS["sgd"]! };
    for (const spec of [lossChart([sgd, adam]), contourChart2d((x, y) => x * x + y * y, [sgd, adam])]) {
      const ranges = JSON.stringify(spec).match(/"domain":\["SGD","Adam"\],"range":\["(#\w+)","(#\w+)"\]/);
      expect(ranges?.slice(1)).toEqual([OPTIMIZER_COLORS["sgd"], OPTIMIZER_COLORS["adam"]]);
    }
  });

  it("the ΔC chart turns symlog, with labelled ticks, when the changes have both signs and span decades", async () => {
    const yOf = (spec: ChartSpec) =>
      (
        (spec.layer as ChartSpec[])[1]!.encoding as {
          y: { title: string; scale: { type?: string }; axis?: { values: number[] } };
        }
      ).y;
    // η = 1.125 on x²: ΔC from +0.56 to +77, the first-order prediction from −4.5 to −608.
    const over = yOf(deltaChart(runs[2]!));
    expect(over.scale.type).toBe("symlog");
    expect(over.title).toBe("ΔC (symlog scale)");
    expect(over.axis!.values).toEqual([-1000, -100, -10, 0, 1, 10, 100]);
    const svg = await specToSvg(deltaChart(runs[2]!));
    for (const tick of ["−100", "−10", ">0<", ">1<", ">10<", ">100<"]) expect(svg).toContain(tick);
    // η = 0.1 converges: every change negative, a plain axis.
    expect(yOf(deltaChart(runs[0]!)).scale.type).toBeUndefined();
  });

  it("the loss chart's divergence labels, one per run, never overprint (two runs a step apart)", async () => {
    const blowUp = (lr: number): ChartRun => {
      const trace: StepRecord[] = [];
      let x = -1;
      for (let k = 0; k <= 40; k++) {
        const g = 2 * x;
        const big = x * x > 1e30;
        trace.push({
          step: k,
          x: Float64Array.of(x),
          loss: big ? Infinity : x * x,
          grad: Float64Array.of(g),
          gradNorm: Math.abs(g),
        });
        if (big) break;
        x -= lr * g;
      }
      return { label: `η = ${lr}`, trace };
    };
    const svg = await specToSvg(lossChart([runs[0]!, blowUp(8), blowUp(9), blowUp(10)]));
    const labels = [
      ...svg.matchAll(
        /transform="translate\(([-\d.]+),([-\d.]+)\)"[^>]*font-size="11px"[^>]*font-weight="bold"[^>]*>([^<]+)<\/text>/g,
      ),
    ];
    expect(labels.map((m) => m[3])).toEqual([
      "η = 10: diverged at step 12: loss +∞",
      "η = 8: diverged at step 13: loss +∞",
      "η = 9: diverged at step 13: loss +∞",
    ]);
    const ys = labels.map((m) => Number(m[2])).sort((a, b) => a - b);
    for (let i = 1; i < ys.length; i++) expect(ys[i]! - ys[i - 1]!).toBeGreaterThanOrEqual(12);
  });

  // At η = 1.125 the path zigzags across the bowl and its points crowd at 0: a label there would
  // sit on a line, so only the labels with a clear place are drawn (7 and the last, 12).
  it("a path's step labels never overprint one another or sit on a line (rendered, at η = 1.125 the points crowd at 0)", async () => {
    for (const lr of [0.1, 1.125]) {
      const svg = await specToSvg(pathChart1d((x) => x * x, [squareRun(lr, 12)]));
      // The step labels: 10 px, in the path's colour; their boxes from the rendered positions.
      const boxes = [
        ...svg.matchAll(
          /<text[^>]*transform="translate\(([-\d.]+),([-\d.]+)\)"[^>]*font-size="11px" fill="#0d47a1"[^>]*>([^<]+)<\/text>/g,
        ),
      ].map((m) => {
        const [x, y, w] = [Number(m[1]), Number(m[2]), 0.6 * 11 * m[3]!.length];
        return { text: m[3], x0: x - w / 2, x1: x + w / 2, y0: y - 10, y1: y };
      });
      expect(boxes.length).toBeGreaterThanOrEqual(lr < 1 ? 8 : 2);
      expect(crossedLabels(svg)).toEqual([]);
      for (let i = 0; i < boxes.length; i++)
        for (let j = i + 1; j < boxes.length; j++) {
          const [a, b] = [boxes[i]!, boxes[j]!];
          const overlap = a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
          expect(overlap, `"${a.text}" and "${b.text}" at η = ${lr}`).toBe(false);
        }
    }
  });
});

describe("fitToWidth: a chart laid out again for a phone's column", () => {
  it("stacks panels side by side, narrows plots, wraps a long title, moves a side legend under", () => {
    const path = pathChart1d((x) => x * x, runs);
    expect(fitToWidth(path, 2000)).toBe(path); // fits: untouched
    const narrow = fitToWidth(path, 320);
    expect(narrow["hconcat"]).toBeUndefined();
    const panels = narrow["vconcat"] as ChartSpec[];
    expect(panels).toHaveLength(3);
    for (const p of panels) expect(p["width"]).toBe(236);
    const map = fitToWidth(
      contourChart2d((x, y) => x * x + y * y, [runs[0]!]),
      320,
    );
    expect(map["width"]).toBe(236);
    expect(JSON.stringify(map)).not.toContain('"orient":"right"');
    const delta = fitToWidth(
      deltaChart(runs[0]!, { title: "Change of the loss per step: actual vs predicted" }),
      320,
    );
    expect((delta["title"] as { text: string[] }).text).toEqual([
      "Change of the loss per step: actual",
      "vs predicted",
    ]);
    expect(((delta["config"] as ChartSpec)["legend"] as ChartSpec)["columns"]).toBe(1);
  });
});

describe("a clipped run and a rate against its limit", () => {
  const rec = (step: number, loss: number): StepRecord => ({
    step,
    x: new Float64Array(1),
    loss,
    grad: new Float64Array(1),
    gradNorm: 1,
  });
  it("a run that leaves a clipped chart is marked with the loss it really had there", () => {
    const spec = lossChart(
      [{ label: "lr 1e-3", trace: [rec(0, 600), rec(1, 7e4), rec(2, 8.443e6), rec(3, 1e9)] }],
      {
        clipAbove: 6e5,
      },
    );
    const text = JSON.stringify(spec);
    expect(text).toContain("leaves the chart at step 2 (loss 8.443e6)");
  });
  it("rateLimitChart says in each row's label whether η is above or below 2/λmax", () => {
    const spec = rateLimitChart([
      { label: "raw, lr 0.001", lr: 1e-3, limit: 1.66e-4 },
      { label: "raw, lr 0.0001", lr: 1e-4, limit: 1.66e-4 },
    ]);
    const rows = (spec["data"] as { values: { run: string }[] }).values.map((r) => r.run);
    expect(rows).toEqual([
      "raw, lr 0.001: above 2/λmax = 0.000166",
      "raw, lr 0.0001: below 2/λmax = 0.000166",
    ]);
  });
});
