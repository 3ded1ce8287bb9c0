import { fmt } from "../../../src/core/format.js";
import type { Objective } from "../../../src/core/objective.js";
import { formatHyperChanges, type HyperChange, parseHyperChanges } from "../../../src/optim/hyper.js";
import type { OptimizerOptions } from "../../../src/optim/index.js";
import {
  formatRateChanges,
  optionalSchedule,
  parseRateChanges,
  type RateChange,
} from "../../../src/optim/schedule.js";
import { formatOptimizerSwitches } from "../../../src/optim/switches.js";
import {
  type ChartChange,
  deltaChart,
  limitChart,
  lossChart,
  pathChart1d,
} from "../../../src/report/charts.js";
import { runToCsv, runToJson } from "../../../src/report/json.js";
import { drawChart } from "../chart.js";
import { commandLine, mountExport, type RunExport } from "../export.js";
import type { Panel, PanelContext } from "../panel.js";
import {
  compileSeed,
  criticalStep,
  momentumAt,
  optimizerAt,
  parseNumberSetting,
  parseScheduleSetting,
  SEED_DEFAULTS,
  SEED_OPTIMIZERS,
  type SeedOptimizer,
  type SeedResult,
  type SeedSettings,
  SettingError,
  secondDerivative,
  seedRun,
} from "../seed/model.js";

/**
 * The seed example made visible: gradient descent on a 1-D function, the path on the curve, the
 * loss per step, and for the current step the actual change of the loss beside the first- and
 * second-order predictions. The critical step 2/f''(x₀) is marked on the learning-rate slider.
 * η moved while the run plays (or while it is paused part-way) takes effect from the step shown:
 * the run goes on from there at the new rate, and the change is marked on the charts. A schedule
 * (the CLI's forms) shapes the rate, drawn per step against the local limit 2/f''(x_k).
 */

export const order = 1;

// The slider moves log10(η) over [10^-4, 10^1]; the number box takes any η > 0.
const LOG_MIN = -4;
const LOG_MAX = 1;
const FRAME_MS = 400;

type NumberKey = "lr" | "x0" | "steps" | "momentum";
const NUMBER_KEYS = ["lr", "x0", "steps", "momentum"] as const;

class SeedPanel implements Panel {
  readonly id = "seed";
  readonly title = "1-D: the seed example";
  private ctx!: PanelContext;
  private root!: HTMLElement;
  private objective: Objective | null = null;
  private result: SeedResult | null = null;
  /** Step shown (the path up to it); the last record when not animating. */
  private k = 0;
  private timer: number | null = null;
  private drawToken = 0;
  private visible = true;
  private editing = false;
  /** η moved while the run ran: from each change's step on, the new base rate (`seed.changes`). */
  private changes: RateChange[] = [];
  /** β moved while the run ran: from each change's step on, the velocity kept (`seed.hyper`). */
  private momentumChanges: HyperChange[] = [];
  /** The optimizer switched while the run ran: from each step on, another, fresh (`seed.switches`). */
  private switches: { step: number; to: SeedOptimizer }[] = [];

