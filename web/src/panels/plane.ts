import { fmt } from "../../../src/core/format.js";
import type { Objective } from "../../../src/core/objective.js";
import { formatHyperChanges, type HyperKey, ownsKey } from "../../../src/optim/hyper.js";
import type { OptimizerOptions } from "../../../src/optim/index.js";
import { formatRateChanges, optionalSchedule, type ScheduleSpec } from "../../../src/optim/schedule.js";
import { formatOptimizerSwitches } from "../../../src/optim/switches.js";
import {
  type Box,
  type ChartChange,
  type ChartSpec,
  contourChart2d,
  firstClear,
  limitChart,
  lossChart,
  OPTIMIZER_COLORS,
  polylineSegments,
  ROLE,
  type Segment,
  textWidth,
} from "../../../src/report/charts.js";
import { drawChart, drawInteractive } from "../chart.js";
import { commandLine, mountExport, type RunExport } from "../export.js";
import type { Panel, PanelContext } from "../panel.js";
import {
  changesByOptimizer,
  type Eigenpair,
  eigenpairs,
  formatPlaneChanges,
  OPTIMIZERS,
  type OptimizerId,
  optimizerOptions,
  type PathResult,
  type PlaneChange,
  PlaneError,
  PRESETS,
  parsePlaneChanges,
  planeObjective,
  QUADRATIC_EIGENVALUES,
  rateAgainstLimit,
  runPaths,
} from "../plane/model.js";

/**
 * Several optimizers side by side on a 2-D function: the map of f with each path drawn on it, the
 * Hessian's eigenvectors at the start with the critical step each sets, a verdict per optimizer.
 * Clicking the map moves the start. A schedule (the CLI's forms) shapes every optimizer's η, and
 * the first gradient-descent path's rate is drawn step by step against its critical rate there.
 */

/** The CLI's optimizer flags for the panel's options. */
function optimizerArgs(o: OptimizerOptions): string[] {
  const args = ["--optimizer", o.name, "--lr", String(o.lr)];
  if ("momentum" in o && o.momentum) args.push("--momentum", String(o.momentum));
  if ("nesterov" in o && o.nesterov) args.push("--nesterov");
  if ("betas" in o && o.betas) args.push("--betas", o.betas.join(","));
  if ("alpha" in o && o.alpha !== undefined) args.push("--alpha", String(o.alpha));
  return args;
}

export const order = 2;

const DEFAULT_F = "quadratic";
const DEFAULT_ON: readonly OptimizerId[] = ["sgd", "momentum", "adam"];
const DEFAULT_STEPS = 100;
/** Milliseconds between the frames of a playing run. */
const PLAY_FRAME_MS = 100;

class PlanePanel implements Panel {
  readonly id = "plane";
  readonly title = "2-D: optimizers side by side";
  private ctx!: PanelContext;
  private root!: HTMLElement;
  private visible = false;
  private last: {
    objective: Objective;
    paths: PathResult[];
    x0: [number, number];
    pairs: Eigenpair[];
    /** η_k against the critical rate at x_k along the first gradient-descent path. */
    rates: {
      id: OptimizerId;
      label: string;
      points: { step: number; value: number; limit: number }[];
    } | null;
    spec: ScheduleSpec | null;
    chosen: { id: OptimizerId; options: OptimizerOptions }[];
    f: string;
    steps: number;
  } | null = null;
  /** η, β or α moved while the paths played (or paused part-way), from the step shown: `plane.changes`. */
  private changes: PlaneChange[] = [];
  /** The step the paths are drawn to while playing or paused part-way; null: every step. */
  private shown: number | null = null;
  private timer: number | null = null;

  /** An optimizer's setting at the start of the run: the link's (a box moved part-way holds the latest). */
  private baseValue(id: OptimizerId, key: Setting): number {
    const params = OPTIMIZERS.find((o) => o.id === id)!.params;
    const i = params.findIndex((p) => p.key === key);
    const text = this.ctx.get(id)?.split(",")[i];
    const saved = Number(text);
    return text !== undefined && text.trim() !== "" && Number.isFinite(saved) ? saved : params[i]!.value;
  }

