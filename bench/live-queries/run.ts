/**
 * Filtered subscriptions (live queries) at scale: N subscribers spread over D distinct filters on the
 * real Strapi fixture app, every filter matching every article, so every subscriber receives every
 * change. Per change: database queries (every knex query, and the `count`s among them) and server CPU
 * per delivery, until every client has every event. Each configuration in fresh processes, repetitions
 * interleaved:
 *
 * - `10k-10`: 10,000 subscribers over 10 filters; `10k-1000`: over 1,000 filters (same N);
 * - `1k-10`: 1,000 subscribers over 10 filters (same D as `10k-10`, a tenth of the subscribers).
 *
 *   node --import tsx bench/live-queries/run.ts [--reps=3] [--changes=20] [--clients=3]
 *     [--concurrency=64] [--configurations=10k-10,10k-1000,1k-10] [--json=<file>]
 *
 * Needs dist/ (`npm run build`): the fixture app loads the plugin from it.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { CpuTime } from "../ipc.ts";
import { nextReply } from "../ipc.ts";
import { environment, foreignCores, machineCpu, median, waitForQuietMachine } from "../metrics.ts";
import type { ClientReply, ClientRequest, ServerReply, ServerRequest } from "./ipc.ts";

type ServerOf<K extends ServerReply["type"]> = Extract<ServerReply, { type: K }>;
type ClientOf<K extends ClientReply["type"]> = Extract<ClientReply, { type: K }>;

const CONFIGURATIONS: Record<string, { subscribers: number; distinct: number }> = {
  "10k-10": { subscribers: 10_000, distinct: 10 },
  "10k-1000": { subscribers: 10_000, distinct: 1_000 },
  "1k-10": { subscribers: 1_000, distinct: 10 },
};
const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=", 2);
    return [key as string, value ?? "true"];
  }),
);
const config = {
  reps: Number(args.get("reps") ?? 3),
  changes: Number(args.get("changes") ?? 20),
  warmup: 2,
  clients: Number(args.get("clients") ?? 3),
  concurrency: Number(args.get("concurrency") ?? 64),
  configurations: args.get("configurations")?.split(",") ?? Object.keys(CONFIGURATIONS),
  json: args.get("json"),
};
for (const name of config.configurations) {
  if (!CONFIGURATIONS[name]) throw new Error(`live-queries: unknown configuration '${name}'`);
}

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const cpuUs = (cpu: CpuTime) => cpu.user + cpu.system;

function spawnChild(file: string, childArgs: string[]): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", here(file), ...childArgs], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
}

function ask<R extends { type: string }>(
  child: ChildProcess,
  request: ServerRequest | ClientRequest,
  expect: R["type"],
  timeoutMs: number,
): Promise<R> {
  const answer = nextReply<R>(child, expect, timeoutMs);
  child.send(request);
  return answer;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.send({ type: "exit" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

interface Result {
  configuration: string;
  rep: number;
  subscribers: number;
  distinct: number;
  subscriptionIds: number;
  changes: number;
  deliveries: number;
  foreign: number;
  names: string[];
  complete: number;
  closed: number;
  firstError: string;
  queries: number;
  counts: number;
  baselineQueries: number;
  baselineCounts: number;
  serverCpuUs: number;
  baselineCpuUs: number;
  /** From the first update to the last client having every event (s). */
  seconds: number;
  foreignCores: number;
}

