import { fmt } from "../../core/format.js";
import { type ChartChange, changeLayers } from "./changes.js";
import { type Box, firstClear, polylineSegments, textWidth } from "./place.js";
import {
  ALARM,
  blowUp,
  type ChartRun,
  type ChartSpec,
  finite,
  HEIGHT,
  logAxisFormat,
  ROLE,
  runOrder,
  runScale,
  symlogTicks,
  top,
  WIDTH,
} from "./style.js";

export interface LossChartOptions {
  readonly title?: string;
  /**
   * "symlog" spreads the first steps out (a catapult peaks in the first few) while still showing
   * the whole run; the axis title says which scale it is.
   */
  readonly stepScale?: "linear" | "symlog";
  /**
   * Losses above this are not drawn: the run leaves the chart there, with a marker saying at which
   * step and where it went (so a blow-up to 1e300 does not flatten the runs that train).
   */
  readonly clipAbove?: number;
  /** Horizontal reference lines (e.g. the variance a dead network predicts), dotted, named under the title. */
  readonly references?: readonly { readonly loss: number; readonly label: string }[];
  /** Changes made while the run ran (η, momentum, optimizer), marked at their steps. */
  readonly changes?: readonly ChartChange[];
}

/**
 * Loss per step on a log axis, one line per run. Losses ≤ 0 are drawn at the axis floor (a log
 * axis has no zero) and a run that reached NaN/∞ ends in a red marker at the top, labelled with
 * the step, so the chart still shows where it blew up.
 */
