import { afterAll, beforeAll } from "vitest";
import { type Lab, openLab } from "./harness.js";

// Apart from harness.ts, which bench/lab.ts imports outside vitest (vitest's hooks throw there).

/** The lab for one test file: opened before its first test, closed after its last. */
export function useLab(): Lab {
  let inner: Lab | undefined;
  beforeAll(async () => {
    inner = await openLab();
  }, 120_000);
  afterAll(async () => {
    await inner?.close();
  });
  return {
    get url() {
      return inner!.url;
    },
    get context() {
      return inner!.context;
    },
    close: () => inner?.close() ?? Promise.resolve(),
  };
}
