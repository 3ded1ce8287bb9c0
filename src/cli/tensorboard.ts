import { readdirSync, statSync } from "node:fs";
import { basename, join, relative } from "node:path";
import protobuf from "protobufjs";
import type { LogRecord } from "../analysis/diagnosis/diagnose.js";
import { plural } from "../core/format.js";
import { CliError } from "./errors.js";
import { InputRefusal, inputCap, readCapped } from "./files.js";

/**
 * TensorBoard event files, as PyTorch's SummaryWriter, Lightning's TensorBoardLogger and Keras'
 * TensorBoard callback write them: TFRecord framing around Event protobufs. A record is
 *   uint64 length (little-endian) · uint32 masked CRC-32C of those 8 bytes · the data · uint32
 *   masked CRC-32C of the data,
 * mask(c) = ((c >>> 15) | (c << 17)) + 0xa282ead8 (mod 2³²). Scalars come as a Summary value's
 * simple_value (PyTorch, Lightning) or as a rank-0 tensor (Keras and TF2's tf.summary: DT_FLOAT,
 * in float_val or in tensor_content's 4 little-endian bytes).
 *
 * The schema: the messages and fields of TensorBoard's event.proto, summary.proto, tensor.proto and
 * tensor_shape.proto (Apache-2.0, github.com/tensorflow/tensorboard, tensorboard/compat/proto)
 * that carry scalars, field numbers verbatim, enums as their integers, comments removed; the
 * other fields are skipped by protobufjs as unknown. Records are only decoded as data.
 */
export const TENSORBOARD_PROTO = `syntax = "proto3";
package tensorboard;
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    bytes graph_def = 4;
    Summary summary = 5;
  }
}
message Summary {
  message Value {
    string tag = 1;
    SummaryMetadata metadata = 9;
    oneof value {
      float simple_value = 2;
      TensorProto tensor = 8;
    }
  }
  repeated Value value = 1;
}
message SummaryMetadata {
  message PluginData {
    string plugin_name = 1;
    bytes content = 2;
  }
  PluginData plugin_data = 1;
  string display_name = 2;
  string summary_description = 3;
  int32 data_class = 4;
}
message TensorShapeProto {
  message Dim {
    int64 size = 1;
    string name = 2;
  }
  repeated Dim dim = 2;
  bool unknown_rank = 3;
}
message TensorProto {
  int32 dtype = 1;
  TensorShapeProto tensor_shape = 2;
  int32 version_number = 3;
  bytes tensor_content = 4;
  repeated float float_val = 5 [packed = true];
  repeated double double_val = 6 [packed = true];
  repeated int32 int_val = 7 [packed = true];
  repeated int64 int64_val = 10 [packed = true];
}
`;

/** TensorFlow's DataType numbers of the scalars read (types.proto). */
const DT_FLOAT = 1;
const DT_DOUBLE = 2;
const DT_INT32 = 3;
const DT_INT64 = 9;

let eventType: protobuf.Type | null = null;
const eventMessage = (): protobuf.Type =>
  (eventType ??= protobuf.parse(TENSORBOARD_PROTO, { keepCase: true }).root.lookupType("tensorboard.Event"));

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), by table. */
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

export interface Scalar {
  readonly tag: string;
  readonly step: number;
  readonly value: number;
}

/**
 * The scalars of one event file, and what was skipped: a record whose data fails its CRC is
 * skipped (its length was sound, so the next record is found); a length that fails its CRC, or a
 * record cut short (a writer still writing, or killed), ends the reading there. Each note names
 * the byte offset.
 */
