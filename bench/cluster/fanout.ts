/**
 * Cross-node fan-out over Redis: events emitted on one node, delivered to clients connected to two other
 * nodes, against the same events emitted by one node to the same clients connected to it.
 *
 * Run: `node --import tsx bench/cluster/fanout.ts` (env: CLIENTS per receiving node, default 250;
 * EVENTS per repetition, default 2000; BATCH events per burst, default 50; REPS, default 5; PAYLOAD
 * bytes, default 200). It starts a private redis-server on a free loopback port (never the shared one),
 * every `$io` node in its own process on uWS, and one load process with the light protocol client of
 * `bench/protocol-client.ts`; everything stops by itself.
 *
 * Configurations, measured in one run:
 * - `single`: one node, in-memory adapter, every client on it (the baseline);
 * - `single+redis`: the same with the Redis adapter (what publishing every broadcast to Redis costs);
 * - `cluster`: node A emits, nodes B and C each hold half of the clients.
 * Each repetition sends EVENTS events in bursts of BATCH and waits until every client has every event of a
 * burst before the next (so Redis never buffers more than one burst); repetitions of the three
 * configurations are interleaved (all are up at once, idle when not measured). Reported: deliveries per second and
 * burst latency (burst sent → last client has it), medians over REPS, and each configuration's ratio to
 * `single`.
 *
 * @module
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

const SELF = fileURLToPath(import.meta.url);
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CLIENTS = env("CLIENTS", 250);
const EVENTS = env("EVENTS", 2000);
const BATCH = env("BATCH", 50);
const REPS = env("REPS", 5);
const PAYLOAD = env("PAYLOAD", 200);
const SOCKET_PATH = "/socket.io/?EIO=4&transport=websocket";

type Message = Record<string, any>;

// ───────────────────────────── roles run in child processes ─────────────────────────────

/** A `$io` node: emits bursts on request. */
async function runNode(options: unknown): Promise<void> {
  const { createSocketIO } = await import("../../lib/create-socket-io.ts");
  const quiet = {
    debug() {},
    info() {},
    warn: (m: string) => console.warn(`[node ${process.pid}] ${m}`),
    error: (m: string) => console.error(`[node ${process.pid}] ${m}`),
  };
  const { BENCH_LIMITS } = await import("../scenario.ts");
  const io = await createSocketIO({ ...(options as object), limits: BENCH_LIMITS } as never, {
    logger: quiet,
  });
  let seq = 0;
  const pad = "x".repeat(PAYLOAD);
  process.on("message", async (message: Message) => {
    if (message.op === "burst") {
      for (let i = 0; i < message.count; i += 1) {
        await io.raw({ event: "tick", data: { seq: seq++, pad } });
      }
      process.send!({ id: message.id });
    } else if (message.op === "close") {
      await io.close();
      process.send!({ id: message.id });
      process.disconnect();
    }
  });
  process.send!({ ready: true, port: io.port });
}

/** The load: `perPort` protocol clients on each port; answers `expect` once that many events arrived in total. */
async function runClients(ports: number[], perPort: number): Promise<void> {
  const { ProtocolConnection } = await import("../protocol-client.ts");
  let received = 0;
  let connected = 0;
  let waiter: { total: number; id: number } | undefined;
  const check = () => {
    if (waiter && received >= waiter.total) {
      process.send!({ id: waiter.id });
      waiter = undefined;
    }
  };
  const total = ports.length * perPort;
  const connections = ports.flatMap((port) =>
    Array.from({ length: perPort }, (_, index) =>
      new ProtocolConnection(index, port, SOCKET_PATH, {
        connected: () => {
          connected += 1;
          if (connected === total) process.send!({ ready: true });
        },
        message: () => {
          received += 1;
          check();
        },
        closed: (_connection, why) => console.error(`[clients] a connection closed: ${why}`),
      }))
  );
  process.on("message", (message: Message) => {
    if (message.op === "expect") {
      waiter = { total: message.total, id: message.id };
      check();
    } else if (message.op === "close") {
      for (const connection of connections) connection.destroy();
      process.send!({ id: message.id });
      process.disconnect();
    }
  });
}

// ───────────────────────────────────── the driver ─────────────────────────────────────

interface Child {
  process: ChildProcess;
  ready: Message;
  request(message: Message): Promise<Message>;
}

async function startChild(args: string[]): Promise<Child> {
  const child = fork(SELF, args, {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pending = new Map<number, (message: Message) => void>();
  let next = 0;
  const ready = await new Promise<Message>((resolve, reject) => {
    child.on("message", (message: Message) => {
      if (message.ready) resolve(message);
      else pending.get(message.id)?.(message), pending.delete(message.id);
    });
    child.once(
      "exit",
      (code) => reject(new Error(`${args[0]} exited during start (code ${code})`)),
    );
  });
  return {
    process: child,
    ready,
    request: (message) =>
      new Promise((resolve) => {
        const id = next++;
        pending.set(id, resolve);
        child.send({ ...message, id });
      }),
  };
}

async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null) return;
  const exited = once(child.process, "exit");
  await child.request({ op: "close" });
  await exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const server = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
  ], { stdio: "ignore" });
  for (let attempt = 0;; attempt += 1) {
    try {
      execFileSync("redis-cli", ["-p", String(port), "ping"], { stdio: "ignore" });
      break;
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: async () => {
      const exited = once(server, "exit");
      server.kill("SIGTERM");
      await exited;
    },
  };
}

