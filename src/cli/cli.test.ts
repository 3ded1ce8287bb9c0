import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../../test/cli-harness.js";
import { stabilityAt } from "../analysis/thresholds/stability.js";
import { detectInTrace } from "../analysis/training/detector.js";
import { symmetricEigen } from "../core/eigen.js";
import { fmt } from "../core/format.js";
import { createRng } from "../core/rng.js";
import { compileExpression } from "../objectives/expression.js";
import { heavyRowsRegression } from "../objectives/synthetic.js";
import { resolveOptimizerConfig } from "../optim/index.js";
import { runToCsv, runToJson } from "../report/json.js";
import { run } from "../run/runner.js";
import { parseFlags } from "./args.js";
import { loadCars } from "./datasets.js";
import { OBJECTIVE_FLAGS } from "./flag-tables.js";
import { networkFromFlags } from "./network.js";

const tmp = mkdtempSync(join(tmpdir(), "overshoot-cli-"));

describe("bad input: one line on stderr, exit code 2, nothing written", () => {
  it.each([
    [
      "syntax error in --f shows where",
      ["run", "--f", "(1-x)^2 + )", "--x0", "1", "--lr", "0.1"],
      /invalid --f: .*position \d+/,
    ],
    ["unknown function", ["run", "--f", "foo(x)", "--x0", "1", "--lr", "0.1"], /invalid --f: .*foo/],
    [
      "unknown variable in --vars order",
      ["run", "--f", "x+y", "--vars", "x", "--x0", "1", "--lr", "0.1"],
      /invalid --f: .*y/,
    ],
    [
      "--x0 of the wrong length",
      ["run", "--f", "x^2", "--x0", "1,2", "--lr", "0.1"],
      /invalid --x0: 2 values for 1 variable/,
    ],
    [
      "--x0 not finite",
      ["run", "--f", "x^2", "--x0", "NaN", "--lr", "0.1"],
      /invalid --x0: x = NaN is not finite/,
    ],
    [
      "--x0 infinite",
      ["run", "--f", "x^2", "--x0", "inf", "--lr", "0.1"],
      /invalid --x0: x = Infinity is not finite/,
    ],
    [
      "a start outside the domain: sqrt at −1",
      ["run", "--f", "sqrt(x)", "--x0", "-1", "--lr", "0.1"],
      /invalid --x0: f is NaN at x = -1 \(outside the function's domain.*start where f is finite/,
    ],
    [
      "a start outside the domain: log at 0",
      ["run", "--f", "log(x)", "--x0", "0", "--lr", "0.1"],
      /invalid --x0: f is -Infinity at x = 0/,
    ],
    [
      "a start past the float64 range: x^1e308 at 2",
      ["stability", "--f", "x^1e308", "--at", "2"],
      /invalid --at: f is Infinity at x = 2/,
    ],
    [
      "a start where the gradient is infinite: sqrt at 0",
      ["sweep", "--f", "sqrt(x)+y^2", "--x0", "0,1", "--lr", "0.1:1:3"],
      /invalid --x0: ∂f\/∂x is Infinity at x = 0, y = 1: start where the gradient is finite/,
    ],
    [
      "--x0 not a number",
      ["run", "--f", "x^2", "--x0", "abc", "--lr", "0.1"],
      /invalid --x0: 'abc' is not a number/,
    ],
    ["--lr zero", ["run", "--f", "x^2", "--x0", "1", "--lr", "0"], /invalid --lr: 0 \(a finite number > 0\)/],
    ["--lr negative", ["run", "--f", "x^2", "--x0", "1", "--lr", "-0.1"], /invalid --lr: -0.1/],
    [
      "--lr not a number",
      ["run", "--f", "x^2", "--x0", "1", "--lr", "fast"],
      /invalid --lr: 'fast' is not a number/,
    ],
    ["--lr missing for sgd", ["run", "--f", "x^2", "--x0", "1"], /missing --lr/],
    [
      "a hexadecimal start (Number() would start from 16)",
      ["run", "--f", "x^2", "--x0=0x10", "--lr", "0.1"],
      /invalid --x0: '0x10' is a hexadecimal numeral, not read: write it in decimal/,
    ],
    [
      "a binary rate",
      ["run", "--f", "x^2", "--x0", "1", "--lr=0b1"],
      /invalid --lr: '0b1' is a binary numeral, not read: write it in decimal/,
    ],
    [
      "an empty item in a start point",
      ["run", "--f", "x^2+y^2", "--x0=1,,2", "--lr", "0.1"],
      /invalid --x0: an empty item in '1,,2'/,
    ],
    [
      "an empty item in a sweep's list (it was momentum 0)",
      ["sweep", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--momentum=0.5,,0.9"],
      /invalid --momentum: an empty item in '0\.5,,0\.9'/,
    ],

    [
      "unknown flag suggests the nearest",
      ["run", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--momentun", "0.9"],
      /unknown option for 'run': --momentun .*did you mean --momentum\?/,
    ],
    [
      "unknown optimizer lists the valid ones",
      ["run", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--optimizer", "adamm"],
      /unknown optimizer: adamm \(valid: sgd, adam, adamw, rmsprop, adagrad\); did you mean adam/,
    ],
    ["unknown command", ["rn"], /unknown command: rn .*did you mean run\?/],
    ["a command's words in another order", ["lr-find"], /unknown command: lr-find .*did you mean find-lr\?/],
    [
      "option of another optimizer",
      ["run", "--f", "x^2", "--x0", "1", "--optimizer", "adam", "--momentum", "0.9"],
      /momentum/,
    ],
    [
      "--plot folder missing",
      ["run", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--plot", join(tmp, "nope", "a.svg")],
      /cannot write --plot .*does not exist/,
    ],
    [
      "--plot wrong extension",
      ["run", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--plot", join(tmp, "a.gif")],
      /invalid --plot: .*\.svg or \.png/,
    ],
    [
      "--csv is a folder",
      ["run", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--csv", tmp],
      /cannot write --csv .*is a folder/,
    ],
    [
      "misspelt built-in",
      ["run", "--f", "rosenbrok", "--x0", "1,1", "--lr", "0.1"],
      /unknown objective: rosenbrok .*did you mean rosenbrock\?/,
    ],
    [
      "quadratic without a matrix",
      ["run", "--f", "quadratic", "--x0", "1,1", "--lr", "0.1"],
      /invalid quadratic: needs --matrix/,
    ],
    ["missing value", ["run", "--f", "x^2", "--x0"], /missing value for --x0/],
    ["a flag where the expression should be", ["run", "--f", "--x0", "1"], /missing value for --f/],
    [
      "a guarded run too long to hold in memory",
      ["run", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--guard", "--steps", "1e8"],
      /--guard keeps the whole trace in memory: at most 1,000,000 steps \(got 100,000,000\); without --guard/,
    ],
    [
      "train --json with more records than it keeps",
      ["train", "--data", "xor", "--lr", "0.1", "--steps", "2000000", "--log-every", "1", "--json"],
      /^overshoot: --json holds every record: about 2,000,001 at --log-every 1, past the 1,000,000 it keeps; raise --log-every \(--log streams any number\)\n$/,
    ],
    [
      "a guard setting without --guard",
      ["run", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--max-retries", "2"],
      /^overshoot: --max-retries sets the guard: add --guard\n$/,
    ],
    [
      "a network's data set without --model mlp",
      ["find-lr", "--data", "iris"],
      /--data iris is a data set for a network: add --model mlp/,
    ],
    [
      "a stray argument",
      ["sweep", "x^2", "--lr", "0.1:1:3"],
      /^overshoot: unexpected argument 'x\^2' \(options start with --; see overshoot sweep --help\)\n$/,
    ],
  ])("%s", async (_name, args, message) => {
    const before = readdirSync(tmp).sort();
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(message);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
    expect(readdirSync(tmp).sort()).toEqual(before);
  });
});

describe("output paths are checked before any work", () => {
  const dir = mkdtempSync(join(tmpdir(), "overshoot-out-"));
  const quick = ["--f", "x^2", "--x0", "1", "--lr", "0.1", "--steps", "3"];
  const net = ["--data", "iris", "--hidden", "4", "--lr", "0.1", "--steps", "3"];
  const writers: [string, string[], string][] = [
    ["run --csv", ["run", ...quick], "--csv"],
    ["run --plot", ["run", ...quick], "--plot"],
    ["sweep --csv", ["sweep", "--f", "x^2", "--x0", "1", "--lr", "0.1:1:3"], "--csv"],
    ["find-lr --plot", ["find-lr", "--data", "iris", "--model", "mlp", "--hidden", "4"], "--plot"],
    ["train --log", ["train", ...net], "--log"],
    ["train --save-weights", ["train", ...net], "--save-weights"],
    ["train --checkpoint", ["train", ...net], "--checkpoint"],
    ["train --report", ["train", ...net], "--report"],
  ];
  const extension = (flag: string) =>
    ({ "--plot": "svg", "--report": "html", "--log": "jsonl", "--csv": "csv" })[flag] ?? "json";

  it.each(writers)(
    "%s on a filesystem that makes no files (/proc): one line, exit 2, nothing run",
    async (_n, args, flag) => {
      const r = await cli([...args, flag, `/proc/overshoot-test.${extension(flag)}`]);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toMatch(
        new RegExp(
          `^overshoot: cannot write ${flag} /proc/overshoot-test\\.\\w+: this filesystem makes no files there \\(ENOENT\\) in /proc\n$`,
        ),
      );
    },
  );

  it.each(writers)("%s over a read-only file: refused, the file untouched", async (_n, args, flag) => {
    const path = join(dir, `ro-${flag.slice(2)}.${extension(flag)}`);
    writeFileSync(path, "mine\n");
    chmodSync(path, 0o444);
    const r = await cli([...args, flag, path]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/the file is read-only \(mode 444\): make it writable or pick another name/);
    expect(readFileSync(path, "utf8")).toBe("mine\n");
    expect(statSync(path).mode & 0o777).toBe(0o444);
  });

  it("demo --out over a read-only chart of an earlier demo: refused before the run, the file untouched", async () => {
    const out = join(dir, "demo-out");
    mkdirSync(out);
    writeFileSync(join(out, "loss.png"), "mine");
    chmodSync(join(out, "loss.png"), 0o444);
    const r = await cli(["demo", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/cannot write --out .*loss\.png: the file is read-only \(mode 444\)/);
    expect(readdirSync(out)).toEqual(["loss.png"]);
  });

  it("a device is not a file to replace", async () => {
    const r = await cli(["run", ...quick, "--csv", "/dev/null"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot write --csv \/dev\/null: it is not a regular file/);
  });

  it("a replaced file keeps its mode; a killed writer's temporary file is cleaned up", async () => {
    const path = join(dir, "kept.csv");
    writeFileSync(path, "old\n");
    chmodSync(path, 0o600);
    // A temporary file as a writer killed with kill -9 leaves it: its process is gone.
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    const stale = join(dir, `.kept.csv.${dead}.0badc0de.tmp`);
    writeFileSync(stale, "half");
    const r = await cli(["run", ...quick, "--csv", path]);
    expect(r.code).toBe(0);
    expect(readFileSync(path, "utf8")).toMatch(/^step,/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).filter((f) => f.startsWith(".kept.csv."))).toEqual([]);
  });
});

describe("overshoot run", () => {
  it("takes an expression that starts with a minus sign as --f's value (no option has one dash)", async () => {
    const r = await cli(["run", "--f", "-x^2 + x^4", "--x0", "-1", "--lr", "0.1", "--steps", "3"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("f(x) = -x^2 + x^4");
  });

  it("prints a table and the verdict", async () => {
    const r = await cli(["run", "--f", "x^2", "--x0", "-1", "--lr", "1.125", "--steps", "20"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("verdict: diverging at step 1");
    expect(r.out).toContain(
      "|1 − η·λ| = |1 − 1.125·2| = 1.25 > 1 (λ = 2 is the curvature f'' everywhere: f is quadratic)",
    );
    expect(r.out).toMatch(/ΔC actual/);
  });

  it("streams --json and --csv as the run goes, byte for byte what the whole trace gives", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-stream-"));
    const args = ["--f", "(1-x)^2 + 100*(y-x^2)^2", "--x0", "-1.2,1", "--optimizer", "adam", "--lr", "0.05"];
    const r = await cli(["run", ...args, "--steps", "300", "--json", "--csv", join(dir, "t.csv")]);
    expect(r.code).toBe(0);
    const f = compileExpression("(1-x)^2 + 100*(y-x^2)^2");
    const whole = run({ objective: f, optimizer: { name: "adam", lr: 0.05 }, x0: [-1.2, 1], steps: 300 });
    const detection = detectInTrace(whole.trace, whole.optimizer);
    expect(r.out).toBe(`${JSON.stringify({ ...runToJson(f, whole), detection }, null, 2)}\n`);
    expect(readFileSync(join(dir, "t.csv"), "utf8")).toBe(runToCsv(f, whole));
    expect(readdirSync(dir)).toEqual(["t.csv"]);
  });

  it("--json has the documented layout, with non-finite numbers as strings", async () => {
    const r = await cli(["run", "--f", "x^2", "--x0", "-1", "--lr", "10", "--steps", "500", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j)).toEqual([
      "version",
      "objective",
      "optimizer",
      "x0",
      "steps",
      "tolerance",
      "trace",
      "verdict",
      "bound",
      "detection",
    ]);
    // B = 10⁶ × |f(x₀)| = 10⁶: a function has no baseline.
    expect(j.bound).toEqual({ factor: 1e6, startLoss: 1, baseline: null, value: 1e6 });
    // lr 10 on x²: the detector fires within a few steps, long before the first non-finite value (step 121).
    expect(j.detection.state).toBe("diverging");
    expect(j.detection.firstWarningStep).toBeLessThan(10);
    expect(j.objective).toEqual({ expression: "x^2", dim: 1, names: ["x"] });
    expect(j.optimizer).toEqual({
      name: "sgd",
      lr: 10,
      momentum: 0,
      dampening: 0,
      nesterov: false,
      weightDecay: 0,
    });
    expect(j.trace[0]).toEqual({
      step: 0,
      x: [-1],
      loss: 1,
      grad: [-2],
      gradNorm: 2,
      deltaLoss: 360,
      firstOrder: -40,
      secondOrder: 360,
    });
    const last = j.trace[j.trace.length - 1];
    expect(last.loss).toBe("Infinity");
    expect(j.verdict.status).toBe("nonfinite");
    expect(j.verdict.atStep).toBe(last.step);
  });

  it("every optimizer's hyper-parameters appear with PyTorch's defaults", async () => {
    const r = await cli([
      "run",
      "--f",
      "rosenbrock",
      "--x0",
      "-1.2,1",
      "--optimizer",
      "adamw",
      "--steps",
      "3",
      "--json",
    ]);
    expect(JSON.parse(r.out).optimizer).toEqual({
      name: "adamw",
      lr: 0.001,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0.01,
      amsgrad: false,
    });
  });

  it("--csv and --plot write files atomically (no temporary files left)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-out-"));
    const r = await cli([
      "run",
      "--f",
      "rosenbrock",
      "--x0",
      "-1.2,1",
      "--lr",
      "1e-3",
      "--steps",
      "30",
      "--csv",
      join(dir, "t.csv"),
      "--plot",
      join(dir, "p.svg"),
    ]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(["p.svg", "t.csv"]);
    const csv = readFileSync(join(dir, "t.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("step,x,y,loss,grad_x,grad_y,gradNorm,deltaLoss,firstOrder,secondOrder");
    expect(csv).toHaveLength(32);
    expect(readFileSync(join(dir, "p.svg"), "utf8")).toMatch(/^<svg/);
  });

  it("quadratic from a matrix file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-m-"));
    writeFileSync(join(dir, "A.csv"), "# A\n2, 0\n0, 50\n");
    const r = await cli([
      "run",
      "--f",
      "quadratic",
      "--matrix",
      join(dir, "A.csv"),
      "--x0",
      "1,1",
      "--lr",
      "0.041",
      "--steps",
      "50",
      "--json",
    ]);
    // 2/λmax = 2/50 = 0.04 < 0.041: diverges along the second axis.
    expect(JSON.parse(r.out).verdict.status).toBe("diverging");
    writeFileSync(join(dir, "B.csv"), "1,2\n3,4\n");
    const bad = await cli([
      "run",
      "--f",
      "quadratic",
      "--matrix",
      join(dir, "B.csv"),
      "--x0",
      "1,1",
      "--lr",
      "0.1",
    ]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/invalid --matrix: not symmetric/);
  });
});

describe("help", () => {
  it.each([[["--help"]], [["help", "run"]], [["run", "--help"]], [["demo", "--help"]]])(
    "%j",
    async (args) => {
      const r = await cli(args);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/overshoot/);
    },
  );
});

describe("overshoot demo", () => {
  it("prints the three seed trajectories with ΔC beside both predictions, and writes the charts", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-demo-"));
    const r = await cli(["demo", "--out", "charts"], dir);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toContain("the critical step is 2/f'' = 1");
    expect(r.out).toMatch(/verdict: converging[^\n]*0\.8 < 1/);
    expect(r.out).toMatch(/verdict: oscillating[^\n]*= 1 exactly/);
    expect(r.out).toMatch(/verdict: diverging[^\n]*1\.25 > 1/);
    // η = 1.125, step 0: x −1 → 1.25, ΔC = 1.5625 − 1 = 0.5625 = 2nd order, while −η‖g‖² = −4.5.
    expect(r.out).toMatch(/^ +0 +-1 +1 +2 +0\.5625 +-4\.5 +0\.5625$/m);
    const files = readdirSync(join(dir, "charts")).sort();
    expect(files).toEqual([
      "delta.png",
      "delta.svg",
      "delta.vl.json",
      "index.html",
      "loss.png",
      "loss.svg",
      "loss.vl.json",
      "path.png",
      "path.svg",
      "path.vl.json",
    ]);
    const png = readFileSync(join(dir, "charts", "path.png"));
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    const html = readFileSync(join(dir, "charts", "index.html"), "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("<strong>2/f'' = 1</strong>");
    for (const name of files) expect(r.out).toContain(join("charts", name));
  });
});

describe("overshoot stability", () => {
  it("takes the point as --x0, as every command does, and --at as the same flag", async () => {
    const x0 = await cli(["stability", "--f", "x^2 + 3*y^2", "--x0", "1,2", "--json"]);
    const at = await cli(["stability", "--f", "x^2 + 3*y^2", "--at", "1,2", "--json"]);
    expect(x0.code).toBe(0);
    expect(x0.out).toBe(at.out);
    expect(JSON.parse(x0.out).spectrum.top[0].value).toBeCloseTo(6, 10);
  });

  it("measures λmax by Lanczos and gives the critical rate of the optimizer asked about", async () => {
    const r = await cli([
      "stability",
      "--f",
      "quadratic",
      "--eigenvalues",
      "2,50,7",
      "--rotate",
      "1",
      "--at",
      "1,2,3",
      "--momentum",
      "0.9",
      "--nesterov",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.spectrum.top.map((e: { value: number }) => e.value)).toEqual([
      expect.closeTo(50, 10),
      expect.closeTo(7, 10),
      expect.closeTo(2, 10),
    ]);
    expect(j.spectrum.min.value).toBeCloseTo(2, 10);
    expect(j.conditionNumber).toBeCloseTo(25, 9);
    expect(j.critical.formula).toBe("2(1 + β)/((1 + 2β)·λmax)");
    expect(j.critical.lr).toBeCloseTo((2 * 1.9) / (2.8 * 50), 12);
    expect(j.criticalGd).toBeCloseTo(2 / 50, 12);
    expect(j.optimal.gd.lr).toBeCloseTo(2 / 52, 12);
  });

  it("quotes 2/λmax beside negative curvature, and calls an objective unbounded below only when it is known", async () => {
    const r = await cli(["stability", "--f", "x^4 - 3*x^2 + y^2", "--at", "0.1,0"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/λmin = -5\.88/);
    expect(r.out).toContain("Critical learning rate for sgd: 2/2 = 1");
    expect(r.out).toMatch(/Negative curvature: λmin = -5\.88 < 0 — directions in which the loss decreases/);
    expect(r.out).not.toMatch(/unbounded/);
    const saddle = await cli(["stability", "--f", "x^2 - y^2", "--at", "1,1", "--json"]);
    const j = JSON.parse(saddle.out);
    expect(j.critical.lr).toBeCloseTo(1, 14);
    expect(j.negativeCurvature.unboundedBelow).toBe(true);
    const text = await cli(["stability", "--f", "quadratic", "--eigenvalues", "1,-1", "--at", "1,1"]);
    expect(text.out).toContain("Critical learning rate for sgd: 2/1 = 2");
    expect(text.out).toMatch(/quadratic is unbounded below/);
  });

  it("compares the user's lr with the critical one", async () => {
    const r = await cli(["stability", "--f", "x^2", "--at", "3", "--lr", "1.125"]);
    expect(r.out).toContain("Critical learning rate for sgd: 2/2 = 1");
    expect(r.out).toMatch(/Your lr 1\.125 is 1\.125× the critical rate: .* overshoots and diverges/);
  });

  it.each([
    ["missing --x0", ["stability", "--f", "x^2"], /missing --x0 \(a start point with 1 value: x\)/],
    [
      "demo into a special filesystem (it used to hang)",
      ["demo", "--out", "/proc/overshoot-demo"],
      /cannot create --out \/proc\/overshoot-demo: this filesystem makes no folders there \(ENOENT\)/,
    ],
    [
      "both --x0 and --at",
      ["stability", "--f", "x^2", "--x0", "1", "--at", "1"],
      /give the point once: --x0 or --at/,
    ],
    [
      "--at of the wrong length",
      ["stability", "--f", "x^2+y^2", "--at", "1"],
      /invalid --at: 1 value for 2 variables/,
    ],
    [
      "--at not finite",
      ["stability", "--f", "x^2", "--at", "inf"],
      /invalid --at: x = Infinity is not finite/,
    ],
    [
      "--k too large",
      ["stability", "--f", "x^2", "--at", "1", "--k", "3"],
      /invalid --k: 3 \(a whole number from 1 to 1\)/,
    ],
    [
      "Lanczos out of budget reports its residuals",
      [
        "stability",
        "--f",
        "quadratic",
        "--eigenvalues",
        "1,2,3,4,5,6,7,8,9,10",
        "--rotate",
        "2",
        "--at",
        "1,1,1,1,1,1,1,1,1,1",
        "--max-hvps",
        "3",
      ],
      /Lanczos did not converge in 3 Hessian-vector products \(λ1 ≈ [\d.]+ ± [\d.]+.*\); raise --max-hvps/,
    ],
  ])("%s", async (_, args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("overshoot critical-lr", () => {
  it("on x² the measured thresholds bracket 2/f'' = 1 and agree with the local prediction", async () => {
    const r = await cli([
      "critical-lr",
      "--f",
      "x^2",
      "--x0",
      "-1",
      "--json",
      "--steps",
      "100000",
      "--tolerance",
      "1e-5",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.divergence.below).toBeLessThanOrEqual(1.0002);
    expect(j.divergence.above).toBeGreaterThanOrEqual(1);
    expect(j.convergence.estimate).toBeLessThanOrEqual(1);
    expect(j.convergence.estimate).toBeGreaterThan(0.999);
    expect(j.localAtStart.lr).toBe(1);
    expect(j.criteria).toMatchObject({ horizon: 100000, relativeTolerance: 1e-5 });
    // The curvature along every run is f'' = 2, so 2/2 = 1 is exact; only the horizon separates the bracket from it.
    expect(j.explanation).toMatch(
      /The curvature along the runs is 2 at every step, as at the start, so the local limit 1 is exact here/,
    );
  });

  it("on x⁴ + x² from 2 the start's 2/λmax = 0.04 is conservative; the runs survive up to 1/9", async () => {
    const r = await cli(["critical-lr", "--f", "x^4 + x^2", "--x0", "2"]);
    expect(r.code).toBe(0);
    // x₁ = 2 − η·36 must not land beyond where the iteration returns; the boundary is η = 1/9 (x₁ = −2).
    expect(r.out).toMatch(/divergence threshold \(smallest lr diverging\) +0\.1111111/);
    expect(r.out).toMatch(/local prediction at the start +0\.04 /);
    expect(r.out).toMatch(/conservative/);
  });

  it.each([
    // x² at a short horizon: the curvature is 2 everywhere, so only the horizon lifts the bracket above 1:
    // a run diverges once (1 − 2η)²⁰⁰ passes the blow-up bound 10⁶, at |1 − 2η| = 10^(6/200), η = 1.0357.
    [
      ["--f", "x^2", "--x0", "-1", "--steps", "100"],
      /the local limit 1 is exact here; the measured 1\.03[56]\d* sits above it only because the horizon is 100 steps/,
    ],
    // −x² is a concave quadratic: every run falls without limit.
    [
      ["--f=-x^2", "--x0", "1"],
      /f is unbounded below .* No rate converges, and none diverges by overshooting/,
    ],
    // A start at the minimizer never moves.
    [
      ["--f", "x^2", "--x0", "0"],
      /x₀ is a stationary point \(‖∇f\(x₀\)‖ = 0 < 1e-10\): gradient descent never moves from it/,
    ],
    // x³ has no minimum: the runs that "diverge" ran downhill.
    [
      ["--f", "x^3", "--x0", "-1", "--steps", "20000"],
      /The runs counted as diverging ran downhill: .* the loss fell from -1 to /,
    ],
  ])("explains from the runs, not with a fixed phrase: %s", async (args, message) => {
    const r = await cli(["critical-lr", ...args]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(message);
    expect(r.out).not.toMatch(/keep bouncing|the curvature fades|lands where the curvature is lower/);
  });

  it("refuses --lr, which it searches over", async () => {
    const r = await cli(["critical-lr", "--f", "x^2", "--x0", "1", "--lr", "0.1"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/searches over the learning rate: drop --lr/);
  });
});

describe("models on CSV data", () => {
  const dir = mkdtempSync(join(tmpdir(), "overshoot-data-"));
  // y = 3·a − 2·b + 1 exactly, so least squares reaches zero loss at (3, −2, 1).
  const rows = Array.from({ length: 30 }, (_, i) => {
    const a = (i % 7) - 3;
    const b = ((i * 5) % 11) / 2;
    return `${a},${b},${3 * a - 2 * b + 1},${a + b > 1 ? 1 : 0}`;
  });
  const data = join(dir, "d.csv");
  writeFileSync(data, `a,b,y,label\n${rows.join("\n")}\n`);
  writeFileSync(join(dir, "bad.csv"), "a,b,y\n1,2,3\n4,five,6\n");

  it("linear regression from zeros reaches the exact weights", async () => {
    const r = await cli([
      "run",
      "--data",
      data,
      "--target",
      "y",
      "--features",
      "a,b",
      "--lr",
      "0.05",
      "--steps",
      "5000",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.objective.names).toEqual(["a", "b", "bias"]);
    expect(j.x0).toEqual([0, 0, 0]);
    const last = j.trace[j.trace.length - 1].x;
    expect(last[0]).toBeCloseTo(3, 6);
    expect(last[1]).toBeCloseTo(-2, 6);
    expect(last[2]).toBeCloseTo(1, 6);
  });

  it("stability on a data model: λmax of (2/n)·AᵀA", async () => {
    const r = await cli(["stability", "--data", data, "--target", "y", "--features", "a", "--json"]);
    const j = JSON.parse(r.out);
    // A = [a 1]: (2/n)AᵀA = 2·[[E a², E a], [E a, 1]], eigenvalues in closed form.
    const as = rows.map((l) => Number(l.split(",")[0]));
    const m2 = as.reduce((s, a) => s + a * a, 0) / as.length;
    const m1 = as.reduce((s, a) => s + a, 0) / as.length;
    const tr = m2 + 1;
    const lmax = tr / 2 + Math.sqrt((tr / 2) ** 2 - (m2 - m1 * m1));
    expect(j.spectrum.top[0].value).toBeCloseTo(2 * lmax, 10);
  });

  it.each([
    [
      "missing --target lists the columns",
      ["run", "--data", data, "--lr", "0.1"],
      /missing --target \(the column to predict; columns: a, b, y, label\)/,
    ],
    [
      "unknown target",
      ["run", "--data", data, "--target", "z", "--lr", "0.1"],
      /invalid --target: no column 'z'/,
    ],
    [
      "unknown model",
      ["run", "--data", data, "--target", "y", "--model", "linar", "--lr", "0.1"],
      /unknown model: linar .*did you mean linear/,
    ],
    [
      "non-numeric cell",
      ["run", "--data", join(dir, "bad.csv"), "--target", "y", "--lr", "0.1"],
      /invalid --data: .*bad\.csv, row 3, column 'b': 'five' is not a number/,
    ],
    [
      "missing file",
      ["run", "--data", join(dir, "nope.csv"), "--target", "y", "--lr", "0.1"],
      /cannot read --data .*nope\.csv: ENOENT/,
    ],
    [
      "logistic on a non-binary target",
      ["run", "--data", data, "--target", "y", "--model", "logistic", "--lr", "0.1"],
      /needs 0\/1 labels/,
    ],
    [
      "--target without --data",
      ["run", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--target", "y"],
      /--target applies to a model on data/,
    ],
  ])("%s", async (_, args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("overshoot demo unscaled", () => {
  it("predicts from λmax that 1e-4 converges and 1e-3 blows up, then shows both on real car data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-unscaled-"));
    const r = await cli(["demo", "unscaled", "--out", "out", "--steps", "500"], dir);
    expect(r.code).toBe(0);
    // The Hessian of the MSE is (2/n)·AᵀA with A = [year acceleration 1]: its largest eigenvalue by Jacobi.
    const cars = loadCars();
    const { columns, values, rows } = cars.table;
    const cols = ["year", "acceleration"].map((c) => columns.indexOf(c));
    const h = new Float64Array(9);
    for (let i = 0; i < rows; i++) {
      const a = [...cols.map((c) => values[i * columns.length + c]!), 1];
      for (let p = 0; p < 3; p++) for (let q = 0; q < 3; q++) h[p * 3 + q]! += (2 / rows) * a[p]! * a[q]!;
    }
    const lambda = symmetricEigen(h, 3).values[2]!;
    const critical = 2 / lambda;
    expect(critical).toBeGreaterThan(1e-4);
    expect(critical).toBeLessThan(1e-3);
    expect(r.out).toContain(`critical learning rate 2/λmax = ${fmt(critical)}`);
    expect(r.out).toContain(`${cars.dropped.length} rows with a missing value dropped`);
    expect(r.out).toMatch(/lr 0\.0001 = [\d.]+× critical: predicted to converge/);
    expect(r.out).toContain(`multiplies the error along the top eigenvector by ${fmt(1e-3 * lambda - 1)}`);
    expect(r.out).toMatch(
      /── lr 0\.0001[\s\S]*verdict: trained — [^\n]*the loss fell from 610\.5 to 4\d\.\d+ \(×0\.0\d+\) over 500 steps/,
    );
    expect(r.out).toMatch(/── lr 0\.001\n[\s\S]*verdict: nonfinite at step \d+/);
    const m = /to Infinity at step (\d+) and NaN at step (\d+)/.exec(r.out);
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(Number(m![1]));
    const ratio = Number(/critical learning rate 2\/λmax = [\d.e-]+ — (\d+)× larger/.exec(r.out)![1]);
    expect(ratio).toBeGreaterThan(1000);
    expect(readdirSync(join(dir, "out")).sort()).toEqual(["loss.png", "loss.svg", "loss.vl.json"]);
  });
});

describe("overshoot sweep", () => {
  it("the lr × momentum map diverges exactly where 2(1+β)/λmax says, and writes JSON, CSV and the map", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-sweep-"));
    const r = await cli([
      "sweep",
      "--f",
      "quadratic",
      "--eigenvalues",
      "1,10",
      "--rotate",
      "2",
      "--x0",
      "1,1",
      "--lr",
      "1e-2:1:30",
      "--momentum",
      "0:0.9:4",
      "--steps",
      "3000",
      "--workers",
      "1",
      "--json",
      "--csv",
      join(dir, "cells.csv"),
      "--plot",
      join(dir, "map.svg"),
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.cells).toHaveLength(120);
    expect(j.lambdaMax).toBeCloseTo(10, 10);
    for (const c of j.cells) {
      expect(c.predictedLr).toBeCloseTo((2 * (1 + c.momentum)) / 10, 10);
      if (Math.abs(c.lr / c.predictedLr - 1) < 0.02) continue;
      expect(["diverged", "nonfinite"].includes(c.status)).toBe(c.lr > c.predictedLr);
    }
    expect(readFileSync(join(dir, "cells.csv"), "utf8").split("\n")[0]).toBe(
      "lr,momentum,status,steps,finalLoss,peakLoss,peakStep",
    );
    expect(readFileSync(join(dir, "map.svg"), "utf8")).toContain("Stability map");
    expect(readdirSync(dir).sort()).toEqual(["cells.csv", "map.svg"]);
    // Not a terminal: progress is plain lines on stderr.
    expect(r.err).toMatch(/^sweep: \d+\/120 runs \(1\d%\)(, \d+ s so far, about \d+ s left)?$/m);
  });

  it("a single-momentum sweep prints the outcome per lr and the predicted rate", async () => {
    const r = await cli(["sweep", "--f", "x^2", "--x0", "-1", "--lr", "0.25,0.5,1,2", "--workers", "1"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/0\.5 +converged/);
    expect(r.out).toMatch(/ 1 +oscillating/);
    expect(r.out).toMatch(/ 2 +diverged/);
    expect(r.out).toContain("Predicted critical rate at x₀: 2/λmax = 1");
  });

  it.each([
    [
      "non-positive lr on a log grid",
      ["sweep", "--f", "x^2", "--x0", "1", "--lr", "0:1:10"],
      /invalid --lr: a log grid needs values > 0, got 0/,
    ],
    [
      "momentum for adam",
      [
        "sweep",
        "--f",
        "x^2",
        "--x0",
        "1",
        "--lr",
        "1e-3:1:5",
        "--optimizer",
        "adam",
        "--momentum",
        "0:0.9:3",
      ],
      /invalid --momentum: adam has no momentum/,
    ],
    ["missing --lr", ["sweep", "--f", "x^2", "--x0", "1"], /missing --lr \(a grid such as 1e-4:10:60\)/],
    [
      "bad --workers",
      ["sweep", "--f", "x^2", "--x0", "1", "--lr", "0.1,1", "--workers", "0"],
      /invalid --workers: 0/,
    ],
  ])("%s", async (_, args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("overshoot stability along an Adam run", () => {
  it("measures the preconditioned sharpness against 38/η and names the edge of stability", async () => {
    const r = await cli([
      "stability",
      "--f",
      "quadratic",
      "--eigenvalues",
      "1,100",
      "--rotate",
      "3",
      "--at",
      "1,1",
      "--optimizer",
      "adam",
      "--lr",
      "0.01",
      "--eps",
      "1e-12",
      "--steps",
      "10000",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const records = j.preconditioned.records as { step: number; sharpness: number; bound: number }[];
    expect(records[records.length - 1]!.bound).toBeCloseTo(3800, 6);
    expect(Math.max(...records.map((x) => x.sharpness / x.bound))).toBeGreaterThan(1);
    expect(j.preconditioned.assumptions).toMatch(/frozen/);
    const plain = await cli(["stability", "--f", "x^2", "--at", "1", "--optimizer", "adam"]);
    expect(plain.out).toContain("add --steps N to measure the preconditioned sharpness");
  });
});

describe("critical-lr on logistic regression", () => {
  it("is judged as training: no rate overflows, and past the largest that trains the loss ends above its start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-logistic-"));
    // Overlapping classes, so the minimizer is finite.
    const lines = Array.from({ length: 40 }, (_, i) => {
      const a = (i % 10) / 3 - 1.5;
      return `${a},${(i * 7) % 10 < 3 + 4 * (a > 0 ? 1 : 0) ? 1 : 0}`;
    });
    writeFileSync(join(dir, "l.csv"), `a,label\n${lines.join("\n")}\n`);
    const r = await cli([
      "critical-lr",
      "--data",
      join(dir, "l.csv"),
      "--model",
      "logistic",
      "--target",
      "label",
      "--steps",
      "20000",
      "--max-lr",
      "1e4",
      "--workers",
      "1",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    // The logistic loss's gradient is bounded, so no run overflows.
    expect(j.etaMax).toBeNull();
    // At θ = 0 every sigmoid is ½: H = (1/n)·Σ ¼·aaᵀ, here λ0 = 0.25 and 2/λ0 = 8.
    expect(j.curvature.lambda0).toBeCloseTo(0.25, 10);
    expect(j.curvature.criticalLr).toBeCloseTo(8, 9);
    expect(j.largestTrained.estimate).toBeGreaterThan(8);
    for (const run of j.runs)
      expect(["trained", "converged"].includes(run.status)).toBe(run.lr < j.largestTrained.above);
    expect(j.explanation).toMatch(
      /No rate up to [\d.]+ diverged within 20000 steps; from [\d.]+ the runs ended above their start without diverging/,
    );
    // A convex model: its convergence threshold is reported beside η_max — the largest rate whose
    // run reaches ‖∇f‖ < 1e-10, bracketed by a run that converged and one that did not.
    const status = (lr: number) => j.runs.find((o: { lr: number }) => o.lr === lr).status;
    expect(status(j.convergence.below)).toBe("converged");
    expect(status(j.convergence.above)).not.toBe("converged");
    expect(j.convergence.above / j.convergence.below - 1).toBeLessThanOrEqual(1.001e-3);
    expect(j.convergence.estimate).toBeGreaterThan(8);
    expect(j.explanation).toMatch(
      /Up to the convergence threshold [\d.]+ gradient descent reaches the optimum/,
    );
  });
});

describe("overshoot train", () => {
  it("says what it measured: accuracy under mse on labels, '1 epoch', the adaptive bound, the all-rows loss", async () => {
    const mse = await cli(["train", "--data", "spiral", "--loss", "mse", "--lr", "0.5", "--steps", "50"]);
    expect(mse.out).toMatch(/acc +\d+(\.\d+)?%/);
    expect(mse.out).toMatch(/verdict: trained — loss [\d.]+, train accuracy [\d.]+%, validation [\d.]+%/);
    const adam = await cli([
      "train",
      "--data",
      "xor",
      "--n",
      "80",
      "--hidden",
      "8",
      "--optimizer",
      "adam",
      "--lr",
      "0.5",
      "--epochs",
      "1",
      "--batch-size",
      "16",
      "--sharpness-every",
      "2",
    ]);
    expect(adam.out).toContain("4 steps (1 epoch)");
    expect(adam.out).toMatch(/preconditioned λmax [\d.e+]+ vs bound [\d.e+]+/);
    // One epoch at lr 0.5 ends above its start: judged on every training row, not the last batch.
    expect(adam.out).toMatch(
      /verdict: failed — loss on all training rows [\d.]+, .*not below its start [\d.]+/,
    );
  });

  it("--log appends to an existing log (never truncates it), repairs a cut last line, --log-overwrite replaces", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-log-"));
    const path = join(dir, "run.jsonl");
    const args = [
      "train",
      "--data",
      "iris",
      "--hidden",
      "4",
      "--lr",
      "0.1",
      "--steps",
      "20",
      "--log-every",
      "10",
    ];
    const first = await cli([...args, "--log", path]);
    expect(first.err).toBe("");
    expect(first.code).toBe(0);
    expect(first.err).toBe("");
    const once = readFileSync(path, "utf8");
    expect(once.trimEnd().split("\n")).toHaveLength(3); // steps 0, 10, 20
    writeFileSync(path, `${once}{"step":30,"lo`); // an interrupted write
    const second = await cli([...args, "--log", path]);
    expect(second.code).toBe(0);
    expect(second.err).toContain("the last line of");
    expect(second.err).toContain(
      "was cut off (14 bytes without a newline, an interrupted write): removed before appending",
    );
    expect(second.err).toContain("exists: appending to it (--log-overwrite replaces it)");
    expect(readFileSync(path, "utf8")).toBe(once + once);
    // diagnose reads the two runs as one continued log, the second superseding the first.
    const d = JSON.parse((await cli(["diagnose", path, "--json"])).out);
    expect(d.records).toBe(3);
    expect(d.notes[0]).toMatch(/goes back to an earlier step 1 time .* 3 earlier ones dropped/);
    const third = await cli([...args, "--log", path, "--log-overwrite"]);
    expect(third.code).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(once);
    const stray = await cli([...args, "--log-overwrite"]);
    expect(stray.err).toBe("overshoot: --log-overwrite needs --log FILE\n");
  });

  it("full-batch GD on the spiral: sharpness rises to 2/η and hovers (edge of stability), records in JSON and JSONL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-train-"));
    const r = await cli([
      "train",
      "--data",
      "spiral",
      "--hidden",
      "16,16",
      "--lr",
      "0.5",
      "--steps",
      "800",
      "--sharpness-every",
      "100",
      "--log-every",
      "100",
      "--json",
      "--log",
      join(dir, "log.jsonl"),
      "--save-weights",
      join(dir, "w.json"),
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.model.sizes).toEqual([2, 16, 16, 2]);
    const sharp = j.records.filter((x: { sharpness?: number }) => x.sharpness !== undefined);
    expect(sharp).toHaveLength(9);
    expect(sharp[0].sharpness).toBeLessThan(0.6 * 4);
    expect(Math.max(...sharp.map((x: { sharpness: number }) => x.sharpness))).toBeGreaterThan(0.9 * 4);
    expect(sharp.every((x: { twoOverLr: number }) => x.twoOverLr === 4)).toBe(true);
    const lines = readFileSync(join(dir, "log.jsonl"), "utf8").trim().split("\n");
    expect(lines).toHaveLength(j.records.length);
    expect(JSON.parse(lines[0]!).step).toBe(0);
    const saved = JSON.parse(readFileSync(join(dir, "w.json"), "utf8"));
    expect(saved.layers.map((l: { W: number[][] }) => [l.W.length, l.W[0]!.length])).toEqual([
      [16, 2],
      [16, 16],
      [2, 16],
    ]);
  });

  it("a learning rate far past 2/λmax diverges: it stops at the blow-up bound, said so; --blow-up moves the bound", async () => {
    const r = await cli(["train", "--data", "spiral", "--loss", "mse", "--lr", "3", "--steps", "400"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /verdict: diverged at step \d+ — the loss passed the blow-up bound 10⁶ × max\(\|f\(x₀\)\| [\d.]+, baseline 0\.25\) = \d+/,
    );
    const far = await cli([
      "train",
      "--data",
      "spiral",
      "--loss",
      "mse",
      "--lr",
      "3",
      "--steps",
      "400",
      "--blow-up",
      "1e300",
    ]);
    // 1e300 × the start: the bound now sits just under float64's limit, far past step 3's.
    expect(far.out).toMatch(/verdict: diverged at step \d+ — the loss passed the blow-up bound 1e300 × /);
    const at = (out: string) => Number(/verdict: diverged at step (\d+)/.exec(out)![1]);
    expect(at(far.out)).toBeGreaterThan(at(r.out));
    const bad = await cli(["train", "--data", "spiral", "--lr", "3", "--blow-up", "1"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/invalid --blow-up: 1 \(a finite factor > 1/);
  });

  it.each([
    [
      "zero-width hidden layer",
      ["train", "--data", "xor", "--hidden", "8,0", "--lr", "0.1"],
      /invalid --hidden: 8,0/,
    ],
    [
      "batch larger than the data",
      ["train", "--data", "xor", "--n", "50", "--lr", "0.1", "--batch-size", "100"],
      /invalid --batch-size: 100 is larger than the 40 training rows/,
    ],
    [
      "unknown data set",
      ["train", "--data", "spirals", "--lr", "0.1"],
      /unknown data set: spirals .*did you mean spiral/,
    ],
    [
      "unknown activation",
      ["train", "--data", "xor", "--lr", "0.1", "--activation", "reul"],
      /unknown activation: reul .*did you mean relu/,
    ],
    [
      "unknown kernels",
      ["train", "--data", "xor", "--lr", "0.1", "--kernels", "wsam"],
      /unknown kernels: wsam .*did you mean wasm/,
    ],
    [
      "an empty --hidden",
      ["train", "--data", "xor", "--lr", "0.1", "--hidden", ""],
      /invalid --hidden: empty \(hidden layer widths separated by commas, e\.g\. 16,16; or none/,
    ],
    [
      "a report that is not .html",
      ["train", "--data", "xor", "--lr", "0.1", "--report", "r.pdf"],
      /invalid --report: r\.pdf \(the report is an HTML page: name it \.html\)/,
    ],
    [
      "bce on three classes",
      ["train", "--data", "iris", "--lr", "0.1", "--loss", "bce"],
      /invalid --loss: bce has one output, for two classes; this data has 3: use --loss cross-entropy/,
    ],
  ])("%s", async (_, args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trimEnd().split("\n")).toHaveLength(1);
  });

  it("--kernels js and --kernels wasm print the same run; a bad OVERSHOOT_KERNELS is refused in one line", async () => {
    const args = ["train", "--data", "spiral", "--hidden", "16,16", "--lr", "0.5", "--steps", "30", "--json"];
    const wasm = await cli([...args, "--kernels", "wasm"]);
    const js = await cli([...args, "--kernels", "js"]);
    expect(wasm.code).toBe(0);
    expect(js.out).toBe(wasm.out);
    process.env["OVERSHOOT_KERNELS"] = "simd";
    try {
      const bad = await cli(["train", "--data", "xor", "--lr", "0.1"]);
      expect(bad.code).toBe(2);
      expect(bad.err).toBe(
        "overshoot: invalid kernels: OVERSHOOT_KERNELS=simd (valid: auto, js, wasm, wasm-fma)\n",
      );
    } finally {
      delete process.env["OVERSHOOT_KERNELS"];
    }
  });

  it("--init with the wrong shapes names both", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-init-"));
    writeFileSync(
      join(dir, "w.json"),
      JSON.stringify({
        layers: [
          { W: [[1, 2, 3]], b: [0] },
          { W: [[1]], b: [0] },
        ],
      }),
    );
    const r = await cli([
      "train",
      "--data",
      "xor",
      "--hidden",
      "4",
      "--lr",
      "0.1",
      "--init",
      join(dir, "w.json"),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/layer 1 W is 1×3 in .*w\.json, the model needs 4×2/);
  });

  it("a CSV target with too many classes, or not class numbers, is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-csv-"));
    writeFileSync(join(dir, "c.csv"), "a,c\n1,0.5\n2,1\n");
    const r = await cli([
      "train",
      "--data",
      join(dir, "c.csv"),
      "--target",
      "c",
      "--loss",
      "cross-entropy",
      "--lr",
      "0.1",
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/'c' must hold class numbers 0, 1, 2, … for cross-entropy; row 2 has 0\.5/);
  });
});

describe("overshoot demo eos", () => {
  it("the sharpness climbs to 2/η and hovers there while the loss falls non-monotonically; a larger η blows up", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-eos-"));
    const r = await cli(["demo", "eos", "--out", "out", "--steps", "2600"], dir);
    expect(r.code).toBe(0);
    const climb =
      /climbs from ([\d.]+) to 2\/η by step (\d+) .*hovers between [\d.]+ and [\d.]+ \(([\d.]+)–([\d.]+) × 2\/η\)/.exec(
        r.out,
      );
    expect(climb).not.toBeNull();
    expect(Number(climb![1])).toBeLessThan(0.5 * 10);
    expect(Number(climb![3])).toBeGreaterThan(0.5);
    expect(Number(climb![4])).toBeLessThan(1.5);
    const rises = /rose on (\d+) of the (\d+) steps/.exec(r.out);
    expect(Number(rises![1])).toBeGreaterThan(0);
    expect(r.out).toMatch(/── η = 1 [\s\S]*reaches Infinity at step \d+/);
    expect(readdirSync(join(dir, "out")).sort()).toEqual(["eos.png", "eos.svg", "eos.vl.json"]);
  }, 60_000);
});

describe("overshoot demo catapult", () => {
  it("shows the three regimes on one network: 0.5× trains, 1.5× and 3× rise first and still train, past η_max it diverges", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-catapult-"));
    const r = await cli(["demo", "catapult", "--out", "out", "--steps", "600"], dir);
    expect(r.code).toBe(0);
    const crit = Number(/so the classical limit is 2\/λ0 = (\d+\.\d+)/.exec(r.out)![1]);
    const etaMax = Number(/from η_max = (\d+\.\d+)/.exec(r.out)![1]);
    // The window is measured, and wider than the 3× run the demo shows inside it.
    expect(etaMax / crit).toBeGreaterThan(3);
    expect(r.out).toMatch(/── η = [\d.]+ = 0\.5 × 2\/λ0 [^\n]*\n {2}The loss falls/);
    for (const m of ["1.5", "3"])
      expect(r.out).toMatch(
        new RegExp(
          `── η = [\\d.]+ = ${m} × 2/λ0 [^\\n]*\\n  The loss first rises[^\\n]*under 2/η[^\\n]*The catapult\\.`,
        ),
      );
    expect(r.out).toMatch(
      /past η_max [^\n]*\n {2}The loss climbs [^\n]*(non-finite at step \d+|at step \d+, past the blow-up bound [^\n]*)\. λmax drops too, but only to/,
    );
    expect(readdirSync(join(dir, "out")).sort()).toEqual([
      "catapult.png",
      "catapult.svg",
      "catapult.vl.json",
    ]);
  }, 60_000);
});

describe("networks in run, stability, critical-lr and sweep", () => {
  const net = ["--data", "xor", "--model", "mlp", "--hidden", "4", "--n", "40", "--loss", "mse"];

  it("stability --at init measures λmax at the initial weights (checked against Jacobi on the full Hessian)", async () => {
    const r = await cli(["stability", ...net, "--at", "init", "--k", "2", "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const { objective, theta0 } = networkFromFlags(parseFlags(net, { ...OBJECTIVE_FLAGS }, "test").flags);
    const n = objective.dim;
    const h = new Float64Array(n * n);
    const e = new Float64Array(n);
    const col = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      e.fill(0);
      e[k] = 1;
      objective.hessianVector(theta0, e, col);
      for (let i = 0; i < n; i++) h[i * n + k] = col[i]!;
    }
    for (let i = 0; i < n; i++)
      for (let k = 0; k < i; k++) h[i * n + k] = h[k * n + i] = (h[i * n + k]! + h[k * n + i]!) / 2;
    const eig = symmetricEigen(h, n).values;
    expect(j.at).toEqual(Array.from(theta0));
    expect(j.spectrum.top[0].value).toBeCloseTo(eig[n - 1]!, 10);
    expect(j.spectrum.min.value).toBeCloseTo(eig[0]!, 10);
  });

  it("run starts from the initial weights and summarizes the point by its norm", async () => {
    const r = await cli(["run", ...net, "--lr", "0.5", "--steps", "20"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/from a point of \d+ parameters with ‖x‖ = /);
    expect(r.out).toMatch(/‖x‖ \(\d+ parameters\)/);
  });

  it("sweep over a network gives the same cells in worker threads", async () => {
    const one = await cli([
      "sweep",
      ...net,
      "--lr",
      "0.1,1,10,100",
      "--steps",
      "300",
      "--workers",
      "1",
      "--json",
    ]);
    const two = await cli([
      "sweep",
      ...net,
      "--lr",
      "0.1,1,10,100",
      "--steps",
      "300",
      "--workers",
      "2",
      "--json",
    ]);
    expect(JSON.parse(two.out).cells).toEqual(JSON.parse(one.out).cells);
  }, 30_000);
});

describe("train --report", () => {
  it("writes a self-contained page with the loss, sharpness against 2/η, update ratios and the verdict", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-report-"));
    const r = await cli([
      "train",
      "--data",
      "xor",
      "--n",
      "60",
      "--hidden",
      "6",
      "--lr",
      "0.5",
      "--steps",
      "60",
      "--sharpness-every",
      "20",
      "--report",
      join(dir, "r.html"),
    ]);
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, "r.html"), "utf8");
    expect(html.match(/<svg/g)).toHaveLength(3);
    expect(html).toContain("Sharpness λmax against 2/η");
    expect(html).toContain("Update-to-weight ratio per layer");
    expect(html).toMatch(/(trained|stalled at the baseline|failed) — loss [\d.]+/);
    expect(readdirSync(dir)).toEqual(["r.html"]);
  });

  it("for Adam plots the preconditioned sharpness against its bound, not λmax against 2/η", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-report-adam-"));
    const args = [
      "train",
      "--data",
      "xor",
      "--n",
      "60",
      "--hidden",
      "6",
      "--optimizer",
      "adam",
      "--lr",
      "0.01",
    ];
    const r = await cli([
      ...args,
      "--steps",
      "60",
      "--sharpness-every",
      "20",
      "--report",
      join(dir, "r.html"),
    ]);
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, "r.html"), "utf8");
    expect(html).toContain("Preconditioned sharpness against its bound");
    expect(html).not.toContain("Sharpness λmax against 2/η");
  });

  it("for a guarded run shows the rate after each rollback and the rollbacks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-report-guard-"));
    const r = await cli([
      "train",
      "--data",
      "spiral",
      "--loss",
      "mse",
      "--lr",
      "1",
      "--steps",
      "100",
      "--guard",
      "--report",
      join(dir, "r.html"),
    ]);
    expect(r.code).toBe(0);
    const html = readFileSync(join(dir, "r.html"), "utf8");
    expect(html).toContain("Learning rate, and the guard's rollbacks");
    expect(html).toMatch(/rollback 1: η 1 → 0\.4\d+/);
    expect(html).toMatch(/step \d+ → back to 0, η 1 → 0\.4\d+ \(0\.9 × the critical rate/);
  });
});

describe("overshoot demo network", () => {
  it("predicts from λmax at the initial weights that 1e-4 trains and 1e-3 blows up, shows NaN, dead ReLUs and three fixes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-network-"));
    const r = await cli(["demo", "network", "--out", "out", "--steps", "600"], dir);
    expect(r.code).toBe(0);
    const critical = Number(/the critical step 2\/λmax = (\d+(?:\.\d+)?(?:e-?\d+)?)/.exec(r.out)![1]);
    expect(critical).toBeGreaterThan(1e-4);
    expect(critical).toBeLessThan(1e-3);
    expect(r.out).toMatch(/lr 0\.0001 is [\d.]+× that: predicted to train/);
    expect(r.out).toMatch(/lr 0\.001 is [\d.]+× that: predicted to overshoot/);
    expect(r.out).toMatch(/lr 1e-3: loss [\d.]+ → .* past a trillion at step \d+, .*NaN at step \d+/);
    expect(r.out).toMatch(/100% of the hidden units end dead/);
    for (const fix of ["standardized inputs, lr 1e-3", "linear, lr 1e-4", "linear, Adam lr 1e-3"]) {
      expect(r.out).toMatch(
        new RegExp(`${fix.replace(/[.,]/g, "\\$&")} +loss [\\d.]+ → [\\d.]+ after 600 steps`),
      );
    }
    expect(readdirSync(join(dir, "out")).sort()).toEqual(["loss.png", "loss.svg", "loss.vl.json"]);
    // The ReLU claim is the data's, at whatever length the run has: after 600 steps the loss is
    // still well above the variance of mpg, so it says where it ends (it said "sticks at" the
    // variance, which it reaches only after about 2,000); the chart's title agrees.
    const relu = /the loss ends at ([\d.]+) \(the variance of mpg is ([\d.]+)\)\./.exec(r.out);
    expect(relu, r.out).not.toBeNull();
    expect(Math.abs(Number(relu![1]) / Number(relu![2]) - 1)).toBeGreaterThan(0.05);
    expect(r.out).not.toMatch(/sticks at|no lower than the variance/);
    expect(readFileSync(join(dir, "out", "loss.svg"), "utf8")).toContain("ReLU at lr 1e-3 trains slowly");
    // At the default 2,000 steps it reaches the variance, and says so, with the numbers.
    const full = await cli(["demo", "network", "--out", "full"], dir);
    const at =
      /can fall no lower than the variance of mpg, ([\d.]+) \(predicting the mean\): it ends at ([\d.]+)\./.exec(
        full.out,
      );
    expect(at, full.out).not.toBeNull();
    expect(Math.abs(Number(at![2]) / Number(at![1]) - 1)).toBeLessThan(0.05);
    expect(readFileSync(join(dir, "full", "loss.svg"), "utf8")).toContain(
      "ReLU at lr 1e-3 ends at the variance (the mean)",
    );
  }, 60_000);
});

describe("overshoot find-lr", () => {
  it("prints the three suggestions beside the curvature bound, and a chart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-findlr-"));
    const r = await cli([
      "find-lr",
      "--f",
      "quadratic",
      "--eigenvalues",
      "1,10",
      "--x0",
      "1,1",
      "--plot",
      join(dir, "f.svg"),
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/valley +[\d.e-]+\n +slide +[\d.e-]+\n +minimum\/10 +[\d.e-]+\n +steep +[\d.e-]+/);
    expect(r.out).toContain("curvature     0.2  (2/λmax, λmax = 10 at the start)");
    expect(r.out).toMatch(/Against the critical rate 0\.200/);
    expect(readFileSync(join(dir, "f.svg"), "utf8")).toContain("curvature bound");
  });

  const net = ["--data", "xor", "--model", "mlp", "--hidden", "8", "--n", "80", "--loss", "mse"];

  it("on a network prints 2/λmax from the curvature at the initial weights (negative curvature there or not)", async () => {
    const r = await cli(["find-lr", ...net, "--json"]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const { objective, theta0 } = networkFromFlags(parseFlags(net, { ...OBJECTIVE_FLAGS }, "test").flags);
    const lambda = stabilityAt(objective, theta0, resolveOptimizerConfig({ name: "sgd", lr: 1 }), {
      k: 1,
    }).lambdaMax;
    expect(j.critical).toBeCloseTo(2 / lambda, 6);
    expect(j.used).toEqual({ from: 10, to: j.points.length - 5 });
  });

  it("on minibatches, with the validation loss, a linear ramp and its own smoothing, and recommends a rate from trial runs", async () => {
    const r = await cli([
      "find-lr",
      ...net,
      "--batch-size",
      "16",
      "--validation-loss",
      "--ramp",
      "linear",
      "--start",
      "1e-3",
      "--end",
      "3",
      "--beta",
      "0.9",
      "--stop-factor",
      "8",
      "--skip-start",
      "2",
      "--skip-end",
      "3",
      "--recommend",
      "--train-steps",
      "40",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.ramp).toBe("linear");
    expect(j.points[1].lr).toBeCloseTo(1e-3 + (3 - 1e-3) / 99, 12);
    expect(j.used.from).toBe(2);
    const rec = j.recommendation;
    expect(rec.trainSteps).toBe(40);
    expect(rec.trials.length).toBeGreaterThanOrEqual(7);
    // The recommended rate is one of the trial runs, and the best of those that trained (or the step below a cliff).
    const trained = rec.trials.filter(
      (t: { finalLoss: number | string }) => typeof t.finalLoss === "number" && t.finalLoss < rec.startLoss,
    );
    expect(trained.map((t: { lr: number }) => t.lr)).toContain(rec.lr);
    expect(rec.finalLoss).toBeLessThanOrEqual(
      2 * Math.min(...trained.map((t: { finalLoss: number }) => t.finalLoss)),
    );
  });

  it.each([
    [
      "--lr is refused",
      ["find-lr", "--f", "x^2", "--x0", "1", "--lr", "0.1"],
      /ramps the learning rate itself: drop --lr/,
    ],
    [
      "--batch-size on a function",
      ["find-lr", "--f", "x^2", "--x0", "1", "--batch-size", "8"],
      /--batch-size applies to a network: add --data … --model mlp/,
    ],
    [
      "--batch-size larger than the data",
      ["find-lr", "--data", "xor", "--model", "mlp", "--n", "40", "--batch-size", "100"],
      /invalid --batch-size: 100 \(a whole number from 1 to the 32 training rows\)/,
    ],
    [
      "an unknown ramp",
      ["find-lr", "--f", "x^2", "--x0", "1", "--ramp", "cosine"],
      /invalid --ramp: cosine \(exp or linear\)/,
    ],
    [
      "a stop factor ≤ 1",
      ["find-lr", "--f", "x^2", "--x0", "1", "--stop-factor", "1"],
      /invalid --stop-factor: 1/,
    ],
    [
      "a backwards ramp",
      ["find-lr", "--f", "x^2", "--x0", "1", "--start", "1", "--end", "0.001"],
      /invalid --start\/--end: 1 → 0\.001/,
    ],
  ])("%s", async (_, args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});

describe("learning-rate schedules in run and train", () => {
  it("run --schedule: x² at η = 1.125 halved every 5 steps grows for 5 steps, then converges; records carry lr", async () => {
    const r = await cli([
      "run",
      "--f",
      "x^2",
      "--x0",
      "-1",
      "--lr",
      "1.125",
      "--schedule",
      "step:5,0.5",
      "--steps",
      "40",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.trace.slice(0, 7).map((t: { lr: number }) => t.lr)).toEqual([
      1.125, 1.125, 1.125, 1.125, 1.125, 0.5625, 0.5625,
    ]);
    // x_k = −(1 − 2η)^k for the first five steps: |x_5| = 1.25⁵.
    expect(Math.abs(j.trace[5].x[0])).toBeCloseTo(1.25 ** 5, 12);
    expect(j.verdict.status).toMatch(/converg/);
  });

  it("train --schedule cosine records the scheduled lr and compares λmax with 2/η at that step", async () => {
    const r = await cli([
      "train",
      "--data",
      "xor",
      "--n",
      "40",
      "--hidden",
      "4",
      "--lr",
      "0.5",
      "--schedule",
      "cosine:100",
      "--steps",
      "100",
      "--log-every",
      "50",
      "--sharpness-every",
      "50",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const recs = JSON.parse(r.out).records as { step: number; lr: number; twoOverLr: number }[];
    expect(recs.map((x) => x.step)).toEqual([0, 50, 100]);
    expect(recs[1]!.lr).toBeCloseTo(0.25, 12);
    expect(recs[1]!.twoOverLr).toBeCloseTo(8, 10);
  });

  it("--lr-changes moves the rate at the given steps (the lab's η moved while it ran): x² matches the closed form", async () => {
    const r = await cli([
      "run",
      "--f",
      "x^2",
      "--x0",
      "-1",
      "--lr",
      "0.1",
      "--steps",
      "40",
      "--lr-changes",
      "9:1.125",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    // x_k = −0.8^k up to step 9, then ×(1 − 2·1.125) = ×(−1.25) a step.
    const x40 = -(0.8 ** 9) * (-1.25) ** 31;
    expect(j.trace[40].x[0] / x40).toBeCloseTo(1, 12);
    expect(j.trace[8].lr).toBe(0.1);
    expect(j.trace[9].lr).toBe(1.125);
    const bad = await cli(["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--lr-changes", "9:-1"]);
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split("\n")).toHaveLength(1);
    expect(bad.err).toMatch(/invalid --lr-changes: invalid rate change '9:-1': expected STEP:η/);
  });

  // Momentum moved part-way with its buffer kept (PyTorch's semantics: optim.test.ts checks them
  // against torch.optim). In train: a change at step 0 is the run with that momentum throughout,
  // bit for bit; a change at step 30 leaves the first 30 records as they were and moves the rest.
  it("train --hyper-changes sets momentum from a step on: at step 0 it is --momentum itself; later, the steps before it unchanged", async () => {
    const base = [
      "train",
      "--data",
      "xor",
      "--n",
      "40",
      "--hidden",
      "4",
      "--lr",
      "0.2",
      "--steps",
      "60",
      "--log-every",
      "1",
      "--validation",
      "0",
      "--json",
    ];
    // A record a step: record k is the loss at step k, before step k's update.
    const losses = async (extra: string[]) => {
      const r = await cli([...base, ...extra]);
      expect(r.code).toBe(0);
      return (JSON.parse(r.out).records as { step: number; loss: number }[]).map((x) => x.loss);
    };
    const half = await losses(["--momentum", "0.5"]);
    expect(await losses(["--momentum", "0.9", "--hyper-changes", "0:momentum=0.5"])).toEqual(half);
    const steady = await losses(["--momentum", "0.9"]);
    const moved = await losses(["--momentum", "0.9", "--hyper-changes", "30:momentum=0.5"]);
    expect(moved.slice(0, 31)).toEqual(steady.slice(0, 31));
    expect(moved[40]).not.toBe(steady[40]);
    expect(moved[40]).not.toBe(half[40]);
    const bad = await cli([...base, "--optimizer", "adam", "--hyper-changes", "30:momentum=0.5"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toBe(
      "overshoot: invalid --hyper-changes: invalid change '30:momentum=0.5': adam has no momentum (it takes beta1, beta2)\n",
    );
  });

  // Another optimizer from a step on is a fresh torch.optim object over the same weights: `run`
  // with --optimizer-changes equals the first run to that step and then a second command started
  // at its point (JSON's shortest round-trip digits carry x exactly); in train, a switch at 0 is
  // --optimizer itself, and a later one leaves the records before it unchanged.
  it("run and train --optimizer-changes: another optimizer from a step on, fresh, equal to the runs it composes", async () => {
    const common = ["run", "--f", "rosenbrock", "--lr", "0.001", "--json"];
    const trace = async (extra: string[]) => {
      const r = await cli([...common, ...extra]);
      expect(r.code, r.err).toBe(0);
      return (JSON.parse(r.out) as { trace: { x: number[]; loss: number }[] }).trace;
    };
    const switched = await trace(["--x0=-1.2,1", "--steps", "70", "--optimizer-changes", "40:adam"]);
    const first = await trace(["--x0=-1.2,1", "--steps", "40"]);
    const second = await trace([`--x0=${first.at(-1)!.x.join(",")}`, "--steps", "30", "--optimizer", "adam"]);
    expect(switched.map((r) => r.x)).toEqual([...first.slice(0, 40), ...second].map((r) => r.x));
    const text = await cli([
      "run",
      "--f",
      "rosenbrock",
      "--x0=-1.2,1",
      "--lr",
      "0.001",
      "--steps",
      "70",
      "--optimizer-changes",
      "40:adam",
    ]);
    expect(text.out).toContain("rosenbrock, sgd with lr 0.001, then adam from step 40, from (-1.2, 1)");

    const base = ["train", "--data", "xor", "--n", "40", "--hidden", "4", "--lr", "0.05", "--steps", "60"];
    const losses = async (extra: string[]) => {
      const r = await cli([...base, "--log-every", "1", "--validation", "0", "--json", ...extra]);
      expect(r.code, r.err).toBe(0);
      return (JSON.parse(r.out).records as { step: number; loss: number }[]).map((x) => x.loss);
    };
    expect(await losses(["--optimizer-changes", "0:adam"])).toEqual(await losses(["--optimizer", "adam"]));
    const steady = await losses(["--momentum", "0.9"]);
    const moved = await losses(["--momentum", "0.9", "--optimizer-changes", "30:adam"]);
    expect(moved.slice(0, 31)).toEqual(steady.slice(0, 31));
    expect(moved[40]).not.toBe(steady[40]);
    const bad = await cli([...base, "--optimizer-changes", "30:lion"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /^overshoot: invalid --optimizer-changes: invalid switch '30:lion': expected STEP:NAME\[:KEY=VALUE…\]/,
    );
    expect(bad.err.split("\n")).toHaveLength(2);
  });

  it("a misspelt schedule lists the valid ones", async () => {
    const r = await cli(["run", "--f", "x^2", "--x0", "1", "--lr", "0.1", "--schedule", "cosin:10"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/invalid --schedule: 'cosin:10' \(valid: constant, step:S,G/);
  });
});

describe("early warning in train", () => {
  it("fires the moment a network starts to diverge, before it passes the blow-up bound", async () => {
    const r = await cli([
      "train",
      "--data",
      "spiral",
      "--loss",
      "mse",
      "--lr",
      "1",
      "--steps",
      "300",
      "--json",
    ]);
    const j = JSON.parse(r.out);
    // The run stops where it diverged: its loss passed 10⁶ × max(start, baseline), and the JSON
    // says which bound; the warning came before that step.
    expect(j.result.status).toBe("diverged");
    expect(j.result.bound.value).toBeCloseTo(
      1e6 * Math.max(j.result.bound.startLoss, j.result.baseline.loss),
      6,
    );
    const atBound = j.records.find((x: { step: number }) => x.step === j.result.atStep);
    expect(atBound.loss).toBeGreaterThan(j.result.bound.value);
    expect(j.detection.state).toBe("diverging");
    expect(j.detection.firstWarningStep).toBeLessThan(j.result.atStep);
    expect(r.err).toMatch(
      new RegExp(`^overshoot: warning at step ${j.detection.firstWarningStep}: diverging — `),
    );
  });

  it("raises no alarm at the edge of stability, where the loss rises on some steps but the run converges", async () => {
    const r = await cli([
      "train",
      "--data",
      "spiral",
      "--loss",
      "mse",
      "--lr",
      "0.2",
      "--steps",
      "2600",
      "--log-every",
      "1300",
      "--json",
    ]);
    const j = JSON.parse(r.out);
    expect(j.result.status).toBe("finished");
    expect(j.detection.firstWarningStep).toBeNull();
    expect(j.detection.state).toBe("edge-of-stability");
    expect(r.err).toBe("");
  }, 30_000);
});

describe("a closed pipe (overshoot … | head -1)", () => {
  it.each([
    // Far more than a pipe holds (the JSON trace streams as it is made), so a write follows the close.
    ["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--steps", "200000", "--tolerance", "0", "--json"],
    ["train", "--data", "xor", "--lr", "0.1", "--steps", "3000", "--log-every", "1"],
  ])("%s ends with one line on standard error and exit 1, no EPIPE trace", async (...args) => {
    const bin = join(process.cwd(), "bin", "overshoot.js");
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    // Read the first line, then close the pipe as head -1 does.
    await new Promise<void>((ok) =>
      child.stdout.once("data", () => {
        child.stdout.destroy();
        ok();
      }),
    );
    const code = await new Promise<number | null>((ok) => child.on("close", ok));
    expect(err).toBe(
      "overshoot: cannot write to standard output: EPIPE (the reader closed the pipe); what it received is incomplete\n",
    );
    expect(code).toBe(1);
  });
});

describe("numbers the user did not mean", () => {
  it("a hexadecimal or binary cell in --data is refused (it was read as 16 or 3)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-hex-"));
    const path = join(dir, "hex.csv");
    writeFileSync(path, "x,y\n1,2\n0x10,3\n2,0b11\n");
    const r = await cli(["stability", "--data", path, "--target", "y"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /row 3, column 'x': '0x10' is a hexadecimal numeral, not read: write it in decimal\n$/,
    );
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });
});

describe("standard output never lies", () => {
  const bin = join(process.cwd(), "bin", "overshoot.js");
  const spawnTo = (args: string[], stdout: number | "pipe") =>
    new Promise<{ code: number | null; out: string; err: string }>((done) => {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", stdout, "pipe"] });
      let out = "";
      let err = "";
      child.stdout?.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => (err += d));
      child.on("close", (code) => done({ code, out, err }));
    });

  it.each([
    ["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1"],
    ["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--steps", "5000", "--json"],
    ["sweep", "--f", "x^2", "--x0", "-1", "--lr", "0.1,0.5,1.5", "--json"],
  ])("a full disk (%s … > /dev/full): one line on standard error, exit 1", async (...args) => {
    const full = openSync("/dev/full", "w");
    try {
      const r = await spawnTo(args, full);
      // (sweep's progress lines go to standard error too, when it is not a terminal)
      expect(r.err.split("\n").filter((l) => l.startsWith("overshoot:"))).toEqual([
        "overshoot: cannot write to standard output: ENOSPC (no space left on the device); what it received is incomplete",
      ]);
      expect(r.err).not.toMatch(/\n\s+at |Error:/);
      expect(r.code).toBe(1);
    } finally {
      closeSync(full);
    }
  });

  it.each([["-"], ["/dev/stdout"]])(
    "--csv %s: the data on standard output, the report on standard error",
    async (to) => {
      const r = await spawnTo(
        ["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--steps", "3", "--csv", to],
        "pipe",
      );
      expect(r.code).toBe(0);
      const lines = r.out.trim().split("\n");
      expect(lines[0]).toMatch(/^step,/);
      expect(lines).toHaveLength(5);
      // x² from −1 at η = 0.1: x_k = −0.8^k, f = 0.64^k.
      lines.slice(1).forEach((l, k) => {
        expect(Number(l.split(",")[0])).toBe(k);
      });
      expect(r.err).toMatch(/verdict: /);
      expect(r.err).not.toMatch(/wrote/);
      const s = await spawnTo(["sweep", "--f", "x^2", "--x0", "-1", "--lr", "0.1,1.5", "--csv", to], "pipe");
      expect(s.code).toBe(0);
      expect(s.out.trim().split("\n")).toHaveLength(3);
      const both = await spawnTo(
        ["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--csv", to, "--json"],
        "pipe",
      );
      expect(both.code).toBe(2);
      expect(both.err).toBe(
        `overshoot: --csv ${to} and --json both write to standard output: send one of them to a file\n`,
      );
    },
  );
});

describe("--json - and --json /dev/stdout", () => {
  it.each([
    ["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--steps", "4"],
    ["sweep", "--f", "x^2", "--x0", "-1", "--lr", "0.1,1.5", "--steps", "4"],
    ["find-lr", "--f", "x^2", "--x0", "-1", "--steps", "10"],
  ])("%s: the same JSON as bare --json, on standard output", async (...args) => {
    const bare = await cli([...args, "--json"]);
    expect(bare.code).toBe(0);
    const doc = JSON.parse(bare.out);
    for (const form of [["--json", "-"], ["--json", "/dev/stdout"], ["--json=-"], ["--json=/dev/stdout"]]) {
      const r = await cli([...args, ...form]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out)).toEqual(doc);
    }
  });

  it("--json FILE is refused in one line that says how to keep it in a file; a repeated --json too", async () => {
    const r = await cli(["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--json=out.json"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      "overshoot: --json=out.json: --json prints to standard output (--json, --json - or --json /dev/stdout); to keep it in a file, redirect it: --json > out.json\n",
    );
    const twice = await cli(["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--json", "-", "--json"]);
    expect(twice.code).toBe(2);
    expect(twice.err).toBe("overshoot: --json is given twice\n");
  });

  it("diagnose --json - LOG: the dash is --json's, the log stays diagnose's file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-jsondash-"));
    const log = join(dir, "run.jsonl");
    writeFileSync(
      log,
      [1, 2, 4, 8, 16, 32].map((loss, step) => JSON.stringify({ step, loss })).join("\n") + "\n",
    );
    const a = await cli(["diagnose", "--json", "-", log]);
    const b = await cli(["diagnose", log, "--json"]);
    expect(a.code).toBe(b.code);
    expect(JSON.parse(a.out)).toEqual(JSON.parse(b.out));
  });
});

describe("text from files never drives the terminal", () => {
  const bin = join(process.cwd(), "bin", "overshoot.js");
  // ESC [2J clears the screen, OSC 52 writes the clipboard, U+202E reverses what follows, U+009B is CSI.
  const hostile = "a\u001b[2Jb\u001b]52;c;aGk=\u0007c\u202ed\u009b31m";
  const shownAs = "a\\u001b[2Jb\\u001b]52;c;aGk=\\u0007c\\u202ed\\u009b31m";
  // Nothing but \t and \n among the controls, nothing bidirectional.
  const inert = (text: string) =>
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the characters looked for
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);

  it.each([
    [
      "an ONNX producer_name",
      (dir: string) => {
        const model = readFileSync(join(process.cwd(), "examples", "model.onnx"));
        // ModelProto field 2 (producer_name) follows ir_version: 0x12, its length, "pytorch".
        expect(model.subarray(2, 11).toString("latin1")).toBe("\u0012\u0007pytorch");
        const name = Buffer.from(hostile);
        const path = join(dir, "m.onnx");
        writeFileSync(
          path,
          Buffer.concat([model.subarray(0, 2), Buffer.from([0x12, name.length]), name, model.subarray(11)]),
        );
        return [
          "stability",
          "--model-onnx",
          path,
          "--data",
          join(process.cwd(), "examples", "train.csv"),
          "--target",
          "y",
        ];
      },
    ],
    [
      "a CSV header",
      (dir: string) => {
        const path = join(dir, "d.csv");
        writeFileSync(path, `${hostile},y\n1,2\n2,3\n3,5\n4,4\n5,7\n6,5\n`);
        return ["stability", "--data", path, "--target", "y", "--model", "linear"];
      },
    ],
    [
      "a CSV header named as the target",
      (dir: string) => {
        const path = join(dir, "d.csv");
        writeFileSync(path, `x,y\n1,2\n2,3\n`);
        return ["stability", "--data", path, "--target", hostile];
      },
    ],
    [
      "a log's column",
      (dir: string) => {
        const path = join(dir, "run.csv");
        writeFileSync(path, `step,${hostile}\n0,1\n1,2\n`);
        return ["diagnose", path];
      },
    ],
  ])(
    "%s reaches standard output and error escaped",
    (_, make) => {
      const dir = mkdtempSync(join(tmpdir(), "overshoot-escape-"));
      const r = spawnSync(process.execPath, [bin, ...make(dir)], { encoding: "utf8" });
      inert(r.stdout);
      inert(r.stderr);
      expect(r.stdout + r.stderr).toContain(shownAs);
    },
    60_000,
  );
});

describe("every input bounded before it is read", () => {
  const examples = join(process.cwd(), "examples");
  it.each([
    [
      ["stability", "--data", "/dev/zero", "--target", "y"],
      "--data /dev/zero: not text (a NUL byte at byte 1)",
    ],
    [
      ["run", "--f", "quadratic", "--matrix", "/dev/zero", "--x0", "1", "--lr", "0.1"],
      "--matrix /dev/zero: not text (a NUL byte at byte 1)",
    ],
    [
      ["train", "--data", "xor", "--lr", "0.1", "--init", "/dev/zero"],
      "--init /dev/zero: not text (a NUL byte at byte 1)",
    ],
    [
      ["stability", "--model-onnx", "/dev/zero", "--data", join(examples, "train.csv"), "--target", "y"],
      "--model-onnx /dev/zero: not a regular file",
    ],
  ])("%j: refused at once in one line", async (args, why) => {
    const t0 = Date.now();
    const r = await cli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`overshoot: cannot read ${why}`);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("binary junk without a NUL byte is refused at its first chunk, as --data, --resume and a log", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-junk-"));
    const junk = join(dir, "junk.csv");
    const rng = createRng(7);
    // 8 MB of bytes 1–255: what a model or a photo given by mistake looks like.
    writeFileSync(
      junk,
      Uint8Array.from({ length: 8 << 20 }, () => 1 + Math.floor(rng.uniform() * 255)),
    );
    for (const [args, start] of [
      [["stability", "--data", junk, "--target", "y"], `overshoot: cannot read --data ${junk}: not text (`],
      [
        ["train", "--data", "xor", "--lr", "0.1", "--resume", junk, "--checkpoint", join(dir, "c.json")],
        `overshoot: cannot read --resume ${junk}: not text (`,
      ],
      [["diagnose", junk], `overshoot: invalid log: ${junk} is not text (`],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code).toBe(2);
      expect(r.err.startsWith(start)).toBe(true);
      expect(r.err).toMatch(/control bytes in its first 65,536\)/);
    }
  });

  it("a file past the cap is refused by its size before a byte is read; --max-input raises or lowers the cap", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-big-"));
    const big = join(dir, "big.csv");
    // Sparse: 300 MiB that take no disk, refused from stat alone.
    writeFileSync(big, "x,y\n");
    truncateSync(big, 300 * 2 ** 20);
    const r = await cli(["stability", "--data", big, "--target", "y"]);
    expect(r.err).toBe(
      `overshoot: cannot read --data ${big}: 314,572,800 bytes, past the 256 MiB read at most (raise it with --max-input MiB)\n`,
    );
    const small = await cli([
      "stability",
      "--data",
      join(examples, "train.csv"),
      "--target",
      "y",
      "--max-input",
      "0.005",
    ]);
    expect(small.err).toMatch(/train\.csv: 8,\d{3} bytes, past the 0\.005 MiB read at most/);
    const ok = await cli([
      "stability",
      "--data",
      join(examples, "train.csv"),
      "--target",
      "y",
      "--max-input",
      "1",
    ]);
    expect(ok.code).toBe(0);
  });

  it("a FIFO that never ends is read to the cap and refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-fifo-"));
    const fifo = join(dir, "rows.csv");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const writer = spawn("sh", ["-c", `{ echo x,y; yes 1,2; } > ${fifo}`], { stdio: "ignore" });
    try {
      const r = await cli(["stability", "--data", fifo, "--target", "y", "--max-input", "4"]);
      expect(r.err).toBe(
        `overshoot: cannot read --data ${fifo}: more than 4 MiB, past the 4 MiB read at most (raise it with --max-input MiB)\n`,
      );
    } finally {
      writer.kill();
    }
    // A FIFO with no writer given where a model file must be: refused from stat, not waited on.
    const lonely = join(dir, "model.onnx");
    expect(spawnSync("mkfifo", [lonely]).status).toBe(0);
    const t0 = Date.now();
    const m = await cli([
      "stability",
      "--model-onnx",
      lonely,
      "--data",
      join(examples, "train.csv"),
      "--target",
      "y",
    ]);
    expect(m.err).toBe(
      `overshoot: cannot read --model-onnx ${lonely}: not a regular file (give the .onnx file torch.onnx.export wrote)\n`,
    );
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe("every size checked before it is allocated", () => {
  const COMMANDS: string[][] = [
    ["run", "--data", "spiral", "--model", "mlp", "--lr", "0.1"],
    ["stability", "--data", "spiral", "--model", "mlp"],
    ["spectrum", "--data", "spiral", "--model", "mlp"],
    ["critical-lr", "--data", "spiral", "--model", "mlp"],
    ["find-lr", "--data", "spiral", "--model", "mlp"],
    ["sweep", "--data", "spiral", "--model", "mlp", "--lr", "0.1,0.2"],
    ["train", "--data", "spiral", "--lr", "0.1"],
  ];
  it.each(COMMANDS.map((c) => [c[0]!, c]))(
    "%s: --hidden 1e9, 1e15 and --n 1e9 refused in one line with the estimate and the limit, at once",
    async (_, args) => {
      for (const [flag, value, what] of [
        [
          "--hidden",
          "1e9",
          /^overshoot: --hidden 1e9 \(an MLP 2-1000000000-2 on \d+ rows\) needs about [\d.]+ GiB, past the [\d.]+ GiB a command may use here \(3\/4 of this machine's [\d.]+ GiB\): narrower or fewer layers\n$/,
        ],
        ["--hidden", "1e15", /needs more memory than any machine has, past the/],
        [
          "--n",
          "1e9",
          /^overshoot: --n 1e9 \(spiral\) needs about [\d.]+ GiB, past the [\d.]+ GiB a command may use here .*: fewer rows\n$/,
        ],
      ] as const) {
        const t0 = Date.now();
        const r = await cli([...(args as string[]), flag, value]);
        expect(r.code).toBe(2);
        expect(r.err).toMatch(what);
        expect(Date.now() - t0).toBeLessThan(3000);
      }
    },
  );

  it("Lanczos bases, sweep grids and a function's critical-lr steps are checked before the work, in one line", async () => {
    const big = ["--data", "spiral", "--model", "mlp", "--hidden", "1024,1024"];
    for (const [args, what] of [
      [
        ["spectrum", ...big, "--lanczos-steps", "1000000"],
        "--lanczos-steps 1000000 (a Lanczos basis of 1,000,000 vectors of 1,054,722 numbers)",
      ],
      [
        ["stability", ...big, "--k", "1000000"],
        "--k 1000000 (a Lanczos basis of 1,000,000 vectors of 1,054,722 numbers)",
      ],
      [
        ["stability", ...big, "--max-hvps", "1e9"],
        "--max-hvps 1000000000 (a Lanczos basis of 1,054,722 vectors of 1,054,722 numbers)",
      ],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code).toBe(2);
      expect(r.err.startsWith(`overshoot: ${what} needs about `)).toBe(true);
      expect(r.err).toMatch(
        /: a smaller --(lanczos-steps|k|max-hvps) \(the basis is kept whole for full reorthogonalization\)\n$/,
      );
      expect(r.err.split("\n")).toHaveLength(2);
    }
    const sweep = await cli([
      "sweep",
      "--f",
      "x^2",
      "--x0",
      "-1",
      "--lr",
      "0.1:1:1000",
      "--momentum",
      "0:0.9:100000",
    ]);
    expect(sweep.code).toBe(2);
    expect(sweep.err).toBe(
      "overshoot: a sweep of 100,000,000 cells (1,000 rates × 100,000 momenta) is past the 1,000,000 a sweep may have: coarser grids, or several sweeps\n",
    );
    const critical = await cli(["critical-lr", "--f", "x^2", "--x0", "-1", "--steps", "1e9"]);
    expect(critical.code).toBe(2);
    expect(critical.err).toMatch(
      /^overshoot: invalid --steps: 1,000,000,000 \(at most 10,000,000 on a function/,
    );
  });

  it("find-lr --steps 1e9 on an expression is refused (every step's point is kept), not run out of heap", async () => {
    const r = await cli(["find-lr", "--f", "x^2", "--x0", "-1", "--steps", "1e9"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      "overshoot: invalid --steps: 1e9 (the ramp keeps every step's point, about 100 bytes each: at most 1,000,000; fastai's default is 100)\n",
    );
  });
});

describe("long work says how long, and Ctrl-C keeps what was done", () => {
  const spiralMlp = (hidden: string) => ["--data", "spiral", "--model", "mlp", "--hidden", hidden];
  const bin = join(process.cwd(), "bin", "overshoot.js");
  const interrupted = (args: string[], when = /about .* left/) =>
    new Promise<{ code: number | null; out: string; err: string }>((done) => {
      const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stdout!.on("data", (d) => (out += d));
      child.stderr!.on("data", (d) => {
        err += d;
        // Once it has said how long: Ctrl-C.
        if (when.test(err) && !child.killed) child.kill("SIGINT");
      });
      child.on("close", (code) => done({ code, out, err }));
    });

  it("run --steps 1e12: an estimate after 2 s, then Ctrl-C ends it with the CSV and the JSON whole (exit 130)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-long-"));
    const csv = join(dir, "trace.csv");
    const base = ["run", "--f", "x^2", "--x0", "-1", "--lr", "0.1", "--steps", "1e12", "--tolerance", "0"];
    const r = await interrupted([...base, "--csv", csv]);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(
      /^overshoot: step [\d,]+ of 1,000,000,000,000 \([\d.e-]+%\), \d+ s so far, about [\d,.]+ (days|years) left at [\d.]+ µs a step; Ctrl-C stops and keeps what was done\n/,
    );
    const stopped =
      /stopped by Ctrl-C at step ([\d,]+) of 1,000,000,000,000: what is written holds the steps done/.exec(
        r.err,
      );
    expect(stopped).not.toBeNull();
    const last = Number(stopped![1]!.replace(/,/g, ""));
    const rows = readFileSync(csv, "utf8").trimEnd().split("\n");
    expect(rows).toHaveLength(last + 2); // the header, steps 0…last
    expect(rows[rows.length - 1]!.split(",")[0]).toBe(String(last));
    expect(r.out).toMatch(/verdict: /);
    const j = await interrupted([...base, "--json"]);
    expect(j.code).toBe(130);
    const doc = JSON.parse(j.out);
    expect(doc.trace.length).toBeGreaterThan(1000);
    expect(doc.verdict.status).toBeDefined();
  }, 60_000);

  it("critical-lr on a function: an estimate in runs, then Ctrl-C ends it with the brackets reached, in the text and the JSON (exit 130)", async () => {
    const base = ["critical-lr", "--f", "x^2+y^4", "--x0", "-1,1", "--steps", "1e7"];
    const r = await interrupted(base);
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(
      /^overshoot: run \d+ of about 51 \([\d.]+%\), \d+ s so far, about .* left at .* a run; Ctrl-C stops and keeps what was done\n/,
    );
    expect(r.err).toContain("stopped by Ctrl-C: the thresholds are the brackets the runs reached");
    expect(r.out).toMatch(
      /Stopped by Ctrl-C after \d+ runs?: each threshold is the bracket its runs reached/,
    );
    expect(r.out).toMatch(/divergence threshold \(smallest lr diverging\) .*(stopped by Ctrl-C|runs\])/);
    const j = await interrupted([...base, "--json"]);
    expect(j.code, j.err).toBe(130);
    const doc = JSON.parse(j.out);
    // The runs reached some bracket of the divergence threshold, and it holds the true one: the
    // y⁴ step y ↦ y(1 − 4ηy²) from y = 1 grows without end for η > 1/2, and x² alone would take η > 1.
    const d = doc.divergence;
    expect(d.runs).toBeGreaterThan(0);
    if (d.stopped) expect(d.below < 1 && (d.above === "Infinity" || d.above > 0.5)).toBe(true);
    else expect(d.below).toBeLessThanOrEqual(0.5000001);
  }, 60_000);

  it("find-lr: the ramp says how long, and Ctrl-C ends it where it is, with its points so far and no curvature (exit 130)", async () => {
    const r = await interrupted(["find-lr", ...spiralMlp("32,32"), "--steps", "1000000", "--json"]);
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(
      /^overshoot: ramp step [\d,]+ of at most 1,000,000 \([\d.]+%\), \d+ s so far, about .* left if it runs to the cap, at .* a ramp step; Ctrl-C stops and keeps what was done\n/,
    );
    const stopped =
      /stopped by Ctrl-C at ramp step (\d+): the suggestions are the ramp's points so far; the curvature at the start was not measured/.exec(
        r.err,
      );
    expect(stopped).not.toBeNull();
    const j = JSON.parse(r.out);
    const k = Number(stopped![1]);
    expect(j.stoppedAt).toBe(k);
    expect(j.points).toHaveLength(k);
    expect(j.critical).toBeNull();
    expect(j.stopped).toMatch(/^by Ctrl-C/);
    // The points are the ramp's: η_k = 1e-7·(10/1e-7)^(k/N), fastai's defaults.
    for (const p of j.points.slice(0, 50)) expect(p.lr).toBeCloseTo(1e-7 * (10 / 1e-7) ** (p.step / 1e6), 20);
  }, 60_000);

  it("sweep: Ctrl-C after the estimate ends it once the runs under way finish, with those runs written, equal to a fresh sweep of their rates (exit 130)", async () => {
    const base = ["sweep", ...spiralMlp("16"), "--loss", "mse", "--steps", "1500", "--workers", "2"];
    const r = await interrupted([...base, "--lr", "0.01:1:30", "--json"]);
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/stopping once the runs under way end/);
    const doc = JSON.parse(r.out);
    const cells = doc.cells as { index: number; lr: number }[];
    expect(cells.length).toBeGreaterThan(0);
    expect(cells.length).toBeLessThan(30);
    expect(doc.stopped).toBe(
      `stopped by Ctrl-C after ${cells.length} of 30 runs: cells holds the runs that finished`,
    );
    expect(r.err).toContain(`overshoot: stopped by Ctrl-C after ${cells.length} of 30 runs`);
    // Grid order, each cell once; and each the run a sweep of its rate alone makes.
    const indices = cells.map((c) => c.index);
    expect(indices).toEqual([...indices].sort((a, b) => a - b));
    expect(new Set(indices).size).toBe(indices.length);
    const fresh = await cli([...base, "--lr", cells.map((c) => String(c.lr)).join(","), "--json"]);
    expect(fresh.code, fresh.err).toBe(0);
    const again = JSON.parse(fresh.out).cells as { index: number }[];
    expect(cells.map(({ index: _i, ...rest }) => rest)).toEqual(again.map(({ index: _i, ...rest }) => rest));

    // A map stopped part-way leaves the cells not run blank, and says so.
    const m = await interrupted([...base, "--lr", "0.01:1:15", "--momentum", "0,0.9"]);
    expect(m.code, m.err).toBe(130);
    expect(m.out).toMatch(
      /, 30 runs on 2 threads — stopped by Ctrl-C after \d+ of 30 runs: below are the runs that finished\n/,
    );
    expect(m.out).toContain("(blank) not run");
    const top = /^ {2}β = 0\.9 +(.*)$/m.exec(m.out)!;
    expect(top[1]!.replace(/\|/g, "")).toMatch(/ $/);
  }, 60_000);

  it("diagnose --data --batch-size: the curvature in Lanczos steps, then the minibatches, and Ctrl-C writes the diagnosis with the minibatches measured (exit 130)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-long-diagnose-"));
    const log = join(dir, "run.jsonl");
    const problem = [...spiralMlp("32,32"), "--lr", "3"];
    const t = await cli(["train", ...problem, "--batch-size", "8", "--steps", "30", "--log", log]);
    expect(t.code, t.err).toBe(0);
    const args = ["diagnose", log, ...problem, "--batch-size", "8", "--noise-batches", "100000", "--json"];
    const r = await interrupted(args, /minibatch [\d,]+ of 100,000 .*about .* left/);
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(
      /^overshoot: minibatch [\d,]+ of 100,000 \([\d.]+%\), \d+ s so far, about .* left at .* a minibatch; Ctrl-C stops and keeps what was done$/m,
    );
    expect(r.err).toContain("overshoot: the measurements were stopped by Ctrl-C");
    const doc = JSON.parse(r.out);
    expect(doc.measured.stopped).toBe(true);
    const noise = doc.measured.noise;
    expect(noise.batches).toBeGreaterThan(0);
    expect(noise.batches).toBeLessThan(100_000);
    expect(noise.batchesPlanned).toBe(100_000);
    expect(noise.noiseScale).toBeNull();
    // The full batch was measured whole, once, and serves both findings.
    expect(doc.measured.scaling.raw).toEqual(noise.full);
    expect(doc.cause).toEqual(expect.any(String));
  }, 60_000);

  it("train --steps 1e8: an estimate, then Ctrl-C ends it at a recorded step with its checkpoint, and --resume goes on bit for bit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-long-train-"));
    const ckpt = join(dir, "c.json");
    const base = [
      "train",
      "--data",
      "xor",
      "--n",
      "60",
      "--hidden",
      "6",
      "--lr",
      "0.1",
      "--log-every",
      "1000000",
    ];
    const r = await interrupted([...base, "--steps", "1e8", "--checkpoint", ckpt, "--json"]);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(
      /^overshoot: step [\d,]+ of 100,000,000 \([\d.e-]+%\), \d+ s so far, about [\d,.]+ (min|h|days) left at [\d.]+ (µs|ms) a step; Ctrl-C stops and keeps what was done\n/,
    );
    const doc = JSON.parse(r.out);
    const at = doc.result.stoppedAt as number;
    expect(at).toBeGreaterThan(100);
    expect(doc.result.status).toBe("finished");
    // The stop is a record (step 0 and the last), with the rows evaluated, and the checkpoint's step.
    expect(doc.records.map((x: { step: number }) => x.step)).toEqual([0, at]);
    expect(doc.records[1].trainLoss).toBeLessThan(doc.records[0].trainLoss);
    expect(JSON.parse(readFileSync(ckpt, "utf8")).step).toBe(at);
    expect(r.err).toContain(
      `stopped by Ctrl-C at step ${at.toLocaleString("en-US")} of 100,000,000: what is written holds the steps done (--resume ${ckpt} goes on from there)`,
    );
    // Resumed to 50 steps past the stop: the same weights, to the bit, as a run straight there.
    const resumed = await cli([
      ...base,
      "--steps",
      String(at + 50),
      "--resume",
      ckpt,
      "--save-weights",
      join(dir, "r.json"),
      "--json",
    ]);
    await cli([...base, "--steps", String(at + 50), "--save-weights", join(dir, "s.json")]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.out).records[0].step).toBe(at);
    expect(readFileSync(join(dir, "r.json"), "utf8")).toBe(readFileSync(join(dir, "s.json"), "utf8"));
    // In text, the verdict says it was stopped.
    const text = await interrupted([...base, "--steps", "1e8"]);
    expect(text.code).toBe(130);
    expect(text.out).toMatch(/verdict: stopped by Ctrl-C at step [\d,]+ of 100,000,000: /);
  }, 90_000);

  it("spectrum on a network: a line every 5 s with the probes left, and Ctrl-C ends the density at the probes done (exit 130)", async () => {
    const args = ["spectrum", ...spiralMlp("64,64"), "--probes", "400", "--json"];
    const r = await interrupted(args);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(
      /^overshoot: probe \d+ of 400 \([\d.]+%\), \d+ s so far, about [\d.]+ (s|min) left at [\d.]+ (ms|s) a probe; Ctrl-C stops and keeps what was done\n/,
    );
    expect(r.err).toContain("overshoot: stopping after the probe under way (Ctrl-C again to stop at once)\n");
    const doc = JSON.parse(r.out);
    const done = doc.density.probes as number;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(400);
    expect(doc.trace.probes).toBe(done);
    expect(doc.stopped).toBe(`by Ctrl-C after ${done === 1 ? "1 probe" : `${done} probes`}`);
    expect(r.err).toContain(
      `stopped by Ctrl-C after ${done} of 400 probes: the density and the trace are those probes'`,
    );
    // The probes done are the first of the full run's: the same trace as a run of that many.
    const same = await cli([...args.slice(0, -3), "--probes", String(Math.max(done, 2)), "--json"]);
    if (done >= 2) expect(JSON.parse(same.out).trace.estimate).toBe(doc.trace.estimate);
  }, 90_000);

  it("find-lr --recommend: its trial runs say how long, and Ctrl-C ends them with the ramp's answer written and no recommendation (exit 130)", async () => {
    const args = ["find-lr", ...spiralMlp("64,64"), "--recommend", "--train-steps", "1500", "--json"];
    const r = await interrupted(args);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(
      /^overshoot: trial run [1-6] of 7 \([\d.]+%\), \d+ s so far, about [\d.]+ (s|min) left at [\d.]+ (ms|s) a trial run; Ctrl-C stops and keeps what was done\n/,
    );
    const doc = JSON.parse(r.out);
    expect(doc.recommendation).toBeNull();
    expect(doc.recommendationStopped).toMatch(/^by Ctrl-C after [1-6] trial runs? of 7$/);
    expect(doc.suggestions.valley).toBeGreaterThan(0);
    expect(r.err).toMatch(
      /stopped by Ctrl-C after [1-6] trial runs? of 7: no recommendation; the ramp's answer is written\n$/,
    );
  }, 120_000);

  it("stability with a large --max-hvps: Lanczos steps against their cap, and Ctrl-C ends it with the estimates and their bounds (exit 130)", async () => {
    // A run of about 18 s to its end (6 s at 128,128 left too little room under CI's load: one
    // run ended before the stop arrived).
    const stopped = await interrupted([
      "stability",
      ...spiralMlp("256,256"),
      "--max-hvps",
      "3000",
      "--tolerance",
      "1e-15",
    ]);
    expect(stopped.code).toBe(130);
    expect(stopped.err).toMatch(
      /^overshoot: Lanczos step \d+ of at most 3,000 \([\d.]+%\), \d+ s so far, about [\d.]+ (s|min) left if it runs to the cap, at [\d.]+ (ms|s) a Lanczos step; Ctrl-C stops and keeps what was done\n/,
    );
    expect(stopped.err).toMatch(
      /\novershoot: stopped by Ctrl-C after \d+ Lanczos steps, before convergence: λ1 ≈ [\d.e-]+ ± [\d.e-]+, λ2 ≈ [\d.e-]+ ± [\d.e-]+, λ3 ≈ [\d.e-]+ ± [\d.e-]+, λmin ≈ -?[\d.e-]+ ± [\d.e-]+ \(each within its ± of an eigenvalue of the Hessian\); run again for the stability answer\n$/,
    );
  }, 120_000);

  it("critical-lr on a network: about how many runs are left, then Ctrl-C ends it with the brackets its runs reached (exit 130)", async () => {
    const args = [
      "critical-lr",
      "--data",
      "xor",
      "--model",
      "mlp",
      "--n",
      "80",
      "--hidden",
      "24",
      "--loss",
      "mse",
      "--steps",
      "40000",
      "--workers",
      "1",
    ];
    const r = await interrupted([...args, "--json"]);
    expect(r.code).toBe(130);
    expect(r.err).toMatch(
      /^overshoot: run \d+ of about \d+ \([\d.]+%\), \d+ s so far, about [\d,.]+ (s|min) left at [\d.]+ (ms|s) a run; Ctrl-C stops and keeps what was done\n/,
    );
    expect(r.err).toContain(
      "overshoot: stopping once the runs under way end (Ctrl-C again to stop at once)\n",
    );
    const doc = JSON.parse(r.out);
    expect(doc.stopped).toMatch(/^by Ctrl-C/);
    expect(doc.runs.length).toBeGreaterThanOrEqual(1);
    expect(r.err).toContain(
      `stopped by Ctrl-C after ${doc.runs.length === 1 ? "1 run" : `${doc.runs.length} runs`}: the boundaries are the brackets`,
    );
    // Whatever it reports agrees with its runs: a bracket's ends are rates it ran.
    const rates = new Set(doc.runs.map((o: { lr: number }) => o.lr));
    for (const b of [doc.etaMax, doc.largestTrained])
      if (b && b.below > 0 && b.above !== "Infinity") {
        expect(rates.has(b.below)).toBe(true);
        expect(rates.has(b.above)).toBe(true);
      }
  }, 90_000);
});

describe("one writer per --log", () => {
  const bin = join(process.cwd(), "bin", "overshoot.js");
  const long = ["train", "--data", "xor", "--lr", "0.1", "--steps", "100000000", "--log-every", "1"];
  const start = (log: string) => {
    const child = spawn(process.execPath, [bin, ...long, "--log", log], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    const closed = new Promise<{ code: number | null; err: string }>((ok) =>
      child.on("close", (code) => ok({ code, err })),
    );
    return { child, closed };
  };
  const until = async (ready: () => boolean) => {
    for (let i = 0; i < 300 && !ready(); i++) await new Promise((ok) => setTimeout(ok, 50));
    expect(ready()).toBe(true);
  };
  const wholeRecords = (text: string) =>
    text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { step: number });

  it("a second trainer on a log in use is refused in one line; a lock left by a killed one is taken over", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-loglock-"));
    const log = join(dir, "run.jsonl");
    const a = start(log);
    await until(() => existsSync(log) && readFileSync(log, "utf8").split("\n").length > 3);
    expect(readFileSync(`${log}.lock`, "utf8")).toMatch(new RegExp(`^${a.child.pid} \\S+\n$`));
    const b = await cli(["train", "--data", "xor", "--lr", "0.1", "--steps", "20", "--log", log]);
    expect(b.code).toBe(2);
    expect(b.err).toBe(
      `overshoot: --log ${log} is being written by another process (pid ${a.child.pid}, lock ${log}.lock): give this run a log of its own\n`,
    );
    a.child.kill("SIGKILL");
    await a.closed;
    const written = readFileSync(log, "utf8");
    const c = await cli([
      "train",
      "--data",
      "xor",
      "--lr",
      "0.1",
      "--steps",
      "20",
      "--log-every",
      "10",
      "--log",
      log,
    ]);
    expect(c.code).toBe(0);
    expect(c.err).toContain(`removed ${log}.lock, left by pid ${a.child.pid}, which has ended`);
    // Nothing of the first run's records was lost; the lock is gone with its writer.
    const after = readFileSync(log, "utf8");
    const cut = written.lastIndexOf("\n") + 1;
    expect(after.startsWith(written.slice(0, cut))).toBe(true);
    expect(wholeRecords(after.slice(cut)).map((r) => r.step)).toEqual([0, 10, 20]);
    expect(existsSync(`${log}.lock`)).toBe(false);
  }, 60_000);

  // A full disk, as in the report: two trainers on one log of a 512 kB tmpfs (mounting needs root).
  const root = process.getuid?.() === 0 && spawnSync("mount", ["--version"]).status === 0;
  it.runIf(root)(
    "on a full tmpfs two trainers never cut each other's records: the second is refused, the first ends at a whole record",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "overshoot-fulllog-"));
      expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", dir]).status).toBe(0);
      try {
        const log = join(dir, "run.jsonl");
        const a = start(log);
        await until(() => existsSync(log) && readFileSync(log, "utf8").length > 1000);
        const b = start(log);
        const [ra, rb] = [await a.closed, await b.closed];
        expect(rb.code).toBe(2);
        expect(rb.err).toMatch(/is being written by another process/);
        expect(ra.code).toBe(2);
        expect(ra.err).toMatch(
          /cannot write --log .*: no space left on the device — the log keeps every record before this one\n$/,
        );
        const records = wholeRecords(readFileSync(log, "utf8"));
        expect(records.length).toBeGreaterThan(100);
        expect(records.map((r) => r.step)).toEqual(records.map((_, i) => i));
      } finally {
        spawnSync("umount", [dir]);
      }
    },
    120_000,
  );
});

describe("run --guard", () => {
  it("never rolls back onto the failing step: a spike of the rate to 1e300 at step 9, a snapshot every step", async () => {
    const spike = await cli([
      "run",
      "--f",
      "x^2",
      "--x0",
      "1",
      "--lr",
      "0.1",
      "--steps",
      "50",
      "--schedule",
      "step:9,1e300",
      "--guard",
    ]);
    expect(spike.out).toMatch(/guard: at step 10, rolled back to step 0 — a non-finite value at step 10/);
    expect(spike.out.match(/^guard: /gm)).toHaveLength(1);
    expect(spike.out).toContain("verdict: converging");
    const every = await cli([
      "run",
      "--f",
      "x^2",
      "--x0",
      "1",
      "--lr",
      "1.5",
      "--steps",
      "50",
      "--guard",
      "--guard-every",
      "1",
    ]);
    const back = /guard: at step (\d+), rolled back to step (\d+)/.exec(every.out)!;
    expect(Number(back[2])).toBeLessThan(Number(back[1]));
    expect(every.out.match(/^guard: /gm)).toHaveLength(1);
    expect(every.out).toContain("verdict: converging");
  });

  it("rolls back a diverging run, caps the rate at 0.9 × the measured critical rate, and converges", async () => {
    const r = await cli([
      "run",
      "--f",
      "quadratic",
      "--eigenvalues",
      "1,10",
      "--rotate",
      "3",
      "--linear",
      "1,-2",
      "--x0",
      "3,3",
      "--lr",
      "0.3",
      "--steps",
      "600",
      "--guard",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.guard.status).toBe("finished");
    expect(j.guard.interventions).toHaveLength(1);
    expect(j.guard.interventions[0].newLr).toBeCloseTo(0.18, 6);
    expect(j.verdict.status).toBe("converged");
    const text = await cli(["run", "--f", "x^2", "--x0", "-1", "--lr", "1.5", "--steps", "100", "--guard"]);
    expect(text.out).toMatch(
      /guard: at step \d+, rolled back to step 0 — .*; lr 1\.5 → 0\.9 \(0\.9 × the critical rate 1\.000/,
    );
  });
});

describe("train --guard, checkpoints and --resume", () => {
  it("a guarded network at a diverging rate is rolled back once and trains to the end", async () => {
    const r = await cli([
      "train",
      "--data",
      "spiral",
      "--loss",
      "mse",
      "--lr",
      "1",
      "--steps",
      "300",
      "--guard",
      "--json",
    ]);
    const j = JSON.parse(r.out);
    expect(j.result.status).toBe("finished");
    expect(j.guard.interventions).toHaveLength(1);
    const i = j.guard.interventions[0];
    expect(i.oldLr).toBe(1);
    expect(i.newLr).toBeLessThan(0.6);
    expect(i.how).toMatch(/0\.9 × the critical rate/);
    expect(Number.isFinite(j.records[j.records.length - 1].loss)).toBe(true);
  });

  it("past --max-retries the guard stops the run and says so (it used to train on unguarded)", async () => {
    const args = ["train", "--data", "spiral", "--loss", "mse", "--lr", "1", "--steps", "300", "--guard"];
    const none = await cli([...args, "--max-retries", "0", "--json"]);
    const j = JSON.parse(none.out);
    expect(j.result).toMatchObject({ status: "gave-up", atStep: 5, outcome: { status: "gave-up" } });
    expect(j.records[j.records.length - 1].step).toBe(5);
    const text = await cli([...args, "--max-retries", "0"]);
    expect(text.out).toContain(
      "verdict: gave up at step 5 — the run went bad and --max-retries 0 allows no rollback; lower --lr or allow rollbacks.",
    );
  });

  it("a minibatch run resumed from its last-step checkpoint is bit-identical to the uninterrupted run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-ckpt-"));
    const ckpt = join(dir, "c.json");
    const common = [
      "train",
      "--data",
      "xor",
      "--n",
      "60",
      "--hidden",
      "6",
      "--optimizer",
      "adam",
      "--lr",
      "0.01",
      "--batch-size",
      "16",
      "--log-every",
      "10",
      "--json",
    ];
    // No --checkpoint-every: the last step (130, not a multiple of the default 100) is written.
    const writer = await cli([...common, "--steps", "130", "--checkpoint", ckpt]);
    const saved = JSON.parse(readFileSync(ckpt, "utf8"));
    expect(saved.step).toBe(130);
    expect(saved.sampler.order).toHaveLength(48); // the training rows (80% of 60)
    const resumed = await cli([
      ...common,
      "--steps",
      "300",
      "--resume",
      ckpt,
      "--save-weights",
      join(dir, "r.json"),
    ]);
    const straight = await cli([...common, "--steps", "300", "--save-weights", join(dir, "s.json")]);
    const a = JSON.parse(resumed.out).records;
    const b = JSON.parse(straight.out).records;
    expect(a[0].step).toBe(130);
    // Every record from the resumed step on, to the last bit (the shuffle state was saved too) —
    // but for what the first one cannot know of the steps before it (the running mean of the
    // batch losses since the previous record, the update ratio against the previous weights), and
    // that a resumed run's first record evaluates every row, as any run's first does: the same
    // numbers the run that wrote the checkpoint ended with at that step.
    const {
      runningLoss: _l,
      runningOver: _o,
      updateRatio: _u,
      ...first
    } = b.find((r: { step: number }) => r.step === 130);
    const ended = JSON.parse(writer.out).records.at(-1);
    expect(ended.step).toBe(130);
    expect(a[0]).toEqual({
      ...first,
      trainLoss: ended.trainLoss,
      trainAccuracy: ended.trainAccuracy,
      inactive: ended.inactive,
    });
    expect(a.slice(1)).toEqual(b.filter((r: { step: number }) => r.step > 130));
    expect(readFileSync(join(dir, "r.json"), "utf8")).toBe(readFileSync(join(dir, "s.json"), "utf8"));
  });

  it("a writer killed mid-checkpoint leaves the previous checkpoint readable, and the next writer removes its temporary file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-kill-"));
    const path = join(dir, "c.json");
    const args = ["train", "--data", "xor", "--n", "40", "--hidden", "3", "--lr", "0.1"];
    await cli([...args, "--steps", "100", "--checkpoint", path]);
    const good = readFileSync(path, "utf8");
    // What a process killed during the next write leaves behind: a partial temporary file, never a partial c.json.
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!;
    writeFileSync(
      join(dir, `.c.json.${dead}.0badf00d.tmp`),
      '{"overshootCheckpoint":2,"step":200,"theta":[0.1,',
    );
    const r = await cli([...args, "--steps", "150", "--resume", path, "--checkpoint", path]);
    expect(r.code).toBe(0);
    expect(JSON.parse(good).step).toBe(100);
    expect(JSON.parse(readFileSync(path, "utf8")).step).toBe(150);
    expect(readdirSync(dir)).toEqual(["c.json"]);
  });

  describe("--resume checks the whole run and the whole file", () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-resume-"));
    const ckpt = join(dir, "c.json");
    const base = ["train", "--data", "xor", "--n", "40", "--hidden", "4", "--lr", "0.1", "--momentum", "0.9"];
    const edited = (name: string, edit: (c: Record<string, unknown>) => void) => {
      const c = JSON.parse(readFileSync(ckpt, "utf8"));
      edit(c);
      writeFileSync(join(dir, name), JSON.stringify(c));
      return join(dir, name);
    };
    it.each([
      [
        "another activation",
        [...base, "--activation", "relu"],
        null,
        /saved with activation tanh, this run has relu/,
      ],
      ["another loss", [...base, "--loss", "mse"], null, /saved with loss cross-entropy, this run has mse/],
      [
        "another data set",
        [...base.map((a) => (a === "xor" ? "circles" : a))],
        null,
        /saved on other training data/,
      ],
      [
        "other data rows",
        [...base.map((a) => (a === "40" ? "50" : a))],
        null,
        /saved on other training data \(32 rows/,
      ],
      [
        "another momentum",
        [...base.map((a) => (a === "0.9" ? "0.5" : a))],
        null,
        /saved with sgd momentum 0\.9, this run has 0\.5/,
      ],
      [
        "another optimizer",
        [...base.slice(0, -2), "--optimizer", "adam"],
        null,
        /saved by sgd, this run uses adam/,
      ],
      ["a batch size", [...base, "--batch-size", "8"], null, /saved with --batch-size none, this run has 8/],
      [
        "a null weight",
        base,
        (c: Record<string, unknown>): void => {
          (c["theta"] as unknown[])[3] = null;
        },
        /the weights must be 22 finite numbers \(it has 22, among them null\)/,
      ],
      [
        "a string weight",
        base,
        (c: Record<string, unknown>): void => {
          (c["theta"] as unknown[])[0] = "0.5";
        },
        /the weights must be 22 finite numbers \(it has 22, among them "0\.5"\)/,
      ],
      [
        "a short momentum buffer",
        base,
        (c: Record<string, unknown>): void => {
          (c["state"] as { buffers: Record<string, number[]> }).buffers["momentumBuffer"]!.length = 5;
        },
        /the optimizer's momentumBuffer must be 22 finite numbers \(it has 5\)/,
      ],
      [
        "no model",
        base,
        (c: Record<string, unknown>): void => {
          delete c["model"];
        },
        /it records no model \(a damaged or hand-made file\)/,
      ],
      [
        "no optimizer",
        base,
        (c: Record<string, unknown>): void => {
          delete c["optimizer"];
        },
        /it records no optimizer \(a damaged or hand-made file\)/,
      ],
      [
        "a step past --steps",
        [...base, "--steps", "50"],
        null,
        /it is at step 100, and this run ends at step 50: give --steps \(or --epochs\) past 100/,
      ],
      [
        "a version-1 file",
        base,
        (c: Record<string, unknown>): void => {
          c["overshootCheckpoint"] = 1;
        },
        /written by an earlier overshoot/,
      ],
    ] as const)("refuses %s, naming it", async (_n, args, edit, message) => {
      if (!existsSync(ckpt)) await cli([...base, "--steps", "100", "--checkpoint", ckpt]);
      const file = edit ? edited(`${_n.replace(/ /g, "-")}.json`, edit) : ckpt;
      const r = await cli([...args, "--resume", file]);
      expect(r.code).toBe(2);
      expect(r.out).toBe("");
      expect(r.err).toMatch(message);
      expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    });
  });

  it.each([
    [
      "a missing checkpoint",
      ["--resume", "/nonexistent/c.json"],
      /cannot resume: \/nonexistent\/c\.json does not exist/,
    ],
    ["--checkpoint-every alone", ["--checkpoint-every", "10"], /--checkpoint-every needs --checkpoint FILE/],
  ])("refuses %s", async (_, extra, message) => {
    const r = await cli(["train", "--data", "xor", "--lr", "0.1", ...extra]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it("refuses a checkpoint of another shape, naming both", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-shape-"));
    const ckpt = join(dir, "c.json");
    await cli([
      "train",
      "--data",
      "xor",
      "--n",
      "40",
      "--hidden",
      "6",
      "--lr",
      "0.1",
      "--steps",
      "120",
      "--checkpoint",
      ckpt,
      "--json",
    ]);
    const r = await cli([
      "train",
      "--data",
      "xor",
      "--n",
      "40",
      "--hidden",
      "8",
      "--lr",
      "0.1",
      "--resume",
      ckpt,
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/it holds a 2-6-2 network, this model is 2-8-2/);
  });
});

describe("overshoot diagnose", () => {
  const dir = mkdtempSync(join(tmpdir(), "overshoot-diagnose-"));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const diag = async (path: string) => JSON.parse((await cli(["diagnose", path, "--json"])).out);

  it("curvature overshoot, from a run's points and gradients (secant curvature vs 2/η)", async () => {
    const run = await cli(["run", "--f", "x^2", "--x0", "-1", "--lr", "1.125", "--steps", "20", "--json"]);
    const d = await diag(write("run.json", run.out));
    expect(d.cause).toBe("curvature-overshoot");
    expect(d.evidence[0]).toMatch(/curvature along the step was 2, above the optimizer's limit 1\.778/);
    expect(d.fix).toMatch(/to 0\.9\)/);
  });

  it("curvature overshoot, from a training log's sharpness vs 2/η", async () => {
    await cli([
      "train",
      "--data",
      "spiral",
      "--loss",
      "mse",
      "--lr",
      "1",
      "--steps",
      "200",
      "--sharpness-every",
      "5",
      "--log-every",
      "5",
      "--log",
      join(dir, "t.jsonl"),
    ]);
    const d = await diag(join(dir, "t.jsonl"));
    expect(d.cause).toBe("curvature-overshoot");
    expect(d.evidence[0]).toMatch(/sharpness λmax was 3\.785, above 2\/η = 2/);
  });

  it("numeric overflow, from a float32 run that stops at float32's limit", async () => {
    await cli([
      "train",
      "--data",
      "spiral",
      "--loss",
      "mse",
      "--lr",
      "1",
      "--steps",
      "200",
      "--dtype",
      "float32",
      // Run on past the blow-up bound to float32's own limit, which is what this cause is.
      "--blow-up",
      "1e300",
      "--log-every",
      "1",
      "--log",
      join(dir, "f.jsonl"),
    ]);
    const d = await diag(join(dir, "f.jsonl"));
    expect(d.cause).toBe("numeric-overflow");
    expect(d.evidence[0]).toMatch(/largest finite loss was [\d.]+e3[78]/);
  });

  it("an adaptive optimizer past its bound, and a bad initialization, from the fields of a log", async () => {
    const adam = [0, 1, 2, 3]
      .map((k) =>
        JSON.stringify({
          step: k,
          loss: k < 3 ? 1 / (k + 1) : "Infinity",
          preconditionedSharpness: 10 + 20 * k,
          bound: 38,
        }),
      )
      .join("\n");
    expect((await diag(write("adam.jsonl", adam))).cause).toBe("adaptive-optimizer");
    const dead = [0, 1, 2]
      .map((k) => JSON.stringify({ step: k, loss: k < 2 ? 60 : "NaN", inactive: [1, 0.9] }))
      .join("\n");
    const d = await diag(write("dead.jsonl", dead));
    expect(d.cause).toBe("bad-initialization");
    expect(d.evidence[0]).toMatch(/100% \/ 90% of the hidden units/);
  });

  it("a loss column alone (Keras' CSVLogger): the growth rate, and what cannot be known", async () => {
    const d = await diag(
      write(
        "keras.csv",
        "epoch,loss,val_loss\n0,2.3,2.2\n1,5.1,5\n2,40,41\n3,900,880\n4,2e5,2e5\n5,nan,nan\n",
      ),
    );
    expect(d.cause).toBe("undetermined");
    expect(d.unit).toBe("epoch");
    expect(d.evidence[0]).toMatch(/from epoch 0 the loss grew ×[\d.]+ per epoch/);
    expect(d.unknowable).toMatch(/cannot say why λ is large/);
  });

  it("a log cut off mid-line and continued by a resumed run: read, with what was skipped said", async () => {
    const lines = [0, 1, 2, 3].map((k) => JSON.stringify({ step: k, loss: 10 ** k }));
    const path = write("cut.jsonl", `${lines.join("\n")}\n{"step":4,"lo`);
    const r = await cli(["diagnose", path]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      `${path} (JSON lines, 4 steps)\nnote: the last line (line 5, "{\\"step\\":4,\\"lo") is cut off`,
    );
    expect(r.out).toMatch(/cause: no-divergence/);
    const junk = await cli(["diagnose", write("junk.csv", "epoch,loss\n0,1\n1,abc\n2,3\n")]);
    expect(junk.code).toBe(2);
    expect(junk.err).toMatch(
      /^overshoot: invalid log: .*junk\.csv row 3, column loss: 'abc' is not a number/,
    );
    expect(junk.err.trimEnd().split("\n")).toHaveLength(1);
  });

  it("a run that did not blow up says so", async () => {
    expect((await diag(write("ok.csv", "step,loss\n0,1\n1,0.5\n2,0.25\n"))).cause).toBe("no-divergence");
  });

  it("a log without a loss column lists the columns it found", async () => {
    const r = await cli(["diagnose", write("bad.csv", "epoch,acc\n0,0.5\n")]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/has no loss column \(columns: epoch, acc\)/);
  });

  it("unscaled inputs, given the data: raw car features at lr 1e-3, critical rate before and after standardizing", async () => {
    const cars = loadCars();
    const { columns, values, rows } = cars.table;
    const lines = [columns.join(",")];
    for (let r = 0; r < rows; r++)
      lines.push(Array.from(values.subarray(r * columns.length, (r + 1) * columns.length)).join(","));
    const csv = write("cars.csv", `${lines.join("\n")}\n`);
    const data = ["--data", csv, "--target", "mpg", "--features", "year,acceleration"];
    const run = await cli(["run", ...data, "--lr", "1e-3", "--steps", "300", "--json"]);
    const log = write("cars-run.json", run.out);
    const r = await cli(["diagnose", log, ...data, "--lr", "1e-3", "--json"]);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out);
    expect(d.cause).toBe("unscaled-inputs");
    const s = d.measured.scaling;
    expect(s.gain).toBeGreaterThan(100);
    expect(d.fix).toMatch(/--standardize.*rises from 0\.000\d+ to [\d.]+/);
    const text = await cli(["diagnose", log, ...data, "--lr", "1e-3"]);
    expect(text.out).toMatch(/feature scales \(mean ± standard deviation\): year 7\d\.\d+ ± 3\.\d+/);
    // The same run on standardized features past their own limit is curvature overshoot, not scaling.
    const std = [...data, "--standardize"];
    const over = await cli(["run", ...std, "--lr", "1.5", "--steps", "300", "--json"]);
    const o = JSON.parse(
      (await cli(["diagnose", write("std-run.json", over.out), ...std, "--lr", "1.5", "--json"])).out,
    );
    expect(o.cause).toBe("curvature-overshoot");
  });

  it("minibatch noise, given the data and the batch size: full batch stable at η, minibatches of 8 not", async () => {
    const set = heavyRowsRegression(500, createRng(5));
    const lines = ["x1,x2,y"];
    for (let r = 0; r < set.rows; r++) lines.push(`${set.x[2 * r]},${set.x[2 * r + 1]},${set.y[r]}`);
    const csv = write("heavy.csv", `${lines.join("\n")}\n`);
    const net = ["--data", csv, "--target", "y", "--hidden", "none", "--loss", "mse", "--validation", "0"];
    const log = join(dir, "heavy.jsonl");
    const t = await cli([
      "train",
      ...net,
      "--lr",
      "0.01",
      "--batch-size",
      "8",
      "--steps",
      "20000",
      "--log",
      log,
    ]);
    expect(t.out + t.err).toMatch(/verdict: (diverged|nonfinite) at step/);
    const r = await cli([
      "diagnose",
      log,
      ...net,
      "--model",
      "mlp",
      "--lr",
      "0.01",
      "--batch-size",
      "8",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out);
    expect(d.cause).toBe("minibatch-noise");
    expect(d.measured.noise.full.criticalLr).toBeGreaterThan(0.01);
    expect(d.measured.noise.unstableFraction).toBeGreaterThan(0);
    expect(d.evidence.join(" ")).toMatch(/gradient noise scale tr\(Σ\)\/‖G‖² = [\d.]+/);
  }, 60_000);

  it("refuses problem flags without --data, and a batch larger than the data, in one line", async () => {
    const log = write("l.csv", "step,loss\n0,1\n1,10\n2,100\n3,1000\n");
    const a = await cli(["diagnose", log, "--batch-size", "8"]);
    expect(a.code).toBe(2);
    expect(a.err).toBe(
      "overshoot: --batch-size describes the run's problem: add --data (see overshoot diagnose --help)\n",
    );
    const b = await cli([
      "diagnose",
      log,
      "--data",
      "spiral",
      "--model",
      "mlp",
      "--lr",
      "0.1",
      "--batch-size",
      "9999",
    ]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/invalid --batch-size: 9999 \(a whole number from 1 to the \d+ training rows\)/);
    const c = await cli(["diagnose", log, "--data", "spiral", "--model", "mlp"]);
    expect(c.err).toMatch(/missing --lr/);
  });

  it("a train log given the flags of another run is refused in one line (its measurements would describe that other run)", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "overshoot-otherrun-")), "s.jsonl");
    const run = ["--hidden", "16", "--lr", "0.5"];
    await cli(["train", "--data", "spiral", ...run, "--steps", "20", "--log", log]);
    const start = JSON.parse(readFileSync(log, "utf8").split("\n")[0]!).trainLoss as number;
    const other = await cli(["diagnose", log, "--data", "circles", "--model", "mlp", ...run]);
    expect(other.code).toBe(2);
    expect(other.err).toMatch(
      /^overshoot: --data circles is not the log's run: the log's loss on every training row at step 0 is ([\d.]+), this model on these data from its start gives ([\d.]+) — give the flags of the run that wrote the log \(its data, model, --seed or --init\), or drop --data to read the log alone\n$/,
    );
    expect(Number(/step 0 is ([\d.]+)/.exec(other.err)![1])).toBeCloseTo(start, 3);
    // Another seed is another start too; the run's own flags are read.
    const seed = await cli(["diagnose", log, "--data", "spiral", "--model", "mlp", ...run, "--seed", "7"]);
    expect(seed.code).toBe(2);
    const same = await cli(["diagnose", log, "--data", "spiral", "--model", "mlp", ...run, "--json"]);
    expect(same.code).toBe(0);
    expect(JSON.parse(same.out).measured.scaling).toBeDefined();
  });
});