  /**
   * η, β or α edited: part-way through the paths (playing, or paused before the end) it takes
   * effect from the step shown and the paths go on from there — each run again from the start with
   * the setting changed at that step and every buffer kept (momentum, Adam's moments), the same
   * steps up to it, as editing PyTorch's param_groups between steps; otherwise it is a new run.
   */
  private onParam(id: OptimizerId, key: Setting): void {
    const last = this.last;
    const k = this.shown;
    if (!last || k === null || k >= last.steps || !last.chosen.some((c) => c.id === id)) {
      this.changes = [];
      this.shown = null;
      this.stop();
      this.onEdit();
      return;
    }
    const box = this.input(`plane-${id}-${key}`);
    const value = Number(box.value);
    const label = paramLabel(id, key);
    const beta = key === "beta1" || key === "beta2";
    const ok =
      box.value.trim() !== "" &&
      Number.isFinite(value) &&
      (key === "lr" ? value > 0 : value >= 0 && (!beta || value < 1));
    if (!ok) {
      this.el(`plane-${id}-error`).textContent =
        `${label} must be a number ${key === "lr" ? "> 0" : beta ? "in [0, 1)" : "≥ 0"}, got '${box.value}'`;
      return;
    }
    // After a switch the path runs another optimizer: a β or α it lacks is not its to change.
    const now = this.switchedTo(id, k);
    if (key !== "lr" && now !== id) {
      const options = this.settings(now);
      if (!ownsKey(options.name, key)) {
        this.el(`plane-${id}-error`).textContent =
          `this path runs ${OPTIMIZERS.find((o) => o.id === now)!.label} from step ${this.switchStep(id, k)}, which has no ${label}: only η still moves it`;
        return;
      }
    }
    this.changes = [
      ...this.changes.filter((c) => !(c.id === id && c.key === key && c.step >= k)),
      { step: k, id, key, value },
    ];
    if (this.recompute()) this.ctx.set({ changes: formatPlaneChanges(this.changes) }, "push");
  }

  /**
   * The path of optimizer `id` switched to another from the step shown: a fresh optimizer (no
   * momentum or moments carried over) with the settings its own row holds, η among them, as
   * `run --optimizer-changes` and `--lr-changes` at that step make it. Later changes of that path
   * are dropped: they were made for the optimizer it had.
   */
  private onSwitch(id: OptimizerId, to: OptimizerId): void {
    const last = this.last;
    const k = this.shown;
    if (!last || k === null || k >= last.steps || !last.chosen.some((c) => c.id === id)) {
      this.el(`plane-${id}-error`).textContent =
        "a switch takes effect from the step shown: play the paths, or pause part-way, first";
      return;
    }
    this.el(`plane-${id}-error`).textContent = "";
    this.changes = [
      ...this.changes.filter((c) => !(c.id === id && c.step >= k)),
      { step: k, id, key: "optimizer", to },
    ];
    if (this.recompute()) this.ctx.set({ changes: formatPlaneChanges(this.changes) }, "push");
  }

  /** The optimizer a path runs at step k: its own, or the latest it switched to at or before k. */
  private switchedTo(id: OptimizerId, k: number): OptimizerId {
    let now = id;
    for (const c of this.changes) if (c.id === id && c.key === "optimizer" && c.step <= k) now = c.to;
    return now;
  }

  private switchStep(id: OptimizerId, k: number): number {
    let at = 0;
    for (const c of this.changes) if (c.id === id && c.key === "optimizer" && c.step <= k) at = c.step;
    return at;
  }

  /** An optimizer as its row holds it at the start of the run (a switch's target). */
  private settings(id: OptimizerId): OptimizerOptions {
    const o = OPTIMIZERS.find((x) => x.id === id)!;
    return optimizerOptions(id, Object.fromEntries(o.params.map((p) => [p.key, this.baseValue(id, p.key)])));
  }

  /** Plays the paths step by step from the start (or from where they were paused). */
  private togglePlay(): void {
    if (this.timer !== null) {
      this.stop();
      this.draw(); // "paused" beside the step
      return;
    }
    const last = this.last;
    if (!last) return;
    if (this.shown === null || this.shown >= last.steps) this.shown = 0;
    const play = this.el("plane-play");
    play.textContent = "Pause";
    play.setAttribute("aria-pressed", "true");
    // About four seconds for the whole run, whatever its length.
    const stride = Math.max(1, Math.round(last.steps / 40));
    const tick = () => {
      const steps = this.last!.steps;
      this.shown = Math.min(steps, (this.shown ?? 0) + stride);
      this.draw();
      if (this.shown >= steps) {
        this.stop();
        this.shown = null;
        return;
      }
      this.timer = window.setTimeout(tick, PLAY_FRAME_MS);
    };
    this.draw();
    this.timer = window.setTimeout(tick, PLAY_FRAME_MS);
  }

  private stop(): void {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    const play = this.root?.querySelector<HTMLElement>("#plane-play");
    if (play) {
      play.textContent = "Play";
      play.setAttribute("aria-pressed", "false");
    }
  }