interface Measured {
  name: string;
  deliveriesPerSecond: number;
  burstMs: number;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

interface Setup {
  name: string;
  /** One repetition: EVENTS events in bursts; returns deliveries per second and the burst latencies. */
  rep(): Promise<{ rate: number; bursts: number[] }>;
  stop(): Promise<void>;
}

/** Starts the nodes of one configuration and its clients, and warms them up. */
async function setUp(
  name: string,
  nodeOptions: unknown[],
  receivers: number[],
  emitter: number,
): Promise<Setup> {
  const nodes = await Promise.all(
    nodeOptions.map((options) => startChild(["node", JSON.stringify(options)])),
  );
  const ports = receivers.map((index) => nodes[index]!.ready.port as number);
  const totalClients = CLIENTS * 2;
  const clients = await startChild([
    "clients",
    JSON.stringify(ports),
    String(totalClients / ports.length),
  ]);
  let delivered = 0;
  const burst = async (count: number) => {
    const started = performance.now();
    await nodes[emitter]!.request({ op: "burst", count });
    delivered += count * totalClients;
    await clients.request({ op: "expect", total: delivered });
    return performance.now() - started;
  };
  for (let i = 0; i < 10; i += 1) await burst(BATCH); // warm-up: JIT, Redis connections, uWS topics
  return {
    name,
    rep: async () => {
      const bursts: number[] = [];
      const started = performance.now();
      for (let sent = 0; sent < EVENTS; sent += BATCH) {
        bursts.push(await burst(Math.min(BATCH, EVENTS - sent)));
      }
      return { rate: (EVENTS * totalClients) / ((performance.now() - started) / 1000), bursts };
    },
    stop: async () => {
      await stopChild(clients);
      await Promise.all(nodes.map(stopChild));
    },
  };
}

async function drive(): Promise<void> {
  const redis = await startRedis();
  const transport = { type: "uws", host: "127.0.0.1", port: 0, polling: false };
  const adapter = (keyPrefix: string) => ({ type: "redis", url: redis.url, keyPrefix });
  const setups: Setup[] = [];
  try {
    setups.push(await setUp("single (1 node, in-memory adapter)", [{ transport }], [0], 0));
    setups.push(
      await setUp(
        "single+redis (1 node, Redis adapter)",
        [{ transport, adapter: adapter("bench-single") }],
        [0],
        0,
      ),
    );
    const cluster = adapter("bench-cluster");
    setups.push(
      await setUp(
        "cluster (emit on A, clients on B and C)",
        [{ transport, adapter: cluster }, { transport, adapter: cluster }, {
          transport,
          adapter: cluster,
        }],
        [1, 2],
        0,
      ),
    );
    // Repetitions interleave the configurations, so drift on a shared machine hits them alike.
    const rates = setups.map(() => [] as number[]);
    const bursts = setups.map(() => [] as number[]);
    for (let rep = 0; rep < REPS; rep += 1) {
      for (const [index, setup] of setups.entries()) {
        const { rate, bursts: times } = await setup.rep();
        rates[index]!.push(rate);
        bursts[index]!.push(...times);
      }
    }
    const results = setups.map((setup, index) => ({
      name: setup.name,
      deliveriesPerSecond: median(rates[index]!),
      burstMs: median(bursts[index]!),
    }));
    for (const [index, setup] of setups.entries()) {
      console.error(`${setup.name}: reps ${rates[index]!.map(Math.round).join(", ")} deliveries/s`);
    }
    report(results, redis.url);
  } finally {
    for (const setup of setups) await setup.stop();
    await redis.stop();
  }
}

function report(results: Measured[], redisUrl: string): void {
  const base = results[0]!.deliveriesPerSecond;
  const version = (name: string) => {
    try {
      return JSON.parse(
        readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), "utf8"),
      ).version as string;
    } catch {
      return "?";
    }
  };
  const commit = (() => {
    try {
      return execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
    } catch {
      return "?";
    }
  })();
  const redisVersion =
    execFileSync("redis-server", ["--version"], { encoding: "utf8" }).match(/v=(\S+)/)?.[1] ?? "?";
  const lines = [
    `### Cross-node fan-out (${
      CLIENTS * 2
    } clients, ${EVENTS} events × ${REPS} reps, bursts of ${BATCH}, ${PAYLOAD} B payload)`,
    "",
    "| configuration | deliveries/s (median) | ratio to single | burst latency ms (median) |",
    "|---|---:|---:|---:|",
    ...results.map((r) =>
      `| ${r.name} | ${Math.round(r.deliveriesPerSecond)} | ${
        (r.deliveriesPerSecond / base).toFixed(2)
      } | ${r.burstMs.toFixed(2)} |`
    ),
    "",
    `- ${new Date().toISOString()}, commit ${commit} (plus uncommitted work), ${cpus().length} × ${
      cpus()[0]?.model ?? "?"
    }, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    `- Node ${process.version}; socket.io ${version("socket.io")}, @socket.io/redis-adapter ${
      version("@socket.io/redis-adapter")
    }, ioredis ${version("ioredis")}, uWebSockets.js ${
      version("uWebSockets.js")
    }; redis-server ${redisVersion} on loopback (${redisUrl})`,
    "- Every node, the load process and redis-server share the same cores: the cluster rows measure what crossing Redis costs, not what more machines would add.",
  ];
  console.log(lines.join("\n"));
}

const role = process.argv[2];
if (role === "node") await runNode(JSON.parse(process.argv[3]!));
else if (role === "clients") {
  await runClients(JSON.parse(process.argv[3]!), Number(process.argv[4]));
} else await drive();
