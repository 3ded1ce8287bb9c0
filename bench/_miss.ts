import { judgeSet, labelledSet, type SetName } from "../test/zoo/labelled.js";
for (const s of ["zoo","holdout","torch","torch-b"] as SetName[]) {
  for (const j of judgeSet(labelledSet(s))) {
    const r = j.run;
    if (r.divergedStep !== null && j.lead === null) {
      const d = r.divergedStep;
      const ls = r.loss.slice(0, d + 1).map((x) => (x / r.loss[0]!).toPrecision(3));
      const cs = r.curvature.slice(0, d + 1).map((x) => (x * r.optimizer.lr).toPrecision(3));
      console.log(`${s} ${r.id} div@${d} nf@${r.nonfiniteStep} warn@${j.replay.detection.firstWarningStep}\n  L/L0 ${ls.slice(-8).join(" ")}\n  ηc ${cs.slice(-8).join(" ")}`);
    }
  }
}
