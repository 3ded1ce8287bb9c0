import { fmt } from "../../core/format.js";
import { type ChartChange, changeLayers } from "./changes.js";
import { lossChart } from "./loss.js";
import {
  ALARM,
  type ChartSpec,
  HEIGHT,
  logAxisFormat,
  ROLE,
  RUN_COLORS,
  runColors,
  symlogTicks,
  top,
  WIDTH,
} from "./style.js";

/** One training run's curvature measurements, for the edge-of-stability chart. */
export interface SharpnessRun {
  readonly label: string;
  readonly lr: number;
  readonly points: readonly { readonly step: number; readonly sharpness: number }[];
}

/**
 * λmax of the Hessian against the step, one line per run, with each run's 2/η drawn as a dashed
 * line in the same colour: gradient descent is locally stable only below it, and at the edge of
 * stability the sharpness climbs to it and stays there.
 */
export function sharpnessChart(
  runs: readonly SharpnessRun[],
  options: { title?: string; stepScale?: "linear" | "symlog" } = {},
): ChartSpec {
  // Each run's limit is named in its legend entry, not beside its dashed line: the sharpness at
  // the edge of stability hovers on that line, so no place along it is clear of the data.
  const name = (r: SharpnessRun) => `${r.label} (dashed: 2/η = ${fmt(2 / r.lr)})`;
  const labels = runs.map(name);
  const rows = runs.flatMap((r) =>
    r.points
      .filter((p) => Number.isFinite(p.sharpness))
      .map((p) => ({ run: name(r), step: p.step, sharpness: p.sharpness })),
  );
  const limits = runs.map((r) => ({ run: name(r), limit: 2 / r.lr }));
  const color = {
    field: "run",
    type: "nominal",
    title: null,
    scale: runColors(labels),
    // Two to a row: each name carries its limit, and a cut name would hide it.
    legend: { columns: 2, labelLimit: 1000 },
  };
  const y = {
    type: "quantitative",
    title: "sharpness λmax (log scale)",
    scale: { type: "log" },
    axis: { format: logAxisFormat([...rows.map((r) => r.sharpness), ...limits.map((l) => l.limit)]) },
  };
  return top({
    title: options.title ?? "Sharpness against 2/η",
    width: WIDTH,
    height: HEIGHT,
    layer: [
      {
        data: { values: rows },
        mark: { type: "line", point: { size: 20 }, strokeWidth: 2 },
        encoding: {
          x:
            options.stepScale === "symlog"
              ? {
                  field: "step",
                  type: "quantitative",
                  title: "step k (symlog scale: the first steps spread out)",
                  scale: { type: "symlog" },
                  axis: {
                    values: symlogTicks(Math.max(1, ...rows.map((r) => r.step))),
                    format: "d",
                  },
                }
              : {
                  field: "step",
                  type: "quantitative",
                  title: "step k",
                  axis: { tickMinStep: 1, format: "d" },
                },
          y: { field: "sharpness", ...y },
          color,
        },
      },
      {
        data: { values: limits },
        mark: { type: "rule", strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { y: { field: "limit", ...y }, color },
      },
    ],
  });
}

/**
 * A measured quantity against the limit it must stay under, both per step (the limit moves when
 * the rate does: a schedule, a guard's cap): λmax against 2/η_k for SGD, the preconditioned
 * sharpness against its bound for Adam and RMSprop.
 */
export function limitChart(
  points: readonly { readonly step: number; readonly value: number; readonly limit: number }[],
  options: {
    title: string;
    valueLabel: string;
    limitLabel: string;
    yTitle: string;
    /** Changes made while the run ran, marked at their steps. */
    changes?: readonly ChartChange[];
    /** "step-after": each value holds until the next step (a rate is used for the step from k to k+1). */
    interpolate?: "linear" | "step-after";
  },
): ChartSpec {
  const rows = points.flatMap((p) => [
    ...(Number.isFinite(p.value) && p.value > 0
      ? [{ series: options.valueLabel, step: p.step, value: p.value }]
      : []),
    ...(Number.isFinite(p.limit) && p.limit > 0
      ? [{ series: options.limitLabel, step: p.step, value: p.limit }]
      : []),
  ]);
  const domain = [options.valueLabel, options.limitLabel];
  const x = { field: "step", type: "quantitative", title: "step k", axis: { tickMinStep: 1, format: "d" } };
  const changes = options.changes ?? [];
  // The changes' labels take the plot's top lines (changes.ts): with any, the log axis reaches
  // past the data by that share of the height, so no line runs through them.
  const values = rows.map((r) => r.value);
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const band = changes.length > 0 ? (6 + 14 * Math.min(changes.length, 3)) / HEIGHT : 0;
  const headroom =
    band > 0 && values.length > 0 ? { domain: [lo, hi * Math.max(hi / lo, 10) ** (band / (1 - band))] } : {};
  const lines: ChartSpec = {
    data: { values: rows },
    mark: {
      type: "line",
      strokeWidth: 2,
      point: points.length <= 80 ? { size: 20 } : false,
      ...(options.interpolate === "step-after" ? { interpolate: "step-after" } : {}),
    },
    encoding: {
      x,
      y: { field: "value", type: "quantitative", title: options.yTitle, scale: { type: "log", ...headroom } },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        scale: { domain, range: [RUN_COLORS[0]!, ROLE.reference] },
      },
      // The same field on colour and dash: one legend showing both.
      strokeDash: {
        field: "series",
        type: "nominal",
        title: null,
        scale: {
          domain,
          range: [
            [1, 0],
            [6, 4],
          ],
        },
      },
    },
  };
  const body = { title: options.title, width: WIDTH, height: HEIGHT };
  if (changes.length === 0) return top({ ...body, ...lines });
  const lastStep = Math.max(1, ...points.map((p) => p.step));
  return top({ ...body, layer: [lines, ...changeLayers(changes, x, lastStep)] });
}

