import { parentPort } from "node:worker_threads";
import { mlpObjective } from "./mlp.js";
import { KINDS, type ThreadInit } from "./mlp-threads.js";

// One worker of threadedMlp: its share of the rows, woken by the control words, its result in `out`.
parentPort!.once("message", (init: ThreadInit) => {
  const ctl = new Int32Array(init.control);
  const theta = new Float64Array(init.theta);
  const v = new Float64Array(init.v);
  const out = new Float64Array(init.out);
  const f = mlpObjective(init.spec, init.data, "mlp");
  const g = out.subarray(1);
  let seen = 0;
  parentPort!.postMessage("ready");
  for (;;) {
    Atomics.wait(ctl, 0, seen);
    const seq = Atomics.load(ctl, 0);
    if (seq < 0) return;
    if (seq === seen) continue;
    seen = seq;
    const kind = Atomics.load(ctl, 1);
    if (kind === KINDS.value) out[0] = f.value(theta);
    else if (kind === KINDS.gradient) out[0] = f.gradient(theta, g);
    else if (kind === KINDS.hvp) {
      f.hessianVector(theta, v, g);
      out[0] = 0;
    }
    Atomics.store(ctl, 2 + init.worker, seq);
    Atomics.notify(ctl, 2 + init.worker);
  }
});
