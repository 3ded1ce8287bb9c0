import { decimal, notDecimal } from "../core/decimal.js";
/**
 * Numeric tables from CSV text: the data of the linear and logistic models. Parsing is strict —
 * a ragged row or a cell that is not a number is an error naming its row and column, never a
 * silently skipped row.
 */
export interface Table {
  readonly columns: readonly string[];
  /** Row-major numbers, rows × columns. */
  readonly values: Float64Array;
  readonly rows: number;
}

/** RFC 4180 fields: commas, double quotes with "" escapes, CRLF or LF line ends. */
export function parseCsv(text: string, source = "the CSV"): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
    } else if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      line++;
    } else field += c;
  }
  if (quoted) throw new Error(`invalid data: ${source} has an unclosed quote (from line ${line})`);
  if (field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  // Blank lines carry no row.
  return records.filter((r) => !(r.length === 1 && r[0]!.trim() === ""));
}

/** A table of numbers with a header row; every other cell must parse as a finite number. */
export function numericTable(text: string, source = "the CSV"): Table {
  const records = parseCsv(text, source);
  if (records.length === 0)
    throw new Error(`invalid data: ${source} is empty (expected a header row and data rows)`);
  const columns = records[0]!.map((c) => c.trim());
  columns.forEach((c, j) => {
    if (c === "") throw new Error(`invalid data: ${source}, header: column ${j + 1} has no name`);
    if (columns.indexOf(c) !== j)
      throw new Error(`invalid data: ${source}, header: column '${c}' appears twice`);
  });
  const rows = records.length - 1;
  if (rows === 0) throw new Error(`invalid data: ${source} has a header but no data rows`);
  const values = new Float64Array(rows * columns.length);
  for (let r = 0; r < rows; r++) {
    const record = records[r + 1]!;
    // Row numbers are the file's line numbers as a spreadsheet shows them (header = row 1).
    if (record.length !== columns.length) {
      throw new Error(
        `invalid data: ${source}, row ${r + 2} has ${record.length} cell${record.length === 1 ? "" : "s"} but the header has ${columns.length}`,
      );
    }
    for (let j = 0; j < columns.length; j++) {
      const cell = record[j]!.trim();
      const v = decimal(cell) ?? Number.NaN;
      if (!Number.isFinite(v)) {
        throw new Error(
          `invalid data: ${source}, row ${r + 2}, column '${columns[j]}': ${cell === "" ? "empty cell" : notDecimal(cell)}`,
        );
      }
      values[r * columns.length + j] = v;
    }
  }
  return { columns, values, rows };
}

export interface Design {
  /** Feature matrix, rows × features (row-major), after standardizing if asked. */
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly rows: number;
  readonly features: readonly string[];
  readonly target: string;
  /** Per feature: the mean and standard deviation removed, when standardized. */
  readonly scaling: readonly { readonly mean: number; readonly std: number }[] | null;
}

/** The target column and the feature columns (default: all the others), optionally standardized. */
export function designFromTable(
  table: Table,
  target: string,
  features?: readonly string[],
  standardize = false,
): Design {
  const index = (name: string, what: string): number => {
    const j = table.columns.indexOf(name);
    if (j < 0) throw new Error(`invalid ${what}: no column '${name}' (columns: ${table.columns.join(", ")})`);
    return j;
  };
  const t = index(target, "target");
  const names = features ?? table.columns.filter((c) => c !== target);
  if (names.length === 0) throw new Error("invalid features: none left besides the target");
  if (names.includes(target)) throw new Error(`invalid features: '${target}' is the target`);
  const cols = names.map((n) => index(n, "features"));
  const p = cols.length;
  const width = table.columns.length;
  const x = new Float64Array(table.rows * p);
  const y = new Float64Array(table.rows);
  for (let r = 0; r < table.rows; r++) {
    y[r] = table.values[r * width + t]!;
    for (let j = 0; j < p; j++) x[r * p + j] = table.values[r * width + cols[j]!]!;
  }
  let scaling: { mean: number; std: number }[] | null = null;
  if (standardize) {
    scaling = [];
    for (let j = 0; j < p; j++) {
      let mean = 0;
      for (let r = 0; r < table.rows; r++) mean += x[r * p + j]!;
      mean /= table.rows;
      let v = 0;
      for (let r = 0; r < table.rows; r++) v += (x[r * p + j]! - mean) ** 2;
      const std = Math.sqrt(v / table.rows);
      if (!(std > 0))
        throw new Error(`invalid features: column '${names[j]}' is constant, it cannot be standardized`);
      for (let r = 0; r < table.rows; r++) x[r * p + j] = (x[r * p + j]! - mean) / std;
      scaling.push({ mean, std });
    }
  }
  return { x, y, rows: table.rows, features: names, target, scaling };
}