/**
 * The learning rate the run used at each logged step (log axis), with each of the guard's
 * rollbacks as a vertical rule labelled with the rate before and after.
 */
export function rateChart(
  points: readonly { readonly step: number; readonly lr: number }[],
  rollbacks: readonly { readonly step: number; readonly from: number; readonly to: number }[],
  options: { title?: string } = {},
): ChartSpec {
  const x = { field: "step", type: "quantitative", title: "step k", axis: { tickMinStep: 1, format: "d" } };
  const y = {
    field: "lr",
    type: "quantitative",
    title: "learning rate η (log scale)",
    scale: { type: "log" },
  };
  const layers: ChartSpec[] = [
    {
      data: { values: points.filter((p) => p.lr > 0 && Number.isFinite(p.lr)) },
      mark: { type: "line", strokeWidth: 2, interpolate: "step-after", color: RUN_COLORS[0] },
      encoding: { x, y },
    },
  ];
  if (rollbacks.length > 0) {
    const marks = rollbacks.map((r, i) => ({
      step: r.step,
      text: `rollback ${i + 1}: η ${fmt(r.from, 3)} → ${fmt(r.to, 3)}`,
      // Stagger the labels down the chart so neighbouring rollbacks never overprint.
      dy: 14 * (i % 6),
    }));
    layers.push(
      {
        data: { values: marks },
        mark: { type: "rule", color: ALARM, strokeDash: [4, 3], strokeWidth: 1.5 },
        encoding: { x },
      },
      ...marks.map((m) => ({
        data: { values: [m] },
        mark: { type: "text", color: ALARM, align: "left", dx: 4, y: 12 + m.dy, fontSize: 11 },
        encoding: { x, text: { field: "text" } },
      })),
    );
  }
  return top({
    title: options.title ?? "Learning rate per step",
    width: WIDTH,
    height: HEIGHT,
    layer: layers,
  });
}

/** Several named series against the step, e.g. the update-to-weight ratio of each layer. */
export function seriesChart(
  series: readonly {
    readonly label: string;
    readonly points: readonly { readonly step: number; readonly value: number }[];
  }[],
  options: { title: string; yTitle: string; log?: boolean },
): ChartSpec {
  const rows = series.flatMap((s) =>
    s.points
      .filter((p) => Number.isFinite(p.value) && (!options.log || p.value > 0))
      .map((p) => ({ series: s.label, step: p.step, value: p.value })),
  );
  return top({
    title: options.title,
    width: WIDTH,
    height: HEIGHT,
    data: { values: rows },
    mark: { type: "line", strokeWidth: 2 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step k", axis: { tickMinStep: 1, format: "d" } },
      y: {
        field: "value",
        type: "quantitative",
        title: options.yTitle,
        scale: options.log ? { type: "log" } : { zero: false },
      },
      color: { field: "series", type: "nominal", title: null, scale: runColors(series.map((s) => s.label)) },
    },
  });
}

