import { criticalLearningRate } from "../../../src/analysis/thresholds/critical.js";
import { stabilityAt } from "../../../src/analysis/thresholds/stability.js";
import { type CellResult, parseGrid, type SweepCell } from "../../../src/analysis/thresholds/sweep.js";
import { fmt } from "../../../src/core/format.js";
import type { Objective } from "../../../src/core/objective.js";
import { ExpressionError } from "../../../src/objectives/expression.js";
import { resolveOptimizerConfig } from "../../../src/optim/index.js";
import { lossChart, stabilityMap, sweepChart } from "../../../src/report/charts.js";
import { run } from "../../../src/run/runner.js";
import { drawChart, drawInteractive } from "../chart.js";
import { type GivenCsv, offerTargets, onFileGiven, readCsv } from "../file-input.js";
import type { Panel, PanelContext } from "../panel.js";
import { type StabilitySource, sourceObjective } from "../stability/objective.js";
import { SweepPool } from "../stability/pool.js";

/**
 * Where the learning rate stops working, measured: the loss after N steps against η, and the
 * η × momentum map of outcomes, computed cell by cell in web workers, with the exact thresholds
 * 2/λmax and 2(1+β)/λmax of the quadratic model drawn over them. The pointer on a map cell shows
 * that cell's run.
 */

export const order = 3;

const DEFAULTS = { f: "quadratic", x0: "1,1", lr: "1e-3:1:40", momentum: "0:0.95:20", steps: "500" };
type Key = keyof typeof DEFAULTS;
const KEYS = Object.keys(DEFAULTS) as Key[];

interface Settings {
  readonly source: StabilitySource;
  readonly objective: Objective;
  readonly x0: number[];
  readonly lrs: readonly number[];
  readonly momenta: readonly number[];
  readonly horizon: number;
  readonly lambdaMax: number;
}

class StabilityPanel implements Panel {
  readonly id = "stability";
  readonly title = "Stability: where η stops working";
  private ctx!: PanelContext;
  private root!: HTMLElement;
  private readonly pool = new SweepPool();
  private visible = false;
  private pending = false;
  private job = 0;
  private settings: Settings | null = null;
  private cells: CellResult[] = [];
  private hovered = -1;
  /** The user's CSV, read in the page (not in the link: it never leaves the machine). */
  private data: GivenCsv | null = null;

  /** Reads a picked or dropped CSV; its last column is the target until another is chosen. */
  private async load(f: File): Promise<void> {
    const error = this.el("stability-file-error");
    error.textContent = "";
    try {
      this.data = await readCsv(f);
      offerTargets(this.el("stability-target") as HTMLSelectElement, this.data.columns, null);
    } catch (e) {
      this.data = null;
      error.textContent = (e as Error).message;
    }
    this.showData();
    this.compute();
  }

  /** With a CSV the function and x₀ boxes give way to the model's settings (its start is its initial weights). */
  private showData(): void {
    const on = this.data !== null;
    (this.el("stability-data") as HTMLElement).hidden = !on;
    this.input("f").disabled = on;
    this.input("x0").disabled = on;
    if (on) this.input("x0").value = "the model's initial weights";
    else this.input("x0").value = this.ctx.get("x0") ?? DEFAULTS.x0;
  }

  /** The source the boxes describe: the CSV with its model, or the function. */
  private source(): StabilitySource {
    if (!this.data) return { f: this.input("f").value.trim() };
    const mlp = (this.el("stability-model") as HTMLSelectElement).value === "mlp";
    return {
      data: {
        text: this.data.text,
        name: this.data.name,
        spec: {
          target: (this.el("stability-target") as HTMLSelectElement).value,
          model: mlp ? "mlp" : "linear",
          hidden: mlp ? [16] : [],
          activation: "tanh",
          standardize: (this.el("stability-standardize") as HTMLInputElement).checked,
          seed: 0,
        },
      },
    };
  }