  mount(root: HTMLElement, ctx: PanelContext): void {
    this.ctx = ctx;
    this.root = root;
    root.classList.add("two-columns");
    root.innerHTML = `
      <div class="controls">
        <label for="seed-f">function f(x)</label>
        <input id="seed-f" type="text" spellcheck="false" autocomplete="off" aria-describedby="seed-f-error" />
        <div id="seed-f-error" class="error" role="alert"></div>
        <label for="seed-lr-slider">learning rate η (log scale)</label>
        <div class="slider">
          <input id="seed-lr-slider" type="range" min="${LOG_MIN}" max="${LOG_MAX}" step="0.01" />
          <div class="slider-mark" id="seed-critical-mark" hidden><span></span></div>
        </div>
        <div class="row fields">
          <label>η <input id="seed-lr" type="text" inputmode="decimal" autocomplete="off" aria-describedby="seed-lr-error" /></label>
          <label>x₀ <input id="seed-x0" type="text" inputmode="decimal" autocomplete="off" aria-describedby="seed-x0-error" /></label>
          <label>steps <input id="seed-steps" type="text" inputmode="numeric" autocomplete="off" aria-describedby="seed-steps-error" /></label>
        </div>
        <div id="seed-lr-error" class="error" role="alert"></div>
        <div id="seed-x0-error" class="error" role="alert"></div>
        <div id="seed-steps-error" class="error" role="alert"></div>
        <div id="seed-momentum-error" class="error" role="alert"></div>
        <div class="row fields more">
          <label>momentum β <input id="seed-momentum" type="text" inputmode="decimal" autocomplete="off" aria-describedby="seed-momentum-error" /></label>
          <label>optimizer <select id="seed-optimizer">${SEED_OPTIMIZERS.map((o) => `<option value="${o}">${OPTIMIZER_LABELS[o]}</option>`).join("")}</select></label>
        </div>
        <div class="field more">
          <label for="seed-schedule">schedule: constant, step:S,G, cosine:T[,MIN], warmup:W, exp:G, onecycle:T</label>
          <input id="seed-schedule" type="text" spellcheck="false" autocomplete="off" aria-describedby="seed-schedule-error" />
          <div id="seed-schedule-error" class="error" role="alert"></div>
        </div>
        <div class="row" role="group" aria-label="animation">
          <button type="button" id="seed-play">Play</button>
          <button type="button" id="seed-step">Step</button>
          <button type="button" id="seed-reset">Reset</button>
          <span id="seed-position" aria-live="off"></span>
        </div>
        <div class="row presets" role="group" aria-label="the seed example's three rates">
          <span>x² from −1:</span>
          <button type="button" data-lr="0.1">η = 0.1</button>
          <button type="button" data-lr="1">η = 1</button>
          <button type="button" data-lr="1.125">η = 1.125</button>
        </div>
        <div id="seed-verdict" class="verdict" aria-live="polite"></div>
        <p id="seed-changes" class="note" hidden><span></span> <button type="button" id="seed-clear-changes">Clear the changes</button></p>
        <p id="seed-critical" class="note"></p>
        <table class="numbers" id="seed-table" aria-label="the current step">
          <caption id="seed-table-caption"></caption>
          <tbody></tbody>
        </table>
        <div id="seed-export"></div>
      </div>
      <div class="charts">
        <div class="chart" id="seed-path-chart"></div>
        <div class="chart" id="seed-loss-chart"></div>
        <div class="chart" id="seed-rate-chart"></div>
        <div class="chart" id="seed-delta-chart"></div>
      </div>`;

    this.input("seed-f").addEventListener("input", () => this.onExpression());
    this.input("seed-f").addEventListener("change", () => this.endEdit());
    const slider = this.input("seed-lr-slider");
    slider.addEventListener("input", () => this.onSlider());
    slider.addEventListener("change", () => this.endEdit());
    for (const key of NUMBER_KEYS) {
      this.input(`seed-${key}`).addEventListener("input", () => this.onNumber(key));
      this.input(`seed-${key}`).addEventListener("change", () => this.endEdit());
    }
    this.el("seed-optimizer").addEventListener("change", () => this.onOptimizer());
    this.input("seed-schedule").addEventListener("input", () => this.onSchedule());
    this.input("seed-schedule").addEventListener("change", () => this.endEdit());
    this.button("seed-clear-changes").addEventListener("click", () => this.clearChanges());
    this.button("seed-play").addEventListener("click", () => this.togglePlay());
    mountExport(this.el("seed-export"), "seed", () => this.exportRun());
    this.button("seed-step").addEventListener("click", () => this.stepOnce());
    this.button("seed-reset").addEventListener("click", () => this.reset());
    for (const b of root.querySelectorAll<HTMLButtonElement>(".presets button")) {
      b.addEventListener("click", () => {
        this.stop();
        this.ctx.set(
          {
            f: null,
            x0: null,
            lr: b.dataset["lr"] ?? null,
            k: null,
            changes: null,
            schedule: null,
            momentum: null,
            hyper: null,
            optimizer: null,
            switches: null,
          },
          "push",
        );
        this.restore(this.ctx);
      });
    }
    this.restore(ctx);
  }

