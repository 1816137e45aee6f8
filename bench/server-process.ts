/**
 * The server process: starts one contender, then runs phases on the runner's command and measures its
 * own CPU time (process.cpuUsage) from the first emit until the runner says every client has everything.
 * Run with `--expose-gc` so memory is read after a full collection.
 *
 * @module
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import { getHeapSpaceStatistics, writeHeapSnapshot } from "node:v8";
import type { ContenderServer } from "./contender.ts";
import { reply, type ServerRequest } from "./ipc.ts";
import { type ContenderName, CONTENDERS, type Mode, type Workload } from "./scenario.ts";

const contender = process.argv[2] as ContenderName;
const connections = Number(process.argv[3]);
if (!CONTENDERS.includes(contender) || !Number.isInteger(connections)) {
  throw new Error(`usage: server-process.ts <${CONTENDERS.join("|")}> <connections>`);
}

const modules: Record<
  ContenderName,
  () => Promise<{ start(connections: number): Promise<ContenderServer> }>
> = {
  "strapi-io-uws": () => import("./contenders/strapi-io-uws.ts"),
  "strapi-io-uws-no-recovery": () => import("./contenders/strapi-io-uws-no-recovery.ts"),
  "strapi-io-uws-metrics": () => import("./contenders/strapi-io-uws-metrics.ts"),
  "strapi-io-node-http": () => import("./contenders/strapi-io-node-http.ts"),
  "strapi-io-node-http-no-recovery": () =>
    import("./contenders/strapi-io-node-http-no-recovery.ts"),
  "socketio-node-http": () => import("./contenders/socketio-node-http.ts"),
  "socketio-node-http-per-role": () => import("./contenders/socketio-node-http-per-role.ts"),
  "bare-uws": () => import("./controls/bare-uws.ts"),
};

/**
 * How long the server idles before a memory reading. V8 shrinks its young generation (up to 32 MiB,
 * grown while connections poured in) only after ~5 s of slow allocation; below 5,000 connections a
 * per-connection reading is within noise anyway, so small runs do not wait.
 */
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? (connections >= 5000 ? 6000 : 500));

const server = await (await modules[contender]()).start(connections);
let phaseStart: { cpu: NodeJS.CpuUsage; wall: bigint } | null = null;

/**
 * `BENCH_PHASE_PROFILE=<dir>` (the runner's `--profile=<contender>`): a V8 CPU profile of each phase only,
 * from the first emit to the runner's `stop`, without the start-up and connection set-up around it.
 */
const PHASE_PROFILE_DIR = process.env.BENCH_PHASE_PROFILE;
const profiler = PHASE_PROFILE_DIR ? new Session() : undefined;
let profiledPhase = "";
if (profiler) {
  profiler.connect();
  await profiler.post("Profiler.enable");
  await profiler.post("Profiler.setSamplingInterval", { interval: 200 });
}

async function startPhaseProfile(workload: Workload, mode: Mode): Promise<void> {
  if (!profiler) return;
  profiledPhase = `${workload}-${mode}`;
  await profiler.post("Profiler.start");
}

async function writePhaseProfile(): Promise<void> {
  if (!profiler) return;
  const { profile } = await profiler.post("Profiler.stop");
  const file =
    `${PHASE_PROFILE_DIR}/${contender}-${profiledPhase}-${process.pid}-${Date.now()}.cpuprofile`;
  writeFileSync(file, JSON.stringify(profile));
}

function fireFor(workload: Workload): (seq: number) => void | Promise<void> {
  switch (workload) {
    case "emit":
      return server.emit;
    case "entity":
      return server.emitToEntity;
    case "raw-all":
      return server.rawAll;
    case "raw-room":
      return server.rawRoom;
  }
}

/** Sends `events` events, `burst` per loop turn; returns each event's emit time and synchronous duration (ns). */
async function run(
  workload: Workload,
  _mode: Mode,
  events: number,
  burst: number,
): Promise<{ emitTimes: number[]; syncNs: number[] }> {
  const fire = fireFor(workload);
  const emitTimes = new Array<number>(events);
  const syncNs = new Array<number>(events);
  phaseStart = { cpu: process.cpuUsage(), wall: process.hrtime.bigint() };
  for (let seq = 0; seq < events;) {
    for (let i = 0; i < burst && seq < events; i += 1, seq += 1) {
      const started = process.hrtime.bigint();
      const pending = fire(seq);
      if (pending) await pending;
      const ended = process.hrtime.bigint();
      emitTimes[seq] = Number(started);
      syncNs[seq] = Number(ended - started);
    }
    await nextTurn();
  }
  return { emitTimes, syncNs };
}

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("bench: the server process needs --expose-gc");
  gc();
  gc();
}

async function waitReady(count: number): Promise<number> {
  const deadline = Date.now() + 120_000;
  while (server.setups() < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return server.setups();
}

process.on("message", (request: ServerRequest) => {
  const handle = async () => {
    switch (request.type) {
      case "wait-ready":
        reply({ type: "ready", setups: await waitReady(request.connections) });
        break;
      case "run":
        await startPhaseProfile(request.workload, request.mode);
        reply({
          type: "emitted",
          ...(await run(request.workload, request.mode, request.events, request.burst)),
        });
        break;
      case "stop": {
        if (!phaseStart) throw new Error("bench: 'stop' without a running phase");
        const cpu = process.cpuUsage(phaseStart.cpu);
        reply({
          type: "stopped",
          cpu: { user: cpu.user, system: cpu.system },
          wallNs: Number(process.hrtime.bigint() - phaseStart.wall),
        });
        phaseStart = null;
        await writePhaseProfile();
        break;
      }
      case "memory": {
        // Idle memory: V8 shrinks its young generation only once allocation has been slow for a few
        // seconds (its throughput window), so wait that long before the final collections.
        collectGarbage();
        await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
        collectGarbage();
        const memory = process.memoryUsage();
        // Diagnostics: BENCH_HEAP_SNAPSHOT=<dir> writes a heap snapshot at each memory reading.
        if (process.env.BENCH_HEAP_SPACES) {
          console.error(JSON.stringify({
            rss: memory.rss,
            heapTotal: memory.heapTotal,
            heapUsed: memory.heapUsed,
            external: memory.external,
            arrayBuffers: memory.arrayBuffers,
            spaces: getHeapSpaceStatistics().map((
              s,
            ) => [s.space_name, s.space_size, s.space_used_size]),
          }));
        }
        if (process.env.BENCH_HEAP_SNAPSHOT) {
          writeHeapSnapshot(
            `${process.env.BENCH_HEAP_SNAPSHOT}/${contender}-${Date.now()}.heapsnapshot`,
          );
        }
        reply({ type: "memory", rss: memory.rss, heapUsed: memory.heapUsed });
        break;
      }
      case "exit":
        await server.close();
        process.disconnect?.();
        setTimeout(() => process.exit(0), 500).unref();
        break;
    }
  };
  handle().catch((error: unknown) =>
    reply({
      type: "failed",
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    })
  );
});

reply({ type: "listening", port: server.port, contender });