export function eventFileScalars(bytes: Uint8Array, name: string): { scalars: Scalar[]; notes: string[] } {
  const scalars: Scalar[] = [];
  const notes: string[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = eventMessage();
  let at = 0;
  let records = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 12) {
      if (at === 0)
        throw new CliError(
          `invalid log: ${name} is not a TensorBoard event file (${bytes.length} bytes, shorter than one record's header)`,
        );
      notes.push(
        `${name}: a record cut short at byte ${at} (${bytes.length - at} bytes of its header): read the ${plural(records, "record")} before it`,
      );
      break;
    }
    const head = bytes.subarray(at, at + 8);
    if (maskedCrc32c(head) !== view.getUint32(at + 8, true)) {
      if (records === 0 && at === 0)
        throw new CliError(
          `invalid log: ${name} is not a TensorBoard event file (its first record's length fails its CRC)`,
        );
      notes.push(
        `${name}: the record at byte ${at} has a damaged length (its CRC fails): the ${plural(records, "record")} before it are read, nothing after`,
      );
      break;
    }
    const length = Number(view.getBigUint64(at, true));
    if (at + 12 + length + 4 > bytes.length) {
      notes.push(
        `${name}: the record at byte ${at} is cut short (${bytes.length - at - 12} of ${length + 4} bytes): read the ${plural(records, "record")} before it`,
      );
      break;
    }
    const data = bytes.subarray(at + 12, at + 12 + length);
    const next = at + 12 + length + 4;
    if (maskedCrc32c(data) !== view.getUint32(at + 12 + length, true)) {
      notes.push(`${name}: the record at byte ${at} is damaged (its data fails its CRC): skipped`);
      at = next;
      continue;
    }
    let event: Record<string, unknown>;
    try {
      event = type.toObject(type.decode(data), { longs: Number, defaults: false }) as Record<string, unknown>;
    } catch {
      notes.push(`${name}: the record at byte ${at} passes its CRC but is not an Event: skipped`);
      at = next;
      continue;
    }
    records++;
    at = next;
    const summary = event["summary"] as { value?: Record<string, unknown>[] } | undefined;
    const step = typeof event["step"] === "number" ? event["step"] : 0;
    for (const v of summary?.value ?? []) {
      const value = scalarOf(v);
      if (value !== null && typeof v["tag"] === "string") scalars.push({ tag: v["tag"], step, value });
    }
  }
  return { scalars, notes };
}

/** A Summary value's scalar: simple_value, or a tensor holding one number; null otherwise. */
function scalarOf(v: Record<string, unknown>): number | null {
  if (typeof v["simple_value"] === "number") return v["simple_value"];
  const t = v["tensor"] as Record<string, unknown> | undefined;
  if (!t) return null;
  const dims = ((t["tensor_shape"] as { dim?: { size?: number }[] } | undefined)?.dim ?? []).map(
    (d) => d.size ?? 0,
  );
  if (dims.some((d) => d !== 1)) return null;
  const dtype = t["dtype"] as number | undefined;
  const content = t["tensor_content"] as Uint8Array | undefined;
  const first = (k: string): number | undefined => (t[k] as number[] | undefined)?.[0];
  if (dtype === DT_FLOAT)
    return content && content.length === 4
      ? new DataView(content.buffer, content.byteOffset, 4).getFloat32(0, true)
      : (first("float_val") ?? null);
  if (dtype === DT_DOUBLE)
    return content && content.length === 8
      ? new DataView(content.buffer, content.byteOffset, 8).getFloat64(0, true)
      : (first("double_val") ?? null);
  if (dtype === DT_INT32) return first("int_val") ?? null;
  if (dtype === DT_INT64) return first("int64_val") ?? null;
  return null;
}

const EVENT_FILE = /^events\.out\.tfevents\./;

/**
 * The event files of a TensorBoard log — `path` itself, or those a folder holds (at any depth to
 * 4) — or null when `path` is not one.
 */
export function tensorBoardFiles(path: string): string[] | null {
  try {
    if (statSync(path).isDirectory()) {
      const files = eventFiles(path);
      return files.length > 0 ? files : null;
    }
  } catch {
    return null;
  }
  return EVENT_FILE.test(basename(path)) ? [path] : null;
}

function eventFiles(dir: string, depth = 0): string[] {
  if (depth > 4) return [];
  const out: string[] = [];
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...eventFiles(p, depth + 1));
    else if (e.isFile() && EVENT_FILE.test(e.name)) out.push(p);
  }
  return out;
}

/** Which tags are the loss and the learning rate: --loss-tag / --lr-tag, else the first that matches. */
export interface TagChoice {
  readonly loss?: string;
  readonly lr?: string;
  readonly gradNorm?: string;
}

const validation = (t: string) => /(^|[_/-])(val|valid|validation|test)([_/-]|$)/i.test(t);
const LOSS_TAGS: ((t: string) => boolean)[] = [
  (t) => t === "loss",
  (t) => t === "train_loss" || t === "train/loss" || t === "loss/train" || t === "Loss/train",
  (t) => t === "epoch_loss",
  (t) => /^train[_/]loss_step$/.test(t),
  (t) => /(^|[_/])loss(_step)?$/i.test(t) && !validation(t),
  (t) => /(^|[_/])loss_epoch$/i.test(t) && !validation(t),
];
const LR_TAGS: ((t: string) => boolean)[] = [
  (t) => t === "lr" || t === "learning_rate",
  (t) => t === "epoch_learning_rate" || t === "epoch_lr",
  (t) => /^lr[-_/]/.test(t) || /(^|[_/])(lr|learning_rate)$/.test(t),
];