  /** Reads every setting from the URL into the boxes, then recomputes (bad values show their error). */
  restore(ctx: PanelContext): void {
    this.ctx = ctx;
    this.stop();
    this.editing = false;
    this.input("seed-f").value = ctx.get("f") ?? SEED_DEFAULTS.f;
    this.input("seed-lr").value = ctx.get("lr") ?? String(SEED_DEFAULTS.lr);
    this.input("seed-x0").value = ctx.get("x0") ?? String(SEED_DEFAULTS.x0);
    this.input("seed-steps").value = ctx.get("steps") ?? String(SEED_DEFAULTS.steps);
    this.input("seed-schedule").value = ctx.get("schedule") ?? "constant";
    this.input("seed-momentum").value = ctx.get("momentum") ?? "0";
    try {
      this.changes = parseRateChanges(ctx.get("changes") ?? "");
    } catch {
      this.changes = []; // a hand-edited link with a bad list: the run as it started
    }
    try {
      this.momentumChanges = parseHyperChanges(ctx.get("hyper") ?? "").filter((c) => c.key === "momentum");
    } catch {
      this.momentumChanges = [];
    }
    // The box shows the rate in force at the end of the run: the last change's, when there is one.
    const last = this.changes[this.changes.length - 1];
    if (last) this.input("seed-lr").value = String(last.lr);
    const lastBeta = this.momentumChanges[this.momentumChanges.length - 1];
    if (lastBeta) this.input("seed-momentum").value = String(lastBeta.value);
    this.switches = parseSwitches(ctx.get("switches") ?? "");
    // The box shows the optimizer in use at the end: the last switch's, when there is one.
    this.select().value = this.switches.at(-1)?.to ?? startOptimizer(ctx);
    this.objective = null;
    this.recompute(ctx.get("k"));
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    if (!visible) this.stop();
    else if (this.result) this.draw();
  }

  // ── Events ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Settings follow every keystroke and slider move, but one edit (from the first change to the
   * box losing focus or the slider's release) is one back-button entry: the first write of an edit
   * pushes, the rest replace it.
   */
  private record(values: Readonly<Record<string, string | null>>): void {
    this.ctx.set(values, this.editing ? "replace" : "push");
    this.editing = true;
  }

  private endEdit(): void {
    this.editing = false;
  }

  private onExpression(): void {
    this.stop();
    this.objective = null;
    if (this.recompute(null)) this.record({ f: this.input("seed-f").value, k: null });
  }

  private onSlider(): void {
    const lr = Number((10 ** Number(this.input("seed-lr-slider").value)).toPrecision(3));
    this.input("seed-lr").value = String(lr);
    this.onNumber("lr");
  }

  private onNumber(key: NumberKey): void {
    if (key === "lr" && this.midRun()) {
      this.changeRate();
      return;
    }
    if (key === "momentum" && this.midRun()) {
      this.changeMomentum();
      return;
    }
    this.stop();
    if (key === "lr") this.changes = [];
    if (key === "momentum") this.momentumChanges = [];
    if (this.recompute(null))
      this.record({
        [key]: this.input(`seed-${key}`).value.trim(),
        k: null,
        ...(key === "lr" ? { changes: null } : {}),
        ...(key === "momentum" ? { hyper: null } : {}),
      });
  }

  /**
   * Another optimizer: before a run, the run's; playing or paused part-way, from the step shown,
   * fresh, the steps so far kept (later switches and β changes dropped: they were for the old one).
   */
  private onOptimizer(): void {
    const to = this.select().value as SeedOptimizer;
    if (!this.midRun()) {
      this.stop();
      this.switches = [];
      if (this.recompute(null)) this.record({ optimizer: to === "gd" ? null : to, switches: null, k: null });
      return;
    }
    const k = this.k;
    this.switches = [...this.switches.filter((s) => s.step < k), { step: k, to }];
    this.momentumChanges = this.momentumChanges.filter((c) => c.step < k);
    if (this.recompute(String(k)))
      this.record({
        switches: formatSwitches(this.switches),
        hyper: this.momentumChanges.length > 0 ? formatHyperChanges(this.momentumChanges) : null,
        k: String(k),
      });
  }

  /** β from the step shown on, the velocity kept: the run so far stays, the rest is run again. */
  private changeMomentum(): void {
    const now = this.result ? optimizerAt(this.result.settings, this.k) : "gd";
    if (now !== "gd") {
      this.el("seed-momentum-error").textContent =
        `β is gradient descent's momentum; from step ${this.k} this run uses ${OPTIMIZER_LABELS[now]}, which keeps its own moments`;
      return;
    }
    let value: number;
    try {
      value = parseNumberSetting("momentum", this.input("seed-momentum").value);
    } catch {
      this.recompute(String(this.k)); // shows the box's error, keeps the run
      return;
    }
    const k = this.k;
    this.momentumChanges = [
      ...this.momentumChanges.filter((c) => c.step < k),
      { step: k, key: "momentum", value },
    ];
    if (this.recompute(String(k)))
      this.record({ hyper: formatHyperChanges(this.momentumChanges), k: String(k) });
  }

