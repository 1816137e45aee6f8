/**
 * Slow consumers, on both transports: a client whose send backlog stays over `transport.maxBackpressure` for
 * longer than `transport.drainTimeout`, or passes the hard limit, is disconnected (1013 and the reason where
 * the server sends the close), counted and logged; healthy readers of large messages and bursts never are.
 */
import assert from "node:assert/strict";
import type { Server as HttpServer } from "node:http";
import { describe, it } from "node:test";
import {
  BACKPRESSURE_CLOSE_CODE,
  BACKPRESSURE_CLOSE_REASON,
} from "../../lib/transports/backpressure.ts";
import type { IoOptions } from "../../lib/options.ts";
import type { RunningTransportType } from "../../lib/transports/transport.ts";
import {
  type Harness,
  recordingLogger,
  startHarness,
  TRANSPORTS,
  until,
} from "../support/harness.ts";
import { connectPausable, nextTurn, openPolling } from "../support/paused-reader.ts";

const KiB = 1024;
const MiB = 1024 * 1024;

/** Starts a harness whose logger the test can read. */
async function start(transport: RunningTransportType, options: IoOptions) {
  const logger = recordingLogger();
  const h = await startHarness(transport, options, { logger });
  return { h, logger };
}

/** Engine.IO sessions the server holds (one per connection). */
function engineClients(h: Harness): Record<string, unknown> {
  return (h.io.server.engine as unknown as { clients: Record<string, unknown> }).clients;
}

/** Sends `count` raw() messages of `size` characters, one per loop turn, stopping early once `stop()` holds. */
async function sendPaced(
  h: Harness,
  event: string,
  size: number,
  count: number,
  stop = () => false,
): Promise<number> {
  const data = "x".repeat(size);
  let sent = 0;
  while (sent < count && !stop()) {
    await h.io.raw({ event, data });
    sent += 1;
    await nextTurn();
  }
  return sent;
}

