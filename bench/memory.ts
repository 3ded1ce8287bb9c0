// Memory (issue 27, point 3): a ResNet-8 of width 16 (BatchNorm in training mode), exported by
// PyTorch, on 10,000 images 3×32×32 (an .npz of float32, as a practitioner saves them; seed 0),
// through the CLI in a child process each, with the child's peak resident set size (getrusage's
// maxRSS, read as the command returns):
//   - `stability` without --bn-batch: all 10,000 rows in one pass would need tens of GB, refused
//     before any work in one line naming the fix;
//   - `stability --bn-batch 128`: the 10,000 images loaded, the passes in blocks of 128 each with
//     its own statistics, over a 256-row sample (--curvature-rows 256) and capped at --max-hvps 3:
//     an HVP over all 10,000 takes about 6 minutes on one thread, and a pass's peak is one block's
//     whatever the rows (each block's arrays are reused by the next) and whatever the count (the
//     Lanczos basis adds 8 bytes × 78,042 parameters a vector);
//   - `train --epochs 1 --batch-size 128`: 63 steps on 8,000 rows, the training loss evaluated
//     at the start and the end and the 2,000 validation rows, BatchNorm over each minibatch.
// The target is 1 GB (10⁹ bytes) for each run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliInChild } from "./peak-rss.js";
import { haveTorch, python, Torch } from "./torch-process.js";

const IMAGES = 10_000;
const TARGET = 1e9;

console.log("\nMemory: ResNet-8 (width 16, BatchNorm in training mode) on 10,000 images 3×32×32; peak RSS");
if (!haveTorch()) {
  console.log("  (PyTorch not installed here: the ResNet-8 export is skipped)");
} else {
  const dir = mkdtempSync(join(tmpdir(), "overshoot-bench-memory-"));
  try {
    const torch = new Torch({
      ...process.env,
      OPENBLAS_NUM_THREADS: "1",
      OMP_NUM_THREADS: "1",
      PYTHONWARNINGS: "ignore",
    });
    const onnx = join(dir, "resnet8.onnx");
    // Two rows to export from; the model is built from torch.manual_seed(0) (torch_server.py).
    const rows = new Float64Array(2 * 3 * 32 * 32 + 2 * 10);
    rows[2 * 3 * 32 * 32] = 1;
    rows[2 * 3 * 32 * 32 + 11] = 1;
    const file = join(dir, "rows.f64");
    writeFileSync(file, Buffer.from(rows.buffer));
    await torch.ask({ op: "setup_graph", model: "resnet8", rows: 2, classes: 10, data: file, onnx });
    torch.close();
    const npz = join(dir, "images.npz");
    execFileSync(python, [
      "-c",
      `import numpy as np; r = np.random.default_rng(0); np.savez(${JSON.stringify(npz)}, x=r.standard_normal((${IMAGES}, 3, 32, 32)).astype(np.float32), y=r.integers(0, 10, ${IMAGES}))`,
    ]);
    const model = ["--model-onnx", onnx, "--data", npz];
    const runs: [string, string[], number][] = [
      ["stability, all rows at once (refused)", ["stability", ...model, "--validation", "0"], 2],
      [
        "stability --bn-batch 128 (3 HVPs over 256 of the rows)",
        [
          "stability",
          ...model,
          "--validation",
          "0",
          "--bn-batch",
          "128",
          "--curvature-rows",
          "256",
          "--max-hvps",
          "3",
          "--layers=false",
        ],
        -1,
      ],
      [
        "train --epochs 1 --batch-size 128",
        ["train", ...model, "--epochs", "1", "--batch-size", "128", "--lr", "0.01"],
        0,
      ],
    ];
    for (const [label, args, code] of runs) {
      const r = cliInChild(args);
      const ok = (code < 0 || r.code === code) && r.rss < TARGET;
      // What the command said last (its refusal or its stop), past any progress lines.
      const said = r.err.trim().split("\n").pop() ?? "";
      console.log(
        `  ${label.padEnd(52)} ${(r.rss / 1e6).toFixed(0).padStart(5)} MB  ${r.seconds.toFixed(0).padStart(4)} s  exit ${r.code}  ${ok ? "(target < 1 GB met)" : "(target < 1 GB NOT met)"}`,
      );
      if (said) console.log(`      ${said.length > 240 ? `${said.slice(0, 240)}…` : said}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
