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
