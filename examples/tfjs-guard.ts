// A TensorFlow.js model trained at a learning rate that blows up, without and with overshoot's
// callback. Run: npx tsx examples/tfjs-guard.ts   (in your own project: import from "overshoot/tfjs")
//
// The data is the seed's: mpg of 392 cars from model year and acceleration in raw units (the
// vega-datasets package), where plain SGD at lr 1e-3 goes from thousands to a trillion to NaN.
import * as tf from "@tensorflow/tfjs";
import { overshootCallback } from "../src/bridge/tfjs.js";
import { loadCars } from "../src/cli/datasets.js";
import { designFromTable } from "../src/objectives/table.js";

await tf.setBackend("cpu");
const cars = loadCars();
const design = designFromTable(cars.table, "mpg", ["year", "acceleration"]);
const x = tf.tensor2d(Array.from(design.x), [design.rows, 2]);
const y = tf.tensor2d(Array.from(design.y), [design.rows, 1]);

// Linear regression as a one-layer TF.js model: what the seed's practitioner trains, in TF.js.
function model(): tf.Sequential {
  const m = tf.sequential({
    layers: [tf.layers.dense({ units: 1, inputShape: [2], kernelInitializer: "zeros" })],
  });
  m.compile({ optimizer: tf.train.sgd(1e-3), loss: "meanSquaredError" });
  return m;
}

const fmt = (v: number) => (Number.isFinite(v) ? v.toPrecision(4) : String(v));
const epochs = 30;
const fit = { epochs, batchSize: 32, shuffle: false, verbose: 0 as const };

console.log("Without the callback: SGD lr 1e-3 on raw features");
const plain = await model().fit(x, y, fit);
const losses = plain.history["loss"] as number[];
const nan = losses.findIndex((l) => !Number.isFinite(l));
console.log(`  epoch losses: ${losses.slice(0, 5).map(fmt).join(", ")}, … → ${fmt(losses[losses.length - 1]!)}`);
console.log(`  ${nan >= 0 ? `non-finite from epoch ${nan + 1}: the run is lost` : "finished"}\n`);

console.log("With overshootCallback: one line, callbacks: [overshootCallback(model)]");
const guarded = model();
// Its defaults: every event printed, a log overshoot-tfjs.jsonl (npx overshoot diagnose or watch read
// it), and the first batch as the measurement batch (a model the float64 engine copies): exact
// curvature, so a rollback caps the rate from λmax at the restored weights.
const callback = overshootCallback(guarded, { sharpnessEvery: 52 });
const safe = await guarded.fit(x, y, { ...fit, callbacks: [callback] });
const after = safe.history["loss"] as number[];
console.log(`  epoch losses: ${after.slice(0, 5).map(fmt).join(", ")}, … → ${fmt(after[after.length - 1]!)}`);
console.log(
  `  ${callback.report.status}: ${callback.report.interventions.length} rollback(s); curvature measured ${callback.report.engine === "float64-exact" ? "exactly in overshoot's float64 engine" : callback.report.engine}`,
);