  mount(root: HTMLElement, ctx: PanelContext): void {
    this.ctx = ctx;
    this.root = root;
    root.classList.add("two-columns");
    const rows = OPTIMIZERS.map(
      (o) => `
        <fieldset class="optimizer" id="plane-opt-${o.id}">
          <legend><label><input type="checkbox" id="plane-on-${o.id}" /> ${o.label}</label></legend>
          <div class="row fields">
            ${o.params
              .map(
                (p) =>
                  `<label>${p.label} <input type="text" inputmode="decimal" id="plane-${o.id}-${p.key}" aria-describedby="plane-${o.id}-error" autocomplete="off" data-param="${o.id}:${p.key}" /></label>`,
              )
              .join("")}
          </div>
          <label class="switch-to">from the step shown, switch to
            <select id="plane-${o.id}-switch" data-switch="${o.id}">
              <option value="">—</option>
              ${OPTIMIZERS.filter((x) => x.id !== o.id)
                .map((x) => `<option value="${x.id}">${x.label}</option>`)
                .join("")}
            </select>
          </label>
          <div class="error" id="plane-${o.id}-error" role="alert"></div>
        </fieldset>`,
    ).join("");
    root.innerHTML = `
      <div class="controls">
        <label for="plane-f">function f(x, y), or a built-in name</label>
        <input id="plane-f" type="text" spellcheck="false" autocomplete="off" aria-describedby="plane-f-error" />
        <div id="plane-f-error" class="error" role="alert"></div>
        <div class="row presets" role="group" aria-label="built-in functions">
          ${Object.entries(PRESETS)
            .map(([name, p]) => `<button type="button" data-f="${name}">${p.label}</button>`)
            .join("")}
        </div>
        <div class="row fields">
          <label>start x₀, y₀ (or click the map) <input id="plane-x0" type="text" inputmode="decimal" autocomplete="off" aria-describedby="plane-x0-error" /></label>
          <label>steps <input id="plane-steps" type="text" inputmode="numeric" autocomplete="off" aria-describedby="plane-steps-error" /></label>
        </div>
        <div id="plane-x0-error" class="error" role="alert"></div>
        <div id="plane-steps-error" class="error" role="alert"></div>
        <div class="row" role="group" aria-label="playing the paths">
          <button type="button" id="plane-play" aria-pressed="false">Play</button>
          <span id="plane-position" aria-live="polite"></span>
        </div>
        <p id="plane-changes" class="note" hidden><span></span> <button type="button" id="plane-clear-changes">Clear the changes</button></p>
        <div class="field more">
          <label for="plane-schedule">schedule for every optimizer's η: constant, step:S,G, cosine:T, warmup:W, …</label>
          <input id="plane-schedule" type="text" spellcheck="false" autocomplete="off" aria-describedby="plane-schedule-error" />
          <div id="plane-schedule-error" class="error" role="alert"></div>
        </div>
        ${rows}
      </div>
      <div class="charts">
        <div class="chart" id="plane-map-chart"></div>
        <div>
          <div id="plane-eigen" class="note" aria-live="polite"></div>
          <ul id="plane-verdicts" class="verdicts" aria-live="polite"></ul>
        </div>
        <div class="chart" id="plane-loss-chart"></div>
        <div class="chart" id="plane-rate-chart"></div>
        <div id="plane-export"></div>
      </div>`;

    const commit = () => this.onEdit();
    for (const input of root.querySelectorAll<HTMLInputElement>("input[type=text]"))
      input.addEventListener("change", () => {
        const param = input.dataset["param"]?.split(":");
        if (param) this.onParam(param[0] as OptimizerId, param[1] as Setting);
        else commit();
      });
    for (const select of root.querySelectorAll<HTMLSelectElement>("select[data-switch]"))
      select.addEventListener("change", () => {
        const to = select.value as OptimizerId | "";
        select.value = "";
        if (to !== "") this.onSwitch(select.dataset["switch"] as OptimizerId, to);
      });
    this.el("plane-play").addEventListener("click", () => this.togglePlay());
    this.el("plane-clear-changes").addEventListener("click", () => {
      this.stop();
      this.changes = [];
      this.shown = null;
      // Each box back to the value the run started at.
      for (const o of OPTIMIZERS)
        for (const p of o.params)
          this.input(`plane-${o.id}-${p.key}`).value = String(this.baseValue(o.id, p.key));
      if (this.recompute()) this.ctx.set({ changes: null }, "push");
    });
    for (const box of root.querySelectorAll<HTMLInputElement>("input[type=checkbox]"))
      box.addEventListener("change", commit);
    for (const b of root.querySelectorAll<HTMLButtonElement>(".presets button")) {
      b.addEventListener("click", () => {
        const f = b.dataset["f"]!;
        this.ctx.set({ f, x0: PRESETS[f]!.x0.join(",") }, "push");
        this.restore(this.ctx);
      });
    }
    mountExport(this.el("plane-export"), "plane", () => this.exportRun());
    this.restore(ctx);
  }

