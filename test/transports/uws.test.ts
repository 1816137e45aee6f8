/**
 * uWS-specific behaviour: no silent loss to slow clients.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  BACKPRESSURE_CLOSE_CODE,
  BACKPRESSURE_CLOSE_REASON,
} from "../../lib/transports/backpressure.ts";
import { type Harness, startHarness, until } from "../support/harness.ts";

/** The `ws` WebSocket under a socket.io-client connection (Node), to pause its reads. */
function rawSocketOf(
  client: { io: { engine: { transport: unknown } } },
): { pause(): void; resume(): void } {
  return (client.io.engine.transport as { ws: { _socket: { pause(): void; resume(): void } } }).ws
    ._socket;
}

describe("uws transport: slow consumers", () => {
  let h: Harness;
  before(async () => {
    // A hard limit (maxBackpressure + 16 × maxMessageSize) far above what the loop below sends: the
    // client is dropped for staying over maxBackpressure for drainTimeout, with the 1013. The soft limit
    // (the default 1 MiB) is well above one turn's sends (250 KB), so that the healthy client, which reads
    // between turns in this same process, stays under it even on a loaded machine.
    h = await startHarness("uws", {
      transport: { drainTimeout: 500, maxMessageSize: 4 * 1024 * 1024 },
    });
  });
  after(() => h.cleanup());

  it("disconnects a client that stops reading, with code 1013 and a reason, after delivering what it queued", async () => {
    const slow = await h.client();
    const healthy = await h.client();
    let slowReceived = 0;
    let healthyReceived = 0;
    slow.on("burst", () => void (slowReceived += 1));
    healthy.on("burst", () => void (healthyReceived += 1));
    const closed = new Promise<{ reason: string; code?: number; text?: string }>((resolve) => {
      slow.on("disconnect", (reason, details) => {
        const context =
          (details as { context?: { code?: number; reason?: string | Buffer } } | undefined)
            ?.context;
        resolve({ reason, code: context?.code, text: context?.reason?.toString() });
      });
    });

    rawSocketOf(slow).pause();
    const payload = "x".repeat(1024);
    let sent = 0;
    // Loopback kernel buffers absorb a few MB before uWS has to queue; send turn by turn until the guard acts.
    // Turn by turn, the healthy client (read in this same process) catches up before the next: on a
    // loaded machine it would otherwise fall behind too and be disconnected with the slow one.
    for (let turn = 0; turn < 200 && h.io.stats().backpressureDisconnects === 0; turn += 1) {
      for (let i = 0; i < 250; i += 1) await h.io.raw({ event: "burst", data: payload });
      sent += 250;
      await until(
        () => healthyReceived === sent || h.io.stats().backpressureDisconnects > 0,
        "the healthy client keeps up",
      );
    }
    // The guard re-checks by itself while a backlog is over the limit: nothing more needs to be sent.
    await until(() => h.io.stats().backpressureDisconnects > 0, "the slow client is disconnected");
    assert.equal(h.io.stats().backpressureDisconnects, 1, "the slow client is counted once");
    rawSocketOf(slow).resume();

    const close = await closed;
    assert.equal(close.reason, "transport close");
    assert.equal(close.code, BACKPRESSURE_CLOSE_CODE);
    assert.equal(close.text, BACKPRESSURE_CLOSE_REASON);
    assert.ok(
      slowReceived > 0 && slowReceived <= sent,
      `slow client read what was queued before the close (${slowReceived}/${sent})`,
    );

    await until(() => healthyReceived === sent, "the healthy client has every message");
    assert.equal(healthyReceived, sent, "a client that keeps reading receives every message");
    assert.equal(h.io.stats().backpressureDisconnects, 1);
  });
});