  mount(root: HTMLElement, ctx: PanelContext): void {
    this.ctx = ctx;
    this.root = root;
    root.classList.add("two-columns");
    const input = (key: Key, label: string, mode = "decimal") =>
      `<label>${label} <input id="stability-${key}" type="text" inputmode="${mode}" spellcheck="false" autocomplete="off" aria-describedby="stability-${key}-error" /></label>`;
    const error = (key: Key) => `<div id="stability-${key}-error" class="error" role="alert"></div>`;
    const field = (key: Key, label: string, mode = "decimal") => `${input(key, label, mode)}${error(key)}`;
    root.innerHTML = `
      <div class="controls">
        ${field("f", "function (expression or built-in name)", "text")}
        <div class="row fields more">
          <label for="stability-file">or your data: a CSV (numbers, a header row), or drop one here</label>
          <input id="stability-file" type="file" accept=".csv,text/csv" />
        </div>
        <div id="stability-data" class="row fields more" hidden>
          <label>target column <select id="stability-target"></select></label>
          <label>model <select id="stability-model"><option value="linear">linear</option><option value="mlp">MLP 16 tanh</option></select></label>
          <label class="switch"><input id="stability-standardize" type="checkbox" checked /> standardize</label>
          <button type="button" id="stability-data-clear">Back to the function</button>
        </div>
        <div id="stability-file-error" class="error more" role="alert"></div>
        ${field("lr", "learning rates: start:stop:count (log-spaced)")}
        ${field("momentum", "momenta: start:stop:count (linear)")}
        <div class="row fields">
          ${input("x0", "start x₀ (comma-separated)")}
          ${input("steps", "steps per run", "numeric")}
        </div>
        ${error("x0")}${error("steps")}
        <div class="row">
          <button type="button" id="stability-run">Compute</button>
          <progress id="stability-progress" max="1" value="0" aria-label="cells computed"></progress>
          <span id="stability-status" aria-live="polite"></span>
        </div>
        <p id="stability-threshold" class="note"></p>
        <p id="stability-hover" class="note" aria-live="polite">Point at a cell of the map (or focus it and use the arrow keys) to see its run.</p>
        <div class="chart" id="stability-run-chart"></div>
      </div>
      <div class="charts">
        <div class="chart" id="stability-curve-chart"></div>
        <div class="chart" id="stability-map-chart"></div>
      </div>`;
    for (const key of KEYS) this.input(key).addEventListener("change", () => this.onEdit());
    const map = this.el("stability-map-chart");
    map.tabIndex = 0;
    map.setAttribute(
      "aria-label",
      "stability map: arrow keys choose a cell (η left and right, β up and down)",
    );
    map.addEventListener("keydown", (event) => this.key(event));
    this.el("stability-run").addEventListener("click", () => this.onEdit());
    const file = this.el("stability-file") as HTMLInputElement;
    onFileGiven(root, file, (f) => void this.load(f));
    for (const id of ["stability-target", "stability-model", "stability-standardize"])
      this.el(id).addEventListener("change", () => this.compute());
    this.el("stability-data-clear").addEventListener("click", () => {
      this.data = null;
      file.value = "";
      this.showData();
      this.compute();
    });
    this.restore(ctx);
  }

  restore(ctx: PanelContext): void {
    this.ctx = ctx;
    for (const key of KEYS) this.input(key).value = ctx.get(key) ?? DEFAULTS[key];
    if (this.data) this.showData();
    this.pending = true;
    if (this.visible) this.compute();
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    if (!visible) this.pool.cancel();
    if (visible && this.pending) this.compute();
  }

  private onEdit(): void {
    if (!this.read()) return;
    const values: Record<string, string> = {};
    // With a CSV, x₀ is the model's own start: the link keeps the function's.
    for (const key of KEYS) if (!(this.data && key === "x0")) values[key] = this.input(key).value.trim();
    this.ctx.set(values, "push");
    this.compute();
  }