/** The gradient's norm: Lightning's grad_2.0_norm_total, OLMo's optim/total_grad_norm, grad_norm, … */
const GRAD_NORM_TAGS: ((t: string) => boolean)[] = [
  (t) => t === "grad_norm" || t === "gradient_norm" || t === "grad_norm/total",
  (t) => /^grad_2(\.0)?_norm_total$/.test(t),
  (t) => /(^|[_/])(total_)?grad(ient)?_norm(_total)?$/i.test(t) && !validation(t),
];

function pick(tags: readonly string[], rules: ((t: string) => boolean)[]): string | undefined {
  for (const rule of rules) {
    const hit = tags.find(rule);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

/**
 * A TensorBoard log as diagnose's records: one run (an event file, or a folder's run — with
 * several, Keras' `train`, else the first, the others named in a note), its loss tag's scalars
 * by step with the learning rate in force at each (the last logged at or before it).
 */
export function readTensorBoard(
  path: string,
  tags: TagChoice = {},
  files = tensorBoardFiles(path),
): { records: LogRecord[]; format: string; notes: string[] } {
  if (!files)
    throw new CliError(`invalid log: ${path} holds no TensorBoard event files (events.out.tfevents.*)`);
  const folder = statSync(path).isDirectory();
  const runs = new Map<string, string[]>();
  for (const f of files) {
    const run = relative(folder ? path : join(f, ".."), join(f, "..")) || ".";
    runs.set(run, [...(runs.get(run) ?? []), f]);
  }
  const names = [...runs.keys()];
  const chosen = names.find((n) => basename(n) === "train") ?? names[0]!;
  const notes: string[] = [];
  if (names.length > 1)
    notes.push(
      `${plural(names.length, "run")} in ${path}: read ${chosen}; give a run's folder to read another (${names
        .filter((n) => n !== chosen)
        .slice(0, 6)
        .join(", ")}${names.length > 7 ? ", …" : ""})`,
    );
  const scalars: Scalar[] = [];
  for (const f of runs.get(chosen)!) {
    let bytes: Buffer;
    try {
      bytes = readCapped(f, "binary", inputCap("binary"));
    } catch (e) {
      if (e instanceof InputRefusal) throw new CliError(`cannot read ${f}: ${e.detail}`);
      throw new CliError(`cannot read ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const read = eventFileScalars(bytes, folder ? relative(path, f) : f);
    scalars.push(...read.scalars);
    notes.push(...read.notes);
  }
  const all = [...new Set(scalars.map((s) => s.tag))];
  const lossTag = tags.loss ?? pick(all, LOSS_TAGS);
  if (lossTag === undefined || !all.includes(lossTag))
    throw new CliError(
      `invalid log: ${tags.loss !== undefined ? `no scalar tagged '${tags.loss}'` : "no loss scalar"} in ${path} (tags: ${all.slice(0, 20).join(", ") || "none"}); choose one with --loss-tag`,
    );
  const lrTag = tags.lr ?? pick(all, LR_TAGS);
  if (tags.lr !== undefined && !all.includes(tags.lr))
    throw new CliError(
      `invalid log: no scalar tagged '${tags.lr}' in ${path} (tags: ${all.slice(0, 20).join(", ")}); choose one with --lr-tag`,
    );
  const gradTag = tags.gradNorm ?? pick(all, GRAD_NORM_TAGS);
  if (tags.gradNorm !== undefined && !all.includes(tags.gradNorm))
    throw new CliError(
      `invalid log: no scalar tagged '${tags.gradNorm}' in ${path} (tags: ${all.slice(0, 20).join(", ")}); choose one with --grad-norm-tag`,
    );
  // By step, the newest value of a step kept (a restarted run writes its steps again).
  const byStep = (tag: string) => {
    const m = new Map<number, number>();
    for (const s of scalars) if (s.tag === tag) m.set(s.step, s.value);
    return [...m].sort((a, b) => a[0] - b[0]);
  };
  const lrs = lrTag ? byStep(lrTag) : [];
  let j = 0;
  let lr: number | undefined;
  // The gradient's norm is a value of its step (not in force until the next, as a rate is).
  const norms = new Map(gradTag ? byStep(gradTag) : []);
  const records: LogRecord[] = byStep(lossTag).map(([step, loss]) => {
    while (j < lrs.length && lrs[j]![0] <= step) lr = lrs[j++]![1];
    const g = norms.get(step);
    return { step, loss, ...(lr !== undefined ? { lr } : {}), ...(g !== undefined ? { gradNorm: g } : {}) };
  });
  const named = [lossTag, lrTag, gradTag].filter((t) => t !== undefined);
  return {
    records,
    format: `TensorBoard, ${chosen === "." ? "" : `run ${chosen}, `}tag ${named.slice(0, -1).join(", ")}${named.length > 1 ? " and " : ""}${named.at(-1)}`,
    notes,
  };
}