async function once(name: string, rep: number): Promise<Result> {
  const { subscribers: n, distinct } = CONFIGURATIONS[name] as (typeof CONFIGURATIONS)[string];
  const server = spawnChild("./server.ts", [String(config.changes)]);
  const clients: ChildProcess[] = [];
  try {
    const listening = await nextReply<ServerOf<"listening">>(server, "listening", 180_000);
    for (let i = 0; i < config.clients; i += 1) clients.push(spawnChild("./client.ts", []));
    await Promise.all(clients.map((c) => nextReply(c, "started", 60_000)));
    const share = Math.ceil(n / clients.length);
    const subscribed = await Promise.all(
      clients.map((client, i) =>
        ask<ClientOf<"subscribed">>(
          client,
          {
            type: "connect",
            port: listening.port,
            first: i * share,
            count: Math.max(0, Math.min(share, n - i * share)),
            distinct,
            concurrency: config.concurrency,
          },
          "subscribed",
          600_000,
        )
      ),
    );
    const failed = subscribed.reduce((sum, s) => sum + s.failed, 0);
    if (failed > 0) {
      throw new Error(
        `${failed} subscriptions failed: ${subscribed.find((s) => s.firstError)?.firstError}`,
      );
    }
    const ids = new Set(subscribed.flatMap((s) => s.ids)).size;
    await ask(server, { type: "wait-ready", sockets: n, distinct }, "ready", 130_000);

    const deliver = async (through: number, count: number) => {
      const done = clients.map((c) =>
        nextReply<ClientOf<"delivered">>(c, "delivered", 300_000).catch(() =>
          ask<ClientOf<"delivered">>(c, { type: "report" }, "delivered", 10_000)
        )
      );
      for (const client of clients) client.send({ type: "arm", through });
      const started = process.hrtime.bigint();
      await ask(server, { type: "change", count }, "changed", 300_000);
      const reports = await Promise.all(done);
      const reading = await ask<ServerOf<"reading">>(server, { type: "read" }, "reading", 10_000);
      return { started, reports, reading };
    };
    const warm = await deliver(config.warmup, config.warmup);
    const before = warm.reports.reduce((sum, r) => sum + r.events, 0);

    await waitForQuietMachine(0.3, 20_000);
    const machineBefore = machineCpu();
    const ownBefore = process.cpuUsage();
    const wallBefore = process.hrtime.bigint();
    const { started, reports, reading } = await deliver(
      config.warmup + config.changes,
      config.changes,
    );
    const wallUs = Number(process.hrtime.bigint() - wallBefore) / 1000;
    const ownUs = cpuUs(process.cpuUsage(ownBefore)) + cpuUs(reading.cpu) +
      reports.reduce((sum, r) => sum + cpuUs(r.cpu), 0);
    return {
      configuration: name,
      rep,
      subscribers: n,
      distinct,
      subscriptionIds: ids,
      changes: config.changes,
      deliveries: reports.reduce((sum, r) => sum + r.events, 0) - before,
      foreign: reports.reduce((sum, r) => sum + r.foreign, 0),
      names: [...new Set(reports.flatMap((r) => r.names))],
      complete: reports.reduce((sum, r) => sum + r.complete, 0),
      closed: reports.reduce((sum, r) => sum + r.closed, 0),
      firstError: reports.find((r) => r.firstError)?.firstError ?? "",
      queries: reading.queries,
      counts: reading.counts,
      baselineQueries: listening.baseline.queries,
      baselineCounts: listening.baseline.counts,
      serverCpuUs: cpuUs(reading.cpu),
      baselineCpuUs: cpuUs(listening.baseline.cpu),
      seconds: (Math.max(...reports.map((r) => r.lastAt)) - Number(started)) / 1e9,
      foreignCores: foreignCores(machineBefore, machineCpu(), ownUs, wallUs),
    };
  } finally {
    await Promise.all(clients.map(stop));
    await stop(server);
  }
}

const fmt = (value: number, digits = 2) =>
  Math.abs(value) >= 1000 ? Math.round(value).toLocaleString("en-US") : value.toFixed(digits);