  /**
   * Every path (CSV: a row a step and optimizer; JSON: each optimizer's settings, verdict and
   * trace) and one \`overshoot run\` command per optimizer that computes its path again.
   */
  private exportRun(): RunExport | null {
    const last = this.last;
    if (!last) return null;
    const fArgs =
      last.f === "quadratic"
        ? ["--f", "quadratic", "--eigenvalues", QUADRATIC_EIGENVALUES.join(","), "--rotate", "7"]
        : ["--f", last.f];
    const commands = last.chosen.map(({ id, options }) => {
      const args = ["run", ...fArgs, "--x0", last.x0.join(","), "--steps", String(last.steps)];
      args.push("--tolerance", "1e-8", ...optimizerArgs(options));
      if (last.spec) args.push("--schedule", last.spec.text);
      const moved = changesByOptimizer(this.changes, (to) => this.settings(to))[id];
      if (moved && moved.rates.length > 0) args.push("--lr-changes", formatRateChanges(moved.rates));
      if (moved && moved.hyper.length > 0) args.push("--hyper-changes", formatHyperChanges(moved.hyper));
      if (moved?.switches && moved.switches.length > 0)
        args.push("--optimizer-changes", formatOptimizerSwitches(moved.switches));
      return commandLine(args);
    });
    const cell = (x: number) => String(x);
    return {
      name: "plane",
      command: commands.join("\n"),
      csv: () =>
        `optimizer,step,x,y,loss\n${last.paths
          .flatMap((p) =>
            p.trace.map((r) =>
              [p.id, r.step, r.x[0]!, r.x[1]!, r.loss]
                .map((v) => (typeof v === "number" ? cell(v) : v))
                .join(","),
            ),
          )
          .join("\n")}\n`,
      json: () =>
        `${JSON.stringify(
          {
            f: last.f,
            x0: last.x0,
            steps: last.steps,
            schedule: last.spec?.text ?? null,
            changes: this.changes,
            paths: last.paths.map((p, i) => ({
              optimizer: p.id,
              options: last.chosen[i]!.options,
              command: commands[i],
              verdict: p.verdict,
              trace: p.trace.map((r) => ({ step: r.step, x: [r.x[0], r.x[1]], loss: r.loss })),
            })),
          },
          (_, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x),
          2,
        )}\n`,
    };
  }

  restore(ctx: PanelContext): void {
    this.ctx = ctx;
    this.input("plane-f").value = ctx.get("f") ?? DEFAULT_F;
    this.input("plane-x0").value = ctx.get("x0") ?? PRESETS[DEFAULT_F]!.x0.join(",");
    this.input("plane-steps").value = ctx.get("steps") ?? String(DEFAULT_STEPS);
    this.input("plane-schedule").value = ctx.get("schedule") ?? "constant";
    this.stop();
    this.shown = null;
    try {
      this.changes = parsePlaneChanges(ctx.get("changes") ?? "");
    } catch {
      this.changes = []; // a hand-edited link with a bad list: the runs as they started
    }
    const on = ctx.get("on")?.split(",") ?? DEFAULT_ON;
    for (const o of OPTIMIZERS) {
      this.input(`plane-on-${o.id}`).checked = on.includes(o.id);
      const saved = ctx.get(o.id)?.split(",");
      o.params.forEach((p, i) => {
        this.input(`plane-${o.id}-${p.key}`).value = saved?.[i] ?? String(p.value);
      });
      // With changes a box holds its latest value; the run starts at the link's own.
      for (const c of this.changes)
        if (c.id === o.id && c.key !== "optimizer")
          this.input(`plane-${o.id}-${c.key}`).value = String(c.value);
    }
    this.recompute();
  }

  setVisible(visible: boolean): void {
    const was = this.visible;
    this.visible = visible;
    if (visible && !was) this.draw();
  }

