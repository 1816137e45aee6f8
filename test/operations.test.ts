/**
 * `$io.overview()` and `$io.listConnections()` on one node, on both transports: what they count (events
 * in, deliveries out per recipient, rooms without the sockets' own), what they list (namespaces, the
 * engine transport, rooms), and the TypeErrors for malformed queries.
 */
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { type Harness, startHarness, TRANSPORTS, until } from "./support/harness.ts";

for (const transport of TRANSPORTS) {
  describe(`operations on ${transport}`, () => {
    let harness: Harness;

    afterEach(async () => {
      await harness.cleanup();
    });

    it("counts events in and deliveries out, and names the busiest rooms", async () => {
      harness = await startHarness(transport, { namespaces: ["chat"] });
      const { io } = harness;
      const [first, second] = [await harness.client(), await harness.client()];
      const [chat, desk] = [await harness.client("/chat"), await harness.client("/chat")];
      await io.joinRoom(first.id!, "lobby");
      await io.joinRoom(second.id!, "lobby");
      await io.joinRoom(chat.id!, "lobby");
      await io.joinRoom(chat.id!, "desk");
      await io.joinRoom(desk.id!, "desk");

      const received: unknown[] = [];
      second.on("news", (data) => received.push(data));
      await io.raw({ event: "news", data: 1, rooms: ["lobby"] });
      io.emitToNamespace("chat", "news", 2);
      await until(() => received.length === 1, "the room's event arrives");
      // Unhandled client events are counted in too (and refused).
      await new Promise((resolve) => first.emit("nobody-listens", {}, resolve));

      const overview = await io.overview();
      assert.equal(overview.nodes.length, 1);
      const node = overview.nodes[0]!;
      assert.equal(node.node, "local");
      assert.equal(node.transport, transport);
      assert.equal(node.connections, 4);
      assert.deepEqual(node.audiences, { public: 4, role: 0, token: 0 });
      assert.equal(node.eventsIn.total, 1);
      assert.equal(node.eventsOut.total, 4, "two lobby members on /, two sockets of /chat");
      assert.ok(node.eventsOut.perSecond > 0);
      assert.equal(node.redis, null);
      assert.equal(node.recovery?.sessions, 0);
      // Rooms of one socket (a socket's own, /chat's lobby) are not busy; audience rooms never listed.
      assert.deepEqual(overview.rooms, [
        { namespace: "/", name: "lobby", sockets: 2 },
        { namespace: "/chat", name: "desk", sockets: 2 },
      ]);
      assert.equal(overview.totals.connections, 4);
      assert.equal(overview.missingNodes, 0);
      await io.leaveRoom(first.id!, "lobby");
      assert.deepEqual((await io.overview()).rooms, [
        { namespace: "/chat", name: "desk", sockets: 2 },
      ]);
    });

    it("lists connections with their namespace, transport and rooms", async () => {
      harness = await startHarness(transport, { namespaces: ["chat"] });
      const { io } = harness;
      const websocket = await harness.client();
      const websocketId = websocket.id!;
      const polling = await harness.client("/chat", { transports: ["polling"] });
      await io.joinRoom(websocket.id!, "lobby");

      const all = await io.listConnections();
      assert.equal(all.meta.pagination.total, 2);
      assert.deepEqual(all.meta.pagination, { page: 1, pageSize: 20, pageCount: 1, total: 2 });
      const byId = new Map(all.data.map((row) => [row.id, row]));
      assert.deepEqual(byId.get(websocket.id!)?.rooms, ["lobby"]);
      assert.equal(byId.get(websocket.id!)?.transport, "websocket");
      assert.equal(byId.get(websocket.id!)?.audience, "public");
      assert.equal(byId.get(polling.id!)?.namespace, "/chat");
      assert.equal(byId.get(polling.id!)?.transport, "polling");
      assert.equal(byId.get(polling.id!)?.roomCount, 0);

      const second = await io.listConnections({ page: 2, pageSize: 1 });
      assert.equal(second.data.length, 1);
      assert.equal(second.meta.pagination.pageCount, 2);
      const beyond = await io.listConnections({ page: 3, pageSize: 1 });
      assert.deepEqual(beyond.data, []);
      const searched = await io.listConnections({ search: `  ${polling.id!.toUpperCase()} ` });
      assert.deepEqual(searched.data.map((row) => row.id), [polling.id]);
      const none = await io.listConnections({ search: "nobody-has-this" });
      assert.equal(none.meta.pagination.total, 0);
      assert.equal(none.meta.pagination.pageCount, 0);

      // A socket that leaves is no longer listed.
      websocket.disconnect();
      await until(
        async () => (await io.listConnections()).meta.pagination.total === 1,
        "the socket that left is no longer listed",
      );
      const after = await io.overview();
      assert.equal(after.totals.connections, 1);
      assert.deepEqual(after.totals.audiences, { public: 1, role: 0, token: 0 });
      assert.deepEqual((await io.listConnections({ search: websocketId })).data, []);
    });

    it("refuses malformed queries with a TypeError", async () => {
      harness = await startHarness(transport);
      const { io } = harness;
      for (
        const query of [
          null,
          "page=1",
          { page: 0 },
          { page: 1.5 },
          { page: "2" },
          { pageSize: 0 },
          { pageSize: 101 },
          { search: 3 },
          { search: "x".repeat(201) },
        ]
      ) {
        await assert.rejects(
          // deno-lint-ignore no-explicit-any
          io.listConnections(query as any),
          TypeError,
          JSON.stringify(query),
        );
      }
    });
  });
}