function render(results: Result[], minutes: number): string {
  const env = environment();
  const strapi = (JSON.parse(
    readFileSync(
      new URL("../../node_modules/@strapi/strapi/package.json", import.meta.url),
      "utf8",
    ),
  ) as { version: string }).version;
  const of = (name: string, pick: (r: Result) => number) =>
    median(results.filter((r) => r.configuration === name).map(pick));
  const perChange = (pick: (r: Result) => number) => (r: Result) => pick(r) / r.changes;
  const out = [
    `Run on ${env.date} (${
      minutes.toFixed(1)
    } min): \`node --import tsx bench/live-queries/run.ts ${
      process.argv.slice(2).join(" ")
    }\`. Medians of ${config.reps} repetitions, each in fresh processes, configurations interleaved.`,
    "",
    `- CPU: ${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB; ${env.os}; loopback only`,
    `- Node ${env.node}; ${
      Object.entries(env.packages).map(([p, v]) => `${p} ${v}`).join(", ")
    }; @strapi/strapi ${strapi} (fixtures/app, SQLite)`,
    // Outside a git checkout (a snapshot of one commit, see RESULTS.md) `--commit=` names it.
    `- strapi-io commit ${args.get("commit") ?? env.commit}${
      env.dirty ? " plus uncommitted changes in lib/ or bench/" : ""
    }`,
    `- ${config.clients} client processes, ${config.concurrency} subscribing at a time in each; ${config.warmup} warm-up changes, then ${config.changes} measured; cores used by other processes during the measured spans: ${
      results.map((r) => r.foreignCores.toFixed(2)).join(", ")
    }`,
    "",
    "| configuration | subscribers | distinct filters | knex queries per change (all) | added by live queries (all − baseline) | `count`s per change | server CPU per change (ms) | CPU per delivery (µs) | until all delivered (s) | per change (ms) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const queries = perChange((r) => r.queries);
  const added = perChange((r) => r.queries - r.baselineQueries);
  const counts = perChange((r) => r.counts);
  const cpu = perChange((r) => r.serverCpuUs / 1000);
  for (const name of config.configurations) {
    const c = CONFIGURATIONS[name] as (typeof CONFIGURATIONS)[string];
    const cells = [
      name,
      c.subscribers.toLocaleString("en-US"),
      c.distinct.toLocaleString("en-US"),
      fmt(of(name, queries), 1),
      fmt(of(name, added), 1),
      fmt(of(name, counts), 1),
      fmt(of(name, cpu)),
      fmt(of(name, (r) => r.serverCpuUs / r.deliveries)),
      fmt(of(name, (r) => r.seconds)),
      fmt(of(name, perChange((r) => r.seconds * 1000)), 1),
    ];
    out.push(`| ${cells.join(" | ")} |`);
  }
  out.push(
    "",
    `Baseline (the same updates in the same server process before any client connected): ${
      fmt(median(results.map(perChange((r) => r.baselineQueries))), 1)
    } knex queries per change (${
      fmt(median(results.map(perChange((r) => r.baselineCounts))), 1)
    } \`count\`), ${
      fmt(median(results.map(perChange((r) => r.baselineCpuUs / 1000))))
    } ms server CPU per change (medians over every run).`,
  );
  const has = (name: string) => config.configurations.includes(name);
  const ratios = (label: string, a: string, b: string) => {
    if (!has(a) || !has(b)) return;
    const cells = [queries, added, counts, cpu].map((pick) => `${fmt(of(a, pick) / of(b, pick))}×`);
    out.push(`| ${label} | ${cells.join(" | ")} |`);
  };
  out.push(
    "",
    "| ratio (of the medians) | queries per change | added by live queries | `count`s per change | server CPU per change |",
    "|---|---:|---:|---:|---:|",
  );
  ratios("1,000 filters ÷ 10 filters (10,000 subscribers)", "10k-1000", "10k-10");
  ratios("10,000 subscribers ÷ 1,000 subscribers (10 filters)", "10k-10", "1k-10");
  out.push("", "Checks, every repetition:", "");
  for (const r of results) {
    out.push(
      `- ${r.configuration} rep ${r.rep}: ${r.subscriptionIds} subscription ids (expected ${r.distinct}); ${
        r.complete.toLocaleString("en-US")
      } of ${r.subscribers.toLocaleString("en-US")} clients had every event; ${
        r.deliveries.toLocaleString("en-US")
      } deliveries (expected ${
        (r.subscribers * r.changes).toLocaleString("en-US")
      }), ${r.foreign} without the subscription id; events ${
        r.names.join(", ")
      }; ${r.queries} queries (${r.counts} counts), baseline ${r.baselineQueries} (${r.baselineCounts}); ${r.closed} closed${
        r.firstError ? ` (${r.firstError})` : ""
      }`,
    );
  }
  return `${out.join("\n")}\n`;
}

const startedAt = Date.now();
const results: Result[] = [];
for (let rep = 1; rep <= config.reps; rep += 1) {
  for (const name of config.configurations) {
    log(`live-queries rep ${rep}/${config.reps}: ${name}`);
    let r = await once(name, rep);
    if (r.foreignCores > 0.3) {
      log(`  machine busy (${r.foreignCores.toFixed(2)} cores used by others), repeating once`);
      await waitForQuietMachine(0.3, 30_000);
      r = await once(name, rep);
    }
    results.push(r);
    log(
      `  ${r.seconds.toFixed(2)} s, CPU ${
        (r.serverCpuUs / 1e6).toFixed(2)
      } s, ${r.queries} queries (${r.counts} counts) for ${r.changes} changes, ${r.deliveries} deliveries, ${r.complete}/${r.subscribers} complete, ${r.foreign} foreign, others ${
        r.foreignCores.toFixed(2)
      } cores`,
    );
  }
}
if (config.json) writeFileSync(config.json, `${JSON.stringify(results, null, 1)}\n`);
process.stdout.write(render(results, (Date.now() - startedAt) / 60_000));
