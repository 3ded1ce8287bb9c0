import { parentPort } from "node:worker_threads";
import { type GraphThreadInit, serveGraphShare } from "./graph-threads.js";

// One worker of threadedGraph: its share of the rows, served until the main thread closes it.
parentPort!.once("message", (init: GraphThreadInit) =>
  serveGraphShare(init, () => parentPort!.postMessage("ready")),
);