  private onSchedule(): void {
    this.stop();
    const text = this.input("seed-schedule").value.trim();
    if (this.recompute(null)) this.record({ schedule: optionalSchedule(text)?.text ?? null, k: null });
  }

  /** Playing, or paused part-way: a new η then continues the run from the step shown. */
  private midRun(): boolean {
    const last = (this.result?.trace.length ?? 0) - 1;
    return this.result !== null && (this.timer !== null || (this.k > 0 && this.k < last));
  }

  /** η from the step shown on: the run so far stays, the rest is run again at the new rate. */
  private changeRate(): void {
    let lr: number;
    try {
      lr = parseNumberSetting("lr", this.input("seed-lr").value);
    } catch {
      this.recompute(String(this.k)); // shows the box's error, keeps the run
      return;
    }
    const k = this.k;
    this.changes = [...this.changes.filter((c) => c.step < k), { step: k, lr }];
    if (this.recompute(String(k))) this.record({ changes: formatRateChanges(this.changes), k: String(k) });
  }

  private clearChanges(): void {
    this.stop();
    this.changes = [];
    this.momentumChanges = [];
    this.switches = [];
    this.input("seed-lr").value = this.ctx.get("lr") ?? String(SEED_DEFAULTS.lr);
    this.input("seed-momentum").value = this.ctx.get("momentum") ?? "0";
    this.select().value = startOptimizer(this.ctx);
    if (this.recompute(null)) this.record({ changes: null, hyper: null, switches: null, k: null });
    this.endEdit();
  }

  private togglePlay(): void {
    if (this.timer !== null) {
      this.stop();
      this.ctx.set({ k: String(this.k) }, "replace");
      return;
    }
    if (!this.result) return;
    if (this.k >= this.result.trace.length - 1) this.k = 0;
    this.button("seed-play").textContent = "Pause";
    this.button("seed-play").setAttribute("aria-pressed", "true");
    const tick = () => {
      // The run as it is now: η moved while playing runs the rest again.
      const result = this.result!;
      if (this.k >= result.trace.length - 1) {
        this.stop();
        this.ctx.set({ k: null }, "replace");
        return;
      }
      this.k++;
      this.draw();
      this.timer = window.setTimeout(tick, FRAME_MS);
    };
    this.draw();
    this.timer = window.setTimeout(tick, FRAME_MS);
  }

  private stepOnce(): void {
    this.stop();
    const result = this.result;
    if (!result) return;
    this.k = this.k >= result.trace.length - 1 ? 0 : this.k + 1;
    this.ctx.set({ k: this.k >= result.trace.length - 1 ? null : String(this.k) }, "replace");
    this.draw();
  }

  private reset(): void {
    this.stop();
    if (!this.result) return;
    this.k = 0;
    this.ctx.set({ k: "0" }, "replace");
    this.draw();
  }

  private stop(): void {
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    const play = this.root?.querySelector<HTMLButtonElement>("#seed-play");
    if (play) {
      play.textContent = "Play";
      play.setAttribute("aria-pressed", "false");
    }
  }

  /** The run as `overshoot run --json`/`--csv` write it, and the command that computes it again. */
  private exportRun(): RunExport | null {
    const r = this.result;
    if (!r) return null;
    const { settings } = r;
    const args = ["run", "--f", settings.f.trim(), "--x0", String(settings.x0), "--lr", String(settings.lr)];
    args.push("--steps", String(settings.steps));
    if (r.schedule) args.push("--schedule", r.schedule.text);
    if (this.changes.length > 0) args.push("--lr-changes", formatRateChanges(this.changes));
    const first = settings.optimizer ?? "gd";
    if (first !== "gd") args.push("--optimizer", first);
    else if ((settings.momentum ?? 0) > 0 || this.momentumChanges.length > 0)
      args.push("--momentum", String(settings.momentum ?? 0));
    if (this.momentumChanges.length > 0)
      args.push("--hyper-changes", formatHyperChanges(this.momentumChanges));
    if (this.switches.length > 0)
      args.push(
        "--optimizer-changes",
        formatOptimizerSwitches(
          this.switches.map((w) => ({
            step: w.step,
            optimizer:
              w.to === "gd"
                ? { name: "sgd", momentum: momentumAt(settings, w.step) }
                : ({ name: w.to } as OptimizerOptions),
          })),
        ),
      );
    return {
      name: "seed",
      csv: () => runToCsv(r.objective, r.run),
      json: () => `${JSON.stringify(runToJson(r.objective, r.run), null, 2)}\n`,
      command: commandLine(args),
    };
  }

