/**
 * Cluster test harness: `$io` nodes in child processes (see `cluster-node.ts`), real socket.io-client
 * clients, a private redis-server that a test may stop and restart, and Redis `CLIENT LIST` probes to
 * check that nothing stays connected. Everything opened here is closed by the returned handles.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import { type ChildProcess, execFile, fork, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { io as connect, type Socket as ClientSocket } from "socket.io-client";
import type { IoOptions } from "../../lib/options.ts";
import { freePort } from "./ports.ts";

const NODE_SCRIPT = fileURLToPath(new URL("./cluster-node.ts", import.meta.url));
const STRAPI_SCRIPT = fileURLToPath(new URL("./strapi-node.ts", import.meta.url));

/** A unique channel prefix per test file, so parallel runs on the shared Redis never form one cluster. */
export function uniquePrefix(name: string): string {
  return `test-${name}-${process.pid}-${Date.now().toString(36)}`;
}

export interface ClusterNode {
  port: number;
  url: string;
  transport: string;
  /** Calls a `$io` method (or a probe of cluster-node.ts) in the node's process. */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<T>;
  /** `$io.close()`, then waits for the process to exit. */
  close(): Promise<void>;
  /** Kills the process without closing anything (a crashed node). */
  kill(): Promise<void>;
}

/** Starts a node process; rejects with the node's boot error if `createSocketIO()` fails. */
export function startNode(options: IoOptions): Promise<ClusterNode> {
  return startProcess(NODE_SCRIPT, [
    JSON.stringify({ ...options, transport: { host: "127.0.0.1", port: 0, ...options.transport } }),
  ]);
}

/**
 * Starts a second Strapi (the fixture app) in its own process on the SQLite file of a Strapi booted by
 * `bootStrapi()` (`process.env.DATABASE_FILENAME` after it booted), with `ioConfig` as its io config.
 * `call("create", uid, data)` creates a document there; `close()` runs `strapi.destroy()`.
 */
export function startStrapiNode(databaseFile: string, ioConfig: IoOptions): Promise<ClusterNode> {
  return startProcess(STRAPI_SCRIPT, [databaseFile, JSON.stringify(ioConfig)], "ignore");
}

async function startProcess(
  script: string,
  args: string[],
  stdout: "inherit" | "ignore" = "inherit",
): Promise<ClusterNode> {
  const child = fork(script, args, {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", stdout, "inherit", "ipc"],
  });
  const pending = new Map<
    number,
    { resolve: (value: any) => void; reject: (error: Error) => void }
  >();
  let nextId = 0;
  const exited = once(child, "exit").then(() => {
    for (const { reject } of pending.values()) reject(new Error("node process exited"));
  });
  const ready = await new Promise<{ port: number; transport: string }>((resolve, reject) => {
    child.on("message", (message: any) => {
      if (message.ready) resolve(message);
      else if (message.bootError) reject(new Error(message.bootError));
      else {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.error !== undefined) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message.result);
      }
    });
    child.once(
      "exit",
      (code) => reject(new Error(`node process exited during boot (code ${code})`)),
    );
  });
  const call = <T>(method: string, ...args: unknown[]) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, method, args }, (error) => {
        if (!error) return;
        pending.delete(id);
        reject(error);
      });
    });
  return {
    port: ready.port,
    url: `http://127.0.0.1:${ready.port}`,
    transport: ready.transport,
    call,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      await call("close").catch(() => {});
      await exited;
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Real socket.io-client clients; `closeAll()` disconnects every one opened. */
export function clientPool() {
  const clients: ClientSocket[] = [];
  return {
    /** Connects over WebSocket and waits until connected. */
    connect(
      url: string,
      auth: Record<string, unknown> = {},
      namespace = "",
    ): Promise<ClientSocket> {
      const socket = connect(`${url}${namespace}`, {
        transports: ["websocket"],
        forceNew: true,
        reconnection: false,
        auth,
      });
      clients.push(socket);
      return new Promise((resolve, reject) => {
        socket.once("connect", () => resolve(socket));
        socket.once("connect_error", reject);
      });
    },
    closeAll(): void {
      for (const socket of clients) socket.disconnect();
    },
  };
}

/** Polls `check` until it returns something truthy (or `true`); rejects after `ms` with the last value. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  ms = 5000,
): Promise<Exclude<T, false | null | undefined | 0 | "">> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as Exclude<T, false | null | undefined | 0 | "">;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}; last: ${
          last instanceof Error ? last.message : JSON.stringify(last)
        }`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The connections open on the Redis at `port` (`CLIENT LIST` lines), except the probe's own. */
export async function redisClients(port: number): Promise<string[]> {
  const output = await new Promise<string>((resolve, reject) =>
    execFile(
      "redis-cli",
      ["-p", String(port), "client", "list"],
      (error, stdout) => (error ? reject(error) : resolve(stdout)),
    )
  );
  return output.split("\n").filter((line) =>
    line.trim() !== "" && !/ cmd=client\|list /.test(line)
  );
}

/** Names of the connections open on the Redis at `port` whose name starts with `prefix`. */
export async function redisClientNames(port: number, prefix = ""): Promise<string[]> {
  return (await redisClients(port))
    .map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? "")
    .filter((name) => name !== "" && name.startsWith(prefix));
}

export interface PrivateRedis {
  port: number;
  url: string;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

/** A redis-server of this test's own, on a free loopback port, without persistence. */
export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn("redis-server", [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ], { stdio: "ignore" });
    await eventually(() => redisClients(port).then(() => true), `redis-server on port ${port}`);
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, "exit");
    running.kill("SIGTERM");
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, stop, start };
}
