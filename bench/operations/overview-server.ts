/**
 * One case of the overview bench (run by bench/operations/overview.ts): strapi-io (`createSocketIO`, from
 * dist/) on one transport, `connections` real WebSocket connections from client processes
 * (bench/operations/overview-clients.ts), each holding a socket in `/` and in every extra namespace, so
 * that one process can hold more sockets than its file-descriptor limit allows connections.
 *
 * Who connects, as a Strapi app's sockets would be identified: connection `i` is the public role when
 * `i % 10 == 0`, one of five API tokens when `i % 10 == 1`, otherwise user `i` (`reader<i>`, role
 * `editor` when `i % 10 == 2`, else `authenticated`). Every socket joins `user:<i>`, `team:<i % 50>`
 * and, for even `i`, `feed`: 2.5 app rooms per socket, besides its own room and its audience room.
 *
 * Then, interleaved, `calls` timed calls of each admin operation through `$io` (median and p95), and the
 * event-loop delay while an admin page polls every 2 s. `$io` answers from its socket index
 * (lib/operations/socket-index.ts), kept as sockets connect and rooms come and go.
 *
 * Memory, when run with `--expose-gc` (overview.ts does): the heap after a full GC before any client
 * connects and once every socket is connected, and what the socket index holds per socket, measured by
 * building an identical second index (`SocketIndex` from dist/) over the connected sockets, then
 * dropping it before the timed calls.
 *
 *   overview-server.ts <uws|node-http> <connections> <namespaces> <calls> <pollSeconds>
 *
 * Prints one JSON line ({@link CaseResult}); progress goes to stderr.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { AccessPolicy } from "../../lib/access-policy.ts";
import type { IoNamespace, SocketIdentity } from "../../lib/types.ts";
import { foreignCores, machineCpu, median, percentile, waitForQuietMachine } from "../metrics.ts";
import { loadStrapiIo } from "../strapi-io-build.ts";

type SocketIndexModule = typeof import("../../lib/operations/socket-index.ts");

const [transport, connectionsArg, namespacesArg, callsArg, pollArg] = process.argv.slice(2);
const connections = Number(connectionsArg);
const extraNamespaces = Number(namespacesArg) - 1;
const calls = Number(callsArg);
const pollSeconds = Number(pollArg);
if (
  (transport !== "uws" && transport !== "node-http") || !Number.isInteger(connections) ||
  !Number.isInteger(extraNamespaces) || extraNamespaces < 0 || !Number.isInteger(calls) ||
  !Number.isFinite(pollSeconds)
) {
  throw new Error(
    "usage: overview-server.ts <uws|node-http> <connections> <namespaces> <calls> <pollSeconds>",
  );
}

/** Connections per client process: well under the 20,000 descriptors a process may hold here. */
const CONNECTIONS_PER_CLIENT = 9000;
const WARM_UP_CALLS = 5;
const POLL_INTERVAL_MS = 2000;
/** Full scans: nothing matches (no socket id, role, token, user name or e-mail holds a `~`). */
const NO_MATCH = "~";
const NO_MATCH_LONG = "nobody-has-this-name-at-all";
/** Matches `reader17`, `reader170`–`179`, `reader1700`–`1799`…: 111 of 16,667 connections. */
const SOME_MATCH = "reader17";
const TOKENS = ["ci-deploy", "mobile-app", "newsletter-sync", "search-indexer", "analytics-export"];

const log = (line: string) => process.stderr.write(`${line}\n`);
const namespaceNames = Array.from({ length: extraNamespaces }, (_, k) => `ns${k + 1}`);
const sockets = connections * (1 + extraNamespaces);

/** The identity a Strapi app would give connection `i` (see the module doc). */
function identityOf(i: number): SocketIdentity {
  if (i % 10 === 0) return { role: "public", user: null, audience: "role:public" };
  if (i % 10 === 1) {
    const token = Math.floor(i / 10) % TOKENS.length;
    return {
      role: "api-token:read-only",
      user: null,
      tokenName: TOKENS[token] as string,
      audience: `token:${token + 1}`,
      principal: { kind: "token", id: token + 1 },
    };
  }
  const editor = i % 10 === 2;
  return {
    role: editor ? "editor" : "authenticated",
    userId: i,
    user: {
      id: i,
      documentId: `u${i.toString(36).padStart(23, "0")}`,
      username: `reader${i}`,
      email: `reader${i}@example.com`,
    },
    audience: editor ? "role:3" : "role:1",
    principal: { kind: "user", id: i },
  };
}

const policy: AccessPolicy = {
  identify: (socket) => Promise.resolve(identityOf(Number(socket.handshake.query["u"]))),
  deliveries: () => Promise.resolve([]),
  authorizeEntity: () => Promise.resolve({ allowed: false, error: "not in this bench" }),
};

