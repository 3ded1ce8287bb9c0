import { parentPort } from "node:worker_threads";
import type { Objective } from "../../core/objective.js";
import { sweepCell } from "./sweep.js";
import {
  buildObjective,
  type SweepJob,
  startOf,
  type WorkerReply,
  type WorkerRequest,
} from "./sweep-pool.js";

// A sweep worker: builds the objective once from its plain-data source, then runs the cells it is
// sent, one message per cell so the main thread can show progress. The expression compiler (and
// with it mathjs) is loaded only when the objective is an expression.
let job: SweepJob | null = null;
let objective: Promise<Objective> | null = null;
let key: string | undefined;
let announce = false;

parentPort!.on("message", async (message: WorkerRequest) => {
  try {
    if (message.type === "job") {
      job = message.job;
      // A queue worker's next cell of the same source keeps the objective built for the last.
      announce = message.announce === true;
      if (message.key !== undefined && message.key === key && objective) return;
      key = message.key;
      objective = buildObjective(job.source);
      return;
    }
    const f = await objective!;
    for (const i of message.cells) {
      const x0 = startOf(job!, job!.cells[i]!);
      // A queued job's start is checked here, where its objective is built (off the worker's main thread).
      if (x0.length !== f.dim)
        throw new Error(`invalid job: x0 has ${x0.length} values, the objective ${f.dim} variables`);
      if (announce) {
        announce = false;
        parentPort!.postMessage({ type: "built" } satisfies WorkerReply);
      }
      const result = sweepCell(f, x0, job!.optimizer, job!.cells[i]!, i, job!.criteria);
      parentPort!.postMessage({ type: "result", result } satisfies WorkerReply);
    }
    parentPort!.postMessage({ type: "idle" } satisfies WorkerReply);
  } catch (e) {
    parentPort!.postMessage({ type: "error", message: (e as Error).message } satisfies WorkerReply);
  }
});
