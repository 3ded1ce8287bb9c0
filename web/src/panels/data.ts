import { TRAINS_WELL_FACTOR } from "../../../src/analysis/thresholds/training-search.js";
import { fmt, plural } from "../../../src/core/format.js";
import { ACTIVATIONS, type Activation } from "../../../src/nn/mlp/mlp.js";
import { layerCurvatureChart, spectrumChart, sweepChart } from "../../../src/report/charts.js";
import { drawChart } from "../chart.js";
import type { CatapultFound, CatapultReply, CatapultRequest } from "../data/catapult.worker.js";
import type { Measured, MeasureReply, MeasureRequest } from "../data/measure.worker.js";
import type { DataSpec } from "../data/model.js";
import { commandLine, mountExport, type RunExport } from "../export.js";
import { type GivenCsv, offerTargets, onFileGiven, readCsv } from "../file-input.js";
import { VIEW_PROBES, VIEW_STEPS } from "../network/view.js";
import type { Panel, PanelContext } from "../panel.js";

/**
 * Your data: a CSV picked or dropped on the page (read there, never sent anywhere), a target
 * column, a linear model or an MLP; a web worker measures the curvature at the start — λmax, so
 * the largest stable rate 2/λmax, λmin, the eigenvalue density and each layer's block — with the
 * library code the CLI runs, and the page says where a learning rate stands against it. The file
 * itself is not in the link (it never leaves the machine); the settings are.
 */

export const order = 5;

// A page's search is shorter than the CLI's (2,000 steps, tolerance 1e-3): a few dozen runs in a
// worker while the learner waits; the command shown runs the same search.
const DEFAULTS = {
  model: "mlp",
  loss: "auto",
  hidden: "16",
  activation: "tanh",
  standardize: "on",
  seed: "0",
  lr: "",
  steps: "500",
  tolerance: "0.01",
};

class DataPanel implements Panel {
  readonly id = "data";
  readonly title = "Your data: its curvature";
  private ctx!: PanelContext;
  private root!: HTMLElement;
  private visible = false;
  private file: GivenCsv | null = null;
  private worker: Worker | null = null;
  private job = 0;
  private measured: { spec: DataSpec; lr: number | null; result: Measured } | null = null;
  /** The user's ONNX model, read in the page like the CSV. */
  private onnx: { name: string; bytes: Uint8Array } | null = null;
  private searchWorker: Worker | null = null;
  private searchJob = 0;
  private window: { spec: DataSpec; steps: number; tolerance: number; found: CatapultFound } | null = null;