  /** Checks every box, each error under its own; null when any is bad. */
  private read(): Settings | null {
    const errors = new Map<Key, string>();
    let objective: Objective | null = null;
    let start: Float64Array | null = null;
    const source = this.source();
    const f = this.input("f").value.trim();
    try {
      ({ objective, start } = sourceObjective(source));
    } catch (e) {
      const pos = e instanceof ExpressionError ? e.position : null;
      if ("data" in source) this.el("stability-file-error").textContent = (e as Error).message;
      else
        errors.set(
          "f",
          pos !== null ? `${(e as Error).message}\n${f}\n${" ".repeat(pos - 1)}^` : (e as Error).message,
        );
    }
    if ("data" in source && !objective) return null;
    if ("data" in source) this.el("stability-file-error").textContent = "";
    const x0 = start
      ? Array.from(start)
      : this.input("x0")
          .value.split(",")
          .map((v) => Number(v.trim()));
    if (!start && (!x0.every(Number.isFinite) || this.input("x0").value.trim() === ""))
      errors.set("x0", `x₀ must be finite numbers separated by commas, got '${this.input("x0").value}'`);
    else if (objective && x0.length !== objective.dim)
      errors.set("x0", `x₀ needs ${objective.dim} values (${objective.names.join(", ")}), got ${x0.length}`);
    let lrs: readonly number[] = [];
    let momenta: readonly number[] = [];
    try {
      lrs = parseGrid(this.input("lr").value, "learning rates", "log").values;
    } catch (e) {
      errors.set("lr", (e as Error).message);
    }
    try {
      momenta = parseGrid(this.input("momentum").value, "momenta", "linear").values;
      const bad = momenta.find((m) => !(m >= 0 && m < 1));
      if (bad !== undefined) errors.set("momentum", `momenta must be in [0, 1), got ${bad}`);
    } catch (e) {
      errors.set("momentum", (e as Error).message);
    }
    if (lrs.length * momenta.length > 4000)
      errors.set("lr", `${lrs.length} × ${momenta.length} cells is too many for the page (at most 4000)`);
    const horizon = Number(this.input("steps").value);
    if (!(Number.isInteger(horizon) && horizon >= 1 && horizon <= 100_000))
      errors.set(
        "steps",
        `steps must be a whole number from 1 to 100000, got '${this.input("steps").value}'`,
      );
    for (const key of KEYS) {
      this.el(`stability-${key}-error`).textContent = errors.get(key) ?? "";
      this.input(key).setAttribute("aria-invalid", String(errors.has(key)));
    }
    if (errors.size > 0 || !objective) return null;
    const lambdaMax = stabilityAt(objective, x0, resolveOptimizerConfig({ name: "sgd", lr: 1 }), {
      k: 1,
    }).lambdaMax;
    return { source, objective, x0, lrs, momenta, horizon, lambdaMax };
  }

  private compute(): void {
    this.pending = false;
    const settings = this.read();
    if (!settings) return;
    this.settings = settings;
    const job = ++this.job;
    const grid: SweepCell[] = [];
    for (const momentum of settings.momenta) for (const lr of settings.lrs) grid.push({ lr, momentum });
    // The curve: momentum 0 along the same learning rates, computed first.
    const curve: SweepCell[] = settings.momenta.includes(0)
      ? []
      : settings.lrs.map((lr) => ({ lr, momentum: 0 }));
    const all = [...curve, ...grid];
    const progress = this.el("stability-progress") as HTMLProgressElement;
    progress.max = all.length;
    progress.value = 0;
    this.el("stability-status").textContent = `computing ${all.length} runs in web workers…`;
    const critical = (m: number) =>
      criticalLearningRate(resolveOptimizerConfig({ name: "sgd", lr: 1, momentum: m }), settings.lambdaMax)
        .lr;
    this.el("stability-threshold").textContent =
      settings.lambdaMax > 0
        ? `λmax at x₀ = ${fmt(settings.lambdaMax)}: plain gradient descent is stable up to 2/λmax = ${fmt(critical(0)!)}, heavy ball up to 2(1+β)/λmax (${fmt(critical(0.9)!)} at β = 0.9) — exact for a quadratic, local otherwise.`
        : `λmax at x₀ = ${fmt(settings.lambdaMax)} ≤ 0: no curvature limit at the start.`;
    const started = performance.now();
    this.pool
      .run(settings.source, settings.x0, settings.horizon, all, (_r, done) => {
        if (job !== this.job) return;
        progress.value = done;
        this.el("stability-status").textContent = `${done} of ${all.length} runs`;
      })
      .then(
        (results) => {
          if (job !== this.job) return;
          this.cells = results.slice(curve.length);
          const line = results.filter((c) => (c.momentum ?? 0) === 0);
          this.el("stability-status").textContent =
            `${all.length} runs of ${settings.horizon} steps in ${fmt((performance.now() - started) / 1000, 2)} s`;
          // Drawing the finished map is a separate task, after the computation is over.
          this.root.dataset["computedAt"] = String(performance.now());
          this.root.dataset["computed"] = String(job);
          // The cells in plain text (η, β, outcome), for tests and for anyone who wants the numbers.
          this.el("stability-map-chart").dataset["cells"] = this.cells
            .map((c) => `${c.lr},${c.momentum ?? 0},${c.status}`)
            .join(";");
          setTimeout(() => this.draw(line, critical), 0);
        },
        (e: Error) => {
          if (job === this.job) this.el("stability-status").textContent = `stopped: ${e.message}`;
        },
      );
  }

