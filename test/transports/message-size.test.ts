/**
 * `transport.maxMessageSize`, on both transports: a message the server would send over the limit (once
 * encoded) is refused with a `RangeError` to the caller and reaches nobody — WebSocket or long-polling
 * client, broadcast or per-socket path. Absence is shown with a marker sent after: Socket.IO keeps order
 * per socket, so the marker must be the first thing each client receives.
 */
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import { type Harness, startHarness, TRANSPORTS } from "../support/harness.ts";

const LIMIT = 64 * 1024;
/** `2["fit","…"]`: what an event named `fit` with a string argument costs besides the string. */
const ENVELOPE = '2["fit",""]'.length;

/** Asserts that `error` is the refusal: a RangeError naming the size, the limit and the option. */
function isRefusal(size: number) {
  return (error: unknown) => {
    assert.ok(error instanceof RangeError, `expected a RangeError, got ${String(error)}`);
    assert.match(
      error.message,
      new RegExp(
        `${size} bytes once encoded, over transport\\.maxMessageSize \\(${LIMIT} bytes\\)`,
      ),
    );
    return true;
  };
}

for (const transport of TRANSPORTS) {
  describe(`transport.maxMessageSize over ${transport}`, () => {
    let h: Harness;
    let clients: ClientSocket[];
    /** Event names each client received, in order. */
    let received: string[][];

    before(async () => {
      h = await startHarness(transport, {
        transport: { maxMessageSize: LIMIT },
        namespaces: ["chat"],
        // The sizes below are exact; with recovery on, each event's offset counts too (about 12 bytes).
        recovery: { enabled: false },
      });
      clients = [
        await h.client(),
        await h.client(),
        await h.client("/", { transports: ["polling"], upgrade: false }),
      ];
      received = clients.map(() => []);
      clients.forEach((client, index) =>
        client.onAny((event: string) => void received[index]?.push(event))
      );
    });
    beforeEach(() => {
      for (const list of received) list.length = 0;
    });
    after(() => h.cleanup());

    /** Sends a marker to everyone and resolves once each client has it. */
    async function marker(): Promise<void> {
      const arrived = clients.map((client) =>
        new Promise<void>((resolve) => client.once("marker", () => resolve()))
      );
      await h.io.raw({ event: "marker", data: null });
      await Promise.all(arrived);
    }

    it("raw() of a message one byte over the limit rejects with a RangeError and reaches nobody", async () => {
      const data = "x".repeat(LIMIT - ENVELOPE + 1);
      await assert.rejects(h.io.raw({ event: "fit", data }), isRefusal(LIMIT + 1));
      await marker();
      assert.deepEqual(received, clients.map(() => ["marker"]));
    });

    it("raw() of a message exactly at the limit is delivered", async () => {
      const arrived = clients.map((client) =>
        new Promise<string>((resolve) => client.once("fit", resolve))
      );
      await h.io.raw({ event: "fit", data: "x".repeat(LIMIT - ENVELOPE) });
      for (const data of await Promise.all(arrived)) assert.equal(data.length, LIMIT - ENVELOPE);
    });

    it("counts UTF-8 bytes, not characters: 40,000 'é' (80,000 bytes) are refused", async () => {
      await assert.rejects(
        h.io.raw({ event: "fit", data: "é".repeat(40_000) }),
        isRefusal(ENVELOPE + 80_000),
      );
      await marker();
      assert.deepEqual(received, clients.map(() => ["marker"]));
    });

    it("counts binary attachments: raw() of a 70,000-byte buffer is refused", async () => {
      await assert.rejects(h.io.raw({ event: "bin", data: Buffer.alloc(70_000) }), RangeError);
      await marker();
      assert.deepEqual(received, clients.map(() => ["marker"]));
    });

    it("emit() rejects with the RangeError and delivers to nobody", async () => {
      const data = { documentId: "a", body: "x".repeat(LIMIT) };
      await assert.rejects(
        h.io.emit({ event: "update", schema: "api::article.article", data }),
        RangeError,
      );
      await marker();
      assert.deepEqual(received, clients.map(() => ["marker"]));
    });

    it("sendPrivateMessage(), broadcast(), emitToNamespace() and emitToEntity() throw the RangeError and deliver to nobody", async () => {
      const data = "x".repeat(LIMIT);
      const [first, second, polling] = clients as [ClientSocket, ClientSocket, ClientSocket];
      assert.throws(() => h.io.sendPrivateMessage(first.id as string, "big", data), RangeError);
      assert.throws(() => h.io.sendPrivateMessage(polling.id as string, "big", data), RangeError);
      assert.throws(() => h.io.broadcast(second.id as string, "big", data), RangeError);
      assert.throws(() => h.io.emitToNamespace("/", "big", data), RangeError);
      assert.throws(() => h.io.emitToNamespace("chat", "big", data), RangeError);
      assert.throws(
        () => h.io.emitToEntity("api::article.article", "doc-1", "big", data),
        RangeError,
      );
      await marker();
      assert.deepEqual(received, clients.map(() => ["marker"]));
    });
  });
}
