import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../../test/cli-harness.js";
import { CliError } from "./errors.js";
import { readLog } from "./logs.js";
import { crc32c, eventFileScalars, maskedCrc32c, readTensorBoard } from "./tensorboard.js";

/**
 * TensorBoard event files written by an independent writer (scripts/fixtures/tensorboard_events.py:
 * Python's protobuf from protoc, its own bitwise CRC-32C), shaped like PyTorch's SummaryWriter,
 * Lightning's TensorBoardLogger and Keras' TensorBoard callback, and two damaged copies.
 */
interface Fixture {
  offsets: { pytorch: number[] };
  files: {
    path: string;
    base64: string;
    scalars: { tag: string; step: number; value: number | string }[] | null;
  }[];
}
const fixture = JSON.parse(
  readFileSync(new URL("./__golden__/tensorboard.json", import.meta.url), "utf8"),
) as Fixture;
const root = mkdtempSync(join(tmpdir(), "overshoot-tb-"));
for (const f of fixture.files) {
  mkdirSync(join(root, dirname(f.path)), { recursive: true });
  writeFileSync(join(root, f.path), Buffer.from(f.base64, "base64"));
}
const bytesOf = (path: string) =>
  new Uint8Array(Buffer.from(fixture.files.find((f) => f.path === path)!.base64, "base64"));
const value = (v: number | string) => (typeof v === "number" ? v : Number(v));
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return (e as Error).message;
  }
  throw new Error("not refused");
};

describe("TensorBoard event files", () => {
  it("CRC-32C: the check value of '123456789' is 0xE3069283 (RFC 3720), and the mask is TFRecord's", () => {
    const text = new TextEncoder().encode("123456789");
    expect(crc32c(text)).toBe(0xe3069283);
    const c = 0xe3069283;
    expect(maskedCrc32c(text)).toBe((((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0);
  });

  it("every scalar of every well-formed file, record by record, as the writer wrote it (simple_value and rank-0 tensors)", () => {
    for (const f of fixture.files) {
      if (!f.scalars) continue;
      const read = eventFileScalars(bytesOf(f.path), f.path);
      expect(read.notes, f.path).toEqual([]);
      expect(
        read.scalars.map((s) => [s.tag, s.step, s.value]),
        f.path,
      ).toEqual(f.scalars.map((s) => [s.tag, s.step, value(s.value)]));
    }
  });

  it("PyTorch's SummaryWriter: Loss/train with lr, to Infinity; diagnose reads the growth ×9 at lr 0.1 as λ = 40", async () => {
    const log = readLog(join(root, "pytorch"));
    expect(log.format).toBe("TensorBoard, tag Loss/train and lr");
    expect(log.records).toHaveLength(24);
    expect(log.records[0]).toEqual({ step: 0, loss: 2, lr: Math.fround(0.1) });
    expect(log.records[23]!.loss).toBe(Number.POSITIVE_INFINITY);
    const d = await cli(["diagnose", join(root, "pytorch"), "--json"]);
    expect(d.code, d.err).toBe(0);
    const j = JSON.parse(d.out);
    const estimate = j.evidence.find((e: string) => e.includes("λ ≈"));
    expect(estimate).toMatch(/λ ≈ \(1 \+ √r\)\/η = 40 /);
  });

  it("Lightning: two versions, the first read and the other named; the per-step loss, with lr-SGD in force at each step", () => {
    const log = readTensorBoard(join(root, "lightning"));
    expect(log.format).toBe("TensorBoard, run lightning_logs/version_0, tag train_loss_step and lr-SGD");
    expect(log.notes).toEqual([
      `2 runs in ${join(root, "lightning")}: read lightning_logs/version_0; give a run's folder to read another (lightning_logs/version_1)`,
    ]);
    expect(log.records).toHaveLength(30);
    expect(log.records.every((r) => r.lr === Math.fround(0.05))).toBe(true);
    const other = readTensorBoard(join(root, "lightning/lightning_logs/version_1"));
    expect(other.records.every((r) => r.lr === Math.fround(0.5))).toBe(true);
    // A tag chosen by hand: the per-epoch loss.
    const epochs = readTensorBoard(join(root, "lightning"), { loss: "train_loss_epoch" });
    expect(epochs.records.map((r) => r.step)).toEqual([9, 19, 29]);
  });

  it("Keras: logs/train is the run read, not logs/validation; epoch_loss from rank-0 float tensors", () => {
    const log = readTensorBoard(join(root, "keras"));
    expect(log.format).toBe("TensorBoard, run logs/train, tag epoch_loss and epoch_learning_rate");
    const train = fixture.files.find((f) => f.path.includes("logs/train"))!.scalars!;
    expect(log.records.map((r) => r.loss)).toEqual(
      train.filter((s) => s.tag === "epoch_loss").map((s) => value(s.value)),
    );
  });

  it("a damaged record is skipped and a cut one ends the reading, each said with its byte offset", () => {
    const at = fixture.offsets.pytorch;
    const flipped = eventFileScalars(bytesOf("damaged/flipped/events.out.tfevents.1700000300.host.1.0"), "f");
    expect(flipped.notes).toEqual([
      `f: the record at byte ${at[5]} is damaged (its data fails its CRC): skipped`,
    ]);
    // Record 0 is the file_version event: record 5 is step 4's.
    expect(flipped.scalars.filter((s) => s.tag === "Loss/train").map((s) => s.step)).toEqual(
      Array.from({ length: 24 }, (_, k) => k).filter((k) => k !== 4),
    );
    const cut = eventFileScalars(bytesOf("damaged/cut/events.out.tfevents.1700000300.host.2.0"), "c");
    expect(cut.notes).toEqual([
      `c: the record at byte ${at[9]} is cut short (5 of ${at[10]! - at[9]! - 12} bytes): read the 9 records before it`,
    ]);
    expect(cut.scalars.filter((s) => s.tag === "Loss/train").map((s) => s.step)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
  });

  it("refusals in one line: not an event file, no loss tag, an unknown --loss-tag, tags on a file that is not TensorBoard", () => {
    const fake = join(root, "fake", "events.out.tfevents.1.x");
    mkdirSync(dirname(fake), { recursive: true });
    writeFileSync(fake, "step,loss\n0,1\n");
    expect(refusal(() => readLog(fake))).toBe(
      `invalid log: ${fake} is not a TensorBoard event file (its first record's length fails its CRC)`,
    );
    writeFileSync(fake, "junk");
    expect(refusal(() => readLog(fake))).toBe(
      `invalid log: ${fake} is not a TensorBoard event file (4 bytes, shorter than one record's header)`,
    );
    expect(refusal(() => readTensorBoard(join(root, "pytorch"), { loss: "nope" }))).toMatch(
      /^invalid log: no scalar tagged 'nope' in .* \(tags: Loss\/train, lr\); choose one with --loss-tag$/,
    );
    const csv = join(root, "plain.csv");
    writeFileSync(csv, "step,loss\n0,1\n1,2\n");
    expect(refusal(() => readLog(csv, undefined, { loss: "x" }))).toBe(
      `--loss-tag, --lr-tag and --grad-norm-tag choose a TensorBoard log's scalars; ${csv} is not one`,
    );
  });
});
