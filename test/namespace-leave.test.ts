/**
 * A socket that leaves a namespace stops receiving, although its connection stays open for another
 * namespace: deliveries follow Socket.IO sockets, not WebSocket connections. Run once per transport
 * (on uWS the connection's topic subscriptions are what must follow).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Manager } from "socket.io-client";
import type { AccessPolicy } from "../lib/access-policy.ts";
import { audienceRoom } from "../lib/room-names.ts";
import { type Harness, startHarness, TRANSPORTS, until } from "./support/harness.ts";
import { type RawClient, rawClient } from "./support/raw-client.ts";

/** Sockets name their audience in `auth.audience`; `editors` and `readers` each get their own copy. */
const audiencePolicy: AccessPolicy = {
  identify: async (socket) => {
    const audience = (socket.handshake.auth as { audience?: string }).audience;
    return { role: audience ?? "public", audience, user: null };
  },
  deliveries: async (_event, _schema, data) => [
    { to: { rooms: [audienceRoom("editors")] }, payload: { copy: "editors", data } },
    { to: { rooms: [audienceRoom("readers")] }, payload: { copy: "readers", data } },
  ],
  authorizeEntity: async (_identity, _uid, id) => ({ allowed: true, id: String(id) }),
};

/** Everything the server can send to `/`: an audience's content event, a room, an entity, everyone. */
async function sendToEveryPath(h: Harness): Promise<void> {
  await h.io.emit({ event: "update", schema: "api::article.article", data: { documentId: "d1" } });
  await h.io.raw({ event: "room-message", rooms: ["team"], data: 1 });
  h.io.emitToEntity("api::article.article", "d1", "entity-message", 2);
  await h.io.raw({ event: "everyone", data: 3 });
}

for (const transport of TRANSPORTS) {
  describe(`a socket that leaves a namespace over ${transport}`, () => {
    it("logging out on a shared Manager (disconnect, new auth, connect) receives only what the new identity may", async () => {
      const h = await startHarness(transport, { namespaces: ["live"] }, { policy: audiencePolicy });
      const manager = new Manager(h.url, {
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
      });
      try {
        const live = manager.socket("/live");
        const main = manager.socket("/", { auth: { audience: "editors" } });
        await Promise.all(
          [live, main].map((socket) =>
            new Promise<void>((resolve) => socket.once("connect", () => resolve()))
          ),
        );
        assert.equal(h.io.joinRoom(main.id!, "team"), true);
        assert.equal(
          (await h.io.subscribeToEntity(main.id!, "api::article.article", "d1")).success,
          true,
        );

        main.disconnect(); // a DISCONNECT packet for `/`; the WebSocket stays open for `/live`
        await until(
          () => h.io.server.sockets.sockets.size === 0,
          "the server saw the socket leave",
        );
        main.auth = { audience: "readers" };
        main.connect();
        await new Promise<void>((resolve) => main.once("connect", () => resolve()));
        assert.equal(manager.engine, live.io.engine, "still one connection");

        const received: Array<[string, unknown]> = [];
        main.onAny((event, payload) => void received.push([event, payload]));
        await sendToEveryPath(h);
        await until(() => received.some(([event]) => event === "everyone"), "the marker arrived");
        assert.deepEqual(received, [["article:update", {
          copy: "readers",
          data: { documentId: "d1" },
        }], ["everyone", 3]]);
      } finally {
        manager.engine.close();
        await h.cleanup();
      }
    });

    for (
      const how of [
        "the client sends DISCONNECT",
        "the server disconnects the socket only",
      ] as const
    ) {
      it(`stops every delivery to it when ${how}, while the connection stays in another namespace`, async () => {
        const h = await startHarness(transport, { namespaces: ["live"] }, {
          policy: audiencePolicy,
        });
        let raw: RawClient | undefined;
        try {
          raw = await rawClient(h.url);
          raw.send('40{"audience":"editors"}');
          raw.send("40/live,");
          await raw.waitFor((frame) => frame.startsWith("40{"));
          await raw.waitFor((frame) => frame.startsWith("40/live,{"));
          const [socket] = h.io.server.sockets.sockets.values();
          h.io.joinRoom(socket!.id, "team");
          await h.io.subscribeToEntity(socket!.id, "api::article.article", "d1");
          await sendToEveryPath(h);
          await raw.waitFor((frame) => frame.startsWith('42["everyone"'));
          assert.equal(
            raw.frames.filter((frame) => frame.startsWith("42[")).length,
            4,
            "before leaving: one frame per path",
          );

          if (how === "the client sends DISCONNECT") raw.send("41");
          else socket!.disconnect();
          await until(() => h.io.server.sockets.sockets.size === 0, "the socket left");
          const before = raw.frames.length;
          await sendToEveryPath(h);
          h.io.emitToNamespace("live", "marker", 4);
          await raw.waitFor((frame) => frame.startsWith('42/live,["marker"'));
          const after = raw.frames.slice(before).filter((frame) => !/^([23]|41)$/.test(frame));
          // The last argument is the event's recovery offset (`recovery` is on by default).
          assert.equal(after.length, 1);
          assert.match(after[0]!, /^42\/live,\["marker",4,"[0-9a-z]+\.[0-9a-z]+"\]$/);
        } finally {
          raw?.close();
          await h.cleanup();
        }
      });
    }

    it("a CONNECT refused as a duplicate leaves the connected socket's deliveries as they were", async () => {
      let admit: (() => void) | undefined;
      const slow: AccessPolicy = {
        ...audiencePolicy,
        identify: (socket) =>
          new Promise((resolve) => (admit = () => resolve(audiencePolicy.identify(socket)))),
      };
      const h = await startHarness(transport, {}, { policy: slow });
      const raw = await rawClient(h.url);
      try {
        raw.send('40{"audience":"editors"}');
        raw.send('40{"audience":"editors"}');
        await raw.waitFor((frame) => frame.startsWith("44"));
        admit!();
        await raw.waitFor((frame) => frame.startsWith("40{"));
        await sendToEveryPath(h);
        await raw.waitFor((frame) => frame.startsWith('42["everyone"'));
        assert.deepEqual(
          raw.frames.filter((frame) => frame.startsWith("42[")).map((frame) =>
            JSON.parse(frame.slice(2))[0]
          ),
          ["article:update", "everyone"],
        );
      } finally {
        raw.close();
        await h.cleanup();
      }
    });
  });
}
