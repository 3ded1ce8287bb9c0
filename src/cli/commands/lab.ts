import { commandFlags, type FlagSpecs, flagHelp } from "../args.js";
import { CliError } from "../errors.js";
import { HELP_FLAG } from "../flag-tables.js";
import type { Io } from "../io.js";
import { ensureLabBuilt, labPaths, serveFolder } from "../lab-site.js";

export const LAB_FLAGS: FlagSpecs = {
  port: { type: "number", value: "N", help: "port on 127.0.0.1 (default 5173; 0 picks a free one)" },
  ...HELP_FLAG,
};

export const LAB_HELP = `overshoot lab — the interactive page: drag the learning rate, watch descent converge, bounce or explode

Builds the lab (web/ → web/dist, with Vite) when the build is missing or older than its sources,
serves it on http://127.0.0.1:PORT/ and prints the address. Everything the page needs is in the
build (scripts, fonts): it works offline. Ctrl-C stops the server.

Usage: overshoot lab [--port N]

${flagHelp(LAB_FLAGS)}`;

export async function labCommand(argv: readonly string[], io: Io): Promise<number> {
  const parsed = commandFlags(argv, { name: "lab", flags: LAB_FLAGS, help: LAB_HELP }, io);
  if (!parsed) return 0;
  const { flags } = parsed;
  const port = (flags["port"] as number | undefined) ?? 5173;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new CliError(`invalid --port: ${port} (a whole number from 0 to 65535; 0 picks a free port)`);

  await ensureLabBuilt(undefined, (line) => io.err(`${line}\n`));
  const site = await serveFolder(labPaths().dist, port);
  io.out(`overshoot lab: ${site.url}\n`);
  io.err("serving web/dist on 127.0.0.1 only; Ctrl-C stops\n");
  await stopped(io.signal);
  await site.close();
  return 0;
}

/** Resolves when the session is told to end: the io's signal, or Ctrl-C / SIGTERM for the process. */
function stopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((done) => {
    if (signal) {
      if (signal.aborted) done();
      else signal.addEventListener("abort", () => done(), { once: true });
      return;
    }
    process.once("SIGINT", () => done());
    process.once("SIGTERM", () => done());
  });
}