  // ── Computing and drawing ─────────────────────────────────────────────────────────────────

  /**
   * Validates every box, shows each one's error under it, and when all are good runs gradient
   * descent and draws it. A bad box leaves the last good drawing in place. Returns whether it ran.
   */
  private recompute(kText: string | null): boolean {
    const errors: Partial<Record<keyof SeedSettings, string>> = {};
    let objective = this.objective;
    if (objective === null) {
      try {
        objective = compileSeed(this.input("seed-f").value);
        this.objective = objective;
      } catch (e) {
        errors.f = errorText(e, this.input("seed-f").value);
      }
    }
    const values: Partial<Record<NumberKey, number>> = {};
    for (const key of NUMBER_KEYS) {
      try {
        values[key] = parseNumberSetting(key, this.input(`seed-${key}`).value);
      } catch (e) {
        errors[key] = errorText(e, "");
      }
    }
    try {
      parseScheduleSetting(this.input("seed-schedule").value);
    } catch (e) {
      errors.schedule = errorText(e, "");
    }
    for (const key of ["f", "lr", "x0", "steps", "schedule", "momentum"] as const) {
      this.el(`seed-${key}-error`).textContent = errors[key] ?? "";
      this.input(`seed-${key}`).setAttribute("aria-invalid", String(errors[key] !== undefined));
    }
    if (values.lr !== undefined) this.syncSlider(values.lr);
    if (objective === null || Object.keys(errors).length > 0) return false;

    // With changes the box holds the latest rate; the run starts at the link's own η.
    let start = values.lr!;
    if (this.changes.length > 0) {
      const text = this.ctx.get("lr");
      start = text === null ? SEED_DEFAULTS.lr : Number(text);
      if (!(Number.isFinite(start) && start > 0)) start = values.lr!;
    }
    // Likewise β: the box holds the latest, the run starts at the link's own.
    let beta = values.momentum!;
    if (this.momentumChanges.length > 0) {
      const text = this.ctx.get("momentum");
      beta = text === null ? 0 : Number(text);
      if (!(Number.isFinite(beta) && beta >= 0 && beta < 1)) beta = values.momentum!;
    }
    const settings: SeedSettings = {
      f: this.input("seed-f").value,
      lr: start,
      x0: values.x0!,
      steps: values.steps!,
      schedule: this.input("seed-schedule").value,
      changes: this.changes,
      momentum: beta,
      momentumChanges: this.momentumChanges,
      // With switches the box shows the optimizer in use; the run starts on the link's own.
      optimizer: this.switches.length > 0 ? startOptimizer(this.ctx) : (this.select().value as SeedOptimizer),
      switches: this.switches,
    };
    let result: SeedResult;
    try {
      result = seedRun(objective, settings);
    } catch (e) {
      this.el("seed-x0-error").textContent = errorText(e, "");
      return false;
    }
    this.result = result;
    const last = result.trace.length - 1;
    const k = kText === null ? last : Number(kText);
    this.k = Number.isInteger(k) && k >= 0 && k <= last ? k : last;
    this.draw();
    return true;
  }

  private syncSlider(lr: number): void {
    const slider = this.input("seed-lr-slider");
    const at = Math.min(LOG_MAX, Math.max(LOG_MIN, Math.log10(lr)));
    slider.value = String(at);
    slider.setAttribute("aria-valuetext", `η = ${fmt(lr)}`);
  }

