import { UnitsWatch } from "../../../src/analysis/diagnosis/units.js";
import type { Intervention } from "../../../src/analysis/training/guard.js";
import { trainOutcome } from "../../../src/analysis/training/outcome.js";
import { type TrainRecord, type TrainResult, train } from "../../../src/analysis/training/train.js";
import { fmt } from "../../../src/core/format.js";
import { wasmAvailable } from "../../../src/nn/kernels/index.js";
import {
  ACTIVATIONS,
  type Activation,
  type Loss,
  layerActivations,
  type MlpData,
  type MlpObjective,
} from "../../../src/nn/mlp/mlp.js";
import { SYNTHETIC, type SyntheticName } from "../../../src/objectives/synthetic.js";
import type { OptimizerOptions } from "../../../src/optim/index.js";
import {
  optionalSchedule,
  type RateChange,
  type Schedule,
  type ScheduleSpec,
  scheduleWithChanges,
} from "../../../src/optim/schedule.js";
import { formatOptimizerSwitches } from "../../../src/optim/switches.js";
import {
  type ChartChange,
  decisionChart,
  layerCurvatureChart,
  limitChart,
  lossChart,
  sharpnessChart,
  spectrumChart,
} from "../../../src/report/charts.js";
import { boundText } from "../../../src/run/divergence.js";
import type { StepRecord } from "../../../src/run/types.js";
import { drawChart } from "../chart.js";
import { commandLine, mountExport, type RunExport } from "../export.js";
import { onFileGiven } from "../file-input.js";
import type { CurvatureReply, CurvatureRequest, CurvatureView } from "../network/curvature.worker.js";
import { type NetworkSpec, networkProblem } from "../network/model.js";
import { VIEW_PROBES, VIEW_STEPS } from "../network/view.js";
import type { Panel, PanelContext } from "../panel.js";

/**
 * A small network trained in the page on a 2-D data set with the library's float64 engine: the
 * decision boundary, the loss, and the sharpness λmax (Lanczos on exact HVPs) every few steps
 * against 2/η — at a moderate η with full-batch GD it climbs to 2/η and hovers there (the edge of
 * stability). The guard switch rolls the run back and lowers η when it starts to diverge.
 * Training runs in slices of a few milliseconds per frame, so the page never freezes.
 */

export const order = 4;

const DEFAULTS = {
  data: "spiral",
  n: "400",
  noise: "0.05",
  seed: "0",
  hidden: "16,16",
  activation: "tanh",
  loss: "mse",
  optimizer: "sgd",
  momentum: "0.9",
  lr: "0.2",
  schedule: "constant",
  batch: "",
  every: "20",
  view: "200",
  steps: "4000",
  guard: "off",
};
type Key = keyof typeof DEFAULTS;
const KEYS = Object.keys(DEFAULTS) as Key[];
/** Milliseconds of training per animation frame. */
const SLICE_MS = 12;
/** Charts redraw at most this often while training. */
const DRAW_MS = 300;

interface Setup {
  readonly objective: MlpObjective;
  readonly data: MlpData;
  readonly labels: Int32Array;
  readonly theta0: Float64Array;
  readonly lr: number;
  readonly steps: number;
  readonly batch: number | null;
  readonly every: number;
  readonly guard: boolean;
  readonly optimizer: OptimizerChoice;
  /** The heavy ball's β, for the optimizer "momentum" (PyTorch's SGD momentum). */
  readonly momentum: number;
  readonly seed: number;
  readonly schedule: ScheduleSpec | null;
  readonly spec: NetworkSpec;
  /** The class column of the user's CSV (null for a synthetic set): the problem's. */
  readonly target: string | null;
  /** Steps between curvature views (density and layers, in a worker); 0: none. */
  readonly view: number;
}

type OptimizerChoice = "sgd" | "momentum" | "adam";
const OPTIMIZERS: readonly OptimizerChoice[] = ["sgd", "momentum", "adam"];

/**
 * A change made while the run ran, from its step on: a new base η (the schedule keeps its shape),
 * a new momentum β (the velocity kept, as editing PyTorch's param_groups), or another optimizer,
 * started fresh from the weights where they are (as a new optimizer object in PyTorch would be).
 * Kept in the link as `network.changes=120:0.5,200:momentum=0.5,300:adam`, so a link replays the
 * run with its changes at the same steps.
 */
type Change =
  | { readonly step: number; readonly lr: number }
  | { readonly step: number; readonly momentum: number }
  | { readonly step: number; readonly optimizer: OptimizerChoice };

function parseChanges(text: string): Change[] {
  if (text.trim() === "") return [];
  return text.split(",").map((part) => {
    const [a, b = ""] = part.split(":");
    const step = Number(a);
    if (!(Number.isInteger(step) && step >= 1)) throw new Error(`invalid change '${part}'`);
    if ((OPTIMIZERS as readonly string[]).includes(b)) return { step, optimizer: b as OptimizerChoice };
    if (b.startsWith("momentum=")) {
      const momentum = Number(b.slice("momentum=".length));
      if (!(b.length > 9 && momentum >= 0 && momentum < 1)) throw new Error(`invalid change '${part}'`);
      return { step, momentum };
    }
    const lr = Number(b);
    if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`invalid change '${part}'`);
    return { step, lr };
  });
}

const formatChanges = (changes: readonly Change[]): string =>
  changes
    .map((c) => `${c.step}:${"lr" in c ? c.lr : "momentum" in c ? `momentum=${c.momentum}` : c.optimizer}`)
    .join(",");