/** A training run as `train` yields it, for the demos' charts: its records and how it ended. */
export interface RecordedRun {
  readonly label: string;
  readonly lr: number;
  /** "diverged" when it stopped past the blow-up bound, "nonfinite" when it overflowed. */
  readonly status: string;
  readonly records: readonly {
    readonly step: number;
    readonly loss: number;
    readonly gradNorm: number;
    readonly sharpness?: number;
  }[];
}

/**
 * The runs' losses along their steps (symlog): a run stopped past the blow-up bound is marked
 * diverged there; far above the highest loss of the runs that did not overflow (30×), an
 * overflowing run leaves the chart, marked where it does.
 */
export function recordedLossChart(runs: readonly RecordedRun[], bound: number, title: string): ChartSpec {
  const calm = runs.filter((r) => r.status !== "nonfinite" && r.status !== "diverged");
  return lossChart(
    runs.map((r) => ({
      label: r.label,
      ...(r.status === "diverged" ? { bound } : {}),
      trace: lossTrace(r.records),
    })),
    {
      title,
      stepScale: "symlog",
      clipAbove: 30 * Math.max(...calm.flatMap((r) => r.records.map((x) => x.loss))),
    },
  );
}

/** Training records as the loss chart's trace: step, loss and ‖g‖ (no points or gradients kept). */
export function lossTrace(records: RecordedRun["records"]) {
  return records.map((x) => ({
    step: x.step,
    x: new Float64Array(0),
    loss: x.loss,
    grad: new Float64Array(0),
    gradNorm: x.gradNorm,
  }));
}

/** The runs' measured sharpness against each one's 2/η (symlog steps). */
export function recordedSharpnessChart(runs: readonly RecordedRun[], title: string): ChartSpec {
  return sharpnessChart(
    runs.map((r) => ({
      label: r.label,
      lr: r.lr,
      points: r.records
        .filter((x) => x.sharpness !== undefined)
        .map((x) => ({ step: x.step, sharpness: x.sharpness! })),
    })),
    { title, stepScale: "symlog" },
  );
}

/**
 * Each run's learning rate against the largest stable rate 2/λmax of its model, on one log axis:
 * a dot for η (red past the limit), a tick for 2/λmax, one row a run, labelled with the
 * comparison. A dot right of its tick is a rate past the limit: on a quadratic loss every run
 * there diverges.
 */
export function rateLimitChart(
  rows: readonly { readonly label: string; readonly lr: number; readonly limit: number }[],
  options: { title?: string } = {},
): ChartSpec {
  // The comparison is in the row's own label: text in the plot would cross the ticks.
  const data = rows.map((r) => ({
    run: `${r.label}: ${r.lr > r.limit ? "above" : "below"} 2/λmax = ${fmt(r.limit, 3)}`,
    lr: r.lr,
    limit: r.limit,
  }));
  const values = rows.flatMap((r) => [r.lr, r.limit]);
  const domain = [Math.min(...values) / 3, Math.max(...values) * 3];
  const x = {
    type: "quantitative",
    scale: { type: "log", domain },
    title: "learning rate (log scale)",
    axis: { format: logAxisFormat(domain) },
  };
  const y = { field: "run", type: "nominal", title: null, sort: null, axis: { labelLimit: 400 } };
  return top({
    title: options.title ?? "The learning rate against 2/λmax",
    width: WIDTH,
    height: 40 * rows.length,
    data: { values: data },
    layer: [
      {
        mark: { type: "tick", thickness: 2, color: ROLE.reference },
        encoding: { x: { field: "limit", ...x }, y },
      },
      {
        mark: { type: "point", filled: true, size: 90 },
        encoding: {
          x: { field: "lr", ...x },
          y,
          color: {
            condition: { test: "datum.lr > datum.limit", value: ALARM },
            value: RUN_COLORS[0]!,
          },
        },
      },
    ],
  });
}