  mount(root: HTMLElement, ctx: PanelContext): void {
    this.ctx = ctx;
    this.root = root;
    root.classList.add("two-columns");
    root.innerHTML = `
      <div class="controls">
        <label for="data-file">a CSV with a header row (numbers only), or drop one on this panel</label>
        <input id="data-file" type="file" accept=".csv,text/csv" />
        <div id="data-file-error" class="error" role="alert"></div>
        <div class="row fields">
          <label>target column <select id="data-target"></select></label>
          <label>model <select id="data-model"><option value="mlp">MLP</option><option value="linear">linear</option><option value="onnx">your ONNX model</option></select></label>
        </div>
        <div class="field" id="data-onnx-row" hidden>
          <label for="data-onnx">the model's ONNX file, its weights the start: an MLP, a CNN, BatchNorm, residual blocks, LayerNorm, attention (a CSV row is its input, flattened)</label>
          <input id="data-onnx" type="file" accept=".onnx" />
        </div>
        <div class="field" id="data-loss-row" hidden>
          <label>loss <select id="data-loss"><option value="auto">as the model says</option><option value="mse">squared error (a number)</option><option value="cross-entropy">cross-entropy (a class 0, 1, …)</option></select></label>
          <p class="note">"As the model says": a final Softmax or Sigmoid is cross-entropy or bce on the logits before it; otherwise cross-entropy for several outputs, squared error for one.</p>
        </div>
        <div class="row fields">
          <label>hidden layers <input id="data-hidden" type="text" autocomplete="off" /></label>
          <label>activation <select id="data-activation">${ACTIVATIONS.map((a) => `<option>${a}</option>`).join("")}</select></label>
          <label>seed <input id="data-seed" type="text" inputmode="numeric" autocomplete="off" /></label>
        </div>
        <div class="row fields">
          <label>your learning rate η (optional) <input id="data-lr" type="text" inputmode="decimal" autocomplete="off" /></label>
          <label class="switch"><input id="data-standardize" type="checkbox" /> standardize the features</label>
        </div>
        <div class="row">
          <button type="button" id="data-measure">Measure</button>
          <span id="data-status" aria-live="polite"></span>
        </div>
        <div id="data-verdict" class="verdict" aria-live="polite"></div>
        <div class="row fields">
          <label>steps per run <input id="data-steps" type="text" inputmode="numeric" autocomplete="off" /></label>
          <label>bisection tolerance <input id="data-tolerance" type="text" inputmode="decimal" autocomplete="off" /></label>
        </div>
        <div class="row">
          <button type="button" id="data-window-find">Find η_max and the catapult window</button>
          <span id="data-window-status" aria-live="polite"></span>
        </div>
        <div id="data-window" class="verdict" aria-live="polite"></div>
        <div id="data-export"></div>
      </div>
      <div class="charts">
        <div class="chart" id="data-spectrum-chart"></div>
        <div class="chart" id="data-layers-chart"></div>
        <div class="chart" id="data-window-chart"></div>
      </div>`;
    const file = this.el("data-file") as HTMLInputElement;
    onFileGiven(root, file, (f) => void this.load(f));
    this.el("data-measure").addEventListener("click", () => this.measure());
    const onnx = this.el("data-onnx") as HTMLInputElement;
    onnx.addEventListener("change", async () => {
      const f = onnx.files?.[0];
      this.onnx = f ? { name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) } : null;
    });
    this.el("data-model").addEventListener("change", () => this.showModel());
    this.el("data-window-find").addEventListener("click", () => this.findWindow());
    for (const id of [
      "data-model",
      "data-loss",
      "data-hidden",
      "data-activation",
      "data-seed",
      "data-lr",
      "data-standardize",
      "data-target",
      "data-steps",
      "data-tolerance",
    ])
      this.el(id).addEventListener("change", () => this.record());
    mountExport(this.el("data-export"), "data", () => this.exportRun());
    this.restore(ctx);
  }

  restore(ctx: PanelContext): void {
    this.ctx = ctx;
    const get = (key: keyof typeof DEFAULTS) => ctx.get(key) ?? DEFAULTS[key];
    (this.el("data-model") as HTMLSelectElement).value = get("model");
    (this.el("data-loss") as HTMLSelectElement).value = get("loss");
    this.showModel();
    this.input("data-hidden").value = get("hidden");
    (this.el("data-activation") as HTMLSelectElement).value = get("activation");
    this.input("data-seed").value = get("seed");
    this.input("data-lr").value = get("lr");
    this.input("data-standardize").checked = get("standardize") === "on";
    this.input("data-steps").value = get("steps");
    this.input("data-tolerance").value = get("tolerance");
    const target = ctx.get("target");
    if (target && this.file?.columns.includes(target))
      (this.el("data-target") as HTMLSelectElement).value = target;
  }

  /** The ONNX file's box with that model; the hidden layers, activation and seed's boxes stay (the seed orders the rows). */
  private showModel(): void {
    const onnx = (this.el("data-model") as HTMLSelectElement).value === "onnx";
    (this.el("data-onnx-row") as HTMLElement).hidden = !onnx;
    (this.el("data-loss-row") as HTMLElement).hidden = !onnx;
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible) this.draw();
  }

  private record(): void {
    this.ctx.set(
      {
        target: (this.el("data-target") as HTMLSelectElement).value || null,
        model: (this.el("data-model") as HTMLSelectElement).value,
        loss: (this.el("data-loss") as HTMLSelectElement).value,
        hidden: this.input("data-hidden").value.trim(),
        activation: (this.el("data-activation") as HTMLSelectElement).value,
        seed: this.input("data-seed").value.trim(),
        lr: this.input("data-lr").value.trim() || null,
        standardize: this.input("data-standardize").checked ? "on" : "off",
        steps: this.input("data-steps").value.trim(),
        tolerance: this.input("data-tolerance").value.trim(),
      },
      "push",
    );
  }

  /** Reads the file in the page and offers its columns as targets (the link's, or the last column). */
  private async load(f: File): Promise<void> {
    const error = this.el("data-file-error");
    error.textContent = "";
    try {
      const csv = await readCsv(f);
      this.file = csv;
      offerTargets(this.el("data-target") as HTMLSelectElement, csv.columns, this.ctx.get("target"));
      this.el("data-status").textContent =
        `${f.name}: ${plural(csv.rows, "row")}, ${csv.columns.length} columns`;
    } catch (e) {
      this.file = null;
      error.textContent = (e as Error).message;
    }
  }

  /** The settings as typed, or an error naming the box. */
  private spec(): { spec: DataSpec; lr: number | null } | string {
    const hiddenText = this.input("data-hidden").value.trim();
    const hidden =
      hiddenText === "" || hiddenText === "none" ? [] : hiddenText.split(",").map((h) => Number(h.trim()));
    if (hidden.some((h) => !Number.isInteger(h) || h < 1 || h > 256))
      return `hidden layers: widths from 1 to 256 separated by commas (e.g. 16,16), got '${hiddenText}'`;
    const seed = Number(this.input("data-seed").value.trim());
    if (!(Number.isInteger(seed) && seed >= 0))
      return `seed: a whole number ≥ 0, got '${this.input("data-seed").value}'`;
    const lrText = this.input("data-lr").value.trim();
    const lr = lrText === "" ? null : Number(lrText);
    if (lr !== null && !(Number.isFinite(lr) && lr > 0)) return `η: a number > 0, or empty, got '${lrText}'`;
    const model = (this.el("data-model") as HTMLSelectElement).value as DataSpec["model"];
    if (model === "onnx" && !this.onnx) return "choose the model's ONNX file";
    return {
      spec: {
        target: (this.el("data-target") as HTMLSelectElement).value,
        model,
        ...(model === "onnx" && this.onnx
          ? { onnx: this.onnx, loss: (this.el("data-loss") as HTMLSelectElement).value as DataSpec["loss"] }
          : {}),
        hidden,
        activation: (this.el("data-activation") as HTMLSelectElement).value as Activation,
        standardize: this.input("data-standardize").checked,
        seed,
      },
      lr,
    };
  }

  private measure(): void {
    const status = this.el("data-status");
    if (!this.file) {
      status.textContent = "pick or drop a CSV first";
      return;
    }
    const read = this.spec();
    if (typeof read === "string") {
      status.textContent = read;
      return;
    }
    this.record();
    // A new measurement replaces one under way.
    this.worker?.terminate();
    const worker = new Worker(new URL("../data/measure.worker.ts", import.meta.url), { type: "module" });
    this.worker = worker;
    const job = ++this.job;
    status.textContent = "measuring in a web worker …";
    worker.onmessage = (event: MessageEvent<MeasureReply>) => {
      const reply = event.data;
      if (reply.job !== this.job) return;
      worker.terminate();
      this.worker = null;
      if ("error" in reply) {
        // No stale answer beside the error.
        status.textContent = "";
        this.el("data-file-error").textContent = reply.error;
        this.measured = null;
        this.el("data-verdict").textContent = "";
        this.el("data-spectrum-chart").replaceChildren();
        this.el("data-layers-chart").replaceChildren();
        return;
      }
      this.el("data-file-error").textContent = "";
      status.textContent = `${this.file!.name}: ${reply.measured.describe}, ${reply.measured.loss}, measured at the start (${plural(reply.measured.parameters, "parameter")})`;
      this.measured = { ...read, result: reply.measured };
      this.draw();
    };
    worker.postMessage({
      job,
      text: this.file.text,
      name: this.file.name,
      spec: read.spec,
    } satisfies MeasureRequest);
  }

  /** The search settings as typed, or an error naming the box. */
  private searchSettings(): { steps: number; tolerance: number } | string {
    const stepsText = this.input("data-steps").value.trim();
    const steps = Number(stepsText);
    if (!(Number.isInteger(steps) && steps >= 10 && steps <= 100_000))
      return `steps per run: a whole number from 10 to 100000, got '${stepsText}'`;
    const tolText = this.input("data-tolerance").value.trim();
    const tolerance = Number(tolText);
    if (!(tolerance >= 1e-6 && tolerance < 1))
      return `bisection tolerance: a number from 1e-6 to below 1, got '${tolText}'`;
    return { steps, tolerance };
  }

  private findWindow(): void {
    const status = this.el("data-window-status");
    if (!this.file) {
      status.textContent = "pick or drop a CSV first";
      return;
    }
    const read = this.spec();
    const settings = this.searchSettings();
    if (typeof read === "string" || typeof settings === "string") {
      status.textContent = typeof read === "string" ? read : (settings as string);
      return;
    }
    this.record();
    this.searchWorker?.terminate();
    const worker = new Worker(new URL("../data/catapult.worker.ts", import.meta.url), { type: "module" });
    this.searchWorker = worker;
    const job = ++this.searchJob;
    const started = performance.now();
    status.textContent = "searching in a web worker …";
    worker.onmessage = (event: MessageEvent<CatapultReply>) => {
      const reply = event.data;
      if (reply.job !== this.searchJob) return;
      if ("runs" in reply) {
        status.textContent = `searching in a web worker: ${plural(reply.runs, "run")} so far …`;
        return;
      }
      worker.terminate();
      this.searchWorker = null;
      if ("error" in reply) {
        status.textContent = "";
        this.el("data-file-error").textContent = reply.error;
        this.window = null;
        this.drawWindow();
        return;
      }
      status.textContent = `${plural(reply.found.runs.length, "run")} of ${settings.steps.toLocaleString("en-US")} steps in ${((performance.now() - started) / 1000).toFixed(1)} s`;
      this.window = { spec: read.spec, ...settings, found: reply.found };
      this.drawWindow();
    };
    worker.postMessage({
      job,
      text: this.file.text,
      name: this.file.name,
      spec: read.spec,
      ...settings,
    } satisfies CatapultRequest);
  }

  /** The search's boundaries in words, each with its bracket, and its runs on a chart. */
  private drawWindow(): void {
    const out = this.el("data-window");
    const w = this.window;
    if (!w) {
      out.replaceChildren();
      this.el("data-window-chart").replaceChildren();
      return;
    }
    const r = w.found;
    const crit = r.atStart?.critical.lr ?? null;
    const times = (lr: number) => (crit !== null ? ` (${fmt(lr / crit, 3)} × 2/λ0)` : "");
    const bracket = (b: { below: number; above: number }) =>
      Number.isFinite(b.above) ? ` [${fmt(b.below, 5)} … ${fmt(b.above, 5)}]` : "";
    const rows: [string, string][] = [
      ["2/λ0, the curvature's limit at the start", crit === null ? "not measured" : fmt(crit, 5)],
      [
        "largest rate that trains",
        r.trains === null
          ? "none"
          : `${fmt(r.trains.estimate, 5)}${bracket(r.trains)}${times(r.trains.estimate)}`,
      ],
      [
        "largest rate that trains well",
        r.trainsWell === null || r.best === null
          ? "none"
          : `${fmt(r.trainsWell.estimate, 5)}${times(r.trainsWell.estimate)}, final within ×${TRAINS_WELL_FACTOR} of the best ${fmt(r.best.finalLoss)}`,
      ],
      ...(r.constantHessian
        ? []
        : ([
            [
              "catapult window",
              r.catapult === null
                ? "no run above 2/λ0 rose above its start and trained"
                : `${fmt(r.catapult.from, 4)} … ${fmt(r.catapult.to, 4)}: rose above the start and trained; highest peak ×${fmt(r.catapult.peak.loss / r.startLoss, 3)} the start at η = ${fmt(r.catapult.peak.lr, 4)}`,
            ],
          ] as [string, string][])),
      [
        "η_max, the smallest rate that diverges",
        r.etaMax === null
          ? `none up to ${fmt(r.largestTried)}`
          : r.etaMax.below === 0
            ? `< ${fmt(r.etaMax.above)}`
            : `${fmt(r.etaMax.estimate, 5)}${bracket(r.etaMax)}${times(r.etaMax.estimate)}`,
      ],
    ];
    const table = document.createElement("dl");
    for (const [k, v] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      table.append(dt, dd);
    }
    const words = document.createElement("p");
    words.textContent = r.explanation;
    out.replaceChildren(table, words);
    out.dataset["etaMax"] = r.etaMax ? String(r.etaMax.estimate) : "";
    out.dataset["trains"] = r.trains ? String(r.trains.estimate) : "";
    void drawChart(
      this.el("data-window-chart"),
      sweepChart(r.runs, crit !== null ? { lr: crit, label: "2/λ0" } : null, {
        title: `Final loss of each run of the search, ${w.steps.toLocaleString("en-US")} steps`,
      }),
    );
  }

  private draw(): void {
    const m = this.measured;
    if (!m || !this.visible) return;
    const r = m.result;
    const limit = r.lambdaMax > 0 ? 2 / r.lambdaMax : null;
    const verdict = this.el("data-verdict");
    verdict.dataset["lambdaMax"] = String(r.lambdaMax);
    const where =
      m.lr === null || limit === null
        ? ""
        : m.lr < limit
          ? ` Your η = ${fmt(m.lr)} is below it (${fmt(m.lr / limit)}×).`
          : ` Your η = ${fmt(m.lr)} is above it (${fmt(m.lr / limit)}×): ${r.constantHessian ? "every run diverges" : "at the start each step overshoots along the top eigenvector; a network's curvature can fall while the loss rises (a catapult) and train, up to a larger η_max that `overshoot critical-lr` measures"}.`;
    verdict.textContent =
      limit === null
        ? `λmax = ${fmt(r.lambdaMax)} ≤ 0 at the start: no local limit on η there.`
        : `At the start λmax = ${fmt(r.lambdaMax)} (λmin = ${fmt(r.lambdaMin)}): plain gradient descent is stable below 2/λmax = ${fmt(limit)}${r.constantHessian ? ", everywhere: this model's Hessian is the same at every point, so 2/λmax is the exact limit" : " near the start; a network's curvature changes as it trains"}.${where}`;
    void drawChart(
      this.el("data-spectrum-chart"),
      spectrumChart(
        r.curve,
        { lambdaMax: r.lambdaMax, lambdaMin: r.lambdaMin, ...(m.lr !== null ? { twoOverLr: 2 / m.lr } : {}) },
        {
          title: `Hessian eigenvalue density at the start, ${this.file?.name ?? "your data"}`,
          subtitle: `${VIEW_PROBES} probes × ${VIEW_STEPS} Lanczos steps, in a worker; ${plural(r.rows, "row")}`,
        },
      ),
    );
    if (r.layers.length > 0)
      void drawChart(
        this.el("data-layers-chart"),
        layerCurvatureChart(r.layers, { title: "Which layer limits the rate" }),
      );
    else this.el("data-layers-chart").replaceChildren();
  }

  /** The CLI commands that measure the same: spectrum, and critical-lr for the catapult window. */
  private exportRun(): RunExport | null {
    const m = this.measured;
    if (!m || !this.file) return null;
    const s = m.spec;
    const base =
      s.model === "onnx"
        ? ["--model-onnx", s.onnx!.name, "--data", this.file.name, "--target", s.target]
        : ["--data", this.file.name, "--target", s.target];
    if (s.model === "mlp")
      base.push("--model", "mlp", "--hidden", s.hidden.length ? s.hidden.join(",") : "none");
    if (s.model === "mlp") base.push("--activation", s.activation);
    // The loss as measured; none for a model whose final Softmax or Sigmoid implies it.
    if (s.model !== "linear" && !m.result.impliedLoss) base.push("--loss", m.result.loss);
    if (s.model !== "linear") base.push("--seed", String(s.seed));
    if (s.standardize) base.push("--standardize");
    if (s.model !== "linear") base.push("--validation", "0");
    const spectrum = commandLine(["spectrum", ...base, ...(m.lr !== null ? ["--lr", String(m.lr)] : [])]);
    const w = this.window;
    const critical = commandLine([
      "critical-lr",
      ...base,
      ...(w ? ["--steps", String(w.steps), "--tolerance", String(w.tolerance), "--workers", "1"] : []),
    ]);
    const r = m.result;
    return {
      name: "data",
      command: `${spectrum}\n${critical}`,
      note: `Run them where the CSV${s.model === "onnx" ? " and the ONNX file are" : " is"}: the page read ${s.model === "onnx" ? "them" : "it"} in place and sent ${s.model === "onnx" ? "them" : "it"} nowhere.`,
      csv: () => `eigenvalue,density\n${r.curve.x.map((x, i) => `${x},${r.curve.density[i]}`).join("\n")}\n`,
      json: () =>
        `${JSON.stringify({ file: this.file?.name, spec: { ...s, onnx: s.onnx?.name }, lr: m.lr, ...r, ...(w ? { search: { steps: w.steps, tolerance: w.tolerance, ...w.found } } : {}) }, null, 2)}\n`,
    };
  }

  private el(id: string): HTMLElement {
    return this.root.querySelector<HTMLElement>(`#${id}`)!;
  }

  private input(id: string): HTMLInputElement {
    return this.el(id) as HTMLInputElement;
  }
}

export const panel: Panel = new DataPanel();