const { createSocketIO } = await loadStrapiIo();
const socketIndexFile = new URL("../../dist/lib/operations/socket-index.js", import.meta.url);
if (!existsSync(fileURLToPath(socketIndexFile))) {
  throw new Error("bench: dist/ has no lib/operations/socket-index.js; run `npm run build`");
}
const { SocketIndex } = (await import(socketIndexFile.href)) as SocketIndexModule;

/** Heap used after a full GC, MiB; null without `--expose-gc`. */
const gc = (globalThis as { gc?: () => void }).gc;
const heapAfterGc = (): number | null => {
  if (!gc) return null;
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

const io = await createSocketIO(
  {
    transport: { type: transport, host: "127.0.0.1", port: 0, polling: false },
    namespaces: namespaceNames,
    limits: {
      connections: { maxPerNode: 1_000_000, maxPerAddress: 1_000_000, maxPerToken: 1_000_000 },
    },
  },
  {
    logger: {
      debug: () => {},
      info: () => {},
      warn: (m) => log(m),
      error: (m) => log(m),
    },
    policy,
    onConnection: (socket) => {
      const i = Number(socket.handshake.query["u"]);
      void socket.join(
        i % 2 === 0 ? [`user:${i}`, `team:${i % 50}`, "feed"] : [
          `user:${i}`,
          `team:${i % 50}`,
        ],
      );
    },
  },
);
const namespaces: IoNamespace[] = [io.server.sockets, ...Object.values(io.namespaces)];
const socketCount = () => namespaces.reduce((sum, ns) => sum + ns.sockets.size, 0);

const heapEmptyMiB = heapAfterGc();

// Clients, in processes of their own.
const clientFile = fileURLToPath(new URL("./overview-clients.ts", import.meta.url));
const children: ChildProcess[] = [];
const opened = Date.now();
const readies: Array<Promise<void>> = [];
for (let from = 0; from < connections; from += CONNECTIONS_PER_CLIENT) {
  const count = Math.min(CONNECTIONS_PER_CLIENT, connections - from);
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      clientFile,
      String(io.port),
      String(from),
      String(count),
      namespaceNames.join(",") || "-",
    ],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  children.push(child);
  readies.push(
    new Promise((resolve, reject) => {
      child.on("message", (message: { type: string; failed?: number; firstError?: string }) => {
        if (message.type === "lost") log("bench: a client lost a connection during the run");
        if (message.type !== "ready") return;
        if (message.failed) {
          reject(new Error(`bench: ${message.failed} connections failed: ${message.firstError}`));
        } else resolve();
      });
      child.on("exit", (code) => reject(new Error(`bench: a client process exited (${code})`)));
    }),
  );
}
const stopClients = () => {
  for (const child of children) child.kill();
};
try {
  await Promise.all(readies);
} catch (error) {
  stopClients();
  throw error;
}
const deadline = Date.now() + 30_000;
while (socketCount() !== sockets) {
  if (Date.now() > deadline) {
    throw new Error(`bench: ${socketCount()} sockets connected, expected ${sockets}`);
  }
  await new Promise((resolve) => setTimeout(resolve, 10));
}
const connectSeconds = (Date.now() - opened) / 1000;
log(`${transport}: ${connections} connections, ${sockets} sockets in ${connectSeconds} s`);

/**
 * What the index holds per socket: a second, identical index over the same sockets (the one `$io` keeps
 * cannot be reached from outside), weighed after a full GC, then unhooked from the adapters and dropped.
 */
function weighIndex(): { heapConnectedMiB: number; indexBytesPerSocket: number } | null {
  const before = heapAfterGc();
  if (before === null) return null;
  const hooks = namespaces.map((ns) => ({
    adapter: ns.adapter,
    create: ns.adapter.listeners("create-room"),
    delete: ns.adapter.listeners("delete-room"),
  }));
  let copy: InstanceType<typeof SocketIndex> | undefined = new SocketIndex();
  for (const namespace of namespaces) copy.watch(namespace);
  for (const namespace of namespaces) {
    for (const socket of namespace.sockets.values()) copy.connected(socket);
  }
  const after = heapAfterGc() as number;
  for (const hook of hooks) {
    for (
      const [event, known] of [["create-room", hook.create], ["delete-room", hook.delete]] as const
    ) {
      for (const listener of hook.adapter.listeners(event)) {
        if (!known.includes(listener)) hook.adapter.off(event, listener as () => void);
      }
    }
  }
  copy = undefined;
  heapAfterGc();
  return { heapConnectedMiB: before, indexBytesPerSocket: ((after - before) * 2 ** 20) / sockets };
}
const weighed = weighIndex();

// The operations as the admin page calls them.
const firstPage = await io.listConnections({});
const total = firstPage.meta.pagination.total;
if (total !== sockets) throw new Error(`bench: listConnections() total ${total}, not ${sockets}`);
const lastPage = firstPage.meta.pagination.pageCount;
const operations: Record<string, () => Promise<unknown>> = {
  "overview()": () => io.overview(),
  "listConnections() page 1": () => io.listConnections({ page: 1 }),
  "listConnections() last page": () => io.listConnections({ page: lastPage }),
  [`listConnections() search "${NO_MATCH}" (no match)`]: () =>
    io.listConnections({ search: NO_MATCH }),
  [`listConnections() search "${NO_MATCH_LONG}" (no match)`]: () =>
    io.listConnections({ search: NO_MATCH_LONG }),
  [`listConnections() search "${SOME_MATCH}" page 1`]: () =>
    io.listConnections({ search: SOME_MATCH }),
};

