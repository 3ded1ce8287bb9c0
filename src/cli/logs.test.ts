import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CliError } from "./errors.js";
import { pythonJsonTokens, readLog } from "./logs.js";

const dir = mkdtempSync(join(tmpdir(), "overshoot-logs-"));
const file = (name: string, text: string | Buffer) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const refusal = (path: string, maxBytes?: number): string => {
  try {
    readLog(path, maxBytes);
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return (e as Error).message;
  }
  throw new Error(`${path} was read`);
};

describe("readLog: JSON lines", () => {
  it("a last line cut off by an interrupted write is dropped and reported; the rest is read", () => {
    const log = readLog(file("cut.jsonl", '{"step":0,"loss":1}\n{"step":10,"loss":2}\n{"step":60'));
    expect(log.records.map((r) => [r.step, r.loss])).toEqual([
      [0, 1],
      [10, 2],
    ]);
    expect(log.notes).toEqual([
      'the last line (line 3, "{\\"step\\":60") is cut off, as an interrupted write leaves it: read the 2 records before it',
    ]);
  });

  it("Python's json.dumps (NaN, Infinity, -Infinity as bare tokens) and JavaScript's JSON.stringify (null) are read as the non-finite values they are", () => {
    // Written by /usr/bin/python3's json.dumps and Node's JSON.stringify, copied as they printed.
    const python = [
      '{"step": 0, "loss": 2.5, "lr": 0.001, "note": "NaN or Infinity in a string stays text"}',
      '{"step": 1, "loss": Infinity, "lr": 0.001}',
      '{"step": 2, "loss": NaN, "grad_norm": -Infinity}',
    ];
    const py = readLog(file("python.jsonl", `${python.join("\n")}\n`));
    expect(py.records.map((r) => [r.step, r.loss, r.lr])).toEqual([
      [0, 2.5, 0.001],
      [1, Number.POSITIVE_INFINITY, 0.001],
      [2, Number.NaN, undefined],
    ]);
    const js = readLog(file("tfjs.jsonl", '{"step":3,"loss":0.5}\n{"step":4,"loss":null}\n'));
    expect(js.records.map((r) => [r.step, r.loss])).toEqual([
      [3, 0.5],
      [4, Number.NaN],
    ]);
    // Only bare tokens: a key or a string holding the words is text, and a misspelt token is refused.
    expect(pythonJsonTokens('{"NaN": "Infinity", "loss": -Infinity}')).toBe(
      '{"NaN": "Infinity", "loss": "-Infinity"}',
    );
    expect(pythonJsonTokens('{"a": "say \\"NaN\\"", "b": NaN}')).toBe('{"a": "say \\"NaN\\"", "b": "NaN"}');
    expect(refusal(file("nan2.jsonl", '{"step":0,"loss":NaNx}\n{"step":1,"loss":1}\n'))).toMatch(
      /line 1 is not JSON/,
    );
  });

  it("a bad line that is not the last, or a last one with its newline, is refused with its line", () => {
    expect(refusal(file("mid.jsonl", '{"step":0,"loss":1}\n{"step":1,\n{"step":2,"loss":3}\n'))).toMatch(
      /mid\.jsonl line 2 is not JSON/,
    );
    expect(refusal(file("end.jsonl", '{"step":0,"loss":1}\n{"step":1,\n'))).toMatch(/line 2 is not JSON/);
    expect(refusal(file("junk.jsonl", '{"step":0,"loss":1}\n{"step":1,"loss":"abc"}\n'))).toBe(
      `invalid log: ${join(dir, "junk.jsonl")} line 2: "loss" is "abc", not a number`,
    );
  });

  it("a log continued from an earlier step keeps the newest record of each step", () => {
    const lines = [0, 10, 20, 30, 20, 30, 40].map((step, k) => JSON.stringify({ step, loss: k }));
    const log = readLog(file("resumed.jsonl", `${lines.join("\n")}\n`));
    expect(log.records.map((r) => [r.step, r.loss])).toEqual([
      [0, 0],
      [10, 1],
      [20, 4],
      [30, 5],
      [40, 6],
    ]);
    expect(log.notes[0]).toMatch(/goes back to an earlier step 1 time .* 2 earlier ones dropped/);
  });

  it("a guard's rollback is not a restart: its intervention is kept, without a note", () => {
    const rows = [
      { step: 0, loss: 1 },
      { step: 5, loss: 2 },
      { step: 10, loss: 9 },
      { step: 12, loss: "NaN", intervention: { atStep: 12, rolledBackTo: 5 } },
      { step: 10, loss: 1.5 },
    ];
    const log = readLog(file("guard.jsonl", `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`));
    expect(log.records.map((r) => [r.step, r.loss])).toEqual([
      [0, 1],
      [5, 2],
      [12, Number.NaN],
      [10, 1.5],
    ]);
    expect(log.records[2]!.intervention).toBeDefined();
    expect(log.notes).toEqual([]);
  });

  it("a JSON document whose trace is not a list of steps is refused, not an internal error", () => {
    expect(refusal(file("trace.json", '{"trace":1,"optimizer":{"name":"sgd","lr":0.1}}'))).toMatch(
      /"trace" that is not a list of steps/,
    );
  });
});

