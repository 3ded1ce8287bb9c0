import { parentPort } from "node:worker_threads";
import { serveShare } from "../row-threads.js";
import { mlpObjective } from "./mlp.js";
import type { ThreadInit } from "./mlp-threads.js";

// One worker of threadedMlp: its share of the rows, served until the main thread closes it.
parentPort!.once("message", (init: ThreadInit) =>
  serveShare(init, mlpObjective(init.spec, init.data, "mlp"), () => parentPort!.postMessage("ready")),
);