/** Per call: wall time and this process's CPU time (ms); CPU time is what other processes cannot inflate. */
const samples = new Map<string, { wall: number[]; cpu: number[] }>();
const record = (name: string, wall: number, cpu: NodeJS.CpuUsage) => {
  const entry = samples.get(name) ?? { wall: [], cpu: [] };
  entry.wall.push(wall);
  entry.cpu.push((cpu.user + cpu.system) / 1000);
  samples.set(name, entry);
};
const quietBefore = await waitForQuietMachine(0.3, 60_000);
const profiler = process.env["OVERVIEW_PROFILE"] ? await startProfiler() : undefined;
const machineBefore = machineCpu();
const ownBefore = process.cpuUsage();
const measureStarted = performance.now();
for (let round = 0; round < WARM_UP_CALLS + calls; round += 1) {
  const keep = round >= WARM_UP_CALLS;
  for (const [name, call] of Object.entries(operations)) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await call();
    if (keep) record(name, performance.now() - started, process.cpuUsage(cpu));
  }
  // One turn of the loop between rounds, as between two requests.
  await new Promise((resolve) => setImmediate(resolve));
}
const own = process.cpuUsage(ownBefore);
const busy = foreignCores(
  machineBefore,
  machineCpu(),
  own.user + own.system,
  (performance.now() - measureStarted) * 1000,
);
await profiler?.();

/** Profiles the measurement rounds alone (`OVERVIEW_PROFILE=<file.cpuprofile>`). */
async function startProfiler(): Promise<() => Promise<void>> {
  const { Session } = await import("node:inspector/promises");
  const { writeFileSync } = await import("node:fs");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(process.env["OVERVIEW_PROFILE"] as string, JSON.stringify(profile));
    session.disconnect();
  };
}

/**
 * Event-loop delay over `seconds`, polling as the admin page does or not at all. Each poll's longest
 * wall and CPU time (both calls, awaited) tell a poll that held the loop from a process that was
 * descheduled or paused for a GC.
 */
async function loopDelay(seconds: number, poll: boolean) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  /** Per poll: wall and CPU time, ms. */
  const polls: Array<[wall: number, cpu: number]> = [];
  const timer = poll
    ? setInterval(async () => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      await Promise.all([io.overview(), io.listConnections({ page: 1 })]);
      const used = process.cpuUsage(cpu);
      polls.push([performance.now() - started, (used.user + used.system) / 1000]);
    }, POLL_INTERVAL_MS)
    : undefined;
  histogram.enable();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  histogram.disable();
  clearInterval(timer);
  return {
    p50: histogram.percentile(50) / 1e6,
    p99: histogram.percentile(99) / 1e6,
    max: histogram.max / 1e6,
    pollWallMax: poll ? Math.max(...polls.map(([wall]) => wall)) : null,
    pollCpuMax: poll ? Math.max(...polls.map(([, cpu]) => cpu)) : null,
    polls,
  };
}
const idle = pollSeconds > 0 ? await loopDelay(pollSeconds / 2, false) : null;
const polled = pollSeconds > 0 ? await loopDelay(pollSeconds, true) : null;

const rooms = namespaces.reduce((sum, ns) => sum + ns.adapter.rooms.size, 0);
const memory = process.memoryUsage();
const summary = (name: string) => {
  const { wall = [], cpu = [] } = samples.get(name) ?? {};
  return {
    name,
    median: median(wall),
    p95: percentile(wall, 95),
    max: Math.max(...wall),
    cpuMedian: median(cpu),
    cpuP95: percentile(cpu, 95),
  };
};
const result = {
  transport,
  connections,
  namespaces: 1 + extraNamespaces,
  sockets,
  rooms,
  connectSeconds,
  calls,
  /** Cores other processes used before (the wait for a quiet machine gives up after a minute) and during the rounds. */
  foreignCores: { before: quietBefore, during: busy },
  operations: Object.keys(operations).map(summary),
  loopDelay: { idle, polled, pollIntervalMs: POLL_INTERVAL_MS, seconds: pollSeconds },
  heapUsedMiB: memory.heapUsed / 2 ** 20,
  /** After a full GC (null without `--expose-gc`): before any client, and with every socket connected. */
  heapEmptyMiB,
  heapConnectedMiB: weighed?.heapConnectedMiB ?? null,
  /** What the socket index holds per socket (an identical copy, weighed). */
  indexBytesPerSocket: weighed?.indexBytesPerSocket ?? null,
  rssMiB: memory.rss / 2 ** 20,
};
export type CaseResult = typeof result;

stopClients();
await io.close();
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