describe("readLog: CSV", () => {
  it("Keras' CSVLogger: one row an epoch, and the lr column", () => {
    const log = readLog(file("keras.csv", "epoch,loss,lr,val_loss\n0,2.3,0.1,2.2\n1,1.1,0.05,1.2\n"));
    expect(log.unit).toBe("epoch");
    expect(log.records).toEqual([
      { step: 0, loss: 2.3, lr: 0.1 },
      { step: 1, loss: 1.1, lr: 0.05 },
    ]);
  });

  it("PyTorch Lightning's metrics.csv: sorted header, CRLF, training, validation and lr rows interleaved", () => {
    // As lightning.pytorch.loggers.CSVLogger writes it: csv.DictWriter over the sorted union of
    // the keys, "" for a key a row lacks, "\r\n" line ends; LearningRateMonitor's rows carry only
    // lr-SGD and step; train_loss logged with on_step and on_epoch becomes _step and _epoch.
    const text = [
      "epoch,lr-SGD,step,train_loss_epoch,train_loss_step,val_loss",
      ",0.1,0,,,",
      "0,,49,,0.69,",
      "0,,99,,0.52,",
      "0,,99,,,0.5",
      "0,,99,0.6,,",
      ",0.01,100,,,",
      "1,,149,,3.5,",
      "1,,199,,nan,",
      "",
    ].join("\r\n");
    const log = readLog(file("metrics.csv", text));
    expect(log.unit).toBe("step");
    expect(log.format).toBe("CSV, training and validation rows");
    expect(log.records.map((r) => [r.step, r.loss, r.lr])).toEqual([
      [49, 0.69, 0.1],
      [99, 0.52, 0.1],
      [149, 3.5, 0.01],
      [199, Number.NaN, 0.01],
    ]);
    expect(log.notes).toEqual([
      "4 rows without a train_loss_step (validation or learning-rate rows of an interleaved log) skipped",
    ]);
  });

  it("a junk cell is refused with its row and column; hex and binary are not numbers", () => {
    const path = file("junk.csv", "epoch,loss\n0,1\n1,abc\n");
    expect(refusal(path)).toBe(
      `invalid log: ${path} row 3, column loss: 'abc' is not a number (write numbers in decimal, NaN or inf; leave a cell empty when there is no value)`,
    );
    expect(refusal(file("hex.csv", "step,loss\n0,0x10\n"))).toMatch(
      /row 2, column loss: '0x10' is not a number/,
    );
    expect(refusal(file("bin.csv", "step,loss\n0b11,1\n"))).toMatch(/row 2, column step: '0b11'/);
  });

  it("a ragged row is refused, except a last row cut off mid-write", () => {
    expect(refusal(file("ragged.csv", "step,loss,acc\n0,1,0.5\n1,2\n2,3,0.6\n"))).toMatch(
      /row 3 has 2 cells but the header has 3/,
    );
    const log = readLog(file("cutrow.csv", "step,loss,acc\n0,1,0.5\n1,2,0.6\n2,3"));
    expect(log.records.map((r) => r.step)).toEqual([0, 1]);
    expect(log.notes[0]).toMatch(/the last row \(row 4\) is cut off \(2 of 3 cells\)/);
  });
});

describe("readLog: what is not a log", () => {
  it("NUL bytes (a binary file, /dev/zero) are refused at the first chunk", () => {
    expect(refusal(file("nul.log", Buffer.alloc(4096)))).toMatch(/is not text \(a NUL byte at byte 1\)/);
    const t0 = performance.now();
    expect(refusal("/dev/zero")).toMatch(/is not text/);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it("a file past the size cap is refused as it is read", () => {
    const path = file("big.csv", `step,loss\n${Array.from({ length: 1000 }, (_, k) => `${k},1\n`).join("")}`);
    expect(refusal(path, 4000)).toMatch(/is larger than 4000 bytes; diagnose its last part/);
    expect(readLog(path, 20_000).records).toHaveLength(1000);
  });

  it("a folder, or a file that is not there", () => {
    expect(refusal(dir)).toMatch(/it is a folder/);
    expect(refusal(join(dir, "none.csv"))).toMatch(/cannot read .*ENOENT/);
  });
});

describe("readLog: the gradient's norm", () => {
  it("a CSV's grad_2.0_norm_total (Lightning's) and a JSON line's gradNorm (train --log's) are carried with their step", () => {
    const dir = mkdtempSync(join(tmpdir(), "overshoot-gradnorm-"));
    const csv = join(dir, "metrics.csv");
    writeFileSync(
      csv,
      "epoch,step,train_loss,grad_2.0_norm_total,val_loss\n0,0,1.5,3.25,\n0,1,1.4,,\n0,1,,,1.6\n0,2,1.3,2.5,\n",
    );
    const a = readLog(csv);
    expect(a.records.map((r) => [r.step, r.loss, r.gradNorm])).toEqual([
      [0, 1.5, 3.25],
      [1, 1.4, undefined],
      [2, 1.3, 2.5],
    ]);
    const jsonl = join(dir, "run.jsonl");
    writeFileSync(jsonl, '{"step": 0, "loss": 2, "gradNorm": 0.5}\n{"step": 1, "loss": 1.9}\n');
    expect(readLog(jsonl).records.map((r) => r.gradNorm)).toEqual([0.5, undefined]);
  });
});
