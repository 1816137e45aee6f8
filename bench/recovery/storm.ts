/**
 * Reconnect storm: N clients connected, all lose their connection at once while content events are sent,
 * then all come back. Measured four ways, each in fresh processes, repetitions interleaved:
 *
 * - `core-on`: `createSocketIO()` with the bench policy, recovery on — each client resumes its session and
 *   gets every missed event replayed from memory;
 * - `core-off`: the same with `recovery: { enabled: false }` — the clients only reconnect (what every
 *   client does anyway); what they missed is lost;
 * - `strapi-sockets`: the real Strapi fixture app's `$io`, recovery on, public-role clients, the events
 *   sent through the Strapi policy and sanitizer; every knex query counted;
 * - `strapi-rest`: the old way — every client refetches the changed articles over REST from the real
 *   Strapi (`GET /api/articles?populate=category`, one page of `events` articles); knex queries counted.
 *
 * Clients are bench/recovery/resumable-connection.ts in separate processes: they send the session id and
 * last offset in the CONNECT auth as socket.io-client does, and check every event arrives in order, once.
 * "Lose their connection" is each client destroying its TCP connection (no close frame): the server sees
 * a transport close, a recoverable disconnect. Clients reconnect `concurrency` per process at a time
 * (socket.io-client spreads its reconnects over 0.5–1.5 s on its own; here they come as fast as the server
 * takes them). The REST requests go the same way, each on a new connection.
 *
 *   node --import tsx bench/recovery/storm.ts [--connections=10000] [--events=100] [--reps=3]
 *     [--configurations=core-on,core-off,strapi-sockets,strapi-rest] [--rest-connections=N]
 *     [--clients=3] [--concurrency=64] [--json=<file>]
 *
 * Needs dist/ (`npm run build`). Prints a Markdown report (bench/recovery/RESULTS.md has the one on record).
 *
 * @module
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CpuTime } from "../ipc.ts";
import { nextReply } from "../ipc.ts";
import {
  environment,
  foreignCores,
  machineCpu,
  median,
  percentile,
  waitForQuietMachine,
} from "../metrics.ts";
import {
  askChild,
  type Configuration,
  CONFIGURATIONS,
  type StormClientReply,
  type StormServerReply,
} from "./storm-ipc.ts";

type ServerReplyOf<K extends StormServerReply["type"]> = Extract<StormServerReply, { type: K }>;
type ClientReplyOf<K extends StormClientReply["type"]> = Extract<StormClientReply, { type: K }>;

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=", 2);
    return [key as string, value ?? "true"];
  }),
);
const connections = Number(args.get("connections") ?? 10_000);
const config = {
  connections,
  restConnections: Number(args.get("rest-connections") ?? connections),
  events: Number(args.get("events") ?? 100),
  /** Events every client receives before the storm, so that it holds an offset. */
  warmup: 5,
  reps: Number(args.get("reps") ?? 3),
  clientProcesses: Number(args.get("clients") ?? 3),
  concurrency: Number(args.get("concurrency") ?? 64),
  configurations: (args.get("configurations")?.split(",") ?? CONFIGURATIONS) as Configuration[],
  json: args.get("json"),
  /** A storm during which other processes used more than this many cores is repeated (at most `attempts` times). */
  busyCores: 0.3,
  attempts: 3,
};
for (const name of config.configurations) {
  if (!CONFIGURATIONS.includes(name)) throw new Error(`storm: unknown configuration '${name}'`);
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

function spawnChild(file: string, childArgs: string[], nodeFlags: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeFlags, "--import", "tsx", here(file), ...childArgs], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.send({ type: "exit" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** One storm of one configuration: what the tables show. */
interface StormResult {
  configuration: Configuration;
  rep: number;
  clients: number;
  /** From the reconnect (or first request) to the last client having every event (s). */
  seconds: number;
  /** Per client, from the same start (s). */
  p50: number;
  p99: number;
  serverCpu: CpuTime;
  clientCpuUs: number;
  queries: number;
  /** While the clients were away: the server noticing every drop, keeping sessions, emitting the events. */
  awayCpu: CpuTime;
  awayQueries: number;
  bufferedEvents: number;
  complete: number;
  recovered: number;
  misordered: number;
  failed: number;
  firstError: string;
  bytesPerClient: number;
  documentBytes: number;
  foreignCores: number;
  attempts: number;
}

function sumCpu(replies: Array<{ cpu: CpuTime }>): number {
  return replies.reduce((sum, r) => sum + r.cpu.user + r.cpu.system, 0);
}

function spread(doneAt: number[], started: bigint): { seconds: number; p50: number; p99: number } {
  const times = doneAt.filter((t) => t > 0).map((t) => (t - Number(started)) / 1e9);
  return {
    seconds: Math.max(0, ...times),
    p50: percentile(times, 50),
    p99: percentile(times, 99),
  };
}

async function stormOnce(configuration: Configuration, rep: number): Promise<StormResult> {
  const n = config.connections;
  const total = config.warmup + config.events;
  const server = spawnChild(
    "./storm-server.ts",
    [configuration, String(n), String(total)],
    ["--expose-gc"],
  );
  const clients: ChildProcess[] = [];
  try {
    const listening = await nextReply<ServerReplyOf<"listening">>(server, "listening", 180_000);
    for (let i = 0; i < config.clientProcesses; i += 1) {
      clients.push(spawnChild("./storm-client.ts", []));
    }
    await Promise.all(clients.map((c) => nextReply(c, "started", 60_000)));
    const share = Math.ceil(n / clients.length);
    const connected = await Promise.all(clients.map((client, i) => {
      const first = i * share;
      return askChild<ClientReplyOf<"connected">>(
        client,
        {
          type: "connect",
          port: listening.port,
          first,
          count: Math.max(0, Math.min(share, n - first)),
          connections: n,
          concurrency: config.concurrency,
          seqMark: listening.seqMark,
        },
        "connected",
        180_000,
      );
    }));
    const failed = connected.reduce((sum, c) => sum + c.failed, 0);
    if (failed > 0) {
      throw new Error(
        `storm: ${failed} of ${n} connections failed: ${
          connected.find((c) => c.firstError)?.firstError
        }`,
      );
    }
    await askChild(server, { type: "wait-ready", connections: n }, "ready", 130_000);

    // Warm-up: every client receives a few events (it holds an offset, as a live client does).
    const warm = clients.map((c) => nextReply<ClientReplyOf<"caught-up">>(c, "caught-up", 60_000));
    await Promise.all(
      clients.map((c) => askChild(c, { type: "arm", through: config.warmup }, "armed", 10_000)),
    );
    await askChild(server, { type: "emit", from: 0, count: config.warmup }, "emitted", 60_000);
    await Promise.all(warm);

    await waitForQuietMachine(config.busyCores, 20_000);
    const machineBefore = machineCpu();
    const ownBefore = process.cpuUsage();
    const wallBefore = process.hrtime.bigint();

    // The storm: every connection lost at once, the events sent while they are away.
    const recovery = configuration !== "core-off";
    await askChild(server, { type: "mark" }, "marked", 10_000);
    await Promise.all(clients.map((c) => askChild(c, { type: "drop" }, "dropped", 30_000)));
    await askChild(
      server,
      { type: "emit", from: config.warmup, count: config.events },
      "emitted",
      120_000,
    );
    const away = await askChild<ServerReplyOf<"away">>(
      server,
      { type: "wait-away", sessions: recovery ? n : 0 },
      "away",
      90_000,
    );
    const awayReading = await askChild<ServerReplyOf<"reading">>(
      server,
      { type: "read" },
      "reading",
      10_000,
    );
    if (away.connected !== 0 || away.sessions < (recovery ? n : 0)) {
      throw new Error(
        `storm: server still had ${away.connected} connections and ${away.sessions} sessions`,
      );
    }

    // All come back.
    await askChild(server, { type: "mark" }, "marked", 10_000);
    const started = process.hrtime.bigint();
    const timeoutMs = 300_000;
    const done = clients.map((c) =>
      nextReply<ClientReplyOf<"caught-up">>(c, "caught-up", timeoutMs).catch(() =>
        askChild<ClientReplyOf<"caught-up">>(c, { type: "report" }, "caught-up", 10_000)
      )
    );
    for (const client of clients) {
      client.send({
        type: "reconnect",
        concurrency: config.concurrency,
        through: recovery ? total : null,
      });
    }
    const reports = await Promise.all(done);
    const reading = await askChild<ServerReplyOf<"reading">>(
      server,
      { type: "read" },
      "reading",
      10_000,
    );
    const own = process.cpuUsage(ownBefore);
    const wallUs = Number(process.hrtime.bigint() - wallBefore) / 1000;
    const ownUs = own.user + own.system + awayReading.cpu.user + awayReading.cpu.system +
      reading.cpu.user + reading.cpu.system + sumCpu(reports);
    const timing = spread(reports.flatMap((r) => r.doneAt), started);
    return {
      configuration,
      rep,
      clients: n,
      ...timing,
      serverCpu: reading.cpu,
      clientCpuUs: sumCpu(reports),
      queries: reading.queries,
      awayCpu: awayReading.cpu,
      awayQueries: awayReading.queries,
      bufferedEvents: away.bufferedEvents,
      complete: reports.reduce((sum, r) => sum + r.complete, 0),
      recovered: reports.reduce((sum, r) => sum + r.recovered, 0),
      misordered: reports.reduce((sum, r) => sum + r.misordered, 0),
      failed: reports.reduce((sum, r) => sum + r.closed, 0),
      firstError: reports.find((r) => r.firstError)?.firstError ?? "",
      bytesPerClient: reports.reduce((sum, r) => sum + r.eventBytes, 0) / n,
      documentBytes: listening.documentBytes,
      foreignCores: foreignCores(machineBefore, machineCpu(), ownUs, wallUs),
      attempts: 1,
    };
  } finally {
    await Promise.all(clients.map(stop));
    await stop(server);
  }
}

async function restOnce(rep: number): Promise<StormResult> {
  const n = config.restConnections;
  const server = spawnChild(
    "./storm-server.ts",
    ["strapi-rest", String(n), String(config.events)],
    ["--expose-gc"],
  );
  const clients: ChildProcess[] = [];
  try {
    const listening = await nextReply<ServerReplyOf<"listening">>(server, "listening", 180_000);
    for (let i = 0; i < config.clientProcesses; i += 1) {
      clients.push(spawnChild("./storm-client.ts", []));
    }
    await Promise.all(clients.map((c) => nextReply(c, "started", 60_000)));
    await waitForQuietMachine(config.busyCores, 20_000);
    const machineBefore = machineCpu();
    const ownBefore = process.cpuUsage();
    await askChild(server, { type: "mark" }, "marked", 10_000);
    const started = process.hrtime.bigint();
    const share = Math.ceil(n / clients.length);
    const reports = await Promise.all(
      clients.map((client, i) =>
        askChild<ClientReplyOf<"fetched">>(
          client,
          {
            type: "fetch",
            url: listening.restUrl,
            count: Math.max(0, Math.min(share, n - i * share)),
            concurrency: config.concurrency,
            expectTail: listening.restTail,
          },
          "fetched",
          1_800_000,
        )
      ),
    );
    const reading = await askChild<ServerReplyOf<"reading">>(
      server,
      { type: "read" },
      "reading",
      10_000,
    );
    const own = process.cpuUsage(ownBefore);
    const wallUs = Number(process.hrtime.bigint() - started) / 1000;
    const ownUs = own.user + own.system + reading.cpu.user + reading.cpu.system + sumCpu(reports);
    const ok = reports.reduce((sum, r) => sum + r.ok, 0);
    return {
      configuration: "strapi-rest",
      rep,
      clients: n,
      ...spread(reports.flatMap((r) => r.doneAt), started),
      serverCpu: reading.cpu,
      clientCpuUs: sumCpu(reports),
      queries: reading.queries,
      awayCpu: { user: 0, system: 0 },
      awayQueries: 0,
      bufferedEvents: 0,
      complete: ok,
      recovered: 0,
      misordered: 0,
      failed: reports.reduce((sum, r) => sum + r.failed, 0),
      firstError: reports.find((r) => r.firstError)?.firstError ?? "",
      bytesPerClient: reports.reduce((sum, r) => sum + r.bytes, 0) / Math.max(1, ok),
      documentBytes: listening.documentBytes,
      foreignCores: foreignCores(machineBefore, machineCpu(), ownUs, wallUs),
      attempts: 1,
    };
  } finally {
    await Promise.all(clients.map(stop));
    await stop(server);
  }
}

function checkDescriptorLimit(needed: number): void {
  const soft = Number(execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim());
  if (soft < needed) {
    throw new Error(`storm: needs 'ulimit -n' >= ${needed} (it is ${soft})`);
  }
}

const LABELS: Record<Configuration, string> = {
  "core-on": "core, recovery on: reconnect + replay",
  "core-off": "core, recovery off: reconnect only",
  "strapi-sockets": "Strapi `$io`, recovery on: reconnect + replay",
  "strapi-rest": "Strapi REST: refetch the changed articles",
};

const cpuSeconds = (cpu: CpuTime) => (cpu.user + cpu.system) / 1e6;
const fmt = (value: number, digits = 2) =>
  Number.isFinite(value)
    ? Math.abs(value) >= 1000 ? Math.round(value).toLocaleString("en-US") : value.toFixed(digits)
    : "–";

function render(results: StormResult[], minutes: number): string {
  const env = environment();
  const strapiVersion = (JSON.parse(
    readFileSync(
      new URL("../../node_modules/@strapi/strapi/package.json", import.meta.url),
      "utf8",
    ),
  ) as { version: string }).version;
  const present = CONFIGURATIONS.filter((c) => results.some((r) => r.configuration === c));
  const of = (c: Configuration, pick: (r: StormResult) => number) =>
    median(results.filter((r) => r.configuration === c).map(pick));
  const out: string[] = [];
  out.push(
    `Run on ${env.date} (${minutes.toFixed(1)} min): \`node --import tsx bench/recovery/storm.ts ${
      process.argv.slice(2).join(" ")
    }\`. Medians of ${config.reps} repetitions, each configuration in fresh processes, repetitions interleaved.`,
    "",
  );
  out.push(
    `- CPU: ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB; ${env.os}; loopback only`,
    `- Node ${env.node}; ${
      Object.entries(env.packages).map(([name, version]) => `${name} ${version}`).join(", ")
    }; @strapi/strapi ${strapiVersion} (fixtures/app, SQLite via better-sqlite3 → libsql)`,
    `- strapi-io commit ${env.commit}${
      env.dirty ? " plus uncommitted changes in lib/ or bench/" : ""
    }`,
    `- ${config.clientProcesses} client processes, ${config.concurrency} connections (or requests) opening at a time in each; ${config.warmup} events before the storm, ${config.events} while away`,
    `- machine-busy guard: a storm during which other processes used > ${config.busyCores} cores is run again (at most ${config.attempts} times); ${
      results.filter((r) => r.attempts > 1).length
    } of ${results.length} were; cores used by others during the storms kept: ${
      results.map((r) => r.foreignCores.toFixed(2)).join(", ")
    }`,
    "",
  );
  out.push(
    "| configuration | clients | until every client has every event (s) | per client p50 / p99 (s) | server CPU (s) | server CPU per client (µs) | database queries | payload per client (KB) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  );
  for (const c of present) {
    out.push(
      `| ${LABELS[c]} | ${of(c, (r) => r.clients).toLocaleString("en-US")} | ${
        fmt(of(c, (r) => r.seconds))
      } | ${fmt(of(c, (r) => r.p50))} / ${fmt(of(c, (r) => r.p99))} | ${
        fmt(of(c, (r) => cpuSeconds(r.serverCpu)))
      } | ${fmt(of(c, (r) => cpuSeconds(r.serverCpu) * 1e6 / r.clients), 0)} | ${
        fmt(of(c, (r) => r.queries), 0)
      } | ${fmt(of(c, (r) => r.bytesPerClient / 1000), 1)} |`,
    );
  }
  out.push("");
  const ratio = (a: Configuration, b: Configuration, pick: (r: StormResult) => number) =>
    of(a, pick) / of(b, pick);
  const perClientCpu = (r: StormResult) => cpuSeconds(r.serverCpu) / r.clients;
  const ratios: string[] = [];
  for (const recovered of ["strapi-sockets", "core-on"] as const) {
    if (!present.includes(recovered) || !present.includes("strapi-rest")) continue;
    ratios.push(
      `| Strapi REST refetch ÷ ${LABELS[recovered]} | ${
        fmt(ratio("strapi-rest", recovered, perClientCpu))
      }× | ${fmt(ratio("strapi-rest", recovered, (r) => r.seconds * 1e6 / r.clients))}× |`,
    );
  }
  if (
    ["core-off", "strapi-rest", "strapi-sockets"].every((c) => present.includes(c as Configuration))
  ) {
    const oldWay = (pick: (r: StormResult) => number) =>
      (of("core-off", pick) + of("strapi-rest", pick)) / of("strapi-sockets", pick);
    ratios.push(
      `| (${LABELS["core-off"]}) + (${LABELS["strapi-rest"]}) ÷ ${LABELS["strapi-sockets"]} | ${
        fmt(oldWay(perClientCpu))
      }× | ${fmt(oldWay((r) => r.seconds / r.clients))}× |`,
    );
  }
  if (present.includes("core-off") && present.includes("core-on")) {
    ratios.push(
      `| ${LABELS["core-on"]} ÷ ${LABELS["core-off"]} | ${
        fmt(ratio("core-on", "core-off", perClientCpu))
      }× | ${fmt(ratio("core-on", "core-off", (r) => r.seconds / r.clients))}× |`,
    );
  }
  if (present.includes("core-off") && present.includes("core-on")) {
    const replayed = of("core-on", (r) => r.clients) * config.events;
    const extra = of("core-on", (r) => cpuSeconds(r.serverCpu)) -
      of("core-off", (r) => cpuSeconds(r.serverCpu));
    ratios.push(
      `| replay's own server CPU per replayed event (core on − off, over ${
        replayed.toLocaleString("en-US")
      } events) | ${fmt(extra * 1e6 / replayed)} µs | |`,
    );
  }
  if (ratios.length > 0) {
    out.push(
      "Ratios (of the medians; CPU and time per client, so a REST side run at a smaller N compares per client):",
      "",
      "| ratio | server CPU | time |",
      "|---|---:|---:|",
      ...ratios,
      "",
    );
  }
  out.push(
    "While the clients were away (server noticing every lost connection, keeping its session, sending the events to nobody):",
    "",
    "| configuration | server CPU (s) | database queries | entries in the replay buffer (events, access marks) |",
    "|---|---:|---:|---:|",
  );
  for (const c of present.filter((c) => c !== "strapi-rest")) {
    out.push(
      `| ${LABELS[c]} | ${fmt(of(c, (r) => cpuSeconds(r.awayCpu)))} | ${
        fmt(of(c, (r) => r.awayQueries), 0)
      } | ${fmt(of(c, (r) => r.bufferedEvents), 0)} |`,
    );
  }
  out.push("");
  out.push("Checks, every repetition:", "");
  for (const r of results) {
    const expected = r.configuration === "core-off" ? 0 : r.clients;
    out.push(
      `- ${LABELS[r.configuration]}, rep ${r.rep}: ${r.complete.toLocaleString("en-US")} of ${
        r.clients.toLocaleString("en-US")
      } clients complete${
        r.configuration === "strapi-rest"
          ? ""
          : `, ${r.recovered.toLocaleString("en-US")} recovered (expected ${
            expected.toLocaleString("en-US")
          }), ${r.misordered} events out of order or twice`
      }, ${r.failed} failed${
        r.firstError ? ` (first: ${r.firstError})` : ""
      }; document ${r.documentBytes} B`,
    );
  }
  out.push("");
  return out.join("\n");
}

checkDescriptorLimit(Math.max(config.connections, config.restConnections) + 1000);
const startedAt = Date.now();
const results: StormResult[] = [];
for (let rep = 1; rep <= config.reps; rep += 1) {
  for (const configuration of config.configurations) {
    log(`storm rep ${rep}/${config.reps}: ${configuration}`);
    let result: StormResult | undefined;
    for (let attempt = 1; attempt <= config.attempts; attempt += 1) {
      result = configuration === "strapi-rest"
        ? await restOnce(rep)
        : await stormOnce(configuration, rep);
      result.attempts = attempt;
      if (result.foreignCores <= config.busyCores) break;
      log(
        `  machine busy (${result.foreignCores.toFixed(2)} cores used by others)${
          attempt < config.attempts ? ", repeating" : ", kept"
        }`,
      );
      if (attempt < config.attempts) await waitForQuietMachine(config.busyCores, 20_000);
    }
    if (!result) throw new Error("storm: no attempt");
    results.push(result);
    log(
      `  ${result.seconds.toFixed(2)} s, server CPU ${
        cpuSeconds(result.serverCpu).toFixed(2)
      } s, ${result.queries} queries, ${result.complete}/${result.clients} complete, ${result.recovered} recovered, ${result.misordered} misordered, ${result.failed} failed ${result.firstError}`,
    );
  }
}
if (config.json) writeFileSync(config.json, `${JSON.stringify(results, null, 1)}\n`);
process.stdout.write(render(results, (Date.now() - startedAt) / 60_000));