  /** A committed edit: recompute, and record the settings in the URL only when they are all good. */
  private onEdit(): void {
    this.stop();
    this.changes = [];
    this.shown = null;
    if (!this.recompute()) return;
    const values: Record<string, string | null> = {
      f: this.input("plane-f").value.trim(),
      x0: this.input("plane-x0").value.replace(/\s+/g, ""),
      steps: this.input("plane-steps").value.trim(),
      schedule: optionalSchedule(this.input("plane-schedule").value)?.text ?? null,
      on: OPTIMIZERS.filter((o) => this.input(`plane-on-${o.id}`).checked)
        .map((o) => o.id)
        .join(","),
    };
    for (const o of OPTIMIZERS)
      values[o.id] = o.params.map((p) => this.input(`plane-${o.id}-${p.key}`).value.trim()).join(",");
    this.ctx.set({ ...values, changes: null }, "push");
  }

  /** Validates every box (each error under its own), runs the chosen optimizers, draws. Keeps the last drawing on error. */
  private recompute(): boolean {
    const errors = new Map<string, string>();
    let objective: Objective | null = null;
    try {
      objective = planeObjective(this.input("plane-f").value);
    } catch (e) {
      errors.set("f", caretMessage(e, this.input("plane-f").value));
    }
    const parts = this.input("plane-x0")
      .value.split(",")
      .map((v) => Number(v.trim()));
    let x0 =
      parts.length === 2 && parts.every(Number.isFinite)
        ? ([parts[0]!, parts[1]!] as [number, number])
        : null;
    // A start at a stationary point never moves (Rosenbrock's minimum (1, 1), kept from another
    // function): a built-in's own start replaces it, anything else is said under the box.
    let startNote = "";
    if (objective && x0 && stationary(objective, x0)) {
      const name = this.input("plane-f").value.trim();
      const preset = PRESETS[name];
      if (preset && !stationary(objective, preset.x0)) {
        startNote = `(${fmt(x0[0])}, ${fmt(x0[1])}) is a stationary point of ${preset.label}, where gradient descent never moves: started from its usual (${preset.x0.join(", ")}) instead.`;
        x0 = [...preset.x0];
        this.input("plane-x0").value = preset.x0.join(",");
      } else
        startNote = `(${fmt(x0[0])}, ${fmt(x0[1])}) is a stationary point (∇f = 0): gradient descent never moves from it — click the map to start elsewhere.`;
    }
    if (!x0)
      errors.set(
        "x0",
        `x₀, y₀ must be two finite numbers separated by a comma, got '${this.input("plane-x0").value}'`,
      );
    const steps = Number(this.input("plane-steps").value);
    if (!(Number.isInteger(steps) && steps >= 1 && steps <= 5000))
      errors.set(
        "steps",
        `steps must be a whole number from 1 to 5000, got '${this.input("plane-steps").value}'`,
      );
    let spec: ScheduleSpec | null = null;
    try {
      spec = optionalSchedule(this.input("plane-schedule").value);
    } catch (e) {
      errors.set("schedule", (e as Error).message);
    }
    const chosen: { id: OptimizerId; options: ReturnType<typeof optimizerOptions> }[] = [];
    for (const o of OPTIMIZERS) {
      if (!this.input(`plane-on-${o.id}`).checked) continue;
      const values: Record<string, number> = {};
      let bad: string | null = null;
      for (const p of o.params) {
        const text = this.input(`plane-${o.id}-${p.key}`).value;
        const v = Number(text);
        if (text.trim() === "" || !Number.isFinite(v)) bad ??= `${p.label} must be a number, got '${text}'`;
        values[p.key] = v;
      }
      // A setting moved part-way: the run starts at its own value, the box holds the latest.
      for (const c of this.changes)
        if (c.id === o.id && c.key !== "optimizer") values[c.key] = this.baseValue(o.id, c.key);
      if (bad === null) {
        try {
          chosen.push({ id: o.id, options: optimizerOptions(o.id, values) });
        } catch (e) {
          bad = (e as Error).message;
        }
      }
      if (bad !== null) errors.set(o.id, bad);
    }
    for (const key of ["f", "x0", "steps", "schedule", ...OPTIMIZERS.map((o) => o.id)]) {
      const el = this.root.querySelector(`#plane-${key}-error`);
      if (el) el.textContent = errors.get(key) ?? (key === "x0" ? startNote : "");
    }
    this.input("plane-f").setAttribute("aria-invalid", String(errors.has("f")));
    if (errors.size > 0 || !objective || !x0) return false;
    const pairs = eigenpairs(objective, x0);
    const lambdaMax = Math.max(...pairs.map((p) => p.value));
    const moved = changesByOptimizer(this.changes, (to) => this.settings(to));
    const paths = runPaths(objective, x0, steps, chosen, lambdaMax, spec, moved);
    // η_k against the critical rate at x_k, for the first gradient-descent optimizer on.
    const gd = chosen.findIndex((c) => c.id === "sgd" || c.id === "momentum" || c.id === "nesterov");
    const rates =
      gd >= 0
        ? {
            id: chosen[gd]!.id,
            label: paths[gd]!.label,
            points: rateAgainstLimit(objective, paths[gd]!, chosen[gd]!.options, spec, moved[chosen[gd]!.id]),
          }
        : null;
    this.last = {
      objective,
      x0,
      pairs,
      paths,
      rates,
      spec,
      chosen,
      f: this.input("plane-f").value.trim(),
      steps,
    };
    this.draw();
    return true;
  }