  private draw(): void {
    const result = this.result;
    if (!result) return;
    const { trace, settings, name } = result;
    const k = this.k;
    const shown = trace.slice(0, k + 1);
    const heavy = this.heavy(result);
    const firstName =
      settings.optimizer && settings.optimizer !== "gd" ? `${OPTIMIZER_LABELS[settings.optimizer]}, ` : "";
    const label = `${firstName}η = ${fmt(settings.lr)}${heavy ? `, β = ${fmt(settings.momentum ?? 0)}` : ""}${this.changes.length + this.momentumChanges.length + this.switches.length > 0 ? ", then moved" : ""}${result.rates.length > 1 && result.schedule ? `, schedule ${result.schedule.text}` : ""}`;
    const changes: ChartChange[] = [
      ...this.changes.map((c) => ({ step: c.step, text: `η → ${fmt(c.lr)}` })),
      ...this.momentumChanges.map((c) => ({ step: c.step, text: `β → ${fmt(c.value)}` })),
      ...this.switches.map((w) => ({ step: w.step, text: `→ ${OPTIMIZER_LABELS[w.to]}` })),
    ]
      .filter((c) => c.step <= k)
      .sort((a, b) => a.step - b.step);
    const note = this.el("seed-changes");
    note.hidden = this.changes.length + this.momentumChanges.length + this.switches.length === 0;
    note.querySelector("span")!.textContent = [
      ...(this.changes.length > 0
        ? [
            `η moved while it ran: ${this.changes.map((c) => `at step ${c.step} to ${fmt(c.lr)}`).join(", ")} (the run started at ${fmt(settings.lr)}).`,
          ]
        : []),
      ...(this.momentumChanges.length > 0
        ? [
            `β moved while it ran, the velocity kept: ${this.momentumChanges.map((c) => `at step ${c.step} to ${fmt(c.value)}`).join(", ")} (the run started at ${fmt(settings.momentum ?? 0)}).`,
          ]
        : []),
      ...(this.switches.length > 0
        ? [
            `The optimizer switched while it ran, each fresh from its step: ${this.switches.map((w) => `to ${OPTIMIZER_LABELS[w.to]} at step ${w.step}`).join(", ")} (the run started with ${OPTIMIZER_LABELS[settings.optimizer ?? "gd"]}).`,
          ]
        : []),
    ].join(" ");

    // The verdict is the whole run's; the table and the charts follow the animation.
    const verdict = this.el("seed-verdict");
    verdict.className = `verdict ${result.verdict.status}`;
    verdict.innerHTML = "";
    const strong = document.createElement("strong");
    strong.textContent = result.headline;
    const reason = document.createElement("div");
    reason.className = "reason";
    reason.textContent = result.verdict.reason;
    verdict.append(strong, reason);

    this.drawCritical(result);
    this.el("seed-position").textContent = `step ${k} of ${trace.length - 1}`;
    this.drawTable(result, k);

    if (!this.visible) return;
    const f = (x: number) => result.objective.value(Float64Array.of(x));
    const token = ++this.drawToken;
    const charts: [string, () => Record<string, unknown>][] = [
      [
        "seed-path-chart",
        () =>
          pathChart1d(f, [{ label, trace: shown }], {
            name,
            title: `The path on f(${name}) = ${settings.f}`,
          }),
      ],
      ["seed-loss-chart", () => lossChart([{ label, trace: shown }], { title: "Loss per step", changes })],
      [
        "seed-rate-chart",
        () =>
          limitChart(
            result.rates.slice(0, k + 1).map((r) => ({ step: r.step, value: r.lr, limit: r.limit })),
            {
              title: `The rate η_k against the local limit ${heavy ? "2(1+β_k)" : "2"}/f''(${name}_k)`,
              valueLabel: "η_k",
              limitLabel: `${heavy ? "2(1+β_k)" : "2"}/f''(${name}_k)`,
              yTitle: "rate (log scale)",
              changes,
              interpolate: "step-after",
            },
          ),
      ],
      [
        "seed-delta-chart",
        () =>
          deltaChart(
            { label, trace: shown },
            { title: "Change of the loss per step: actual vs predicted", scale: "symlog" },
          ),
      ],
    ];
    for (const [id, spec] of charts) {
      void drawChart(this.el(id), spec()).catch((e: unknown) => {
        if (token === this.drawToken) this.el(id).dataset["error"] = String(e);
      });
    }
  }