class NetworkPanel implements Panel {
  readonly id = "network";
  readonly title = "Network: sharpness vs 2/η";
  private ctx!: PanelContext;
  private root!: HTMLElement;
  private visible = false;
  private setup: Setup | null = null;
  private it: Generator<TrainRecord, TrainResult, undefined> | null = null;
  private records: TrainRecord[] = [];
  private theta: Float64Array | null = null;
  private result: TrainResult | null = null;
  private playing = false;
  private frame = 0;
  private lastDraw = 0;
  private turn = 0;
  /** Changes made while it ran (and replayed from a link), in step order. */
  private changes: Change[] = [];
  /** The curvature view's worker, its job number, the step it was last asked for, and its latest view. */
  private viewer: Worker | null = null;
  private viewJob = 0;
  private viewBusy = false;
  private viewAsked = -1;
  private viewNext: CurvatureRequest | null = null;
  private lastView: CurvatureView | null = null;
  /** The rate of each step: the schedule on the base η, moved by the changes (read live by train). */
  private plan: Schedule = () => Number.NaN;
  /** The user's CSV of points, when the data set is "csv". */
  private csv: { name: string; text: string } | null = null;

  private async loadCsv(f: File): Promise<void> {
    this.csv = { name: f.name, text: await f.text() };
    this.field("data").value = "csv";
    // A CSV's classes train on cross-entropy (see start()).
    this.field("loss").value = "cross-entropy";
    this.onEdit("data");
  }

  mount(root: HTMLElement, ctx: PanelContext): void {
    this.ctx = ctx;
    this.root = root;
    root.classList.add("two-columns");
    const text = (key: Key, label: string, mode = "decimal") =>
      `<label>${label} <input id="network-${key}" type="text" inputmode="${mode}" autocomplete="off" aria-describedby="network-errors" /></label>`;
    const select = (key: Key, label: string, options: readonly string[]) =>
      `<label>${label} <select id="network-${key}">${options.map((o) => `<option>${o}</option>`).join("")}</select></label>`;
    root.innerHTML = `
      <div class="controls">
        <div class="row fields more">
          <label>data set <select id="network-data">${SYNTHETIC.map((o) => `<option>${o}</option>`).join("")}<option value="csv">your CSV (pick or drop)</option></select></label>
          ${text("n", "points", "numeric")}
          ${text("noise", "noise")}
          ${text("seed", "seed", "numeric")}
        </div>
        <div class="row fields more">
          ${text("hidden", "hidden layers", "text")}
          ${select("activation", "activation", ACTIVATIONS)}
          ${select("loss", "loss", ["mse", "cross-entropy"])}
        </div>
        <div class="row fields">
          ${select("optimizer", "optimizer", OPTIMIZERS)}
          ${text("lr", "learning rate η")}
          ${text("momentum", "momentum β (for momentum)")}
          ${text("schedule", "schedule (step:S,G, cosine:T, warmup:W, …)", "text")}
          ${text("batch", "batch (empty: full)", "numeric")}
        </div>
        <div class="row fields more">
          ${text("every", "sharpness every k steps", "numeric")}
          ${text("view", "density and layers every k steps (0: off)", "numeric")}
          ${text("steps", "steps", "numeric")}
          <label class="switch"><input id="network-guard" type="checkbox" /> guard (roll back, lower η)</label>
        </div>
        <div class="row fields more" id="network-csv-row" hidden>
          <label for="network-file">your points: a CSV of two feature columns, then a column of classes 0 and 1 (or drop one on this panel)</label>
          <input id="network-file" type="file" accept=".csv,text/csv" />
        </div>
        <div id="network-errors" class="error" role="alert"></div>
        <div class="row" role="group" aria-label="training">
          <button type="button" id="network-play">Train</button>
          <button type="button" id="network-step">Step</button>
          <button type="button" id="network-reset">Reset</button>
          <span id="network-position"></span>
        </div>
        <div class="row presets" role="group" aria-label="presets">
          <button type="button" data-preset="eos">edge of stability (η = 0.2)</button>
          <button type="button" data-preset="blowup">blow-up (η = 1)</button>
          <button type="button" data-preset="guarded">blow-up with the guard</button>
        </div>
        <div id="network-verdict" class="verdict" aria-live="polite"></div>
        <ul id="network-log" class="log" aria-label="guard interventions"></ul>
        <div id="network-export"></div>
      </div>
      <div class="charts">
        <div class="chart" id="network-boundary-chart"></div>
        <div class="chart" id="network-sharpness-chart"></div>
        <div class="chart" id="network-loss-chart"></div>
        <div class="chart" id="network-spectrum-chart"></div>
        <div class="chart" id="network-layers-chart"></div>
      </div>`;
    for (const key of KEYS) {
      const el = this.root.querySelector<HTMLInputElement | HTMLSelectElement>(`#network-${key}`)!;
      el.addEventListener("change", () => this.onEdit(key));
    }
    this.el("network-play").addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    // Your points: read in the page, kept out of the link (the file stays on this machine).
    const file = this.el("network-file") as HTMLInputElement;
    onFileGiven(root, file, (f) => void this.loadCsv(f));
    mountExport(this.el("network-export"), "network", () => this.exportRun());
    this.el("network-step").addEventListener("click", () => {
      this.pause();
      this.advance(1);
      this.draw(true);
    });
    this.el("network-reset").addEventListener("click", () => {
      this.pause();
      this.start();
    });
    for (const b of root.querySelectorAll<HTMLButtonElement>(".presets button")) {
      b.addEventListener("click", () => {
        const p = b.dataset["preset"];
        this.ctx.set(
          {
            ...Object.fromEntries(KEYS.map((k) => [k, null])),
            lr: p === "eos" ? null : "1",
            guard: p === "guarded" ? "on" : null,
          },
          "push",
        );
        this.restore(this.ctx);
        this.play();
      });
    }
    this.restore(ctx);
    // A run set up before the WebAssembly kernels arrived is set up again on them while the page
    // is idle, not in Train's click: the same numbers (the kernels agree bit for bit), faster.
    window.addEventListener("overshoot-kernels", () => {
      if (!this.playing) this.onWasm();
    });
  }

