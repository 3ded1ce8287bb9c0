import { ensureLabBuilt } from "../src/cli/lab-site.js";

/**
 * The browser tests and `overshoot lab`'s test serve web/dist. Building it here, once, before any
 * test file starts keeps parallel test files from building into the same folder at once.
 */
export default async function setup(): Promise<void> {
  const built = await ensureLabBuilt(undefined, (line) => console.log(line));
  if (built) console.log("the lab was built into web/dist for the browser tests");
}