  private drawCritical(result: SeedResult): void {
    const mark = this.el("seed-critical-mark");
    const text = this.el("seed-critical");
    const { critical, curvature, settings, name } = result;
    const first = settings.optimizer ?? "gd";
    if (first !== "gd") {
      mark.hidden = true;
      text.textContent = `${OPTIMIZER_LABELS[first]} divides each step by a running root-mean-square of the gradients: no fixed critical rate follows from f''(${name}₀) = ${fmt(curvature)} alone (2/f'' bounds gradient descent's η).`;
      return;
    }
    if (critical === null) {
      mark.hidden = true;
      text.textContent = `f''(${name}₀) = ${fmt(curvature)} ≤ 0: the curve bends down at the start, so there is no local limit on η there.`;
      return;
    }
    const at = (Math.log10(critical) - LOG_MIN) / (LOG_MAX - LOG_MIN);
    mark.hidden = !(at >= 0 && at <= 1);
    // The thumb's centre travels 8 px in from each end of the track.
    mark.style.left = `calc(8px + (100% - 16px) * ${at.toFixed(4)})`;
    const beta = settings.momentum ?? 0;
    const heavy = this.heavy(result);
    const form = heavy ? "2(1+β)/f''" : "2/f''";
    mark.querySelector("span")!.textContent = `${form} = ${fmt(critical)}`;
    const cmp =
      settings.lr < critical * (1 - 1e-12)
        ? heavy
          ? "below it, so near the start the iterates close in on the minimum (they may swing past it, by less each time)"
          : "below it, so near the start each step shrinks the distance to the minimum"
        : settings.lr > critical * (1 + 1e-12)
          ? heavy
            ? "above it, so the swings about the minimum grow"
            : "above it, so each step overshoots the minimum by more than it started"
          : heavy
            ? "exactly at it, so the swings keep their size"
            : "exactly at it, so each step lands as far on the other side";
    text.textContent = heavy
      ? `Critical step with momentum 2(1+β)/f''(${name}₀) = 2(1 + ${fmt(beta)})/${fmt(curvature)} = ${fmt(critical)} (the heavy ball's iteration on the parabola leaves the unit circle there); η = ${fmt(settings.lr)} is ${cmp}.`
      : `Critical step 2/f''(${name}₀) = 2/${fmt(curvature)} = ${fmt(critical)}; η = ${fmt(settings.lr)} is ${cmp}.`;
  }

  /** The step that led to the point shown (the first step while at the start). */
  private drawTable(result: SeedResult, k: number): void {
    const j = Math.max(0, Math.min(k - 1, result.trace.length - 2));
    const r = result.trace[j]!;
    const x = r.x[0]!;
    const curvature = Number.isFinite(x) ? secondDerivative(result.objective, x) : Number.NaN;
    const g = r.grad[0]!;
    const name = result.name;
    const rows: [string, string][] = [
      [`${name}_${j}`, num(x)],
      [`f(${name}_${j})`, num(r.loss)],
      [`g = f'(${name}_${j})`, num(g)],
      [`f''(${name}_${j})`, num(curvature)],
      ...(optimizerAt(result.settings, j) !== "gd"
        ? ([
            [
              `critical step`,
              `none from f'' (${OPTIMIZER_LABELS[optimizerAt(result.settings, j)]} is adaptive)`,
            ],
            ["actual ΔC = f(next) − f(now)", r.deltaLoss === undefined ? "—" : num(r.deltaLoss)],
            ["1st order gᵀΔx", r.firstOrder === undefined ? "—" : num(r.firstOrder)],
            ["2nd order gᵀΔx + ½ΔxᵀHΔx", r.secondOrder === undefined ? "—" : num(r.secondOrder)],
          ] as [string, string][])
        : this.heavy(result)
          ? ([
              [
                `critical step 2(1+β)/f''(${name}_${j})`,
                curvature > 0
                  ? num(criticalStep(curvature, momentumAt(result.settings, j)))
                  : "no limit (f'' ≤ 0)",
              ],
              ["actual ΔC = f(next) − f(now)", r.deltaLoss === undefined ? "—" : num(r.deltaLoss)],
              // With momentum the step Δx is −η·v, not −η·g: the predictions are along the step taken.
              ["1st order gᵀΔx", r.firstOrder === undefined ? "—" : num(r.firstOrder)],
              ["2nd order gᵀΔx + ½ΔxᵀHΔx", r.secondOrder === undefined ? "—" : num(r.secondOrder)],
            ] as [string, string][])
          : ([
              [
                `critical step 2/f''(${name}_${j})`,
                curvature > 0 ? num(2 / curvature) : "no limit (f'' ≤ 0)",
              ],
              ["actual ΔC = f(next) − f(now)", r.deltaLoss === undefined ? "—" : num(r.deltaLoss)],
              ["1st order −η‖g‖²", r.firstOrder === undefined ? "—" : num(r.firstOrder)],
              ["2nd order −η‖g‖² + η²/2·gᵀHg", r.secondOrder === undefined ? "—" : num(r.secondOrder)],
            ] as [string, string][])),
    ];
    this.el("seed-table-caption").textContent =
      result.trace.length === 1
        ? "No step taken"
        : `Step ${j} → ${j + 1} with ${optimizerAt(result.settings, j) === "gd" ? "" : `${OPTIMIZER_LABELS[optimizerAt(result.settings, j)]}, `}η = ${fmt(result.rates[j]?.lr ?? result.settings.lr)}${this.heavy(result) && optimizerAt(result.settings, j) === "gd" ? `, β = ${fmt(momentumAt(result.settings, j))}` : ""}`;
    const body = this.root.querySelector("#seed-table tbody")!;
    body.innerHTML = "";
    for (const [label, value] of rows) {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = label;
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(th, td);
      body.append(tr);
    }
  }