  restore(ctx: PanelContext): void {
    this.ctx = ctx;
    this.pause();
    for (const key of KEYS) {
      if (key === "guard")
        (this.el("network-guard") as HTMLInputElement).checked = (ctx.get(key) ?? DEFAULTS.guard) === "on";
      else this.field(key).value = ctx.get(key) ?? DEFAULTS[key];
    }
    try {
      this.changes = parseChanges(ctx.get("changes") ?? "");
    } catch {
      this.changes = []; // a hand-edited link with a bad list: the run without changes
    }
    this.start();
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    if (!visible) this.pause();
    else {
      this.draw(true);
      this.drawView();
    }
  }

  private onEdit(key: Key): void {
    // η, the optimizer or the schedule changed part-way through a run: it goes on from here.
    const running = this.records.length > 1 && !this.result;
    if (running && (key === "lr" || key === "optimizer" || key === "schedule" || key === "momentum")) {
      this.changeWhileRunning(key);
      return;
    }
    this.pause();
    this.changes = [];
    if (!this.start()) return;
    const values: Record<string, string | null> = {};
    for (const key of KEYS)
      values[key] =
        key === "guard"
          ? (this.el("network-guard") as HTMLInputElement).checked
            ? "on"
            : "off"
          : this.field(key).value.trim();
    this.ctx.set({ ...values, changes: null }, "push");
  }

  /**
   * A new η takes effect at the next step (the schedule train reads is this panel's plan); another
   * optimizer starts fresh from the current weights at the next step; a new schedule reshapes the
   * rate from here. The weights, the records so far and the charts stay.
   */
  private changeWhileRunning(key: "lr" | "optimizer" | "schedule" | "momentum"): void {
    const s = this.setup!;
    const last = this.records[this.records.length - 1]!;
    const at = last.step + 1;
    const errors: string[] = [];
    let spec = s.schedule;
    if (key === "lr") {
      const lr = Number(this.field("lr").value.trim());
      if (!(Number.isFinite(lr) && lr > 0)) errors.push(`lr: a number > 0, got '${this.field("lr").value}'`);
      else this.changes = [...this.changes.filter((c) => c.step < at || !("lr" in c)), { step: at, lr }];
    } else if (key === "momentum") {
      const momentum = Number(this.field("momentum").value.trim());
      if (!(this.field("momentum").value.trim() !== "" && momentum >= 0 && momentum < 1))
        errors.push(`momentum: a number in [0, 1), got '${this.field("momentum").value}'`);
      else
        this.changes = [
          ...this.changes.filter((c) => c.step < at || !("momentum" in c)),
          { step: at, momentum },
        ].sort((a, b) => a.step - b.step);
    } else if (key === "optimizer") {
      const optimizer = this.field("optimizer").value as OptimizerChoice;
      this.changes = [
        ...this.changes.filter((c) => c.step < last.step || !("optimizer" in c)),
        { step: last.step, optimizer },
      ].sort((a, b) => a.step - b.step);
    } else {
      try {
        spec = optionalSchedule(this.field("schedule").value);
      } catch (e) {
        errors.push(`schedule: ${(e as Error).message}`);
      }
    }
    this.el("network-errors").textContent = errors.join("\n");
    if (errors.length > 0) return;
    this.setup = { ...s, schedule: spec };
    this.replan();
    this.ctx.set(
      {
        changes: formatChanges(this.changes),
        schedule:
          key === "schedule" ? this.field("schedule").value.trim() : (this.ctx.get("schedule") ?? null),
      },
      "push",
    );
    this.draw(true);
  }

  /**
   * The records so far (CSV: one row a step; JSON: the settings, the changes and the records, the
   * weights left out) and the \`overshoot train\` command that trains the same network on the same
   * rows from the same weights (\`--validation 0\`: the page trains on every row).
   */
  private exportRun(): RunExport | null {
    const s = this.setup;
    if (!s) return null;
    const v = (key: Key) => this.field(key).value.trim();
    // The run's first optimizer (the box shows the one in use).
    const first = s.optimizer;
    const args =
      s.spec.data === "csv"
        ? ["train", "--data", s.spec.csv!.name, "--target", s.target!, "--seed", v("seed")]
        : ["train", "--data", v("data"), "--n", v("n"), "--noise", v("noise"), "--seed", v("seed")];
    args.push("--hidden", v("hidden") === "" ? "none" : v("hidden"), "--activation", v("activation"));
    args.push("--loss", v("loss"), "--validation", "0");
    if (first === "adam") args.push("--optimizer", "adam");
    if (first === "momentum") args.push("--momentum", String(s.momentum));
    args.push("--lr", String(s.lr), "--steps", String(s.steps), "--sharpness-every", String(s.every));
    if (s.batch !== null) args.push("--batch-size", String(s.batch));
    if (s.schedule) args.push("--schedule", s.schedule.text);
    const moves = this.changes.flatMap((c) => ("lr" in c ? [`${c.step}:${c.lr}`] : []));
    if (moves.length > 0) args.push("--lr-changes", moves.join(","));
    // β moved while it ran: a change while the heavy ball is in use is its (a switch to it
    // carries the β of its step, so earlier changes need not follow it).
    const betas = this.changes.flatMap((c) =>
      "momentum" in c && this.optimizerAt(c.step) === "momentum" ? [`${c.step}:momentum=${c.momentum}`] : [],
    );
    if (betas.length > 0) args.push("--hyper-changes", betas.join(","));
    // The optimizer switched while it ran: the same switches, each a fresh optimizer at its step.
    const switches = this.changes.flatMap((c) =>
      "optimizer" in c ? [{ step: c.step, optimizer: this.optionsOf(c.optimizer, c.step) }] : [],
    );
    if (switches.length > 0)
      args.push(
        "--optimizer-changes",
        formatOptimizerSwitches(
          // The rate is the one in force (train's plan), not a setting of the switch.
          switches.map(({ step, optimizer: { lr: _lr, ...o } }) => ({
            step,
            optimizer: o as OptimizerOptions,
          })),
        ),
      );
    if (s.guard) args.push("--guard", "--max-retries", "10");
    const records = () =>
      this.records.map((r) => ({
        step: r.step,
        loss: r.loss,
        lr: r.lr ?? s.lr,
        ...(r.sharpness !== undefined ? { sharpness: r.sharpness } : {}),
        gradNorm: r.gradNorm,
        ...(r.trainAccuracy != null ? { trainAccuracy: r.trainAccuracy } : {}),
        ...(r.intervention ? { intervention: r.intervention } : {}),
      }));
    const cell = (x: number | undefined | null) => (x === undefined || x === null ? "" : String(x));
    return {
      name: "network",
      command: commandLine(args),
      csv: () =>
        `step,loss,lr,sharpness,gradNorm,trainAccuracy\n${records()
          .map((r) => [r.step, r.loss, r.lr, r.sharpness, r.gradNorm, r.trainAccuracy].map(cell).join(","))
          .join("\n")}\n`,
      json: () =>
        `${JSON.stringify(
          {
            command: commandLine(args),
            changes: this.changes,
            records: records(),
            ...(this.result
              ? { result: { status: this.result.status, atStep: this.result.atStep ?? null } }
              : {}),
          },
          (_, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x),
          2,
        )}\n`,
    };
  }