  private draw(): void {
    const last = this.last;
    if (!last || !this.visible) return;
    const { objective, paths, x0, pairs } = last;
    const [nx, ny] = objective.names as [string, string];
    this.el("plane-eigen").textContent = `Hessian at the start (${fmt(x0[0])}, ${fmt(x0[1])}): ${pairs
      .map(
        (p, i) =>
          `λ${i === 0 ? "₁" : "₂"} = ${fmt(p.value)} along (${fmt(p.vector[0], 3)}, ${fmt(p.vector[1], 3)}), ${p.critical !== null ? `critical step 2/λ${i === 0 ? "₁" : "₂"} = ${fmt(p.critical)}` : "no limit (λ ≤ 0)"}`,
      )
      .join("; ")}.`;
    const list = this.el("plane-verdicts");
    list.replaceChildren(
      ...paths.map((p) => {
        const li = document.createElement("li");
        li.className = `verdict ${p.verdict.status}`;
        li.dataset["optimizer"] = p.id;
        const head = document.createElement("strong");
        head.textContent = `${p.label}: ${verdictWords(p)}`;
        const limit = document.createElement("div");
        limit.className = "reason";
        const moved = this.changes.filter((c) => c.id === p.id);
        limit.textContent = `${
          p.critical !== null
            ? `its critical rate from λmax at the start is ${fmt(p.critical)} (η is ${fmt(p.lr / p.critical)}× that)`
            : "an adaptive optimizer: no fixed critical rate follows from λmax alone"
        }${moved.map((c) => (c.key === "optimizer" ? `; switched to ${switchText(c.to, this.settings(c.to).lr!)} at step ${c.step}` : `; ${paramLabel(c.id, c.key)} moved to ${fmt(c.value)} at step ${c.step}${c.key === "lr" && p.critical !== null ? ` (${fmt(c.value / p.critical)}× the critical rate at the start)` : ""}`)).join("")}`;
        li.append(head, limit);
        return li;
      }),
    );
    const f = (a: number, b: number) => objective.value(Float64Array.of(a, b));
    // Playing (or paused part-way): each path up to the step shown.
    const upTo = this.shown;
    this.el("plane-position").textContent =
      upTo === null ? "" : `step ${upTo} of ${last.steps}${this.timer !== null ? "" : " (paused)"}`;
    const note = this.el("plane-changes");
    note.hidden = this.changes.length === 0;
    note.querySelector("span")!.textContent =
      `Changed while the paths ran: ${this.changes.map((c) => `${OPTIMIZERS.find((o) => o.id === c.id)!.label} ${c.key === "optimizer" ? `switched to ${switchText(c.to, this.settings(c.to).lr!)}` : `${paramLabel(c.id, c.key)} to ${fmt(c.value)}`} at step ${c.step}`).join(", ")}.`;
    // Each optimizer in its own colour, the same on the map and on the loss chart whichever are on.
    const runs = paths.map((p) => ({
      label: p.label,
      trace: upTo === null ? p.trace : p.trace.slice(0, upTo + 1),
      color: OPTIMIZER_COLORS[p.id],
    }));
    const marks: ChartChange[] = this.changes.map((c) => ({
      step: c.step,
      text: `${OPTIMIZERS.find((o) => o.id === c.id)!.label} ${c.key === "optimizer" ? `→ ${OPTIMIZERS.find((o) => o.id === c.to)!.label}` : `${paramLabel(c.id, c.key)} → ${fmt(c.value)}`}`,
    }));
    // With no optimizer chosen the map still covers the start.
    const here = {
      step: 0,
      x: Float64Array.from(x0),
      loss: f(...x0),
      grad: new Float64Array(2),
      gradNorm: 0,
    };
    const start = runs.length > 0 ? runs : [{ label: "start", trace: [here] }];
    const map = contourChart2d(f, start, { names: [nx, ny], maxExtent: 1e3 });
    addStartAndEigenvectors(map, x0, pairs);
    void drawInteractive(this.el("plane-map-chart"), map, {
      click: (x, y) => {
        this.input("plane-x0").value = `${fmt(x, 4)},${fmt(y, 4)}`;
        this.onEdit();
      },
    });
    if (runs.length > 0)
      void drawChart(
        this.el("plane-loss-chart"),
        lossChart(runs, { title: "Loss per step", changes: marks }),
      );
    if (last.rates)
      void drawChart(
        this.el("plane-rate-chart"),
        limitChart(last.rates.points, {
          title: `${last.rates.label}${last.spec ? `, schedule ${last.spec.text}` : ""}: η_k against its critical rate at x_k`,
          valueLabel: "η_k",
          limitLabel: "critical rate from λmax(x_k)",
          yTitle: "rate (log scale)",
          interpolate: "step-after",
          changes: marks.filter((_, i) => this.changes[i]!.id === last.rates!.id),
        }),
      );
    else this.el("plane-rate-chart").replaceChildren();
  }

