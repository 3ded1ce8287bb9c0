import { labelledSet } from "../test/zoo/labelled.js";
import { DivergenceDetector } from "../src/analysis/training/detector.js";
const r = labelledSet("torch-b").find((x) => x.id.startsWith("gelu-half-mse-48x48-product-xavier_normal-s344 adam lr 0.3"))!;
console.log(r.bound, r.loss[0], r.baseline);
const d = new DivergenceDetector(r.optimizer, { bound: r.bound });
r.loss.forEach((loss, k) => { const st = d.observeScalars({ step: k, loss, curvature: r.curvature[k]!, lr: r.optimizer.lr }); if (k>=1125 && k<=1145) console.log(k, loss.toPrecision(4), st, d.detection.reason.slice(0,300)); });