  /**
   * Every \`view\` steps, the weights go to the curvature worker, one view at a time: a step reached
   * while it is busy waits, the newest such step replacing an older one, and is sent when the view
   * before it comes back, so the last multiple of k is always shown however fast the run goes.
   */
  private askView(r: TrainRecord): void {
    const s = this.setup;
    if (!s || s.view === 0 || !r.theta || r.intervention) return;
    if (r.step % s.view !== 0 || r.step === this.viewAsked) return;
    if (typeof Worker === "undefined") return;
    this.viewAsked = r.step;
    const request: CurvatureRequest = { job: this.viewJob, step: r.step, spec: s.spec, theta: r.theta };
    if (this.viewBusy) {
      this.viewNext = request;
      return;
    }
    this.viewer ??= this.makeViewer();
    this.viewBusy = true;
    this.viewer.postMessage(request);
  }

  private makeViewer(): Worker {
    const worker = new Worker(new URL("../network/curvature.worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (event: MessageEvent<CurvatureReply>) => {
      const reply = event.data;
      // The worker is free: the step waiting, if any, goes now (a reply of an earlier run too).
      this.viewBusy = false;
      const next = this.viewNext;
      this.viewNext = null;
      if (next && next.job === this.viewJob) {
        this.viewBusy = true;
        worker.postMessage(next);
      }
      if (reply.job !== this.viewJob) return;
      if ("error" in reply) {
        this.el("network-errors").textContent = `curvature view: ${reply.error}`;
        return;
      }
      this.lastView = reply.view;
      this.drawView();
    };
    return worker;
  }

  /** The latest view: the density with 2/η of its step marked, and each layer's λmax and share. */
  private drawView(): void {
    const v = this.lastView;
    const s = this.setup;
    if (!v || !s || !this.visible) return;
    const lr = this.records.find((r) => r.step === v.step)?.lr ?? this.plan(v.step);
    void drawChart(
      this.el("network-spectrum-chart"),
      spectrumChart(
        v.curve,
        {
          lambdaMax: v.lambdaMax,
          lambdaMin: v.lambdaMin,
          // Under Adam the limit bounds the preconditioned Hessian, not this one: no line.
          ...(this.limitAt(v.step, lr) !== null ? { twoOverLr: this.limitAt(v.step, lr)! } : {}),
          limitName: this.optimizerAt(v.step) === "momentum" ? "2(1+β)/η" : "2/η",
        },
        {
          title: `Hessian eigenvalue density at step ${v.step}`,
          subtitle: `${VIEW_PROBES} probes × ${VIEW_STEPS} Lanczos steps, in a worker; every ${s.view} steps`,
        },
      ),
    );
    void drawChart(
      this.el("network-layers-chart"),
      layerCurvatureChart(v.layers, { title: `Which layer limits the rate, at step ${v.step}` }),
    );
  }

  /** The optimizer in use at step k: the run's first, then each switch from its step on. */
  private optimizerAt(k: number): OptimizerChoice {
    let o = this.setup!.optimizer;
    for (const c of this.changes) if ("optimizer" in c && c.step <= k) o = c.optimizer;
    return o;
  }

  /**
   * The sharpness past which step k's update overshoots on a quadratic: 2/η for gradient descent,
   * 2(1 + β)/η for the heavy ball (its iteration's eigenvalues leave the unit circle there). Adam's
   * is a bound on the preconditioned sharpness instead (see `measured`): null here.
   */
  private limitAt(k: number, lr: number): number | null {
    const o = this.optimizerAt(k);
    return o === "adam" ? null : o === "momentum" ? (2 * (1 + this.betaAt(k))) / lr : 2 / lr;
  }

  /**
   * What a curvature record is read against, by the optimizer in use at its step: λmax of H
   * against 2/η or 2(1 + β)/η; under Adam, λmax of the preconditioned Hessian P^{-1/2}HP^{-1/2}
   * (P = diag(√v̂ + ε) at that step) against (2 + 2β₁)/((1 − β₁)·η̂), 38/η once the bias correction
   * has faded (Cohen et al. 2022, "Adaptive gradient methods at the edge of stability"; the train
   * record carries both, from analysis/curvature/preconditioned.ts).
   */
  private measured(r: TrainRecord): { value: number; limit: number; name: string } {
    const lr = r.lr ?? this.setup!.lr;
    if (this.optimizerAt(r.step) === "adam") {
      // Between measurements the bound from its formula: t Adam steps taken by this record, β₁ = 0.9.
      let since = 0;
      for (const c of this.changes) if ("optimizer" in c && c.step <= r.step) since = c.step;
      const t = r.step - since;
      const formula = t > 0 ? (2 + 2 * 0.9) / ((1 - 0.9) * (lr / (1 - 0.9 ** t))) : Number.NaN;
      return {
        value: r.preconditionedSharpness ?? Number.NaN,
        limit: r.bound ?? formula,
        name: "Adam's 38/η̂",
      };
    }
    const heavy = this.optimizerAt(r.step) === "momentum";
    return {
      value: r.sharpness ?? Number.NaN,
      limit: this.limitAt(r.step, lr)!,
      name: heavy ? "2(1+β)/η" : "2/η",
    };
  }

  /** The heavy ball's β at step k: the latest β change at or before it, else the run's own. */
  private betaAt(k: number): number {
    let beta = this.setup!.momentum;
    for (const c of this.changes) if ("momentum" in c && c.step <= k) beta = c.momentum;
    return beta;
  }

  /** The plan train reads every step: the schedule on the run's base η, moved by the η changes. */
  private replan(): void {
    const s = this.setup!;
    const moves: RateChange[] = this.changes.flatMap((c) => ("lr" in c ? [{ step: c.step, lr: c.lr }] : []));
    this.plan = scheduleWithChanges(s.schedule, s.lr, moves);
  }

  /** The optimizer a choice stands for, as `train` takes it (the heavy ball with β at step k). */
  private optionsOf(optimizer: OptimizerChoice, k: number): OptimizerOptions {
    const s = this.setup!;
    return optimizer === "adam"
      ? { name: "adam", lr: s.lr }
      : { name: "sgd", lr: s.lr, ...(optimizer === "momentum" ? { momentum: this.betaAt(k) } : {}) };
  }

  /**
   * The library's training run from `theta0`. A switch made while it runs is read at every step
   * (train's switchAt: a fresh optimizer over the weights where they are, the sampler going on),
   * as `train --optimizer-changes` makes it; β moves through train's hyper hook while the heavy
   * ball is in use.
   */
  private trainer(s: Setup, optimizer: OptimizerChoice): Generator<TrainRecord, TrainResult, undefined> {
    return train({
      objective: s.objective,
      train: s.data,
      validation: null,
      theta0: s.theta0,
      optimizer: this.optionsOf(optimizer, 0),
      // Read at every step, so a change made while it runs takes effect at the next one.
      schedule: (k) => this.plan(k),
      hyper: (k: number) => (this.optimizerAt(k) === "momentum" ? { momentum: this.betaAt(k) } : {}),
      switchAt: (k: number) => {
        const c = this.changes.find((c) => "optimizer" in c && c.step === k);
        return c && "optimizer" in c ? this.optionsOf(c.optimizer, k) : undefined;
      },
      steps: s.steps,
      batchSize: s.batch,
      seed: s.seed,
      logEvery: 1,
      sharpnessEvery: s.every,
      sharpnessK: 1,
      includeWeights: true,
      ...(s.guard ? { guard: { keepEvery: 10, maxRetries: 10 } } : {}),
    });
  }

  /** Reads the settings, builds the data and the network, and sets up a fresh run. False on bad input (shown). */
  private start(): boolean {
    const errors: string[] = [];
    const num = (key: Key, ok: (v: number) => boolean, what: string): number => {
      const t = this.field(key).value.trim();
      const v = Number(t);
      if (t === "" || !ok(v)) errors.push(`${key}: ${what}, got '${t}'`);
      return v;
    };
    const int = (lo: number, hi: number) => (v: number) => Number.isInteger(v) && v >= lo && v <= hi;
    const n = num("n", int(4, 5000), "a whole number of points from 4 to 5000");
    const noise = num("noise", (v) => v >= 0 && v <= 10, "a number from 0 to 10");
    const seed = num("seed", int(0, 1e9), "a whole number ≥ 0");
    const lr = num("lr", (v) => v > 0 && Number.isFinite(v), "a number > 0");
    const momentum = num("momentum", (v) => v >= 0 && v < 1, "a number in [0, 1)");
    const every = num("every", int(1, 10000), "a whole number ≥ 1");
    const view = num("view", int(0, 100000), "a whole number of steps (0: off)");
    const steps = num("steps", int(1, 100000), "a whole number from 1 to 100000");
    const batchText = this.field("batch").value.trim();
    const batch = batchText === "" ? null : Number(batchText);
    if (batch !== null && !(Number.isInteger(batch) && batch >= 1 && batch <= n))
      errors.push(
        `batch: a whole number from 1 to the ${n} points, or empty for the full batch, got '${batchText}'`,
      );
    let schedule: ScheduleSpec | null = null;
    try {
      schedule = optionalSchedule(this.field("schedule").value);
    } catch (e) {
      errors.push(`schedule: ${(e as Error).message}`);
    }
    const hiddenText = this.field("hidden").value.trim();
    const hidden = hiddenText === "" ? [] : hiddenText.split(",").map((h) => Number(h.trim()));
    if (hidden.some((h) => !Number.isInteger(h) || h < 1 || h > 256))
      errors.push(
        `hidden layers: widths from 1 to 256 separated by commas (e.g. 16,16), got '${hiddenText}'`,
      );
    this.el("network-errors").textContent = errors.join("\n");
    if (errors.length > 0) return false;

    const data = this.field("data").value as SyntheticName | "csv";
    (this.el("network-csv-row") as HTMLElement).hidden = data !== "csv";
    // A CSV brings its own points: the synthetic set's count and noise do not apply.
    for (const key of ["n", "noise"] as const)
      (this.field(key) as HTMLInputElement).disabled = data === "csv";
    if (data === "csv" && this.field("loss").value === "mse") {
      // `overshoot train --data FILE --loss mse` fits a column as a number (one output), not as
      // one-hot classes as the page's synthetic sets are: the page would train another network.
      this.el("network-errors").textContent =
        "loss: your CSV's classes train with cross-entropy here (overshoot train --data FILE --loss mse fits the class column as a number)";
      return false;
    }
    if (data === "csv" && !this.csv) {
      this.el("network-errors").textContent =
        "data: pick or drop a CSV of points (two feature columns, then a column of classes 0 and 1); a link does not carry the file, which stays on the machine it was picked on";
      return false;
    }
    const spec: NetworkSpec = {
      data,
      ...(data === "csv" ? { csv: this.csv! } : {}),
      n,
      noise,
      seed,
      hidden,
      activation: this.field("activation").value as Activation,
      loss: this.field("loss").value as Loss,
    };
    let problem: ReturnType<typeof networkProblem>;
    try {
      problem = networkProblem(spec);
    } catch (e) {
      this.el("network-errors").textContent = `data: ${(e as Error).message}`;
      return false;
    }
    if (batch !== null && batch > problem.data.rows) {
      this.el("network-errors").textContent =
        `batch: a whole number from 1 to the ${problem.data.rows} points, or empty for the full batch, got '${batchText}'`;
      return false;
    }
    this.setup = {
      ...problem,
      spec,
      view,
      lr,
      steps,
      batch,
      every,
      guard: (this.el("network-guard") as HTMLInputElement).checked,
      optimizer: this.field("optimizer").value as OptimizerChoice,
      momentum,
      seed,
      schedule,
    };
    const s = this.setup;
    // With switches made while it ran, the run starts on the link's optimizer (a switch never
    // writes it), and the select shows the one in use.
    const linked = this.ctx.get("optimizer") as OptimizerChoice | null;
    const startWith =
      this.changes.some((c) => "optimizer" in c) && linked && OPTIMIZERS.includes(linked)
        ? linked
        : s.optimizer;
    this.field("optimizer").value = startWith;
    this.setup = { ...s, optimizer: startWith };
    this.replan();
    this.it = this.trainer(this.setup, startWith);
    this.records = [];
    this.result = null;
    // A new run: a view of the old one still being computed is dropped when it arrives.
    this.viewJob++;
    this.viewAsked = -1;
    this.viewNext = null;
    this.lastView = null;
    this.el("network-spectrum-chart").replaceChildren();
    this.el("network-layers-chart").replaceChildren();
    this.theta = s.theta0;
    this.el("network-log").replaceChildren();
    this.advance(1);
    this.draw(true);
    // Once more when the page is idle: the charts' first redraws of new data run cold (vega's
    // update paths not yet compiled by the JIT) and would otherwise make Train's first frame long.
    setTimeout(() => this.draw(true), 0);
    return true;
  }

  /** A run not yet started and set up on the JS kernels is set up again once wasm is there. */
  private onWasm(): void {
    if (this.setup?.objective.kernels === "js" && this.records.length <= 1 && wasmAvailable()) this.start();
  }

  private play(): void {
    // Should Train come before "overshoot-kernels" was heard: set up on the kernels now.
    this.onWasm();
    if (!this.it || this.result) return;
    this.playing = true;
    this.el("network-play").textContent = "Pause";
    const tick = () => {
      if (!this.playing) return;
      const end = performance.now() + SLICE_MS;
      while (performance.now() < end && this.advance(1)) {}
      this.draw(false);
      if (this.result) this.pause();
      else this.frame = requestAnimationFrame(tick);
    };
    this.frame = requestAnimationFrame(tick);
  }

  private pause(): void {
    this.playing = false;
    cancelAnimationFrame(this.frame);
    const b = this.root?.querySelector("#network-play");
    if (b) b.textContent = "Train";
    if (this.setup) this.draw(true);
  }

  /** Pulls records from the training generator; false once it has finished. */
  private advance(count: number): boolean {
    if (!this.it || this.result) return false;
    for (let i = 0; i < count; i++) {
      const last = this.records[this.records.length - 1];
      // The box shows the optimizer in use as a replayed link passes its switches (written only
      // when it differs: this runs every step).
      const inUse = last ? this.optimizerAt(last.step) : null;
      if (inUse && this.field("optimizer").value !== inUse) this.field("optimizer").value = inUse;
      const r = this.it.next();
      if (r.done) {
        this.result = r.value;
        return false;
      }
      this.records.push(r.value);
      if (r.value.theta) this.theta = r.value.theta;
      this.askView(r.value);
      if (r.value.intervention) this.logIntervention(r.value.intervention);
    }
    return true;
  }

  private logIntervention(i: Intervention): void {
    const li = document.createElement("li");
    li.textContent = `step ${i.atStep}: ${i.reason} — rolled back to step ${i.rolledBackTo}, η ${fmt(i.oldLr)} → ${fmt(i.newLr)} (${i.how})`;
    this.el("network-log").append(li);
  }

  private draw(force: boolean): void {
    const s = this.setup;
    if (!s || !this.visible) return;
    const now = performance.now();
    const last = this.records[this.records.length - 1];
    const step = last?.step ?? 0;
    const kernels = s.objective.kernels === "wasm" ? "WebAssembly SIMD" : "JS";
    this.el("network-position").textContent = `step ${step} of ${s.steps} · float64 on ${kernels} kernels`;
    const verdict = this.el("network-verdict");
    const diverged = this.result?.status === "nonfinite" || this.result?.status === "diverged";
    verdict.className = `verdict ${diverged ? "nonfinite" : ""}`;
    // The latest curvature reading the optimizer of its step has (Adam's first one comes after a step).
    const sharp = [...this.records]
      .reverse()
      .find((r) => r.sharpness !== undefined && Number.isFinite(this.measured(r).value));
    const lrNow = last?.lr ?? s.lr;
    const reading = sharp ? this.measured(sharp) : null;
    const sharpText = reading
      ? `${this.optimizerAt(sharp!.step) === "adam" ? "preconditioned λmax" : "λmax"} ${fmt(reading.value)} against ${reading.name} = ${fmt(reading.limit)}`
      : "";
    verdict.textContent = diverged
      ? `Diverged at step ${this.result!.atStep}: ${this.result!.status === "nonfinite" ? "the loss left the floating-point range" : `the loss passed the blow-up bound ${boundText(this.result!.bound)}`}${reading ? ` (last ${sharpText})` : ""}.`
      : this.records.length <= 1 && !this.playing && !this.result
        ? `Ready: press Train for ${s.steps} steps at η = ${fmt(s.lr)}${last ? ` (loss at the start ${fmt(last.loss)})` : ""}.`
        : `${this.result ? outcomeWords(this.records, this.result, s) : `${this.playing ? "Training" : "Paused"}: loss ${last ? fmt(last.loss) : "—"}`}${reading ? `; ${sharpText}` : ""}${this.records.some((r) => r.intervention) ? `; the guard rolled back ${this.records.filter((r) => r.intervention).length}×` : ""}.`;
    // While training, one chart per redraw (each costs tens of milliseconds to build), in turn,
    // so no single frame does all three; a forced draw (pause, step, the end) does all of them.
    if (!force && now - this.lastDraw < DRAW_MS / 3) return;
    this.lastDraw = now;
    // The heavy ball's limit is 2(1+β)/η, not the 2/η the plain chart draws.
    const momentum = s.optimizer === "momentum" || this.changes.some((c) => "optimizer" in c);
    const adam =
      s.optimizer === "adam" || this.changes.some((c) => "optimizer" in c && c.optimizer === "adam");
    const planned = s.schedule !== null || this.changes.length > 0 || momentum || adam;
    // The changes the run has reached, marked on the charts.
    const changes: ChartChange[] = this.changes
      .filter((c) => c.step <= step)
      .map((c) => ({
        step: c.step,
        text:
          "lr" in c ? `η → ${fmt(c.lr)}` : "momentum" in c ? `β → ${fmt(c.momentum)}` : `→ ${c.optimizer}`,
      }));
    const charts = [
      // 576 cells and 400 points, recoloured at every redraw: one canvas, not a thousand SVG nodes.
      () => drawChart(this.el("network-boundary-chart"), this.boundary(s), "canvas"),
      () =>
        drawChart(
          this.el("network-sharpness-chart"),
          // A rate that moves (a schedule, a change while it ran): λmax against 2/η_k, step by step.
          planned
            ? limitChart(
                thin(this.records.filter((r) => !r.intervention)).map((r) => ({
                  step: r.step,
                  ...this.measured(r),
                })),
                {
                  title:
                    momentum || adam
                      ? "Sharpness against its optimizer's limit at each step"
                      : "Sharpness λmax against 2/η_k",
                  valueLabel: adam ? (momentum ? "λmax (of P⁻¹H under Adam)" : "λmax of P⁻¹H") : "λmax",
                  limitLabel: limitLabel(momentum, adam),
                  yTitle: "sharpness λmax (log scale)",
                  changes,
                  interpolate: "step-after",
                },
              )
            : sharpnessChart(sharpnessRuns(this.records, s.lr), { title: "Sharpness λmax against 2/η" }),
        ),
      () => {
        const trace = thin(this.records.filter((r) => !r.intervention)).map(asStepRecord);
        return drawChart(
          this.el("network-loss-chart"),
          // After a guard's rollback the rate is capped: the legend says so, not just the rate asked for.
          lossChart(
            [
              {
                label:
                  this.records.some((r) => r.intervention) && lrNow < this.plan(step)
                    ? `η = ${fmt(s.lr)}, capped at ${fmt(lrNow)} by the guard`
                    : `η = ${fmt(s.lr)}${s.schedule ? `, schedule ${s.schedule.text}` : ""}${this.changes.length > 0 ? ", then changed" : ""}`,
                trace,
                ...(this.result?.status === "diverged" ? { bound: this.result.bound.value } : {}),
              },
            ],
            {
              title: "Loss per step (full training set)",
              changes,
            },
          ),
        );
      },
    ];
    if (force) for (const draw of charts) void draw();
    else void charts[this.turn++ % charts.length]!();
  }

  /** The network's P(class 1) on a 24 × 24 grid over the data. */
  private boundary(s: Setup): Record<string, unknown> {
    const theta = this.theta ?? s.theta0;
    const { x, rows } = s.data;
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let r = 0; r < rows; r++) {
      x0 = Math.min(x0, x[2 * r]!);
      x1 = Math.max(x1, x[2 * r]!);
      y0 = Math.min(y0, x[2 * r + 1]!);
      y1 = Math.max(y1, x[2 * r + 1]!);
    }
    const pad = 0.1 * Math.max(x1 - x0, y1 - y0);
    [x0, x1, y0, y1] = [x0 - pad, x1 + pad, y0 - pad, y1 + pad];
    const g = 24;
    const grid = new Float64Array(g * g * 2);
    for (let i = 0; i < g; i++)
      for (let j = 0; j < g; j++) {
        grid[2 * (i * g + j)] = x0 + ((i + 0.5) * (x1 - x0)) / g;
        grid[2 * (i * g + j) + 1] = y0 + ((j + 0.5) * (y1 - y0)) / g;
      }
    const out = new Float64Array(g * g * 2);
    s.objective.outputs(theta, grid, g * g, out);
    const mse = s.objective.spec.loss === "mse";
    const cells = [];
    for (let i = 0; i < g; i++)
      for (let j = 0; j < g; j++) {
        const k = i * g + j;
        const [a, b] = [out[2 * k]!, out[2 * k + 1]!];
        // Cross-entropy: softmax probability; squared error on one-hot targets: the outputs themselves.
        const p = mse ? Math.min(1, Math.max(0, (1 + b - a) / 2)) : 1 / (1 + Math.exp(a - b));
        cells.push({
          x: x0 + (i * (x1 - x0)) / g,
          x2: x0 + ((i + 1.01) * (x1 - x0)) / g,
          y: y0 + (j * (y1 - y0)) / g,
          y2: y0 + ((j + 1.01) * (y1 - y0)) / g,
          p,
        });
      }
    const points = Array.from({ length: rows }, (_, r) => ({
      x: x[2 * r]!,
      y: x[2 * r + 1]!,
      label: s.labels[r]!,
    }));
    return decisionChart(cells, points, {
      title: "Decision boundary",
      scoreTitle: mse ? "(1 + out₁ − out₀)/2" : "P(class 1)",
    });
  }