export function lossChart(runs: readonly ChartRun[], options: LossChartOptions = {}): ChartSpec {
  const clip = options.clipAbove ?? Number.POSITIVE_INFINITY;
  let lo = Number.POSITIVE_INFINITY;
  let hi = 0;
  for (const r of runs) {
    for (const s of r.trace) {
      if (finite(s.loss) && s.loss > 0 && s.loss <= clip) {
        lo = Math.min(lo, s.loss);
        hi = Math.max(hi, s.loss);
      }
    }
  }
  if (!Number.isFinite(lo)) {
    lo = 1e-3;
    hi = 1;
  }
  const floor = lo / 10;
  const ceiling = Number.isFinite(clip) ? Math.max(hi, clip) : hi * 10;
  const longest = Math.max(0, ...runs.map((r) => r.trace.length));
  const points: ChartSpec[] = [];
  const markers: ChartSpec[] = [];
  for (const r of runs) {
    let left = false;
    for (const s of r.trace) {
      const nonfinite = blowUp(s);
      if (nonfinite !== null) {
        markers.push({
          run: r.label,
          step: s.step,
          loss: ceiling,
          text: `${runs.length > 1 ? `${r.label}: ` : ""}${left ? `non-finite at step ${s.step}` : `diverged at step ${s.step}: ${nonfinite}`}`,
        });
        break;
      }
      if (s.loss > clip) {
        if (!left) {
          // The step where it leaves, drawn on the edge so the line reaches it.
          points.push({ run: r.label, step: s.step, loss: ceiling, atFloor: false, actual: s.loss });
          left = true;
        } else {
          // Kept in the spec's data (what the run did, for whoever reads it), not drawn.
          points.push({
            run: r.label,
            step: s.step,
            loss: null,
            atFloor: false,
            actual: s.loss,
            beyond: true,
          });
        }
      } else
        points.push({
          run: r.label,
          step: s.step,
          loss: s.loss > 0 ? s.loss : floor,
          atFloor: !(s.loss > 0),
          actual: s.loss,
        });
      // A run stopped where its loss passed the blow-up bound (a finite value, drawn above): marked.
      if (r.bound !== undefined && s.loss > r.bound) {
        markers.push({
          run: r.label,
          step: s.step,
          loss: ceiling,
          text: `${runs.length > 1 ? `${r.label}: ` : ""}${left ? `diverged at step ${s.step} (past the blow-up bound)` : `diverged at step ${s.step}: the loss passed the blow-up bound ${fmtShort(r.bound)}`}`,
        });
        break;
      }
    }
    const exitPoint = () => points.filter((p) => p.run === r.label && !p["beyond"]).pop()!;
    // A marker drawn at the edge says where the run really was there, not just that it left.
    const leaves = (exit: ChartSpec) =>
      `leaves the chart at step ${exit.step} (loss ${fmt(exit["actual"] as number)})`;
    if (left && !markers.some((m) => m.run === r.label)) {
      const exit = exitPoint();
      markers.push({
        run: r.label,
        step: exit.step,
        loss: ceiling,
        text: `${runs.length > 1 ? `${r.label}: ` : ""}${leaves(exit)}`,
      });
    } else if (left) {
      const exit = exitPoint();
      const m = markers.find((x) => x.run === r.label)!;
      m.text = `${runs.length > 1 ? `${r.label}: ` : ""}${leaves(exit)}, ${(m.text as string).replace(`${r.label}: `, "")}`;
      m.step = exit.step;
    }
  }
  const color = {
    field: "run",
    type: "nominal",
    title: null,
    sort: runOrder(runs),
    scale: runScale(runs),
  };
  const symlog = options.stepScale === "symlog";
  const steps = runs.flatMap((r) => r.trace.map((s) => s.step));
  const first = Math.min(0, ...steps);
  const last = Math.max(first + 1, ...steps);
  // The pixel grid the labels are placed on (vega's symlog has constant 1: sign(v)·log1p(|v|)).
  const sl = (v: number) => (symlog ? Math.sign(v) * Math.log1p(Math.abs(v)) : v);
  const px = (step: number) => (WIDTH * (sl(step) - sl(first))) / (sl(last) - sl(first));
  const py = (loss: number) =>
    (HEIGHT * (Math.log(ceiling * 3) - Math.log(loss))) / (Math.log(ceiling * 3) - Math.log(floor));
  const x = {
    field: "step",
    type: "quantitative",
    title: symlog ? "step k (symlog scale: the first steps spread out)" : "step k",
    scale: { ...(symlog ? { type: "symlog" } : {}), domain: [first, last], nice: false },
    axis: symlog ? { values: symlogTicks(longest), format: "d" } : { tickMinStep: 1, format: "d" },
  };
  const y = {
    field: "loss",
    type: "quantitative",
    title: "loss f(x_k)  (log scale)",
    scale: { type: "log", domain: [floor, ceiling * 3] },
    axis: { format: logAxisFormat([floor, ceiling * 3]) },
  };
  const layers: ChartSpec[] = [
    {
      data: { values: points },
      transform: [{ filter: "!datum.beyond" }],
      mark: { type: "line", point: longest <= 80 ? { size: 30 } : false, strokeWidth: 2 },
      encoding: {
        x,
        y,
        color,
        tooltip: [
          { field: "run", type: "nominal" },
          { field: "step", type: "quantitative" },
          { field: "actual", type: "quantitative", title: "loss", format: ".4g" },
        ],
      },
    },
  ];
  // A reference line is named under the title, not beside the line: no place along a line the
  // runs cross is sure to be clear of them.
  const refs = (options.references ?? []).filter((r) => r.loss > 0 && Number.isFinite(r.loss));
  if (refs.length > 0)
    layers.push({
      data: { values: refs },
      mark: { type: "rule", color: ROLE.reference, strokeDash: [2, 3], strokeWidth: 1.5 },
      encoding: { y, tooltip: [{ field: "label", type: "nominal", title: "reference" }] },
    });
  // Marker labels go where no line runs: the chart maps its data to pixels (explicit domains, no
  // nice rounding) and tries, for each label in step order, a row under the crosses — right of its
  // marker, left of it, then from the plot's left or right edge — one row lower each time; a label
  // with no clear place is said under the title instead.
  const overflow: string[] = [];
  if (markers.length > 0) {
    layers.push({
      data: { values: markers },
      mark: { type: "point", shape: "cross", size: 160, filled: true, color: ALARM },
      encoding: { x, y },
    });
    const segments = runs.flatMap((r) =>
      polylineSegments(
        points
          .filter((p) => p.run === r.label && !p["beyond"])
          .map((p) => [px(p.step as number), py(p.loss as number)] as [number, number]),
      ),
    );
    const taken: Box[] = markers.map((m) => {
      const [cx, cy] = [px(m.step as number), py(m.loss as number)];
      return { x0: cx - 7, x1: cx + 7, y0: cy - 7, y1: cy + 7 };
    });
    const rows = [...markers].sort((a, b) => (a.step as number) - (b.step as number));
    for (const m of rows) {
      const text = m.text as string;
      const w = textWidth(text, 11, true);
      const [cx, cy] = [px(m.step as number), py(m.loss as number)];
      // Beside the marker (reading away from it), else from the plot's left or right edge.
      const places = ["after", "before", "left edge", "right edge"] as const;
      const options = Array.from({ length: 8 }, (_, row) => 28 + 14 * row).flatMap((dy) =>
        places.map((place) => ({ dy, place })),
      );
      const left = { after: cx + 10, before: cx - 10 - w, "left edge": 4, "right edge": WIDTH - 4 - w };
      const boxes = options.map(({ dy, place }) => ({
        x0: left[place],
        x1: left[place] + w,
        y0: cy + dy - 9,
        y1: cy + dy + 3,
      }));
      const i = firstClear(boxes, { width: WIDTH, height: HEIGHT }, { boxes: taken, segments });
      if (i < 0) {
        overflow.push(`✚ ${text}`);
        continue;
      }
      taken.push(boxes[i]!);
      const { dy, place } = options[i]!;
      const beside = place === "after" || place === "before";
      layers.push({
        data: { values: [m] },
        mark: {
          type: "text",
          color: ALARM,
          align: place === "after" || place === "left edge" ? "left" : "right",
          ...(beside ? { dx: place === "after" ? 10 : -10 } : {}),
          ...(place === "left edge" ? { x: 4 } : place === "right edge" ? { x: { expr: "width - 4" } } : {}),
          dy,
          fontSize: 11,
          fontWeight: "bold",
        },
        encoding: { ...(beside ? { x } : {}), y, text: { field: "text" } },
      });
    }
  }
  layers.push(
    ...changeLayers(
      options.changes ?? [],
      x,
      Math.max(1, ...runs.flatMap((r) => r.trace.map((s) => s.step))),
    ),
  );
  const title = options.title ?? "Loss per step";
  const subtitle = [
    ...overflow,
    ...(refs.length > 0 ? [`dotted: ${refs.map((r) => `${r.label} (${fmt(r.loss)})`).join("; ")}`] : []),
  ];
  return top({
    title:
      subtitle.length > 0
        ? {
            text: title,
            subtitle,
            subtitleColor: overflow.length > 0 ? ALARM : ROLE.reference,
          }
        : title,
    width: WIDTH,
    height: HEIGHT,
    layer: layers,
  });
}

const fmtShort = (v: number) => String(Number(v.toPrecision(4)));
