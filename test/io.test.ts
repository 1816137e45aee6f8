/**
 * Conformance suite of the `$io` core: every member of the public surface, with real socket.io-client
 * clients, run once per transport.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Server } from "socket.io";
import { type AccessPolicy, HandshakeError } from "../lib/access-policy.ts";
import { audienceRoom } from "../lib/room-names.ts";
import type { EntitySubscriptionResult, EntitySubscriptionsResult } from "../lib/types.ts";
import {
  collect,
  type Harness,
  nextEvent,
  request,
  startHarness,
  TRANSPORTS,
  untilMarker,
} from "./support/harness.ts";

/** A policy with two audiences, chosen by the client's `auth.audience`; refuses `auth.refuse`. */
const audiencePolicy: AccessPolicy = {
  identify: async (socket) => {
    const auth = socket.handshake.auth as { audience?: string; refuse?: boolean; userId?: number };
    if (auth.refuse) throw new HandshakeError("forbidden", "Refused by the test policy");
    return {
      role: auth.audience ?? "public",
      audience: auth.audience,
      userId: auth.userId,
      user: auth.userId ? { id: auth.userId } : null,
    };
  },
  deliveries: async (_event, _schema, data) => [
    { to: { rooms: [audienceRoom("editors")] }, payload: { data } },
    {
      to: { rooms: [audienceRoom("readers")] },
      payload: { data: { ...(data as object), secret: undefined } },
    },
  ],
  authorizeEntity: async (identity, _uid, id) =>
    identity.role === "readers" && id === "forbidden"
      ? { allowed: false, error: "Forbidden: cannot read this entity" }
      : { allowed: true, id: String(id) },
};