  private el(id: string): HTMLElement {
    return this.root.querySelector<HTMLElement>(`#${id}`)!;
  }

  private field(key: Key): HTMLInputElement | HTMLSelectElement {
    return this.el(`network-${key}`) as HTMLInputElement | HTMLSelectElement;
  }
}

/** At most ~600 points of a long run for the chart (every record while short; the last always). */
function thin(records: readonly TrainRecord[]): TrainRecord[] {
  const k = Math.max(1, Math.ceil(records.length / 600));
  return records.filter((_, i) => i % k === 0 || i === records.length - 1);
}

function asStepRecord(r: TrainRecord): StepRecord {
  return {
    step: r.step,
    x: new Float64Array(0),
    loss: r.loss,
    grad: new Float64Array(0),
    gradNorm: r.gradNorm,
  };
}

/** Sharpness measurements grouped by the η they were taken at (the guard lowers it). */
function sharpnessRuns(records: readonly TrainRecord[], lr0: number) {
  const runs = new Map<number, { step: number; sharpness: number }[]>();
  for (const r of records) {
    if (r.sharpness === undefined) continue;
    const lr = r.lr ?? lr0;
    if (!runs.has(lr)) runs.set(lr, []);
    runs.get(lr)!.push({ step: r.step, sharpness: r.sharpness });
  }
  if (runs.size === 0) runs.set(lr0, []);
  return [...runs.entries()].map(([lr, points]) => ({ label: `η = ${fmt(lr)}`, lr, points }));
}

