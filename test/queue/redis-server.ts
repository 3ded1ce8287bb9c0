import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Debian's redis-server (.ci/run installs it when missing). */
export const REDIS_SERVER = process.env["REDIS_SERVER"] ?? "/usr/bin/redis-server";

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** With TLS: the self-signed certificate to trust (NODE_EXTRA_CA_CERTS). */
  readonly ca?: string;
  stop(): Promise<void>;
}

/** A port nobody listens on now (the OS's pick, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of this test's own: a free port (or `port`) on 127.0.0.1, a temporary folder, no
 * persistence (no RDB, no AOF), optionally a password; stopped (and its folder removed) by stop().
 */
export async function startRedis(
  options: { password?: string; tls?: boolean; port?: number } = {},
): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER))
    throw new Error(`${REDIS_SERVER} is missing: apt-get install redis-server (.ci/run does)`);
  const dir = mkdtempSync(join(tmpdir(), "overshoot-redis-"));
  // A given port: a server started again where one was killed (a restart without persistence).
  const port = options.port ?? (await freePort());
  const args = ["--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"];
  let ca: string | undefined;
  if (options.tls) {
    // A certificate for 127.0.0.1, made for this server and trusted by the test's processes only.
    ca = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        key,
        "-out",
        ca,
      ],
      { encoding: "utf8" },
    );
    if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
    args.push("--port", "0", "--tls-port", String(port), "--tls-cert-file", ca, "--tls-key-file", key);
    args.push("--tls-ca-cert-file", ca, "--tls-auth-clients", "no");
  } else args.push("--port", String(port));
  if (options.password) args.push("--requirepass", options.password);
  const child: ChildProcess = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (d) => {
    log += d;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 10_000);
    const check = () => {
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(timer);
        resolve();
      } else setTimeout(check, 20);
    };
    child.once("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${log}`)));
    check();
  });
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : "";
  return {
    port,
    url: `${options.tls ? "rediss" : "redis"}://${auth}127.0.0.1:${port}`,
    ...(ca ? { ca } : {}),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