for (const transport of TRANSPORTS) {
  describe(`slow consumers over ${transport}`, { timeout: 30_000 }, () => {
    it("disconnects a reader whose backlog stays over maxBackpressure for drainTimeout, with 1013 and the reason, after what was queued before; nothing more needs to be sent", async () => {
      // maxBackpressure 1 MiB; a drainTimeout with room for the healthy reader on a loaded machine.
      const { h, logger } = await start(transport, { transport: { drainTimeout: 1000 } });
      try {
        const slow = await connectPausable(h.url);
        const healthy = await h.client();
        let healthyReceived = 0;
        healthy.on("chunk", () => void (healthyReceived += 1));
        slow.pause();
        // 10 MB: more than loopback kernel buffers absorb (a few MB) plus 1 MiB, less than the hard limit (17 MiB).
        const sent = await sendPaced(h, "chunk", 256 * KiB, 40);
        await until(
          () => h.io.stats().backpressureDisconnects === 1,
          "the paused reader is disconnected",
        );
        assert.ok(
          logger.lines.some(({ level, message }) =>
            level === "warn" &&
            /slow client: send backlog \d+ B over maxBackpressure 1048576 B for \d+ ms/.test(
              message,
            )
          ),
        );
        slow.resume();
        const close = await slow.closed;
        assert.equal(close.code, BACKPRESSURE_CLOSE_CODE);
        assert.equal(close.reason, BACKPRESSURE_CLOSE_REASON);
        // uWS delivers its whole backlog before the close frame; node:http drops what Engine.IO still held.
        assert.ok(
          slow.received.length > 0 && slow.received.length <= sent,
          `read what was queued before the close (${slow.received.length}/${sent})`,
        );
        assert.ok(slow.received.every((name) => name === "chunk"));
        await until(() => healthyReceived === sent, "the healthy reader has every message");
        assert.equal(h.io.stats().backpressureDisconnects, 1);
      } finally {
        await h.cleanup();
      }
    });

    it("lets go of what it held for a reader that never reads again: its session at once, its connection within drainTimeout", async () => {
      const { h } = await start(transport, { transport: { drainTimeout: 300 } });
      try {
        const slow = await connectPausable(h.url);
        const sessions = Object.keys(engineClients(h));
        assert.equal(sessions.length, 1);
        slow.pause();
        await sendPaced(h, "chunk", 256 * KiB, 40);
        await until(
          () => h.io.stats().backpressureDisconnects === 1,
          "the paused reader is disconnected",
        );
        assert.equal(
          engineClients(h)[sessions[0] as string],
          undefined,
          "its Engine.IO session and write buffer are gone",
        );
        if (transport === "node-http") {
          // The TCP connection (and the bytes its socket still holds) is destroyed once the close had drainTimeout to get through.
          const server = (h.io.server as unknown as { httpServer: HttpServer }).httpServer;
          const connections = () =>
            new Promise<number>((resolve, reject) =>
              server.getConnections((error, count) => (error ? reject(error) : resolve(count)))
            );
          await until(async () => (await connections()) === 0, "the server has no connection left");
        }
      } finally {
        await h.cleanup();
      }
    });

    it("disconnects at once a reader whose backlog passes the hard limit (maxBackpressure + 16 × maxMessageSize), without waiting for drainTimeout", async () => {
      const { h } = await start(transport, {
        transport: { maxBackpressure: 64 * KiB, maxMessageSize: 64 * KiB, drainTimeout: 60_000 },
      });
      try {
        const slow = await connectPausable(h.url);
        slow.pause();
        const data = "x".repeat(60 * KiB);
        for (let turn = 0; turn < 400 && h.io.stats().backpressureDisconnects === 0; turn += 1) {
          for (let i = 0; i < 16; i += 1) await h.io.raw({ event: "chunk", data });
          await nextTurn();
        }
        assert.equal(h.io.stats().backpressureDisconnects, 1);
        slow.resume();
        const close = await slow.closed;
        // uWS closes the socket itself inside the send that crosses its limit (no close frame: 1006);
        // on node:http the check after that loop turn sends the 1013.
        assert.equal(close.code, transport === "uws" ? 1006 : BACKPRESSURE_CLOSE_CODE);
      } finally {
        await h.cleanup();
      }
    });

    it("keeps a reader that pauses for less than drainTimeout with a backlog over maxBackpressure: once it reads again it gets every message", async () => {
      const { h } = await start(transport, {
        transport: { maxBackpressure: 64 * KiB, drainTimeout: 60_000 },
      });
      try {
        const reader = await connectPausable(h.url);
        reader.pause();
        const sent = await sendPaced(h, "chunk", 256 * KiB, 32); // 8 MB: over the soft limit, under the hard one
        await h.io.raw({ event: "marker", data: null });
        reader.resume();
        await reader.waitFor("marker");
        assert.equal(reader.received.filter((name) => name === "chunk").length, sent);
        assert.equal(h.io.stats().backpressureDisconnects, 0);
      } finally {
        await h.cleanup();
      }
    });

    it("never disconnects 20 healthy readers of one 900 KB raw() and of ten 1 MB raw() in one loop turn; each receives every message", async () => {
      // A soft limit far below one message, and a drainTimeout no loaded machine needs: only the size of what
      // was just sent could get a reader dropped here, and it must not.
      const { h } = await start(transport, {
        transport: { maxBackpressure: 64 * KiB, maxMessageSize: 2 * MiB, drainTimeout: 20_000 },
      });
      try {
        const readers = await Promise.all(Array.from({ length: 20 }, () => h.client()));
        const counts = readers.map(() => 0);
        let disconnected = 0;
        readers.forEach((reader, index) => {
          reader.on("large", () => void (counts[index] = (counts[index] ?? 0) + 1));
          reader.on("disconnect", () => void (disconnected += 1));
        });
        const markers = readers.map(
          (reader) =>
            new Promise<void>((resolve, reject) => {
              reader.once("marker", () => resolve());
              reader.once("disconnect", (reason) =>
                reject(new Error(`a healthy reader was disconnected: ${reason}`)));
            }),
        );
        await h.io.raw({ event: "large", data: "a".repeat(900_000) });
        await nextTurn();
        const burst = "b".repeat(1_000_000);
        await Promise.all(
          Array.from({ length: 10 }, () => h.io.raw({ event: "large", data: burst })),
        );
        await h.io.raw({ event: "marker", data: null });
        await Promise.all(markers);
        assert.deepEqual(counts, readers.map(() => 11));
        assert.equal(disconnected, 0);
        assert.equal(h.io.stats().backpressureDisconnects, 0);
      } finally {
        await h.cleanup();
      }
    });

    it("closes a long-polling client that stops polling once its backlog stays over maxBackpressure for drainTimeout", async () => {
      const { h } = await start(transport, {
        transport: { maxBackpressure: 64 * KiB, drainTimeout: 2000 },
      });
      try {
        const stalled = await openPolling(h.url);
        const healthy = await h.client("/", { transports: ["polling"], upgrade: false });
        let healthyReceived = 0;
        healthy.on("chunk", () => void (healthyReceived += 1));
        const sent = await sendPaced(h, "chunk", 32 * KiB, 8); // 256 KB held by Engine.IO: no kernel buffer absorbs it
        await until(
          () => h.io.stats().backpressureDisconnects === 1,
          "the stalled polling client is disconnected",
        );
        const next = await stalled.poll();
        assert.equal(next.status, 400, "its session is gone");
        assert.match(next.body, /Session ID unknown/);
        await until(
          () => healthyReceived === sent,
          "the polling client that keeps polling has every message",
        );
        assert.equal(h.io.stats().backpressureDisconnects, 1);
      } finally {
        await h.cleanup();
      }
    });
  });
}
