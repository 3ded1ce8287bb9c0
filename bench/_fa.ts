import { endsBelowStart, judgeSet, labelledSet, type SetName } from "../test/zoo/labelled.js";
import { DivergenceDetector } from "../src/analysis/training/detector.js";
for (const s of ["zoo","holdout","torch","torch-b"] as SetName[]) {
  for (const j of judgeSet(labelledSet(s))) {
    const r = j.run;
    const w = j.replay.detection.firstWarningStep;
    if (endsBelowStart(r) && w !== null) {
      const a = Math.max(0, w - 8), b = Math.min(r.loss.length, w + 6);
      console.log(`${s} ${r.id} ${r.label} warn@${w} len ${r.loss.length} end ${(r.loss.at(-1)!/r.loss[0]!).toPrecision(3)}`);
      console.log(`  L/L0 ${r.loss.slice(a,b).map((x)=>(x/r.loss[0]!).toPrecision(3)).join(" ")}`);
      console.log(`  ηc ${r.curvature.slice(a,b).map((x)=>(x*r.optimizer.lr).toPrecision(3)).join(" ")}`);
      const d = new DivergenceDetector(r.optimizer, { bound: r.bound, ...(r.kind === "minibatch sgd" ? { curvature: false } : {}) });
      r.loss.forEach((loss, k) => d.observeScalars({ step: k, loss, curvature: r.curvature[k]!, lr: r.optimizer.lr }));
      console.log("  ", d.detection.reason);
    }
  }
}
