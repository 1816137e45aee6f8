/**
 * `limits.maxPayload` (Socket.IO's `maxHttpBufferSize`), on both transports: a WebSocket message over it
 * closes that connection and no other; a long-polling request body over it is refused.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Harness, nextEvent, startHarness, TRANSPORTS, until } from "../support/harness.ts";
import { openPolling } from "../support/paused-reader.ts";
import { rawClient } from "../support/raw-client.ts";

const MAX_PAYLOAD = 10_000;

for (const transport of TRANSPORTS) {
  describe(`limits.maxPayload over ${transport}`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(transport, { limits: { maxPayload: MAX_PAYLOAD } });
    });
    after(() => h.cleanup());

    it("closes a WebSocket connection that sends a message over the limit, and only that one", async () => {
      const bystander = await h.client();
      const withinLimit = await rawClient(h.url);
      const overLimit = await rawClient(h.url);
      for (const client of [withinLimit, overLimit]) {
        client.send("40");
        await client.waitFor((frame) => frame.startsWith("40{"));
      }
      withinLimit.send(`42${JSON.stringify(["note", "x".repeat(MAX_PAYLOAD - 100)])}`);
      overLimit.send(`42${JSON.stringify(["note", "x".repeat(MAX_PAYLOAD)])}`);
      const code = await overLimit.closed;
      // ws sends 1009 "message too big"; uWS drops the connection without a close frame (1006).
      assert.equal(code, transport === "uws" ? 1006 : 1009);

      const marker = nextEvent(bystander, "marker");
      await h.io.raw({ event: "marker", data: 1 });
      assert.equal(await marker, 1);
      await withinLimit.waitFor((frame) => frame.startsWith('42["marker"'));
      withinLimit.close();
    });

    it("refuses a long-polling request body over the limit (413, or the request cut off)", async () => {
      const client = await openPolling(h.url);
      // A poll in flight first: a session that the refusal closes answers it with the close packet at once.
      const polled = client.poll();
      const session = () =>
        (h.io.server.engine as unknown as {
          clients: Record<string, { transport: { writable: boolean } }>;
        }).clients[client.sid];
      await until(() => session()?.transport.writable === true, "the poll reached the server");
      const result = await client.post(`42${JSON.stringify(["note", "x".repeat(MAX_PAYLOAD)])}`);
      if ("status" in result) assert.equal(result.status, 413);
      else assert.ok(result.error instanceof Error);
      if (transport === "uws") {
        assert.equal(
          (await polled).body,
          "1",
          "uWS closes the session: the poll gets the Engine.IO close packet",
        );
        assert.equal(session(), undefined);
      }
      const fits = await openPolling(h.url);
      assert.deepEqual(await fits.post(`42${JSON.stringify(["note", "x".repeat(100)])}`), {
        status: 200,
      });
      await h.io.raw({ event: "after", data: 1 }); // node-http keeps the session: the poll in flight ends with this
      await polled;
    });
  });
}