  private el(id: string): HTMLElement {
    return this.root.querySelector<HTMLElement>(`#${id}`)!;
  }

  private input(id: string): HTMLInputElement {
    return this.el(id) as HTMLInputElement;
  }
}

/** The box's own label of a setting: η, β, β₁, β₂, α. */
function paramLabel(id: OptimizerId, key: Setting): string {
  return OPTIMIZERS.find((o) => o.id === id)!.params.find((p) => p.key === key)!.label;
}

function verdictWords(p: PathResult): string {
  const v = p.verdict;
  switch (v.status) {
    case "converged":
      return `converges (at step ${v.atStep})`;
    case "converging":
      return "converging";
    case "oscillating":
      return "oscillates without converging";
    case "diverging":
      return "diverges";
    case "nonfinite":
      return `diverged at step ${v.atStep}`;
    case "diverged":
      return `diverged at step ${v.atStep} (past the blow-up bound)`;
    case "unbounded":
      return "runs downhill without limit (unbounded below)";
    case "trained":
      return v.catapult ? `trained after a spike at step ${v.catapult.peakStep} (catapult)` : "trained";
    case "stalled":
      return "stalled at the baseline";
    case "failed":
      return "ended above its start";
  }
}

/**
 * The start point and, through it, the Hessian's eigenvectors, each labelled with its λ and 2/λ:
 * the directions along which a plain gradient step first overshoots. Each label goes at an end of
 * its line, above or below it, reading away from the line — the first place on the map's pixel
 * grid (its explicit domains) where it crosses neither line, no path and no other label; a label
 * with no such place is said under the title.
 */
