/**
 * limits.connections and one socket per namespace per connection, refused at the handshake with a
 * connect_error code. Run once per transport.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startHarness, TRANSPORTS, until } from "./support/harness.ts";
import { type RawClient, rawClient } from "./support/raw-client.ts";

for (const transport of TRANSPORTS) {
  describe(`connections over ${transport}`, () => {
    it("500 CONNECT packets for one namespace on one connection make one socket: those sent while it connects are refused 'namespace_already_connected', later ones close the connection", async () => {
      const h = await startHarness(transport);
      let sockets = 0;
      h.io.server.on("connection", () => void (sockets += 1));
      const raw = await rawClient(h.url);
      try {
        for (let i = 0; i < 500; i += 1) raw.send("40");
        // Socket.IO itself closes a connection that sends CONNECT for a namespace it is already connected to.
        await raw.closed;
        assert.equal(sockets, 1);
        const refusals = raw.frames.filter((frame) => frame.startsWith("44")).map((frame) =>
          (JSON.parse(frame.slice(2)) as { data: { code: string } }).data.code
        );
        assert.ok(
          refusals.every((code) => code === "namespace_already_connected"),
          JSON.stringify(refusals),
        );
        assert.equal(raw.frames.filter((frame) => frame.startsWith("40{")).length, 1);
      } finally {
        raw.close();
        await h.cleanup();
      }
    });

    it("a connection holds one socket in each of several namespaces", async () => {
      const h = await startHarness(transport, { namespaces: ["live"] });
      const raw = await rawClient(h.url);
      try {
        raw.send("40");
        raw.send("40/live,");
        await raw.waitFor((frame) => frame.startsWith("40{"));
        await raw.waitFor((frame) => frame.startsWith("40/live,{"));
        assert.equal(h.io.server.sockets.sockets.size, 1);
        assert.equal(h.io.namespaces.live!.sockets.size, 1);
      } finally {
        raw.close();
        await h.cleanup();
      }
    });

    it("a namespace can be connected again on the same connection after its socket left", async () => {
      const h = await startHarness(transport);
      const raw = await rawClient(h.url);
      try {
        raw.send("40");
        await raw.waitFor((frame) => frame.startsWith("40{"));
        raw.send("41");
        await until(() => h.io.server.sockets.sockets.size === 0, "the socket left");
        const before = raw.frames.length;
        raw.send("40");
        await raw.waitFor((frame) =>
          frame.startsWith("40{") && raw.frames.indexOf(frame) >= before
        );
        assert.equal(h.io.server.sockets.sockets.size, 1);
      } finally {
        raw.close();
        await h.cleanup();
      }
    });

    it("maxPerAddress refuses the next connection with 'too_many_connections', and counts down when one closes", async () => {
      const h = await startHarness(transport, { limits: { connections: { maxPerAddress: 2 } } });
      try {
        const first = await h.client();
        await h.client();
        const refused = await h.refusedClient();
        assert.equal((refused.data as { code: string }).code, "too_many_connections");
        assert.match(refused.message, /from this address: at most 2/);
        const engine = h.io.server.engine as { clientsCount: number };
        await until(() => engine.clientsCount === 2, "the refused client closed its connection");
        first.disconnect();
        await until(() => engine.clientsCount === 1, "the first connection closed");
        await h.client();
      } finally {
        await h.cleanup();
      }
    });

    it("maxPerNode refuses the next connection with 'too_many_connections'", async () => {
      const h = await startHarness(transport, { limits: { connections: { maxPerNode: 1 } } });
      try {
        await h.client();
        const refused = await h.refusedClient();
        assert.equal((refused.data as { code: string }).code, "too_many_connections");
        assert.match(refused.message, /this server accepts at most 1/);
      } finally {
        await h.cleanup();
      }
    });

    it("connections past twice the address cap that never connect a socket are closed at once", async () => {
      const h = await startHarness(transport, { limits: { connections: { maxPerAddress: 3 } } });
      const raws: RawClient[] = [];
      try {
        for (let i = 0; i < 6; i += 1) raws.push(await rawClient(h.url));
        await assert.rejects(
          rawClient(h.url).then((raw) => (raws.push(raw), raw.closed)).then(() =>
            Promise.reject(new Error("closed"))
          ),
          /closed|timed out|socket hang up|Unexpected/,
        );
        await until(
          () => (h.io.server.engine as { clientsCount: number }).clientsCount === 6,
          "the seventh connection was closed",
        );
      } finally {
        for (const raw of raws) raw.close();
        await h.cleanup();
      }
    });
  });
}