export const panel: Panel = new NetworkPanel();

/**
 * The finished run as the library's training verdicts name it: trained (the loss ended below its
 * start), a catapult (it rose above its start first), or failed (it did not end below its start).
 */
function outcomeWords(records: readonly TrainRecord[], result: TrainResult, s: Setup): string {
  // The path the run kept: a rollback discards what came after the state it went back to.
  const kept: TrainRecord[] = [];
  for (const r of records) {
    if (r.intervention) {
      const back = r.intervention.rolledBackTo;
      while (kept.length > 0 && kept[kept.length - 1]!.step >= back) kept.pop();
    } else kept.push(r);
  }
  const first = kept[0];
  const last = kept[kept.length - 1];
  if (!first || !last) return "Finished";
  // The CLI's verdict (analysis/training/outcome.ts): against the start, the trivial baseline and
  // the blow-up bound, with dead or saturated units named.
  const units = new UnitsWatch();
  for (const r of kept) if (r.inactive) units.observe(r.step, r.inactive);
  const startLoss = first.trainLoss ?? first.loss;
  const endLoss = last.trainLoss ?? last.loss;
  const outcome = trainOutcome({
    result,
    startLoss,
    endLoss,
    lossName: "loss",
    accuracy: last.trainAccuracy != null ? `accuracy ${fmt(100 * last.trainAccuracy)}%` : "",
    trainAccuracy: last.trainAccuracy ?? null,
    baseline: s.objective.baseline ?? null,
    units: units.finding({ kinds: layerActivations(s.objective.spec), lr: s.lr }),
    lr: s.lr,
  });
  const peak = kept.reduce((a, b) => (b.loss > a.loss ? b : a));
  const catapult =
    outcome.status === "trained" && peak.loss > first.loss
      ? ` after a catapult: the loss rose to ${fmt(peak.loss)} at step ${peak.step}, above its start ${fmt(first.loss)}, then fell`
      : "";
  // Every verdict line starts with its status in a word (the units' reasons start with a figure).
  const word =
    outcome.status === "dead-units"
      ? "Dead units: "
      : outcome.status === "saturated-units"
        ? "Saturated units: "
        : "";
  const text = `${outcome.reason}${catapult}`;
  return `${word}${word ? text : `${text.charAt(0).toUpperCase()}${text.slice(1)}`}`;
}

/** The limit line's name for the optimizers a run used. */
function limitLabel(momentum: boolean, adam: boolean): string {
  if (!momentum && !adam) return "2/η_k";
  if (!momentum) return "Adam's (2+2β₁)/((1−β₁)η̂_k)";
  // Short enough for a phone's legend: the title says it is each step's own optimizer's.
  return adam ? "2/η, 2(1+β)/η or Adam's 38/η̂" : "2/η_k (SGD), 2(1+β_k)/η_k (momentum)";
}
