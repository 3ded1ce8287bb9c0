import { parentPort } from "node:worker_threads";
import { objectiveFromSource } from "../objectives/source.js";
import { sweepCell } from "./sweep.js";
import type { SweepJob, WorkerReply, WorkerRequest } from "./sweep-pool.js";

// A sweep worker: builds the objective once from its plain-data source, then runs the cells it is
// sent, one message per cell so the main thread can show progress.
let job: SweepJob | null = null;
let objective: ReturnType<typeof objectiveFromSource> | null = null;

parentPort!.on("message", (message: WorkerRequest) => {
  try {
    if (message.type === "job") {
      job = message.job;
      objective = objectiveFromSource(job.source);
      return;
    }
    for (const i of message.cells) {
      const result = sweepCell(objective!, job!.x0, job!.optimizer, job!.cells[i]!, i, job!.criteria);
      parentPort!.postMessage({ type: "result", result } satisfies WorkerReply);
    }
    parentPort!.postMessage({ type: "idle" } satisfies WorkerReply);
  } catch (e) {
    parentPort!.postMessage({ type: "error", message: (e as Error).message } satisfies WorkerReply);
  }
});
