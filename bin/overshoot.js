#!/usr/bin/env node
// The compiled CLI lives in dist/: shipped in the package, built in a clone by `npm run build`.
import { existsSync } from "node:fs";

const main = new URL("../dist/cli/main.js", import.meta.url);
if (!existsSync(main)) {
  console.error("overshoot: the CLI is not built here (dist/ is missing): run npm run build in this folder");
  process.exit(2);
}
import(main.href).then((m) => m.main(process.argv.slice(2)));
