/**
 * The storm's server process: one configuration, on the runner's command emits content events, waits
 * until every lost connection is noticed, and reads its own CPU time (and, with Strapi, the database
 * queries it made) over a span the runner marks. Run with `--expose-gc`.
 *
 *   storm-server.ts <configuration> <connections> <events>
 *
 * Configurations: `core-on` / `core-off` (`createSocketIO()` with the bench policy, recovery on / off;
 * no Strapi, no database in the process), `strapi-sockets` (the real Strapi fixture app, its `$io` with
 * recovery on) and `strapi-rest` (the same app answering the REST list of the changed articles).
 *
 * @module
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { startStrapiIo } from "../contenders/strapi-io.ts";
import { articleFor } from "../scenario.ts";
import {
  type Configuration,
  CONFIGURATIONS,
  replyToRunner,
  type StormServerRequest,
  type StormTarget,
} from "./storm-ipc.ts";

const configuration = process.argv[2] as Configuration;
const connections = Number(process.argv[3]);
const events = Number(process.argv[4]);
if (!CONFIGURATIONS.includes(configuration) || !Number.isInteger(connections)) {
  throw new Error(
    `usage: storm-server.ts <${CONFIGURATIONS.join("|")}> <connections> <events>`,
  );
}

async function coreTarget(recovery: boolean): Promise<StormTarget> {
  const contender = await startStrapiIo("uws", connections, { recovery: { enabled: recovery } });
  return {
    io: contender.io,
    port: contender.port,
    restUrl: "",
    restTail: "",
    documentBytes: JSON.stringify(articleFor(0)).length,
    seqMark: '"seq":',
    setups: contender.setups,
    emit: async (seq) => await contender.emit(seq),
    // This process loads no Strapi, no knex, no database driver: there is nothing to query.
    queries: () => 0,
    close: contender.close,
  };
}

const target: StormTarget = configuration === "core-on" || configuration === "core-off"
  ? await coreTarget(configuration === "core-on")
  : await (await import("./strapi-app.ts")).startStrapiApp(configuration, events);

let mark: { cpu: NodeJS.CpuUsage; wall: bigint; queries: number } | null = null;

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

process.on("message", (request: StormServerRequest) => {
  const handle = async () => {
    switch (request.type) {
      case "wait-ready":
        await until(() => target.setups() >= request.connections, 120_000);
        replyToRunner({ type: "ready", setups: target.setups() });
        break;
      case "emit":
        for (let seq = request.from; seq < request.from + request.count; seq += 1) {
          await target.emit(seq);
          await nextTurn();
        }
        replyToRunner({ type: "emitted" });
        break;
      case "wait-away": {
        const engine = target.io.server.engine as { clientsCount: number };
        const sessions = () => target.io.stats().recovery?.sessions ?? 0;
        await until(() => engine.clientsCount === 0 && sessions() >= request.sessions, 60_000);
        replyToRunner({
          type: "away",
          connected: engine.clientsCount,
          sessions: sessions(),
          bufferedEvents: target.io.stats().recovery?.events ?? 0,
        });
        break;
      }
      case "mark":
        mark = {
          cpu: process.cpuUsage(),
          wall: process.hrtime.bigint(),
          queries: target.queries(),
        };
        replyToRunner({ type: "marked" });
        break;
      case "read": {
        if (!mark) throw new Error("bench: 'read' without 'mark'");
        const cpu = process.cpuUsage(mark.cpu);
        replyToRunner({
          type: "reading",
          cpu: { user: cpu.user, system: cpu.system },
          wallNs: Number(process.hrtime.bigint() - mark.wall),
          queries: target.queries() - mark.queries,
        });
        mark = null;
        break;
      }
      case "exit":
        await target.close();
        process.disconnect?.();
        setTimeout(() => process.exit(0), 500).unref();
        break;
    }
  };
  handle().catch((error: unknown) =>
    replyToRunner({
      type: "failed",
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    })
  );
});

replyToRunner({
  type: "listening",
  port: target.port,
  restUrl: target.restUrl,
  restTail: target.restTail,
  documentBytes: target.documentBytes,
  seqMark: target.seqMark,
});
