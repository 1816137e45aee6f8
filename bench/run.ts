/**
 * The runner (`npm run bench`): for each connection count and repetition, starts each contender in its
 * own process, connects the load clients (several processes), measures connection rate and idle memory,
 * runs every workload paced and in bursts with the machine-busy guard, then the no-client emit cost, and
 * writes bench/RESULTS.md.
 *
 * Options: `--quick` (N = 1,000, smaller phases: under 5 minutes on 2 cores), `--connections=1000,10000`,
 * `--reps=3`, `--contenders=strapi-io-uws,bare-uws`, `--workloads=emit,raw-all`, `--clients=3`,
 * `--profile=<contender>` (a V8 CPU profile of each phase alone, into bench/profiles/), `--perf` (JIT
 * symbols for Linux perf), `--no-emit-cost` (skip the no-client `emit()` cost, for targeted runs),
 * `--attempts=3` (runs of a phase the machine-busy guard allows; 1 keeps every first reading, marked if
 * disturbed, for a machine that stays busy), `--out=bench/RESULTS.md`.
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ask, type ClientReply, nextReply, type ServerReply } from "./ipc.ts";
import { environment, foreignCores, machineCpu, median, waitForQuietMachine } from "./metrics.ts";
import { phaseMetrics, type PhaseResult, type SessionResult } from "./phase-metrics.ts";
import { renderResults } from "./report.ts";
import {
  burstSize,
  type ContenderName,
  CONTENDERS,
  eventsFor,
  type Mode,
  MODES,
  type Workload,
  WORKLOADS,
} from "./scenario.ts";

type Reply<T extends { type: string }, K extends T["type"]> = Extract<T, { type: K }>;

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=", 2);
    return [key as string, value ?? "true"];
  }),
);
const quick = args.has("quick");
const list = (key: string, fallback: readonly string[]) => (args.get(key)?.split(",") ?? fallback);
const config = {
  quick,
  connections: list("connections", quick ? ["1000"] : ["1000", "10000"]).map(Number),
  reps: Number(args.get("reps") ?? 3),
  contenders: list("contenders", CONTENDERS) as ContenderName[],
  workloads: list("workloads", WORKLOADS).filter((name) => name !== "") as Workload[],
  clientProcesses: Number(args.get("clients") ?? 3),
  profile: args.get("profile") as ContenderName | undefined,
  emitCost: !args.has("no-emit-cost"),
  out: args.get("out") ?? fileURLToPath(new URL("./RESULTS.md", import.meta.url)),
  /** Deliveries per phase: enough for a stable CPU reading, small enough for the quick mode's budget. */
  deliveries: (n: number) => (quick ? 20_000 : Math.max(100_000, 20 * n)),
  /** A phase during which other processes used more than this many cores is repeated. */
  busyCores: 0.3,
  attempts: Number(args.get("attempts") ?? 3),
};
for (const name of config.contenders) {
  if (!CONTENDERS.includes(name)) throw new Error(`bench: unknown contender '${name}'`);
}
for (const name of config.workloads) {
  if (!WORKLOADS.includes(name)) throw new Error(`bench: unknown workload '${name}'`);
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);

/** The file-descriptor limit child processes inherit; N connections need N descriptors in the server. */
function checkDescriptorLimit(needed: number): void {
  const soft = Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim());
  if (soft >= needed) return;
  throw new Error(
    `bench: N=${
      needed - 1000
    } needs 'ulimit -n' >= ${needed} (it is ${soft}); raise it ('ulimit -n ${needed}') and rerun`,
  );
}

function spawnChild(
  file: string,
  childArgs: string[],
  nodeFlags: string[] = [],
  env: Record<string, string> = {},
): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, "--import", "tsx", here(file), ...childArgs], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, ...env },
  });
}

async function stopChild(child: ChildProcess, request: { type: "exit" }): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.send(request);
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