  private draw(line: readonly CellResult[], critical: (m: number) => number | null): void {
    const s = this.settings!;
    const c0 = critical(0);
    void drawChart(
      this.el("stability-curve-chart"),
      sweepChart(line, c0 !== null ? { lr: c0, label: `2/λmax = ${fmt(c0)}` } : null, {
        title: `Loss after ${s.horizon} steps against η (plain gradient descent)`,
      }),
    );
    const boundary = s.momenta.map((m) => ({ momentum: m, lr: critical(m) ?? Number.NaN }));
    void drawInteractive(
      this.el("stability-map-chart"),
      stabilityMap(this.cells, boundary, {
        boundaryLabel: `2(1+β)/λmax with λmax = ${fmt(s.lambdaMax)} at x₀`,
      }),
      { move: (lr, momentum) => this.hover(lr, momentum) },
    );
  }

  /** The run of the cell nearest the pointer (η on a log scale), drawn small beside the controls. */
  private hover(lr: number, momentum: number): void {
    const s = this.settings;
    if (!s || this.cells.length === 0) return;
    this.show(nearest(s.lrs, lr, true), nearest(s.momenta, momentum, false));
  }

  /** Arrow keys walk the map's cells (η left/right, β up/down), for the keyboard. */
  private key(event: KeyboardEvent): void {
    const s = this.settings;
    if (!s || this.cells.length === 0) return;
    const move: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, 1],
      ArrowDown: [0, -1],
    };
    const d = move[event.key];
    if (!d) return;
    event.preventDefault();
    const n = s.lrs.length;
    const at = this.hovered >= 0 ? this.hovered : 0;
    const i = Math.min(n - 1, Math.max(0, (at % n) + d[0]));
    const j = Math.min(s.momenta.length - 1, Math.max(0, Math.floor(at / n) + d[1]));
    this.show(i, j, this.hovered < 0);
  }

  private show(i: number, j: number, force = false): void {
    const s = this.settings!;
    const index = j * s.lrs.length + i;
    if (index === this.hovered && !force) return;
    this.hovered = index;
    const cell = this.cells[index]!;
    const r = run({
      objective: s.objective,
      optimizer: { name: "sgd", lr: cell.lr, momentum: cell.momentum ?? 0 },
      x0: s.x0,
      steps: Math.min(s.horizon, 300),
    });
    this.el("stability-hover").textContent =
      `η = ${fmt(cell.lr)}, β = ${fmt(cell.momentum ?? 0)}: ${cell.status}${cell.status === "nonfinite" || cell.status === "diverged" ? ` (diverged at step ${cell.steps})` : ""}, final loss ${Number.isFinite(cell.finalLoss) ? fmt(cell.finalLoss) : "not finite"}.`;
    void drawChart(
      this.el("stability-run-chart"),
      lossChart([{ label: `η = ${fmt(cell.lr)}, β = ${fmt(cell.momentum ?? 0)}`, trace: r.trace }], {
        title: "The run under the pointer",
      }),
    );
  }

  private el(id: string): HTMLElement {
    return this.root.querySelector<HTMLElement>(`#${id}`)!;
  }

  private input(key: Key): HTMLInputElement {
    return this.el(`stability-${key}`) as HTMLInputElement;
  }
}

function nearest(values: readonly number[], v: number, log: boolean): number {
  let best = 0;
  const t = (a: number) => (log ? Math.log(a) : a);
  for (let i = 1; i < values.length; i++)
    if (Math.abs(t(values[i]!) - t(v)) < Math.abs(t(values[best]!) - t(v))) best = i;
  return best;
}

export const panel: Panel = new StabilityPanel();