function addStartAndEigenvectors(spec: ChartSpec, x0: [number, number], pairs: readonly Eigenpair[]): void {
  const layer = spec["layer"] as ChartSpec[];
  const xEnc = (layer[1]!["encoding"] as { x: ChartSpec })["x"];
  const yEnc = (layer[1]!["encoding"] as { y: ChartSpec })["y"];
  const xDomain = (xEnc["scale"] as { domain: [number, number] }).domain;
  const yDomain = (yEnc["scale"] as { domain: [number, number] }).domain;
  const height = spec["height"] as number;
  const reach = 0.3 * Math.min(xDomain[1] - xDomain[0], yDomain[1] - yDomain[0]);
  const lines = pairs.map((p) => {
    const name = `λ${subscript(pairs.indexOf(p))} = ${fmt(p.value)}${p.critical !== null ? `, 2/λ = ${fmt(p.critical)}` : ""}`;
    const ends = [-1, 1].map((s) => ({
      x: x0[0] + s * reach * p.vector[0],
      y: x0[1] + s * reach * p.vector[1],
    }));
    return { name, ends };
  });
  // The map as drawn at its own width and as a phone's column narrows it (fitToWidth keeps the
  // height): a label's place must be clear at both, since its offsets are pixels and the lines'
  // are data.
  const path = (layer[1]!["data"] as { values: { run: string; step: number; x: number; y: number }[] })
    .values;
  const grid = (width: number) => {
    const px = (x: number) => (width * (x - xDomain[0])) / (xDomain[1] - xDomain[0]);
    const py = (y: number) => height * (1 - (y - yDomain[0]) / (yDomain[1] - yDomain[0]));
    const segments: Segment[] = lines.map(
      ({ ends: [a, b] }) => [px(a!.x), py(a!.y), px(b!.x), py(b!.y)] as const,
    );
    for (const run of new Set(path.map((p) => p.run)))
      segments.push(
        ...polylineSegments(
          path
            .filter((p) => p.run === run)
            .sort((a, b) => a.step - b.step)
            .map((p) => [px(p.x), py(p.y)] as [number, number]),
        ),
      );
    const start: Box = { x0: px(x0[0]) - 8, x1: px(x0[0]) + 8, y0: py(x0[1]) - 8, y1: py(x0[1]) + 8 };
    return { width, px, py, segments, placed: [start] };
  };
  const grids = [grid(spec["width"] as number), grid(NARROWEST_MAP)];
  const labels: { x: number; y: number; pair: string; align: "left" | "right"; dy: number }[] = [];
  const unplaced: string[] = [];
  for (const { name, ends } of lines) {
    const w = textWidth(name, 11, true);
    const options = ends.flatMap((e) =>
      [-8, 14].flatMap((dy) => (["left", "right"] as const).map((align) => ({ e, dy, align }))),
    );
    const boxesOn = (g: (typeof grids)[number]) =>
      options.map(({ e, dy, align }) => {
        const [ex, ey] = [g.px(e.x), g.py(e.y)];
        const left = align === "left" ? ex + 4 : ex - 4 - w;
        return { x0: left, x1: left + w, y0: ey + dy - 9, y1: ey + dy + 3 };
      });
    const boxes = grids.map(boxesOn);
    const i = options.findIndex((_, k) =>
      grids.every(
        (g, j) =>
          firstClear(
            [boxes[j]![k]!],
            { width: g.width, height },
            { boxes: g.placed, segments: g.segments },
          ) === 0,
      ),
    );
    if (i < 0) {
      unplaced.push(name);
      continue;
    }
    grids.forEach((g, j) => {
      g.placed.push(boxes[j]![i]!);
    });
    const { e, dy, align } = options[i]!;
    labels.push({ x: e.x, y: e.y, pair: name, align, dy });
  }
  if (unplaced.length > 0) {
    const title = spec["title"] as { text: string; subtitle?: string | string[] };
    const before = title.subtitle ? [title.subtitle].flat().filter((t) => t !== "") : [];
    spec["title"] = { ...title, subtitle: [...before, `dashed: ${unplaced.join("; ")}`] };
  }
  layer.push(
    {
      data: {
        values: lines.flatMap(({ name, ends }) => ends.map((e, end) => ({ ...e, pair: name, end }))),
      },
      mark: { type: "line", clip: true, strokeDash: [4, 3], strokeWidth: 1.5, color: ROLE.reference },
      encoding: { x: xEnc, y: yEnc, detail: { field: "pair" }, order: { field: "end" } },
    },
    ...labels.map((l) => ({
      data: { values: [l] },
      mark: {
        type: "text",
        align: l.align,
        dx: l.align === "left" ? 4 : -4,
        dy: l.dy,
        fontSize: 11,
        color: ROLE.reference,
        fontWeight: "bold",
      },
      encoding: { x: xEnc, y: yEnc, text: { field: "pair" } },
    })),
    {
      data: { values: [{ x: x0[0], y: x0[1] }] },
      mark: {
        type: "point",
        shape: "diamond",
        size: 140,
        filled: true,
        color: ROLE.reference,
        stroke: "white",
      },
      encoding: { x: xEnc, y: yEnc },
    },
  );
}

/** The narrowest the map is drawn (a 360 px phone's column, after fitToWidth). */
const NARROWEST_MAP = 240;

/** ₁, ₂: the eigenvalue's index as a subscript, largest first. */
const subscript = (i: number) => (i === 0 ? "₁" : "₂");

function caretMessage(e: unknown, text: string): string {
  if (e instanceof PlaneError && e.position !== null)
    return `${e.message}\n${text}\n${" ".repeat(Math.max(0, e.position - 1))}^`;
  return (e as Error).message;
}

export const panel: Panel = new PlanePanel();

/** ‖∇f(x)‖ ≤ 1e-12·max(1, |f(x)|): a point plain gradient descent never leaves. */
function stationary(objective: Objective, x: readonly [number, number]): boolean {
  const g = new Float64Array(2);
  const f = objective.gradient(Float64Array.from(x), g);
  return Math.hypot(g[0]!, g[1]!) <= 1e-12 * Math.max(1, Math.abs(f));
}

/** A setting a box holds: η or a hyper-parameter. */
type Setting = "lr" | HyperKey;

/** "Adam (fresh, η 0.1)": a switch's target as the text names it. */
function switchText(to: OptimizerId, lr: number): string {
  return `${OPTIMIZERS.find((o) => o.id === to)!.label} (fresh, η ${fmt(lr)})`;
}