async function runPhase(
  server: ChildProcess,
  clients: ChildProcess[],
  workload: Workload,
  mode: Mode,
  n: number,
): Promise<PhaseResult> {
  const events = eventsFor(workload, mode, n, config.deliveries(n));
  const burst = burstSize(workload, mode);
  let last: PhaseResult | undefined;
  for (let attempt = 1; attempt <= config.attempts; attempt += 1) {
    await Promise.all(
      clients.map((client) => ask(client, { type: "arm", workload, events }, "armed", 30_000)),
    );
    const before = machineCpu();
    const ownBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const timeoutMs = (quick ? 30_000 : 90_000) + events * 2;
    const dones = clients.map((client) =>
      nextReply<Reply<ClientReply, "done">>(client, "done", timeoutMs).catch(async () => {
        return ask<Reply<ClientReply, "done">>(client, { type: "report" }, "done", 10_000);
      })
    );
    const emitted = await ask<Reply<ServerReply, "emitted">>(
      server,
      { type: "run", workload, mode, events, burst },
      "emitted",
      timeoutMs,
    );
    const reports = await Promise.all(dones);
    const stopped = await ask<Reply<ServerReply, "stopped">>(
      server,
      { type: "stop" },
      "stopped",
      10_000,
    );
    const wallUs = Number(process.hrtime.bigint() - started) / 1000;
    const own = process.cpuUsage(ownBefore);
    const ownUs = own.user + own.system + stopped.cpu.user + stopped.cpu.system +
      reports.reduce((sum, r) => sum + r.cpu.user + r.cpu.system, 0);
    const foreign = foreignCores(before, machineCpu(), ownUs, wallUs);
    last = phaseMetrics({
      workload,
      mode,
      events,
      burst,
      emitted,
      reports,
      stopped,
      foreign,
      attempts: attempt,
      disturbed: foreign > config.busyCores,
    });
    if (!last.disturbed || attempt === config.attempts) break;
    log(
      `    ${workload}/${mode}: machine busy (${
        foreign.toFixed(2)
      } cores used by others), repeating`,
    );
    await waitForQuietMachine(config.busyCores, 5_000);
  }
  return last as PhaseResult;
}