  /** Whether the run uses momentum at any step (β > 0 at the start or after a change). */
  private heavy(result: SeedResult): boolean {
    return (
      ((result.settings.optimizer ?? "gd") === "gd" && (result.settings.momentum ?? 0) > 0) ||
      this.momentumChanges.some((c) => c.value > 0) ||
      this.switches.some((w) => w.to === "gd" && momentumAt(result.settings, w.step) > 0)
    );
  }

  private select(): HTMLSelectElement {
    return this.el("seed-optimizer") as HTMLSelectElement;
  }

  private el(id: string): HTMLElement {
    return this.root.querySelector<HTMLElement>(`#${id}`)!;
  }

  private input(id: string): HTMLInputElement {
    return this.el(id) as HTMLInputElement;
  }

  private button(id: string): HTMLButtonElement {
    return this.el(id) as HTMLButtonElement;
  }
}

/** Non-finite numbers in words, never "NaN" on its own. */
function num(v: number): string {
  if (Number.isNaN(v)) return "not a number (diverged)";
  if (!Number.isFinite(v)) return v > 0 ? "+∞ (diverged)" : "−∞ (diverged)";
  return fmt(v, 6);
}

/** The message, and for an expression a caret under the position it names. */
function errorText(e: unknown, text: string): string {
  if (e instanceof SettingError && e.position !== null && text !== "") {
    const caret = `${" ".repeat(Math.max(0, e.position - 1))}^`;
    return `${e.message}\n${text}\n${caret}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export const panel: Panel = new SeedPanel();

const OPTIMIZER_LABELS: Readonly<Record<SeedOptimizer, string>> = {
  gd: "gradient descent",
  adam: "Adam",
  rmsprop: "RMSprop",
};

/** The optimizer a link starts its run with (gradient descent when it names none or a bad one). */
function startOptimizer(ctx: PanelContext): SeedOptimizer {
  const o = ctx.get("optimizer");
  return (SEED_OPTIMIZERS as readonly string[]).includes(o ?? "") ? (o as SeedOptimizer) : "gd";
}

/** "40:adam,80:gd" → switches in step order; a hand-edited link with a bad part: none. */
function parseSwitches(text: string): { step: number; to: SeedOptimizer }[] {
  if (text.trim() === "") return [];
  const out = text.split(",").map((part) => {
    const [s, to] = part.split(":");
    return { step: Number(s), to: to as SeedOptimizer };
  });
  const ok = out.every(
    (w, i) =>
      Number.isInteger(w.step) &&
      w.step >= 0 &&
      (SEED_OPTIMIZERS as readonly string[]).includes(w.to) &&
      (i === 0 || w.step > out[i - 1]!.step),
  );
  return ok ? out : [];
}

const formatSwitches = (switches: readonly { step: number; to: SeedOptimizer }[]): string =>
  switches.map((w) => `${w.step}:${w.to}`).join(",");
