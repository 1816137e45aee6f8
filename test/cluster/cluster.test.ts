/**
 * Cluster semantics over the real Redis: three `$io` nodes in their own processes (two on uWS, one on
 * node-http, so both transports' delivery paths share one cluster), real clients on each, and every `$io`
 * method called on one node for sockets connected to another.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type {
  EntitySubscriptionResult,
  EntitySubscriptionsResult,
  SocketInfo,
} from "../../lib/types.ts";
import {
  clientPool,
  type ClusterNode,
  eventually,
  redisClientNames,
  startNode,
  uniquePrefix,
} from "../support/cluster.ts";
import { collect, nextEvent, untilMarkerFrom } from "../support/harness.ts";

const SHARED_REDIS_PORT = 6379;
const ARTICLE = "api::article.article";

describe("$io in a Redis cluster (3 nodes: uws, uws, node-http)", { timeout: 60_000 }, () => {
  const prefix = uniquePrefix("cluster");
  const adapter = {
    type: "redis",
    url: `redis://127.0.0.1:${SHARED_REDIS_PORT}`,
    keyPrefix: prefix,
  } as const;
  const clients = clientPool();
  let a: ClusterNode;
  let b: ClusterNode;
  let c: ClusterNode;

  before(async () => {
    [a, b, c] = await Promise.all([
      startNode({ adapter, namespaces: ["chat"], transport: { type: "uws" } }),
      startNode({ adapter, namespaces: ["chat"], transport: { type: "uws" } }),
      startNode({ adapter, namespaces: ["chat"], transport: { type: "node-http" } }),
    ]);
  });

  after(async () => {
    clients.closeAll();
    await Promise.all([a, b, c].map((node) => node?.close()));
  });

  /** Connects one client to each node and waits until every node's directory knows all three. */
  async function onEachNode(auth: Record<string, unknown> = {}, namespace = "") {
    const sockets = await Promise.all(
      [a, b, c].map((node) => clients.connect(node.url, auth, namespace)),
    );
    for (const node of [a, b, c]) {
      for (const socket of sockets) {
        await eventually(
          () => node.call("getEntitySubscriptions", socket.id).then((r: any) => r.success),
          `directory entry of ${socket.id}`,
        );
      }
    }
    return sockets as [(typeof sockets)[0], (typeof sockets)[0], (typeof sockets)[0]];
  }

  it("raw() on one node reaches clients on every node, everywhere or in rooms", async () => {
    const [onA, onB, onC] = await onEachNode();
    const seen = [onA, onB, onC].map((socket) => collect(socket, "news"));
    const everywhere = Promise.all([onA, onB, onC].map((socket) => nextEvent(socket, "news")));
    await a.call("raw", { event: "news", data: { n: 1 } });
    assert.deepEqual(await everywhere, [{ n: 1 }, { n: 1 }, { n: 1 }]);
    await untilMarkerFrom(a, onA, onB, onC);
    assert.deepEqual(seen, [[{ n: 1 }], [{ n: 1 }], [{ n: 1 }]]); // once each

    assert.equal(await c.call("joinRoom", onB.id, "raw-room"), true);
    const seenA = collect(onA, "scoped");
    const inRoom = nextEvent(onB, "scoped");
    await eventually(
      async () => (await a.call<SocketInfo[]>("getSocketsInRoom", "raw-room")).length === 1,
      "the remote join",
    );
    await a.call("raw", {
      event: "scoped",
      rooms: ["raw-room", "nobody-here"],
      data: "multi-room",
    });
    assert.equal(await inRoom, "multi-room");
    await untilMarkerFrom(a, onA);
    assert.deepEqual(seenA, []);
  });

  it("emit() on one node delivers the content event on every node; a uWS node delivers it by native publish", async () => {
    const [onA, onB, onC] = await onEachNode();
    const writesBefore = await b.call<number>("writes", onB.id);
    const received = Promise.all(
      [onA, onB, onC].map((socket) => nextEvent(socket, "article:create")),
    );
    await a.call("emit", {
      event: "create",
      schema: ARTICLE,
      data: { documentId: "e1", title: "T" },
    });
    assert.deepEqual(await received, Array(3).fill({ data: { documentId: "e1", title: "T" } }));
    // Delivered on node B without a per-socket write: the broadcast from A took the uWS publish path there.
    assert.equal(await b.call<number>("writes", onB.id), writesBefore);
  });

  it("emitToNamespace() reaches the namespace's sockets on every node, and nothing else", async () => {
    const inChat = await onEachNode({}, "/chat");
    const [inMain] = await onEachNode();
    const seenMain = collect(inMain, "ns");
    const received = Promise.all(inChat.map((socket) => nextEvent(socket, "ns")));
    await b.call("emitToNamespace", "chat", "ns", "to-chat");
    assert.deepEqual(await received, ["to-chat", "to-chat", "to-chat"]);
    await untilMarkerFrom(b, inMain);
    assert.deepEqual(seenMain, []);
  });

  it("sendPrivateMessage() reaches a socket on another node only, in its own namespace", async () => {
    const [onA, onB, onC] = await onEachNode();
    const [, chatOnB] = await onEachNode({}, "/chat");
    const seenA = collect(onA, "dm");
    const seenC = collect(onC, "dm");
    const got = nextEvent(onB, "dm");
    await a.call("sendPrivateMessage", onB.id, "dm", { text: "hi" });
    assert.deepEqual(await got, { text: "hi" });
    const gotInChat = nextEvent(chatOnB, "dm");
    await c.call("sendPrivateMessage", chatOnB.id, "dm", "in chat");
    assert.equal(await gotInChat, "in chat");
    await untilMarkerFrom(a, onA, onC); // after anything the first message did
    await untilMarkerFrom(c, onA, onC); // after anything the second did
    assert.deepEqual([seenA, seenC], [[], []]);
  });

  it("broadcast() from one node reaches everyone on every node except that socket", async () => {
    const [onA, onB, onC] = await onEachNode();
    const seenB = collect(onB, "bc");
    const received = Promise.all([nextEvent(onA, "bc"), nextEvent(onC, "bc")]);
    await a.call("broadcast", onB.id, "bc", "all-but-B");
    assert.deepEqual(await received, ["all-but-B", "all-but-B"]);
    await untilMarkerFrom(a, onB);
    assert.deepEqual(seenB, []);
  });

  it("joinRoom()/leaveRoom() act on a socket of another node; getSocketsInRoom() lists the whole cluster with user and role", async () => {
    const [onA, onB, onC] = await onEachNode({ role: "editor", userId: 7 });
    assert.equal(await a.call("joinRoom", onB.id, "lobby"), true);
    assert.equal(await a.call("joinRoom", onC.id, "lobby"), true);
    assert.equal(await a.call("joinRoom", onA.id, "lobby"), true);
    // (An adapter replaced at boot but still listening would answer for its node with no sockets, first.)
    const listed = await eventually(async () => {
      const sockets = await b.call<SocketInfo[]>("getSocketsInRoom", "lobby");
      return sockets.length === 3 && sockets;
    }, "three sockets in lobby");
    const byId = new Map(listed.map((info) => [info.id, info]));
    assert.deepEqual(byId.get(onC.id!), {
      id: onC.id,
      userId: 7,
      role: "editor",
      rooms: ["lobby"],
    });
    assert.deepEqual(new Set(byId.keys()), new Set([onA.id, onB.id, onC.id]));

    // Requests from one node arrive in order: the join is applied before the broadcast that follows it.
    assert.equal(await a.call("joinRoom", onB.id, "ordered"), true);
    const ordered = nextEvent(onB, "after-join");
    await a.call("raw", { event: "after-join", rooms: "ordered", data: 1 });
    assert.equal(await ordered, 1);

    assert.equal(await c.call("leaveRoom", onB.id, "lobby"), true);
    await eventually(
      async () => (await a.call<SocketInfo[]>("getSocketsInRoom", "lobby")).length === 2,
      "the remote leave",
    );
    assert.deepEqual(await b.call("localRooms", onB.id), [onB.id, "ordered"]);
  });

  it("joinRoom(), leaveRoom() and disconnectSocket() return false for an id no node holds", async () => {
    assert.equal(await a.call("joinRoom", "no-such-socket", "room"), false);
    assert.equal(await a.call("leaveRoom", "no-such-socket", "room"), false);
    assert.equal(await a.call("disconnectSocket", "no-such-socket"), false);
    assert.deepEqual(await a.call("getEntitySubscriptions", "no-such-socket"), {
      success: false,
      error: "Socket 'no-such-socket' not found",
    });
  });

  it("disconnectSocket() on a socket of another node tells the client why, then disconnects it", async () => {
    const [, onB] = await onEachNode();
    const id = onB.id; // the client forgets its id once disconnected
    const notice = nextEvent(onB, "strapi-io:disconnect");
    const disconnected = nextEvent(onB, "disconnect");
    assert.equal(await a.call("disconnectSocket", onB.id, "moved to another shard"), true);
    assert.deepEqual(await notice, { reason: "moved to another shard" });
    assert.equal(await disconnected, "io server disconnect");
    // Its node announces the departure: every directory forgets it.
    await eventually(
      async () =>
        (await c.call<EntitySubscriptionsResult>("getEntitySubscriptions", id)).success === false,
      "the directory to forget it",
    );
    assert.equal(await a.call("joinRoom", id, "x"), false);
  });

  it("subscribeToEntity() on a socket of another node runs that node's policy against the socket's own identity", async () => {
    const [, reader] = await onEachNode({ role: "reader", userId: 3 });
    const refused = await a.call<EntitySubscriptionResult>(
      "subscribeToEntity",
      reader.id,
      ARTICLE,
      "forbidden",
    );
    assert.deepEqual(refused, {
      success: false,
      error: "Forbidden for reader",
      uid: ARTICLE,
      id: "forbidden",
    });
    const invalid = await a.call<EntitySubscriptionResult>(
      "subscribeToEntity",
      reader.id,
      "not-a-uid",
      "x",
    );
    assert.equal(invalid.success, false);
    assert.match(invalid.error!, /'uid'/);

    const result = await a.call<EntitySubscriptionResult>(
      "subscribeToEntity",
      reader.id,
      ARTICLE,
      "doc-9",
    );
    assert.deepEqual(result, {
      success: true,
      room: `entity:${ARTICLE}:doc-9`,
      uid: ARTICLE,
      id: "doc-9",
    });
    const expected = [{ uid: ARTICLE, id: "doc-9", room: `entity:${ARTICLE}:doc-9` }];
    assert.deepEqual(await a.call("getEntitySubscriptions", reader.id), {
      success: true,
      subscriptions: expected,
    });
    assert.deepEqual(await b.call("getEntitySubscriptions", reader.id), {
      success: true,
      subscriptions: expected,
    });
    await eventually(
      async () =>
        (await c.call<EntitySubscriptionsResult>("getEntitySubscriptions", reader.id)).subscriptions
          ?.length === 1,
      "C's directory",
    );
    assert.deepEqual(await c.call("getEntityRoomSockets", ARTICLE, "doc-9"), [{
      id: reader.id,
      user: { id: 3, username: "user3" },
    }]);

    const update = nextEvent(reader, "article:update");
    await c.call("emitToEntity", ARTICLE, "doc-9", "article:update", {
      data: { documentId: "doc-9" },
    });
    assert.deepEqual(await update, { data: { documentId: "doc-9" } });
  });

  it("unsubscribeFromEntity() on a socket of another node: success when it follows the entity, the reason otherwise", async () => {
    const [, follower] = await onEachNode();
    const seen = collect(follower, "article:update");
    assert.equal(
      (await b.call<EntitySubscriptionResult>("subscribeToEntity", follower.id, ARTICLE, "doc-u"))
        .success,
      true,
    );
    await eventually(
      async () =>
        (await a.call<EntitySubscriptionsResult>("getEntitySubscriptions", follower.id))
          .subscriptions?.length === 1,
      "A's directory",
    );
    const done = await a.call<EntitySubscriptionResult>(
      "unsubscribeFromEntity",
      follower.id,
      ARTICLE,
      "doc-u",
    );
    assert.deepEqual(done, {
      success: true,
      room: `entity:${ARTICLE}:doc-u`,
      uid: ARTICLE,
      id: "doc-u",
    });
    assert.deepEqual(await a.call("getEntitySubscriptions", follower.id), {
      success: true,
      subscriptions: [],
    });
    await eventually(
      async () =>
        (await b.call<EntitySubscriptionsResult>("getEntitySubscriptions", follower.id))
          .subscriptions?.length === 0,
      "the owner to apply it",
    );
    const again = await a.call<EntitySubscriptionResult>(
      "unsubscribeFromEntity",
      follower.id,
      ARTICLE,
      "doc-u",
    );
    assert.equal(again.success, false);
    assert.match(again.error!, /Not subscribed/);
    assert.deepEqual(await c.call("getEntityRoomSockets", ARTICLE, "doc-u"), []);
    await c.call("emitToEntity", ARTICLE, "doc-u", "article:update", 1);
    await untilMarkerFrom(c, follower);
    assert.deepEqual(seen, []);
  });

  it("a client's own subscribe-entity request on one node is visible to the others", async () => {
    const [onA] = await onEachNode();
    const ack = await onA.timeout(2000).emitWithAck("subscribe-entity", {
      uid: ARTICLE,
      id: "client-side",
    });
    assert.equal(ack.success, true);
    await eventually(
      async () =>
        (await c.call<EntitySubscriptionsResult>("getEntitySubscriptions", onA.id)).subscriptions
          ?.length === 1,
      "C's directory",
    );
    const update = nextEvent(onA, "article:publish");
    await b.call("emitToEntity", ARTICLE, "client-side", "article:publish", 2);
    assert.equal(await update, 2);
  });

  it("a node that closes leaves no sockets behind in the others' listings or directories", async () => {
    const extra = await startNode({ adapter, namespaces: ["chat"], transport: { type: "uws" } });
    const onExtra = await clients.connect(extra.url);
    const id = onExtra.id;
    await eventually(() => a.call("joinRoom", onExtra.id, "leaving-node"), "A to know the socket");
    await eventually(
      async () => (await a.call<SocketInfo[]>("getSocketsInRoom", "leaving-node")).length === 1,
      "the join",
    );
    await extra.close();
    assert.deepEqual(await a.call("getSocketsInRoom", "leaving-node"), []);
    // Its "bye" was published before its connections closed; B forgets its sockets as soon as it reads it.
    await eventually(
      async () => (await b.call("joinRoom", id, "x")) === false,
      "B to forget the node's sockets",
      1000,
    );
    assert.deepEqual(
      await redisClientNames(SHARED_REDIS_PORT, prefix).then((names) => names.length),
      6,
    ); // a, b, c: pub + sub each
  });

  it("no node logged an error or hit an unhandled rejection", async () => {
    for (const node of [a, b, c]) {
      assert.deepEqual(await node.call("failures"), []);
      const logs = await node.call<Array<{ level: string; message: string }>>("logs");
      assert.deepEqual(logs.filter((line) => line.level === "error" || line.level === "warn"), []);
    }
  });

  it("close() closes every Redis connection the nodes opened", async () => {
    clients.closeAll();
    await Promise.all([a, b, c].map((node) => node.close()));
    assert.deepEqual(await redisClientNames(SHARED_REDIS_PORT, prefix), []);
  });
});