async function runSession(contender: ContenderName, n: number): Promise<SessionResult> {
  // `--perf`: JIT symbols for Linux perf (`perf record -g -p <pid>` sees kernel and JS frames together).
  const flags = ["--expose-gc", ...(args.has("perf") ? ["--perf-basic-prof"] : [])];
  const profileDir = here("./profiles");
  if (config.profile === contender) mkdirSync(profileDir, { recursive: true });
  const server = spawnChild(
    "./server-process.ts",
    [contender, String(n)],
    flags,
    config.profile === contender ? { BENCH_PHASE_PROFILE: profileDir } : {},
  );
  const clients: ChildProcess[] = [];
  try {
    const listening = await nextReply<Reply<ServerReply, "listening">>(server, "listening", 60_000);
    if (config.profile || args.has("perf")) log(`    server pid ${server.pid}`);
    for (let i = 0; i < config.clientProcesses; i += 1) {
      clients.push(spawnChild("./load-client.ts", []));
    }
    const started = clients.map((client) =>
      nextReply<Reply<ClientReply, "started">>(client, "started", 60_000)
    );
    // The baseline reading idles the server while the client processes start.
    const baseline = await ask<Reply<ServerReply, "memory">>(
      server,
      { type: "memory" },
      "memory",
      30_000,
    );
    await Promise.all(started);
    const share = Math.ceil(n / clients.length);
    const connectStarted = process.hrtime.bigint();
    const connected = await Promise.all(clients.map((client, i) => {
      const first = i * share;
      const count = Math.max(0, Math.min(share, n - first));
      return ask<Reply<ClientReply, "connected">>(
        client,
        { type: "connect", port: listening.port, first, count, connections: n, concurrency: 64 },
        "connected",
        120_000,
      );
    }));
    const connectSeconds = Number(process.hrtime.bigint() - connectStarted) / 1e9;
    const failed = connected.reduce((sum, c) => sum + c.failed, 0);
    if (failed > 0) {
      throw new Error(
        `bench: ${failed} of ${n} connections to ${contender} failed: ${
          connected.find((c) => c.firstError)?.firstError
        }`,
      );
    }
    const ready = await ask<Reply<ServerReply, "ready">>(
      server,
      { type: "wait-ready", connections: n },
      "ready",
      130_000,
    );
    if (ready.setups !== n) {
      throw new Error(
        `bench: only ${ready.setups} of ${n} connections of ${contender} were set up`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const loaded = await ask<Reply<ServerReply, "memory">>(
      server,
      { type: "memory" },
      "memory",
      30_000,
    );
    const session: SessionResult = {
      contender,
      connections: n,
      acceptedPerSecond: n / connectSeconds,
      idleBytesPerConnection: (loaded.rss - baseline.rss) / n,
      heapBytesPerConnection: (loaded.heapUsed - baseline.heapUsed) / n,
      phases: [],
    };
    for (const workload of config.workloads) {
      for (const mode of MODES) {
        const phase = await runPhase(server, clients, workload, mode, n);
        session.phases.push(phase);
        const loss = phase.lost > 0 || phase.closed > 0
          ? `  LOST ${phase.lost} (closed ${phase.closed})`
          : "";
        log(
          `    ${workload}/${mode}: ${phase.cpuUsPerDelivery.toFixed(2)} µs/delivery (${
            phase.systemUsPerDelivery.toFixed(2)
          } kernel), ${Math.round(phase.deliveriesPerSecond)}/s, p99 ${
            phase.latencyP99Ms.toFixed(1)
          } ms${loss}`,
        );
      }
    }
    return session;
  } finally {
    await Promise.all(clients.map((client) => stopChild(client, { type: "exit" })));
    await stopChild(server, { type: "exit" });
  }
}

async function emitCost(transport: "uws" | "node-http", audiences: number): Promise<number> {
  const env = { ...process.env, BENCH_EMIT_BATCHES: quick ? "300" : "800" };
  const output = execFileSync(process.execPath, [
    "--import",
    "tsx",
    here("./emit-cost.ts"),
    transport,
    String(audiences),
  ], { encoding: "utf8", env });
  const lastLine = output.trim().split("\n").at(-1) ?? "{}";
  return (JSON.parse(lastLine) as { usPerEmit: number }).usPerEmit;
}

const started = Date.now();
const env = environment();
log(
  `strapi-io bench${quick ? " (quick)" : ""}: N = ${
    config.connections.join(", ")
  }; ${config.reps} repetitions; ${env.cpu}, ${env.cores} cores, Node ${env.node}`,
);
checkDescriptorLimit(Math.max(...config.connections) + 1000);
const quiet = await waitForQuietMachine(config.busyCores, 30_000);
if (quiet >= config.busyCores) {
  log(
    `  note: other processes use ${quiet.toFixed(2)} cores; phases disturbed by them are repeated`,
  );
}

const sessions: SessionResult[] = [];
for (const n of config.connections) {
  for (let rep = 1; rep <= config.reps; rep += 1) {
    for (const contender of config.contenders) {
      log(`  N=${n} rep ${rep}/${config.reps}: ${contender}`);
      sessions.push(await runSession(contender, n));
    }
  }
}

const emitCosts: Array<{ transport: "uws" | "node-http"; audiences: number; usPerEmit: number }> =
  [];
for (const transport of config.emitCost ? (["uws", "node-http"] as const) : []) {
  for (const audiences of [1, 4, 16]) {
    const runs: number[] = [];
    for (let rep = 0; rep < config.reps; rep += 1) runs.push(await emitCost(transport, audiences));
    emitCosts.push({ transport, audiences, usPerEmit: median(runs) });
    log(
      `  emit() with no clients, ${transport}, ${audiences} audiences: ${
        median(runs).toFixed(2)
      } µs`,
    );
  }
}

const results = {
  env,
  quick,
  reps: config.reps,
  attempts: config.attempts,
  sessions,
  emitCosts,
  minutes: (Date.now() - started) / 60_000,
  args: process.argv.slice(2),
};
writeFileSync(config.out, renderResults(results));
// The raw readings (every phase of every repetition), for `report.ts` changes or a closer look.
writeFileSync(config.out.replace(/\.md$/, "") + ".json", `${JSON.stringify(results, null, 1)}\n`);
log(`wrote ${config.out} in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
