import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileExpression } from "../src/objectives/expression.js";
import { seedRun } from "../web/src/seed/model.js";
import { cli } from "./cli-harness.js";

/**
 * Every sentence of a verdict agrees with the numbers beside it (issue 24, point 7), on the cases
 * a new user tried: each text is read back and checked against the same command's JSON, its log,
 * or a computation of our own. The demos' own claims are test/claims.test.ts.
 */
const dir = mkdtempSync(join(tmpdir(), "overshoot-verdicts-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NUM = String.raw`(-?[\d.]+(?:e[+-]?\d+)?)`;
const grab = (text: string, pattern: string): RegExpExecArray => {
  const m = new RegExp(pattern).exec(text);
  if (!m) throw new Error(`not found: /${pattern}/ in\n${text}`);
  return m;
};
/** A number as printed (4 significant digits by default) against the value it stands for. */
const same = (printed: string | undefined, value: number, what: string, digits = 4) => {
  const p = Number(printed);
  expect(Math.abs(p - value), `${what}: printed ${printed}, value ${value}`).toBeLessThanOrEqual(
    Math.abs(value) * 10 ** (1 - digits) * 0.51 + 1e-300,
  );
};

describe("run: the verdict, its reason and the detection say the same thing", () => {
  it("x² from −1 at η = 1.125 for 50 steps: diverged at the first step past 10⁶ × f(x₀), with that bound in the reason and the JSON", async () => {
    const args = ["run", "--f", "x^2", "--x0", "-1", "--lr", "1.125", "--steps", "50"];
    const text = (await cli(args)).out;
    const j = JSON.parse((await cli([...args, "--json"])).out);
    expect(j.verdict.status).toBe("diverged");
    expect(text).toContain(`verdict: diverged at step ${j.verdict.atStep}`);
    const k = j.verdict.atStep as number;
    // The loss is (1 − 2η)^(2k) = 1.5625^k: past 10⁶ first at k = 31.
    expect(k).toBe(31);
    expect(j.trace[k].loss).toBeGreaterThan(j.bound.value);
    expect(j.trace[k - 1].loss).toBeLessThanOrEqual(j.bound.value);
    const m = grab(
      text,
      String.raw`passed the blow-up bound 10⁶ × \|f\(x₀\)\| 1 = ${NUM} at step (\d+), where f = ${NUM}`,
    );
    same(m[1], j.bound.value, "B");
    expect(Number(m[2])).toBe(k);
    same(m[3], j.trace[k].loss, "f at the bound");
    // The detector warned before the step it diverged.
    expect(j.detection.firstWarningStep).toBeLessThan(k);
  });

  it("1/x from −1 at η = 1.125: ΔC = +9 at step 0, so the verdict says it rose and is still above its start, and no factor prints as '= 1 < 1'", async () => {
    const args = ["run", "--f", "1/x", "--x0", "-1", "--lr", "1.125", "--steps", "30"];
    const text = (await cli(args)).out;
    const j = JSON.parse((await cli([...args, "--json"])).out);
    expect(j.trace[0].deltaLoss).toBeCloseTo(9, 12);
    expect(text).not.toMatch(/= 1 < 1/);
    const f = grab(text, String.raw`\|1 − η·λ\| = \|1 − 1\.125·${NUM}\| = ${NUM} < 1`);
    expect(Number(f[2])).toBeLessThan(1);
    same(f[2], Math.abs(1 - 1.125 * Number(f[1])), "|1 − ηλ|", 6);
    const rose = grab(
      text,
      String.raw`it rose above its start f\(x₀\) = ${NUM} to ${NUM} at step (\d+) and is still above it`,
    );
    same(rose[1], j.trace[0].loss, "f(x₀)");
    same(rose[2], j.trace[Number(rose[3])].loss, "the peak");
    expect(j.trace[j.trace.length - 1].loss).toBeGreaterThan(j.trace[0].loss);
    // The lab's headline says the same: not "falls every step".
    const lab = seedRun(compileExpression("1/x"), { f: "1/x", lr: 1.125, x0: -1, steps: 30 });
    expect(lab.headline).not.toMatch(/falls every step/);
    expect(lab.headline).toMatch(/rose at step 0 and is still above where it started/);
  });

  it("just past 2/λmax on a rotated quadratic: the verdict is diverging and the detection does not say 'without running away'", async () => {
    const r = await cli([
      "run",
      "--f",
      "quadratic",
      "--eigenvalues",
      "1,100",
      "--rotate",
      "7",
      "--x0",
      "1,1",
      "--lr",
      "0.0201",
      "--json",
    ]);
    const j = JSON.parse(r.out);
    expect(j.verdict.status).toBe("diverging");
    expect(j.detection.reason).not.toMatch(/without running away/);
    const m = grab(
      j.detection.reason,
      String.raw`rose on every one of the last (\d+) steps \(×${NUM} per step\)`,
    );
    const n = Number(m[1]);
    const t = j.trace as { loss: number }[];
    for (let k = t.length - n; k < t.length; k++) expect(t[k]!.loss).toBeGreaterThan(t[k - 1]!.loss);
    same(m[2], (t[t.length - 1]!.loss / t[t.length - 1 - n]!.loss) ** (1 / n), "growth per step");
  });

  it("the seed's three rates in the lab: 0.1 falls every step, 1 bounces, 1.125 explodes", () => {
    const x2 = compileExpression("x^2");
    const at = (lr: number) => seedRun(x2, { f: "x^2", lr, x0: -1, steps: 20 });
    const slow = at(0.1);
    expect(slow.trace.every((r) => r.deltaLoss === undefined || r.deltaLoss < 0)).toBe(true);
    expect(slow.headline).toBe("Converges: the loss falls every step");
    expect(at(1).headline).toBe("Bounces between x = -1 and x = 1 forever");
    expect(at(1.125).headline).toMatch(/^Explodes/);
    // A start at the minimum says so instead of "converges".
    expect(seedRun(x2, { f: "x^2", lr: 0.1, x0: 0, steps: 20 }).headline).toMatch(/stationary point/);
  });
});

describe("train: a run past the bound is never finished, and each verdict's numbers are its records'", () => {
  it("spiral at lr 1 (it reached 7.9e112 and was 'finished'): diverged at the step its loss passed the bound", async () => {
    const args = ["train", "--data", "spiral", "--loss", "mse", "--lr", "1", "--steps", "50"];
    const text = (await cli(args)).out;
    const j = JSON.parse((await cli([...args, "--json"])).out);
    expect(j.result.status).toBe("diverged");
    expect(text).not.toMatch(/finished/);
    const at = j.records.find((r: { step: number }) => r.step === j.result.atStep);
    expect(at.loss).toBeGreaterThan(j.result.bound.value);
    const m = grab(
      text,
      String.raw`verdict: diverged at step (\d+) — the loss passed the blow-up bound 10⁶ × max\(\|f\(x₀\)\| ${NUM}, baseline ${NUM}\) = ${NUM}`,
    );
    expect(Number(m[1])).toBe(j.result.atStep);
    same(m[2], j.result.bound.startLoss, "start");
    same(m[3], j.result.baseline.loss, "baseline");
    same(m[4], j.result.bound.value, "B");
    // The baseline of one-hot labels under mse: each output's variance p(1 − p), p = ½: 0.25.
    expect(j.result.baseline.loss).toBeCloseTo(0.25, 12);
  });

  it("ReLU units that die on unscaled car data: the fractions in the verdict are the log's", async () => {
    const log = join(dir, "cars-relu.jsonl");
    const r = await cli([
      "train",
      "--data",
      "examples/cars.csv",
      "--target",
      "mpg",
      "--features",
      "acceleration,year",
      "--hidden",
      "16",
      "--activation",
      "relu",
      "--loss",
      "mse",
      "--lr",
      "1e-3",
      "--batch-size",
      "32",
      "--epochs",
      "10",
      "--log",
      log,
    ]);
    const records = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { step: number; inactive?: number[]; trainLoss?: number });
    const m = grab(
      r.out,
      String.raw`verdict: ${NUM}% of layer 1's units are dead \(${NUM}% at step 0, ${NUM}% by step (\d+)\)`,
    );
    const withUnits = records.filter((x) => x.inactive);
    same(m[1], 100 * withUnits[withUnits.length - 1]!.inactive![0]!, "at the end", 3);
    same(m[2], 100 * withUnits[0]!.inactive![0]!, "at step 0", 3);
    const by = withUnits.find((x) => x.step === Number(m[4]))!;
    same(m[3], 100 * by.inactive![0]!, "when it collapsed", 3);
    // The first record past half the layer that had risen from its start.
    expect(
      withUnits
        .filter((x) => x.step < by.step)
        .every((x) => x.inactive![0]! <= 0.5 || x.inactive![0]! < withUnits[0]!.inactive![0]! + 0.25),
    ).toBe(true);
    expect(r.out).toMatch(/unscaled inputs/);
    // diagnose reads the same collapse from the log.
    const d = JSON.parse((await cli(["diagnose", log, "--json"])).out);
    expect(d.cause).toBe("dead-units");
  });

  it("saturated units at lr 1e3: said with the log's fractions, never 'finished'", async () => {
    const r = await cli([
      "train",
      "--data",
      "spiral",
      "--hidden",
      "8",
      "--lr",
      "1e3",
      "--steps",
      "200",
      "--json",
    ]);
    const j = JSON.parse(r.out);
    expect(j.result.outcome.status).toBe("saturated-units");
    const withUnits = j.records.filter((x: { inactive?: number[] }) => x.inactive);
    const m = grab(
      j.result.outcome.reason,
      String.raw`^${NUM}% of layer 1's units are saturated \(${NUM}% at step 0, ${NUM}% by step (\d+)\)`,
    );
    same(m[1], 100 * withUnits[withUnits.length - 1].inactive[0], "at the end", 3);
    same(m[2], 100 * withUnits[0].inactive[0], "at the start", 3);
  });

  it("the README's edge-of-stability example ends at 55.6% on a balanced spiral: stalled at the baseline, with its own accuracy", async () => {
    const r = await cli([
      "train",
      "--data",
      "spiral",
      "--hidden",
      "16,16",
      "--loss",
      "mse",
      "--lr",
      "0.2",
      "--steps",
      "4000",
      "--json",
    ]);
    const j = JSON.parse(r.out);
    const end = j.records[j.records.length - 1];
    expect(j.result.outcome.status).toBe("stalled");
    const m = grab(
      j.result.outcome.reason,
      String.raw`a train accuracy ${NUM}% against ${NUM}% for always predicting the majority class: it closed ${NUM}% of the gap`,
    );
    same(m[1], 100 * end.trainAccuracy, "accuracy");
    same(m[2], 100 * j.result.baseline.accuracy, "majority");
    same(
      m[3],
      (100 * (end.trainAccuracy - j.result.baseline.accuracy)) / (1 - j.result.baseline.accuracy),
      "gap closed",
    );
  });
});

describe("critical-lr: the prose and the table are the run list's", () => {
  const spiral = [
    "critical-lr",
    "--data",
    "spiral",
    "--model",
    "mlp",
    "--hidden",
    "32,32",
    "--loss",
    "mse",
    "--n",
    "250",
  ];

  it("the spiral net of the report: every run row is the JSON's, the × 2/λ0 column tells every rate apart, 'between' counts what the runs did", async () => {
    const text = (await cli(spiral)).out;
    const j = JSON.parse((await cli([...spiral, "--json"])).out);
    const rows = text
      .slice(text.indexOf("Runs:"))
      .split("\n")
      .slice(2)
      .filter((l) => /^ {2}\d/.test(l))
      .map((l) => l.trim().split(/\s{2,}/));
    expect(rows).toHaveLength(j.runs.length);
    const multiples = new Set<string>();
    rows.forEach((row, i) => {
      const run = j.runs[i];
      same(row[0], run.lr, "lr", 5);
      multiples.add(row[1]!);
      same(row[1]!.replace("×", ""), run.lr / j.curvature.criticalLr, "× 2/λ0", 3);
      const status =
        run.status === "nonfinite"
          ? "overflowed"
          : run.status === "stalled"
            ? "stalled at the baseline"
            : run.status;
      expect(row[2]!.startsWith(status), `${row[2]} is ${run.status}`).toBe(true);
      if (run.status !== "nonfinite") same(/final (\S+)/.exec(row.join("  "))![1], run.finalLoss, "final");
    });
    // Distinct rates, distinct multiples.
    expect(multiples.size).toBe(new Set(j.runs.map((r: { lr: number }) => r.lr)).size);
    const between =
      /Between the largest rate that trains, [\d.]+, and η_max ≈ [\d.]+ the (\d+ runs|run) tried ([^.]*)\./.exec(
        j.explanation,
      );
    if (between) {
      const inGap = j.runs.filter(
        (r: { lr: number }) => r.lr > j.largestTrained.below && r.lr < j.etaMax.above,
      );
      expect(Number(between[1]!.split(" ")[0]) || 1).toBe(inGap.length);
      const counts = [
        ...between[2]!.matchAll(/(\d+) (trained|diverged|failed|stalled at the baseline|overflowed)/g),
      ];
      const total = counts.reduce((a, c) => a + Number(c[1]), 0);
      if (counts.length > 0) expect(total).toBe(inGap.length);
    }
    // No run past the bound is anything but diverged, and η_max's bracket is the run list's.
    for (const r of j.runs)
      if (r.finalLoss !== "Infinity" && Number(r.finalLoss) > j.bound.value)
        expect(r.status).toBe("diverged");
    const above = j.runs.find((r: { lr: number }) => r.lr === j.etaMax.above);
    expect(["diverged", "nonfinite"]).toContain(above.status);
  }, 120_000);

  it("the ONNX example at 100 steps: a loss of 1e189 is diverged, never 'neither train nor overflow'", async () => {
    const args = [
      "critical-lr",
      "--model-onnx",
      "examples/model.onnx",
      "--data",
      "examples/train.csv",
      "--target",
      "y",
      "--steps",
      "100",
    ];
    const j = JSON.parse((await cli([...args, "--json"])).out);
    for (const r of j.runs) {
      const f = Number(r.finalLoss);
      if (!Number.isFinite(f) || f > j.bound.value) expect(["diverged", "nonfinite"]).toContain(r.status);
    }
    expect(j.explanation).not.toMatch(/neither train nor overflow/);
    const failedAboveBound = j.runs.filter(
      (r: { status: string; finalLoss: number }) => r.status === "failed" && r.finalLoss > 1e6,
    );
    expect(failedAboveBound).toEqual([]);
  }, 120_000);

  it("logistic regression from zero weights: the convergence threshold is back, in text and JSON, bracketed by the runs", async () => {
    const csv = join(dir, "l.csv");
    const lines = Array.from({ length: 40 }, (_, i) => {
      const a = (i % 10) / 3 - 1.5;
      return `${a},${(i * 7) % 10 < 3 + 4 * (a > 0 ? 1 : 0) ? 1 : 0}`;
    });
    const { writeFileSync } = await import("node:fs");
    writeFileSync(csv, `a,label\n${lines.join("\n")}\n`);
    const args = [
      "critical-lr",
      "--data",
      csv,
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
    ];
    const text = (await cli(args)).out;
    const j = JSON.parse((await cli([...args, "--json"])).out);
    const m = grab(text, String.raw`convergence threshold +${NUM} +\[${NUM} … ${NUM}\]`);
    same(m[1], j.convergence.estimate, "estimate", 5);
    same(m[2], j.convergence.below, "below", 5);
    same(m[3], j.convergence.above, "above", 5);
  }, 120_000);

  it("linear regression (a constant Hessian): 2/λmax is the whole answer — no catapult, no curvature that changes, in critical-lr and stability", async () => {
    const data = ["--data", "examples/cars.csv", "--target", "mpg", "--standardize"];
    const s = (await cli(["stability", ...data])).out;
    expect(s).not.toMatch(/catapult|curvature changes|as training moves them/i);
    expect(s).toMatch(/The Hessian is the same at every point/);
    const c = (await cli(["critical-lr", ...data, "--steps", "500"])).out;
    expect(c).not.toMatch(/catapult|the curvature fell|rose above its start/i);
    const lim = grab(c, String.raw`curvature's limit at the start +${NUM}`);
    const eta = /η_max, smallest rate that diverges +\S+ +\[${NUM} … ${NUM}\]/.exec(c);
    if (eta) {
      // Past 2/λmax the error grows every step: η_max sits just above the limit, by how fast 500 steps pass 10⁶.
      expect(Number(eta[2])).toBeGreaterThan(Number(lim[1]));
    }
  }, 120_000);
});
