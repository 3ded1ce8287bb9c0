// Writes the files the README's tour uses into examples/ (committed beside this generator):
// `npx tsx scripts/examples.ts`. cars.csv is the vega-datasets cars table (the npm package ships
// it) with the rows that lack a value dropped, A.csv a symmetric positive-definite 3 × 3 matrix for
// `--f quadratic --matrix`, and spiral-2-8-2.json the weights `train --save-weights` writes for a
// 2-8-2 network at seed 0 (for `--init FILE`).
import { writeFileSync } from "node:fs";
import { loadCars } from "../src/cli/datasets.js";
import { createRng } from "../src/core/rng.js";
import { initialParameters, layersFromParameters } from "../src/nn/mlp/mlp.js";

const out = new URL("../examples/", import.meta.url);
const cars = loadCars().table;
const lines = [cars.columns.join(",")];
for (let r = 0; r < cars.rows; r++)
  lines.push(Array.from(cars.values.subarray(r * cars.columns.length, (r + 1) * cars.columns.length)).join(","));
writeFileSync(new URL("cars.csv", out), `${lines.join("\n")}\n`);
writeFileSync(new URL("A.csv", out), "4,1,0\n1,3,1\n0,1,2\n");
const sizes = [2, 8, 2];
writeFileSync(
  new URL("spiral-2-8-2.json", out),
  `${JSON.stringify(layersFromParameters(sizes, initialParameters(sizes, "glorot", createRng(0))))}\n`,
);
console.log(`wrote examples/cars.csv (${cars.rows} rows), A.csv, spiral-2-8-2.json`);