describe("diagnose a guarded training log", () => {
  it("reports the rollback, the curvature behind it, and the safe rate", async () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-guardlog-"));
    await cli([
      "train",
      "--data",
      "spiral",
      "--loss",
      "mse",
      "--lr",
      "1",
      "--steps",
      "100",
      "--guard",
      "--log",
      join(dir, "g.jsonl"),
    ]);
    const d = JSON.parse((await cli(["diagnose", join(dir, "g.jsonl"), "--json"])).out);
    expect(d.cause).toBe("curvature-overshoot");
    expect(d.summary).toMatch(/the guard saved it: 1 rollback, the first at step 5/);
    expect(d.evidence[1]).toMatch(/λmax = 3\.785 at the restored point, so η·λ = 3\.785 > 2/);
  });
});

describe("sweep --seeds: every cell over the initial weights of several seeds", () => {
  const net = [
    "--data",
    "xor",
    "--model",
    "mlp",
    "--hidden",
    "8",
    "--n",
    "80",
    "--loss",
    "mse",
    "--steps",
    "300",
  ];

  it("a seed's cells are those of the sweep started from that seed's weights; the groups are the seeds' fraction diverged and spread", async () => {
    const one = await cli(["sweep", ...net, "--seed", "5", "--lr", "0.5:4:8", "--json"]);
    const seeded = await cli(["sweep", ...net, "--seed", "5", "--seeds", "5:5", "--lr", "0.5:4:8", "--json"]);
    expect(seeded.code, seeded.err).toBe(0);
    const strip = (cells: Record<string, unknown>[]) => cells.map(({ seed: _s, ...rest }) => rest);
    expect(strip(JSON.parse(seeded.out).cells)).toEqual(JSON.parse(one.out).cells);

    const r = await cli([
      "sweep",
      ...net,
      "--seeds",
      "0:5",
      "--lr",
      "0.5:4:8",
      "--momentum",
      "0:0.9:3",
      "--json",
    ]);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.cells).toHaveLength(8 * 3 * 6);
    expect(j.seeds).toEqual({ from: 0, to: 5 });
    // Each group recomputed from its six cells.
    expect(j.groups).toHaveLength(24);
    for (const g of j.groups) {
      const cells = j.cells.filter(
        (c: { lr: number; momentum: number }) => c.lr === g.lr && c.momentum === g.momentum,
      );
      expect(cells.map((c: { seed: number }) => c.seed)).toEqual([0, 1, 2, 3, 4, 5]);
      const diverged = cells.filter(
        (c: { status: string }) => c.status === "nonfinite" || c.status === "diverged",
      );
      expect(g.diverged).toBe(diverged.length);
      expect(g.fractionDiverged).toBe(diverged.length / 6);
      const finals = cells
        .map((c: { finalLoss: unknown }) => c.finalLoss)
        .filter((v: unknown) => typeof v === "number");
      finals.sort((a: number, b: number) => a - b);
      if (finals.length === 0) expect(g.finalLoss).toBeNull();
      else {
        expect(g.finalLoss.min).toBe(finals[0]);
        expect(g.finalLoss.max).toBe(finals[finals.length - 1]);
        const mid = finals.length >> 1;
        expect(g.finalLoss.median).toBe(
          finals.length % 2 ? finals[mid] : (finals[mid - 1] + finals[mid]) / 2,
        );
      }
    }
    // The seeds start apart: at the smallest rate their final losses differ.
    const first = j.groups[0];
    expect(first.finalLoss.max).toBeGreaterThan(first.finalLoss.min);
    // Somewhere between "none diverged" and "all did" (the map's digits).
    expect(j.groups.some((g: { diverged: number }) => g.diverged > 0 && g.diverged < 6)).toBe(true);
    const text = await cli(["sweep", ...net, "--seeds", "0:5", "--lr", "0.5:4:8", "--momentum", "0:0.9:3"]);
    expect(text.out).toContain(
      "· no seed diverged  1–9 that many tenths of the 6 seeds diverged  ✕ all diverged",
    );
  }, 60_000);

  it.each([
    [
      ["--f", "x^2", "--x0", "1", "--lr", "0.1:1:3", "--seeds", "0:3"],
      /--seeds draws a network's initial weights: it applies to --model mlp/,
    ],
    [
      [...net, "--x0", "1", "--lr", "0.1:1:3", "--seeds", "0:3"],
      /--seeds draws each cell's start: leave out --x0/,
    ],
    [[...net, "--lr", "0.1:1:3", "--seeds", "3:1"], /invalid --seeds: '3:1' \(A:B, whole numbers with A ≤ B/],
    [[...net, "--lr", "0.1:1:3", "--seeds", "0:5000"], /at most 1000 seeds/],
  ])("refuses %j in one line", async (args, message) => {
    const r = await cli(["sweep", ...args]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err.trim().split("\n")).toHaveLength(1);
  });
});
