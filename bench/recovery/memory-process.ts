/**
 * One memory reading of the replay buffer (run by bench/recovery/memory.ts, with `--expose-gc`):
 * strapi-io on uWS with the bench policy and one connected client (role:editor), then `events` content
 * events, each a fresh ~1 KB document (a new object with new strings, as Strapi's document service
 * returns one per change), sent with `raw()` (one buffered entry each) or `emit()` (the bench policy's
 * three sanitized copies: three entries). Heap and RSS are read after full collections and an idle pause,
 * before the first event and once the client has every event.
 *
 *   memory-process.ts <raw|emit> <on|off> <events> <live|replayed>
 *
 * `replayed`: the client loses its connection before the events and resumes after them, so that every
 * event is also held encoded (the buffer encodes an entry on its first replay and keeps that).
 *
 * Prints one JSON line.
 *
 * @module
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { startStrapiIo } from "../contenders/strapi-io.ts";
import { articleFor, connectionQuery, CONTENT_TYPE_UID, RAW_EVENT } from "../scenario.ts";
import { ResumableConnection } from "./resumable-connection.ts";

const [workload, recovery, eventsArg, mode] = process.argv.slice(2);
const events = Number(eventsArg);
if (
  (workload !== "raw" && workload !== "emit") || (recovery !== "on" && recovery !== "off") ||
  !Number.isInteger(events) || (mode !== "live" && mode !== "replayed")
) {
  throw new Error("usage: memory-process.ts <raw|emit> <on|off> <events> <live|replayed>");
}
/** Idle time before a reading: V8 shrinks its young generation only after a few quiet seconds. */
const IDLE_MS = 3000;
/** Events sent per loop turn. */
const BURST = 50;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("bench: memory-process.ts needs --expose-gc");

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function reading(): Promise<{ heapUsed: number; rss: number; external: number }> {
  gc!();
  await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  gc!();
  gc!();
  const memory = process.memoryUsage();
  return { heapUsed: memory.heapUsed, rss: memory.rss, external: memory.external };
}

/** A fresh document: new objects and strings throughout, nothing shared with the previous one. */
function freshDocument(seq: number): Record<string, unknown> {
  return JSON.parse(JSON.stringify(articleFor(seq))) as Record<string, unknown>;
}

const server = await startStrapiIo("uws", 1, { recovery: { enabled: recovery === "on" } });
let connected = 0;
const client = new ResumableConnection(
  0,
  server.port,
  `/socket.io/?EIO=4&transport=websocket&${
    connectionQuery({ audience: "role:editor", entity: "doc-0", inFeed: false })
  }`,
  {
    connected: () => void (connected += 1),
    event: () => {},
    closed: (_connection, why) => {
      throw new Error(`bench: the client's connection closed: ${why}`);
    },
  },
  Buffer.from('"seq":'),
);
client.open();
await until(() => connected === 1 && server.setups() === 1, "the client to connect");

const before = await reading();
if (mode === "replayed") {
  client.drop();
  const engine = server.io.server.engine as { clientsCount: number };
  await until(
    () => engine.clientsCount === 0 && (server.io.stats().recovery?.sessions ?? 1) === 1,
    "the server to notice the lost connection",
  );
}
for (let seq = 0; seq < events; seq += 1) {
  const data = freshDocument(seq);
  await (workload === "raw"
    ? server.io.raw({ event: RAW_EVENT, data })
    : server.io.emit({ event: "update", schema: CONTENT_TYPE_UID, data }));
  if (seq % BURST === BURST - 1) await nextTurn();
}
if (mode === "replayed") client.open();
await until(() => client.nextSeq === events, "the client to receive every event");
if (mode === "replayed" && !client.recovered) throw new Error("bench: the client did not recover");
const after = await reading();
const buffered = server.io.stats().recovery?.events ?? 0;
await server.close();
client.drop();
process.stdout.write(
  `${
    JSON.stringify({
      workload,
      recovery,
      events,
      mode,
      buffered,
      heapUsed: after.heapUsed - before.heapUsed,
      rss: after.rss - before.rss,
      external: after.external - before.external,
      documentBytes: JSON.stringify(articleFor(0)).length,
    })
  }\n`,
);
process.exit(0);
