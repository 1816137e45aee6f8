/**
 * The live-query bench's server process: the real Strapi 5 fixture app (fixtures/app, SQLite) with the
 * plugin on uWS, port 0; the public role may read articles. It first updates `changes` articles with
 * nobody connected (the baseline: Strapi's own queries per change), then, on the runner's command,
 * updates them again while the clients are subscribed, reading its CPU time and knex queries over it.
 *
 *   server.ts <changes>
 *
 * @module
 */
import { bootStrapi } from "../../test/support/strapi.ts";
import { grant } from "../../test/support/strapi-fixtures.ts";
import { ARTICLE as SCENARIO_ARTICLE, BENCH_LIMITS } from "../scenario.ts";
import { replyToRunner, type ServerReading, type ServerRequest } from "./ipc.ts";

const ARTICLE = "api::article.article";
const CATEGORY = "api::category.category";
const ARTICLES = 10;
const changes = Number(process.argv[2] ?? 20);

const app = await bootStrapi({
  transport: { type: "uws", port: 0, host: "127.0.0.1" },
  limits: BENCH_LIMITS,
  contentTypes: [{ uid: ARTICLE, populate: ["category"] }],
  liveQueries: { maxPerSocket: 20, maxQueries: 2000 },
});
const { strapi, io } = app;
let queries = 0;
let counts = 0;
/** With LIVE_QUERIES_SQL=1, each reading prints how often each statement shape ran (to stderr). */
const shapes = process.env.LIVE_QUERIES_SQL === "1" ? new Map<string, number>() : null;
strapi.db.connection.on("query", (query: { sql?: string }) => {
  queries += 1;
  if (/\bcount\(/i.test(query.sql ?? "")) counts += 1;
  const shape = (query.sql ?? "").replace(/\s+/g, " ").slice(0, 110);
  shapes?.set(shape, (shapes.get(shape) ?? 0) + 1);
});

await grant(app, "public", [`${ARTICLE}.find`, `${ARTICLE}.findOne`]);
const category = await strapi.documents(CATEGORY).create({
  data: { name: "Engineering", budget: 125000 },
});
const body = `${SCENARIO_ARTICLE.summary} ${SCENARIO_ARTICLE.body}`;
const documentIds: string[] = [];
for (let i = 0; i < ARTICLES; i += 1) {
  const created = await strapi.documents(ARTICLE).create({
    data: { title: `live ${i}`, body, internalNotes: "private", category: category.id },
    status: "published",
  });
  documentIds.push(created.documentId);
}

let seq = 0;
/** One change: an article's title edited and published (the Document Service, as the admin saves it). */
async function change(): Promise<void> {
  const documentId = documentIds[seq % ARTICLES] as string;
  seq += 1;
  await strapi.documents(ARTICLE).update({
    documentId,
    data: { title: `live ${seq}` },
    status: "published",
  });
}

let mark: { cpu: NodeJS.CpuUsage; wall: bigint; queries: number; counts: number } | null = null;
function startReading(): void {
  shapes?.clear();
  mark = { cpu: process.cpuUsage(), wall: process.hrtime.bigint(), queries, counts };
}
function endReading(): ServerReading {
  if (!mark) throw new Error("bench: 'read' without 'change'");
  const cpu = process.cpuUsage(mark.cpu);
  const reading = {
    cpu: { user: cpu.user, system: cpu.system },
    wallNs: Number(process.hrtime.bigint() - mark.wall),
    queries: queries - mark.queries,
    counts: counts - mark.counts,
  };
  mark = null;
  if (shapes) {
    const lines = [...shapes].sort((a, b) => b[1] - a[1]).map(([sql, n]) => `${n}\t${sql}`);
    process.stderr.write(`queries by shape:\n${lines.join("\n")}\n`);
    shapes.clear();
  }
  return reading;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Baseline: the same updates with nobody subscribed (after two to warm up).
for (let i = 0; i < 2; i += 1) await change();
startReading();
for (let i = 0; i < changes; i += 1) await change();
const baseline = { ...endReading(), changes };

process.on("message", (request: ServerRequest) => {
  const handle = async () => {
    switch (request.type) {
      case "wait-ready": {
        const sockets = () => io.server.of("/").sockets.size;
        const distinct = () => io.liveQueriesOn(ARTICLE).length;
        await until(
          () => sockets() >= request.sockets && distinct() >= request.distinct,
          120_000,
        );
        replyToRunner({ type: "ready", sockets: sockets(), distinct: distinct() });
        break;
      }
      case "change":
        startReading();
        for (let i = 0; i < request.count; i += 1) await change();
        replyToRunner({ type: "changed", changes: request.count });
        break;
      case "read":
        replyToRunner({ type: "reading", ...endReading() });
        break;
      case "exit":
        await app.destroy();
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

replyToRunner({ type: "listening", port: io.port, baseline });
