import { CliError } from "../errors.js";
import { readBoundedInput } from "../files.js";

/** How long the first contact with Redis may take before the command gives up (connect, AUTH, PING). */
export const CONNECT_TIMEOUT_MS = 5000;

/** BullMQ's key prefix for every overshoot queue, and the one queue of sweep cells under it. */
export const PREFIX = "overshoot";
export const CELL_QUEUE = "cells";

export interface QueueUrl {
  /** The URL as given (with its password): only ever handed to the Redis client. */
  readonly url: string;
  /** The URL with any password replaced by ***, for messages. */
  readonly shown: string;
  /** The database it names (/N; 0 when none). */
  readonly db: number;
}

/**
 * --queue: redis://[user:password@]host[:port][/db] or rediss:// (TLS). The password and user
 * come from the URL (percent-encoded where needed), so nothing secret is in any other flag, and
 * every message shows the URL with the password masked.
 */
export function parseQueueUrl(text: string): QueueUrl {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new CliError(
      `invalid --queue: ${mask(text)} (a Redis URL such as redis://localhost:6379 or rediss://user:password@host:6380/0)`,
    );
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:")
    throw new CliError(
      `invalid --queue: ${mask(text)} is a ${u.protocol.replace(":", "")} URL (use redis:// or rediss:// for TLS)`,
    );
  if (u.hostname === "")
    throw new CliError(`invalid --queue: ${mask(text)} names no host (redis://HOST:PORT)`);
  for (const [part, value] of [
    ["user", u.username],
    ["password", u.password],
  ] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      throw new CliError(
        `invalid --queue: the ${part} in ${mask(text)} has a '%' that starts no escape: write a '%' of it as %25`,
      );
    }
  }
  const db = u.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d{1,2}$/.test(db))
    throw new CliError(
      `invalid --queue: database '${db}' in ${mask(text)} is not a number (redis://HOST:PORT/0)`,
    );
  return { url: text, shown: mask(text), db: db === "" ? 0 : Number(db) };
}

function mask(text: string): string {
  try {
    const u = new URL(text);
    if (u.password) u.password = "***";
    // As typed: without the "/" a URL with no database gets from toString().
    return u.pathname === "/" && !text.endsWith("/") ? u.toString().replace(/\/$/, "") : u.toString();
  } catch {
    // Not a URL: hide whatever sits between "//" and "@".
    return text.replace(/\/\/[^@/]*@/, "//***@");
  }
}

/**
 * A Redis client's error as one line for the user: the server's refusal or the network's, with
 * what to check. Never the client's own error object, which carries the AUTH command and its
 * password.
 */
export function redisErrorLine(e: unknown, where: QueueUrl): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string }).code;
  if (/WRONGPASS|invalid username-password/i.test(message))
    return `Redis at ${where.shown} refused the password: check the user and password in --queue (redis://USER:PASSWORD@HOST:PORT)`;
  if (/DB index is out of range/i.test(message))
    return `Redis at ${where.shown} has no database ${where.db} (a server has 16, /0 to /15, unless its "databases" setting says more): pick one it has`;
  if (/NOAUTH/i.test(message))
    return `Redis at ${where.shown} needs a password: put it in --queue (redis://:PASSWORD@HOST:PORT)`;
  if (code === "ECONNREFUSED" || /ECONNREFUSED/.test(message))
    return `nothing is listening at ${where.shown} (connection refused): start redis-server there, or check the host and port`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /ENOTFOUND|EAI_AGAIN/.test(message))
    return `cannot find the host of ${where.shown} (DNS lookup failed): check --queue`;
  if (/certificate|CERT_|SELF_SIGNED|altname/i.test(`${code ?? ""} ${message}`))
    // Node 24 appends a hint of its own ("; if the root CA is installed locally, try …"): the cause alone.
    return `the TLS certificate of ${where.shown} is not trusted (${message.split(";")[0]}): give its CA in NODE_EXTRA_CA_CERTS=ca.pem, or check the host name`;
  if (/Unknown RESP type|Protocol error/i.test(message))
    return `what answers at ${where.shown} is not Redis (it does not speak Redis's protocol): check the host and port`;
  if (code === "ETIMEDOUT" || /ETIMEDOUT|no answer within/.test(message))
    return `no answer from ${where.shown} within ${CONNECT_TIMEOUT_MS / 1000} s: check the host, the port, a firewall, and redis:// vs rediss:// (TLS)`;
  return `Redis at ${where.shown}: ${message.split("\n")[0]}`;
}

/**
 * One PING before anything else, with no retrying: a wrong password, a closed port or a host
 * that never answers is one line and exit 2 within CONNECT_TIMEOUT_MS, instead of BullMQ's
 * reconnecting forever. (BullMQ's own connections then retry as a long-running worker should.)
 */
export async function preflight(where: QueueUrl): Promise<void> {
  const { Redis } = await import("ioredis");
  let last: unknown;
  const client = new Redis(where.url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    // A socket that never closed would hold the process this long after the answer (default 2 s).
    disconnectTimeout: 50,
  });
  client.on("error", (e) => {
    last = e;
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)),
      CONNECT_TIMEOUT_MS,
    );
  });
  try {
    // The database too: a server without it (16 by default, 0–15) refuses SELECT, and ioredis
    // would go on with database 0.
    const { db } = where;
    await Promise.race([
      client
        .connect()
        .then(() => client.ping())
        .then(() => (db > 0 ? client.select(db) : "OK")),
      deadline,
    ]);
  } catch (e) {
    throw new CliError(redisErrorLine(last ?? e, where));
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

/**
 * One line per change of a connection's state: what went wrong (once, however often the clients
 * retry or however many of them share the trouble), then that it is back.
 */
export function stateLines(where: QueueUrl, print: (line: string) => void) {
  let last = "";
  return {
    error: (e: unknown) => {
      const line = redisErrorLine(e, where);
      if (line !== last) print(line);
      last = line;
    },
    ready: () => {
      if (last !== "") print(`connected to ${where.shown} again`);
      last = "";
    },
  };
}

/** A BullMQ connection for long work: retries forever (a worker outlives a Redis restart), its errors said once a state (stateLines). */
export async function connection(where: QueueUrl, lines: ReturnType<typeof stateLines>) {
  const { Redis } = await import("ioredis");
  const client = new Redis(where.url, { maxRetriesPerRequest: null });
  client.on("error", lines.error);
  client.on("ready", lines.ready);
  return client;
}

/** --queue-secret on `sweep` and `worker`: the key file whose HMAC authenticates results. */
export const QUEUE_SECRET_FLAG = {
  "queue-secret": {
    type: "string",
    value: "KEYFILE",
    help: "a file holding a secret key (at least 16 bytes, e.g. head -c 32 /dev/urandom > key) shared by the submitter and its workers: results are signed with it and checked, so no other Redis client can forge one",
  },
} as const;

/** The key of --queue-secret: a file of at least 16 bytes (at most 4 KiB), read whole. */
export function queueSecret(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  let key: Buffer;
  try {
    key = readBoundedInput(path, "--queue-secret", "binary", { filesOnly: true, hint: "a key file" });
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(
      `cannot read --queue-secret ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  if (key.length < 16 || key.length > 4096)
    throw new CliError(
      `invalid --queue-secret ${path}: ${key.length} bytes (a key of 16 to 4096 bytes, e.g. head -c 32 /dev/urandom > ${path})`,
    );
  return key;
}