for (const transport of TRANSPORTS) {
  describe(`$io core over ${transport}`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(transport, {
        namespaces: ["chat"],
        entitySubscriptions: { maxPerSocket: 3 },
      });
    });
    after(() => h.cleanup());

    it("server is the Socket.IO Server and namespaces holds the configured ones", () => {
      assert.ok(h.io.server instanceof Server);
      assert.deepEqual(Object.keys(h.io.namespaces), ["chat"]);
      assert.equal(h.io.namespaces.chat?.name, "/chat");
      assert.equal(h.io.transport, transport);
    });

    it("raw() delivers data exactly as given, to everyone", async () => {
      const [a, b] = await Promise.all([h.client(), h.client()]);
      const data = { nested: { list: [1, "two", null], flag: false }, text: "é ✓" };
      const received = Promise.all([nextEvent(a, "news"), nextEvent(b, "news")]);
      await h.io.raw({ event: "news", data });
      assert.deepEqual(await received, [data, data]);
      const array = nextEvent(a, "list");
      await h.io.raw({ event: "list", data: [1, 2, 3] });
      assert.deepEqual(await array, [1, 2, 3]);
    });

    it("raw() with rooms reaches only those rooms, once per socket", async () => {
      const [inA, inBoth, outside] = await Promise.all([h.client(), h.client(), h.client()]);
      assert.equal(h.io.joinRoom(inA.id!, "room-a"), true);
      assert.equal(h.io.joinRoom(inBoth.id!, "room-a"), true);
      assert.equal(h.io.joinRoom(inBoth.id!, "room-b"), true);
      const seenBoth = collect(inBoth, "scoped");
      const seenOutside = collect(outside, "scoped");
      const gotA = nextEvent(inA, "scoped");
      await h.io.raw({ event: "scoped", rooms: ["room-a", "room-b"], data: 1 });
      assert.equal(await gotA, 1);
      await h.io.raw({ event: "scoped", rooms: "room-b", data: 2 });
      await untilMarker(h.io, inBoth, outside);
      assert.deepEqual(seenBoth, [1, 2]);
      assert.deepEqual(seenOutside, []);
    });

    it("raw() rejects a bad event or room name with a TypeError naming the argument", async () => {
      await assert.rejects(h.io.raw({ event: "", data: 1 }), {
        name: "TypeError",
        message: /raw\(\): 'event'/,
      });
      await assert.rejects(h.io.raw({ event: "x", rooms: ["ok", ""], data: 1 }), {
        name: "TypeError",
        message: /'rooms\[1\]'/,
      });
      await assert.rejects(h.io.raw({ event: 42 as unknown as string, data: 1 }), TypeError);
    });

    it("joinRoom()/leaveRoom() return false for an unknown socket id and throw on a bad room", () => {
      assert.equal(h.io.joinRoom("no-such-socket", "room"), false);
      assert.equal(h.io.leaveRoom("no-such-socket", "room"), false);
      assert.equal(h.io.joinRoom(undefined as unknown as string, "room"), false);
      assert.throws(() => h.io.joinRoom("x", ""), {
        name: "TypeError",
        message: /joinRoom\(\): 'room'/,
      });
      assert.throws(() => h.io.leaveRoom("x", 7 as unknown as string), {
        name: "TypeError",
        message: /leaveRoom\(\): 'room'/,
      });
    });

    it("leaveRoom() stops room deliveries", async () => {
      const socket = await h.client();
      h.io.joinRoom(socket.id!, "leaving");
      const seen = collect(socket, "leave-test");
      await h.io.raw({ event: "leave-test", rooms: "leaving", data: "in" });
      await untilMarker(h.io, socket);
      assert.equal(h.io.leaveRoom(socket.id!, "leaving"), true);
      await h.io.raw({ event: "leave-test", rooms: "leaving", data: "out" });
      await untilMarker(h.io, socket);
      assert.deepEqual(seen, ["in"]);
    });

    it("getSocketsInRoom() lists id, role and rooms of each socket, without internal rooms", async () => {
      const [a, b] = await Promise.all([h.client(), h.client()]);
      h.io.joinRoom(a.id!, "listed");
      h.io.joinRoom(b.id!, "listed");
      h.io.joinRoom(b.id!, "other");
      const sockets = await h.io.getSocketsInRoom("listed");
      const byId = new Map(sockets.map((info) => [info.id, info]));
      assert.equal(sockets.length, 2);
      assert.deepEqual(byId.get(a.id!), { id: a.id, role: "public", rooms: ["listed"] });
      assert.deepEqual(byId.get(b.id!)?.rooms.sort(), ["listed", "other"]);
      assert.deepEqual(await h.io.getSocketsInRoom("empty-room"), []);
      await assert.rejects(h.io.getSocketsInRoom(""), TypeError);
    });

    it("sendPrivateMessage() reaches that socket only", async () => {
      const [target, bystander] = await Promise.all([h.client(), h.client()]);
      const seen = collect(bystander, "dm");
      const got = nextEvent(target, "dm");
      h.io.sendPrivateMessage(target.id!, "dm", { text: "hi" });
      assert.deepEqual(await got, { text: "hi" });
      await untilMarker(h.io, bystander);
      assert.deepEqual(seen, []);
      assert.doesNotThrow(() => h.io.sendPrivateMessage("unknown-id", "dm", 1));
      assert.throws(() => h.io.sendPrivateMessage(target.id!, "", 1), {
        name: "TypeError",
        message: /'event'/,
      });
    });

    it("broadcast() reaches everyone except that socket", async () => {
      const [sender, a, b] = await Promise.all([h.client(), h.client(), h.client()]);
      const seenBySender = collect(sender, "bc");
      const received = Promise.all([nextEvent(a, "bc"), nextEvent(b, "bc")]);
      h.io.broadcast(sender.id!, "bc", "all-but-sender");
      assert.deepEqual(await received, ["all-but-sender", "all-but-sender"]);
      await untilMarker(h.io, sender);
      assert.deepEqual(seenBySender, []);
      assert.throws(() => h.io.broadcast(sender.id!, "", 1), TypeError);
    });

    it("emitToNamespace() reaches the sockets of that namespace only", async () => {
      const [inChat, inMain] = await Promise.all([h.client("/chat"), h.client()]);
      const seenMain = collect(inMain, "ns");
      const got = nextEvent(inChat, "ns");
      h.io.emitToNamespace("chat", "ns", { room: "chat" });
      assert.deepEqual(await got, { room: "chat" });
      const again = nextEvent(inChat, "ns");
      h.io.emitToNamespace("/chat", "ns", 2);
      assert.equal(await again, 2);
      await untilMarker(h.io, inMain);
      assert.deepEqual(seenMain, []);
      assert.throws(() => h.io.emitToNamespace("nope", "ns", 1), {
        name: "TypeError",
        message: /configured namespace/,
      });
      assert.throws(() => h.io.emitToNamespace("", "ns", 1), TypeError);
    });

    it("disconnectSocket() tells the client why, then disconnects it; false for an unknown id", async () => {
      const socket = await h.client();
      const notice = nextEvent(socket, "strapi-io:disconnect");
      const disconnected = nextEvent(socket, "disconnect");
      assert.equal(h.io.disconnectSocket(socket.id!, "maintenance window"), true);
      assert.deepEqual(await notice, { reason: "maintenance window" });
      assert.equal(await disconnected, "io server disconnect");
      assert.equal(h.io.disconnectSocket("unknown-id"), false);
    });

    it("disconnectSocket() works for a socket of a configured namespace", async () => {
      const socket = await h.client("/chat");
      const notice = nextEvent<{ reason: string }>(socket, "strapi-io:disconnect");
      assert.equal(h.io.disconnectSocket(socket.id!), true);
      assert.equal((await notice).reason, "disconnected by the server");
    });

    it("emit() reaches an entity's followers in a configured namespace, and only them there", async () => {
      const [follower, bystander] = await Promise.all([h.client("/chat"), h.client("/chat")]);
      const subscribed = await h.io.subscribeToEntity(follower.id!, "api::article.article", "f1");
      assert.equal(subscribed.success, true);
      const seenByBystander: string[] = [];
      bystander.onAny((event) => void seenByBystander.push(event));
      const got = nextEvent(follower, "article:update");
      await h.io.emit({
        event: "update",
        schema: "api::article.article",
        data: { documentId: "f1" },
      });
      assert.deepEqual(await got, { data: { documentId: "f1" } });
      const marker = nextEvent(bystander, "marker");
      h.io.emitToNamespace("chat", "marker", 1);
      await marker;
      assert.deepEqual(seenByBystander, ["marker"]);
    });

    it("emit() sends <singularName>:<event> wrapped as { data } (open policy)", async () => {
      const socket = await h.client();
      const byUid = nextEvent(socket, "article:create");
      await h.io.emit({
        event: "create",
        schema: "api::article.article",
        data: { documentId: "d1", title: "T" },
      });
      assert.deepEqual(await byUid, { data: { documentId: "d1", title: "T" } });
      const bySchema = nextEvent(socket, "note:update");
      await h.io.emit({
        event: "update",
        schema: { info: { singularName: "note" } },
        data: { documentId: "n1" },
      });
      assert.deepEqual(await bySchema, { data: { documentId: "n1" } });
    });

    it("emit() rejects a bad event or schema with a TypeError", async () => {
      await assert.rejects(h.io.emit({ event: "", schema: "api::a.a", data: {} }), TypeError);
      await assert.rejects(h.io.emit({ event: "create", schema: "not-a-uid", data: {} }), {
        name: "TypeError",
        message: /'schema'/,
      });
      await assert.rejects(
        h.io.emit({ event: "create", schema: {} as never, data: {} }),
        TypeError,
      );
    });

    it("subscribeToEntity() follows an entity; emitToEntity() reaches only its subscribers", async () => {
      const [follower, other] = await Promise.all([h.client(), h.client()]);
      const result = await h.io.subscribeToEntity(follower.id!, "api::article.article", "doc-1");
      assert.deepEqual(result, {
        success: true,
        room: "entity:api::article.article:doc-1",
        uid: "api::article.article",
        id: "doc-1",
      });
      const seenOther = collect(other, "article:update");
      const got = nextEvent(follower, "article:update");
      h.io.emitToEntity("api::article.article", "doc-1", "article:update", {
        data: { documentId: "doc-1" },
      });
      assert.deepEqual(await got, { data: { documentId: "doc-1" } });
      await untilMarker(h.io, other);
      assert.deepEqual(seenOther, []);

      const subscriptions = h.io.getEntitySubscriptions(follower.id!);
      assert.deepEqual(subscriptions, {
        success: true,
        subscriptions: [{
          uid: "api::article.article",
          id: "doc-1",
          room: "entity:api::article.article:doc-1",
        }],
      });
      assert.deepEqual(await h.io.getEntityRoomSockets("api::article.article", "doc-1"), [{
        id: follower.id,
        user: null,
      }]);

      assert.equal(
        h.io.unsubscribeFromEntity(follower.id!, "api::article.article", "doc-1").success,
        true,
      );
      assert.deepEqual(h.io.getEntitySubscriptions(follower.id!).subscriptions, []);
      assert.deepEqual(await h.io.getEntityRoomSockets("api::article.article", "doc-1"), []);
      const again = h.io.unsubscribeFromEntity(follower.id!, "api::article.article", "doc-1");
      assert.equal(again.success, false);
      assert.match(again.error!, /Not subscribed/);
    });

    it("entity subscription methods answer { success: false, error } for unknown sockets and bad ids", async () => {
      assert.deepEqual(
        (await h.io.subscribeToEntity("nope", "api::article.article", "1")).success,
        false,
      );
      assert.match(
        (await h.io.subscribeToEntity("nope", "api::article.article", "1")).error!,
        /not found/,
      );
      assert.equal(h.io.unsubscribeFromEntity("nope", "api::article.article", "1").success, false);
      assert.equal(h.io.getEntitySubscriptions("nope").success, false);
      const socket = await h.client();
      assert.match((await h.io.subscribeToEntity(socket.id!, "article", "1")).error!, /'uid'/);
      assert.match(
        (await h.io.subscribeToEntity(socket.id!, "api::article.article", "")).error!,
        /'id'/,
      );
      assert.match(
        (await h.io.subscribeToEntity(socket.id!, "api::article.article", -3)).error!,
        /'id'/,
      );
      assert.throws(() => h.io.emitToEntity("api::article.article", "1", "", {}), TypeError);
      await assert.rejects(h.io.getEntityRoomSockets("", "1"), TypeError);
    });

    it("subscribeToEntity() holds the per-socket limit and is idempotent", async () => {
      const socket = await h.client();
      for (const id of ["a", "b", "c"]) {
        assert.equal(
          (await h.io.subscribeToEntity(socket.id!, "api::article.article", id)).success,
          true,
        );
      }
      assert.equal(
        (await h.io.subscribeToEntity(socket.id!, "api::article.article", "a")).success,
        true,
      );
      const over = await h.io.subscribeToEntity(socket.id!, "api::article.article", "d");
      assert.equal(over.success, false);
      assert.match(over.error!, /limit/);
      assert.equal(h.io.getEntitySubscriptions(socket.id!).subscriptions?.length, 3);
    });

    it("client events subscribe-entity / get-entity-subscriptions / unsubscribe-entity are acknowledged", async () => {
      const socket = await h.client();
      const subscribed = await request<EntitySubscriptionResult>(socket, "subscribe-entity", {
        uid: "api::article.article",
        id: "c1",
      });
      assert.deepEqual(subscribed, {
        success: true,
        room: "entity:api::article.article:c1",
        uid: "api::article.article",
        id: "c1",
      });
      const got = nextEvent(socket, "article:publish");
      h.io.emitToEntity("api::article.article", "c1", "article:publish", {
        data: { documentId: "c1" },
      });
      assert.deepEqual(await got, { data: { documentId: "c1" } });
      const listed = await request<EntitySubscriptionsResult>(socket, "get-entity-subscriptions");
      assert.deepEqual(listed.subscriptions, [{
        uid: "api::article.article",
        id: "c1",
        room: "entity:api::article.article:c1",
      }]);
      const removed = await request<EntitySubscriptionResult>(socket, "unsubscribe-entity", {
        uid: "api::article.article",
        id: "c1",
      });
      assert.equal(removed.success, true);
    });

    it("bad client events get an error acknowledgement and never crash the server", async () => {
      const socket = await h.client();
      for (
        const payload of [null, 42, "text", [], { uid: 1, id: 2 }, { uid: "api::a.a" }, {
          uid: "api::a.a",
          id: { $gt: 1 },
        }]
      ) {
        const result = await request<EntitySubscriptionResult>(socket, "subscribe-entity", payload);
        assert.equal(result.success, false, `payload ${JSON.stringify(payload)}`);
        assert.equal(typeof result.error, "string");
      }
      socket.emit("subscribe-entity", { uid: "api::article.article", id: "x" }); // no ack: carried out, nothing to answer
      socket.emit("get-entity-subscriptions"); // no ack: nothing to answer
      socket.emit("some-unknown-event", { anything: true });
      const stillAlive = await request<EntitySubscriptionsResult>(
        socket,
        "get-entity-subscriptions",
      );
      assert.equal(stillAlive.success, true);
      // The subscription without an acknowledgement completes in its own time (the policy is asynchronous).
      while (h.io.getEntitySubscriptions(socket.id!).subscriptions?.length !== 1) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.deepEqual(h.io.getEntitySubscriptions(socket.id!).subscriptions, [{
        uid: "api::article.article",
        id: "x",
        room: "entity:api::article.article:x",
      }]);
    });

    it("an event nobody handles, sent with an acknowledgement, is answered with an error", async () => {
      const socket = await h.client();
      assert.deepEqual(await request(socket, "no-such-event", { any: 1 }), {
        success: false,
        error: "Unknown event 'no-such-event'",
        code: "unknown_event",
      });
    });

    it("long-polling is offered as a fallback by default, and fan-out reaches polling clients", async () => {
      const polling = await h.client("/", { transports: ["polling"], upgrade: false });
      assert.equal(polling.io.engine.transport.name, "polling");
      h.io.joinRoom(polling.id!, "polling-room");
      const inRoom = nextEvent(polling, "poll");
      await h.io.raw({ event: "poll", rooms: "polling-room", data: "room" });
      assert.equal(await inRoom, "room");
      const toAll = nextEvent(polling, "poll");
      await h.io.raw({ event: "poll", data: "all" });
      assert.equal(await toAll, "all");
    });
  });

  describe(`$io core over ${transport} with an access policy`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(transport, { namespaces: ["chat"] }, { policy: audiencePolicy });
    });
    after(() => h.cleanup());

    it("emit() tells the policy which rooms have members, so it can skip sanitizing for audiences nobody listens to", async () => {
      const reaches: Array<[boolean, boolean]> = [];
      const probe = await startHarness(transport, {}, {
        policy: {
          ...audiencePolicy,
          deliveries: async (_event, _schema, _data, reach) => {
            reaches.push([
              reach!.has(audienceRoom("editors")),
              reach!.has(audienceRoom("readers")),
            ]);
            return [];
          },
        },
      });
      try {
        await probe.client("/", { auth: { audience: "editors" } });
        await probe.io.emit({ event: "update", schema: "api::article.article", data: {} });
        assert.deepEqual(reaches, [[true, false]]);
      } finally {
        await probe.cleanup();
      }
    });

    it("emit() gives each audience its own payload and nothing to sockets outside every audience", async () => {
      const editor = await h.client("/", { auth: { audience: "editors" } });
      const reader = await h.client("/", { auth: { audience: "readers" } });
      const outsider = await h.client();
      const seenOutsider = collect(outsider, "article:update");
      const seenEditor = collect(editor, "article:update");
      const got = Promise.all([
        nextEvent(editor, "article:update"),
        nextEvent(reader, "article:update"),
      ]);
      await h.io.emit({
        event: "update",
        schema: "api::article.article",
        data: { documentId: "x", secret: "s" },
      });
      const [editorPayload, readerPayload] = await got;
      assert.deepEqual(editorPayload, { data: { documentId: "x", secret: "s" } });
      assert.deepEqual(readerPayload, { data: { documentId: "x" } });
      await untilMarker(h.io, outsider, editor);
      assert.deepEqual(seenOutsider, []);
      assert.equal(seenEditor.length, 1);
    });

    it("a refused handshake reaches the client as connect_error with the reason, on every namespace", async () => {
      for (const namespace of ["/", "/chat"]) {
        const error = await h.refusedClient(namespace, { auth: { refuse: true } });
        assert.equal(error.message, "Refused by the test policy");
        assert.deepEqual(error.data, { code: "forbidden", message: "Refused by the test policy" });
      }
    });

    it("getSocketsInRoom() and getEntityRoomSockets() report identity from the handshake", async () => {
      const socket = await h.client("/", { auth: { audience: "editors", userId: 7 } });
      h.io.joinRoom(socket.id!, "staff");
      assert.deepEqual(await h.io.getSocketsInRoom("staff"), [{
        id: socket.id,
        userId: 7,
        role: "editors",
        rooms: ["staff"],
      }]);
      await h.io.subscribeToEntity(socket.id!, "api::article.article", "e1");
      assert.deepEqual(await h.io.getEntityRoomSockets("api::article.article", "e1"), [{
        id: socket.id,
        user: { id: 7 },
      }]);
    });

    it("subscribeToEntity() is refused when the policy refuses, with its reason", async () => {
      const reader = await h.client("/", { auth: { audience: "readers" } });
      const refused = await request<EntitySubscriptionResult>(reader, "subscribe-entity", {
        uid: "api::article.article",
        id: "forbidden",
      });
      assert.deepEqual(refused, {
        success: false,
        error: "Forbidden: cannot read this entity",
        uid: "api::article.article",
        id: "forbidden",
      });
      assert.deepEqual(h.io.getEntitySubscriptions(reader.id!).subscriptions, []);
    });
  });
}
