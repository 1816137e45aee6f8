/**
 * A real Strapi 5.54.0 node (this process) and a plain `$io` node (a child process) in one Redis cluster:
 * raw, rooms, private messages and disconnects across them; entity subscriptions of a Strapi socket asked
 * from the plain node and checked by Strapi's own policy; a content event sanitized once on the Strapi
 * node and delivered, by audience room, on both; and no Redis connection left after `strapi.destroy()`.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import { audienceKey } from "../../lib/strapi/audiences.ts";
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
import { collect, nextEvent, untilMarker } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { grant, roleId, socketsFor } from "../support/strapi-fixtures.ts";

const SHARED_REDIS_PORT = 6379;
const ARTICLE = "api::article.article";

describe("a Strapi node and a plain node in one Redis cluster", { timeout: 60_000 }, () => {
  const prefix = uniquePrefix("strapi");
  const adapter = {
    type: "redis",
    url: `redis://127.0.0.1:${SHARED_REDIS_PORT}`,
    keyPrefix: prefix,
  } as const;
  const clients = clientPool();
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;
  let plain: ClusterNode;
  let onStrapi: ClientSocket; // public role
  let onPlain: ClientSocket;
  let publicAudience: string;
  let destroyed = false;

  before(async () => {
    [app, plain] = await Promise.all([
      bootStrapi({
        transport: { type: "uws", port: 0, host: "127.0.0.1" },
        adapter,
        contentTypes: [ARTICLE],
      }),
      startNode({ adapter, transport: { type: "uws" } }),
    ]);
    sockets = socketsFor(app);
    publicAudience = audienceKey("role", await roleId(app, "public"));
    onStrapi = await sockets.connect();
    // The plain node's test policy joins the audience rooms it is given, as a Strapi node does per role.
    onPlain = await clients.connect(plain.url, { role: "public", audience: publicAudience });
    await eventually(
      () => app.io.getEntitySubscriptions(onPlain.id!).success,
      "the Strapi node to know the plain node's socket",
    );
    await eventually(
      () =>
        plain.call<EntitySubscriptionsResult>("getEntitySubscriptions", onStrapi.id).then((r) =>
          r.success
        ),
      "the plain node to know the Strapi socket",
    );
  });

  after(async () => {
    sockets?.closeAll();
    clients.closeAll();
    await Promise.all([destroyed ? undefined : app?.destroy(), plain?.close()]);
  });

  it("raw() crosses in both directions", async () => {
    const toPlain = nextEvent(onPlain, "from-strapi");
    await app.io.raw({ event: "from-strapi", data: { n: 1 } });
    assert.deepEqual(await toPlain, { n: 1 });
    const toStrapi = nextEvent(onStrapi, "from-plain");
    await plain.call("raw", { event: "from-plain", data: [2] });
    assert.deepEqual(await toStrapi, [2]);
  });

  it("rooms: each node joins the other's socket, and both list the whole room with roles", async () => {
    assert.equal(app.io.joinRoom(onPlain.id!, "mixed"), true);
    assert.equal(await plain.call("joinRoom", onStrapi.id, "mixed"), true);
    const expected = new Set([onPlain.id, onStrapi.id]);
    const listed = await eventually(async () => {
      const list = await app.io.getSocketsInRoom("mixed");
      return list.length === 2 && list;
    }, "both sockets in the room");
    assert.deepEqual(new Set(listed.map((info) => info.id)), expected);
    assert.ok(
      listed.every((info) => info.role === "public" && info.rooms.includes("mixed")),
      JSON.stringify(listed),
    );
    assert.deepEqual(
      new Set((await plain.call<SocketInfo[]>("getSocketsInRoom", "mixed")).map((info) => info.id)),
      expected,
    );
    const both = Promise.all([nextEvent(onPlain, "in-mixed"), nextEvent(onStrapi, "in-mixed")]);
    await plain.call("raw", { event: "in-mixed", rooms: "mixed", data: "both" });
    assert.deepEqual(await both, ["both", "both"]);
    assert.equal(app.io.leaveRoom(onPlain.id!, "mixed"), true);
    await eventually(
      async () => (await app.io.getSocketsInRoom("mixed")).length === 1,
      "the remote leave",
    );
  });

  it("sendPrivateMessage() and broadcast() cross nodes", async () => {
    const dm = nextEvent(onPlain, "dm");
    app.io.sendPrivateMessage(onPlain.id!, "dm", "from Strapi");
    assert.equal(await dm, "from Strapi");
    const back = nextEvent(onStrapi, "dm");
    await plain.call("sendPrivateMessage", onStrapi.id, "dm", "from plain");
    assert.equal(await back, "from plain");
    const seenByStrapiClient = collect(onStrapi, "bc");
    const bc = nextEvent(onPlain, "bc");
    app.io.broadcast(onStrapi.id!, "bc", "all but the Strapi client");
    assert.equal(await bc, "all but the Strapi client");
    await untilMarker(app.io, onStrapi);
    assert.deepEqual(seenByStrapiClient, []);
  });

  it("subscribeToEntity() from the plain node on a Strapi socket is decided by Strapi's policy for that socket", async () => {
    const article = await app.strapi.documents(ARTICLE).create({
      data: { title: "Followed", internalNotes: "secret" },
      status: "published",
    });
    const refused = await plain.call<EntitySubscriptionResult>(
      "subscribeToEntity",
      onStrapi.id,
      ARTICLE,
      article.documentId,
    );
    assert.equal(refused.success, false);
    assert.match(
      refused.error!,
      /Forbidden: this role or token may not read api::article\.article/,
    );

    await grant(app, "public", [`${ARTICLE}.find`, `${ARTICLE}.findOne`]);
    const result = await eventually(async () => {
      const attempt = await plain.call<EntitySubscriptionResult>(
        "subscribeToEntity",
        onStrapi.id,
        ARTICLE,
        article.id,
      );
      return attempt.success && attempt;
    }, "the grant to take effect");
    // The numeric id was resolved to the documentId by the Strapi node.
    assert.deepEqual(result, {
      success: true,
      room: `entity:${ARTICLE}:${article.documentId}`,
      uid: ARTICLE,
      id: article.documentId,
    });
    assert.deepEqual(await plain.call("getEntityRoomSockets", ARTICLE, article.documentId), [{
      id: onStrapi.id,
      user: null,
    }]);
    assert.equal(
      (await plain.call<EntitySubscriptionResult>(
        "unsubscribeFromEntity",
        onStrapi.id,
        ARTICLE,
        article.id,
      )).success,
      true,
    );
    await eventually(
      () => app.io.getEntitySubscriptions(onStrapi.id!).subscriptions?.length === 0,
      "the Strapi node to apply it",
    );
  });

  it("a content event is sanitized once on the Strapi node and delivered by audience room on both nodes", async () => {
    // The public role may read articles since the previous test.
    const onBoth = Promise.all([
      nextEvent<any>(onStrapi, "article:create"),
      nextEvent<any>(onPlain, "article:create"),
    ]);
    await app.strapi.documents(ARTICLE).create({
      data: { title: "Fresh", internalNotes: "never sent" },
      status: "published",
    });
    const [here, there] = await onBoth;
    assert.equal(here.data.title, "Fresh");
    assert.equal("internalNotes" in here.data, false);
    assert.deepEqual(there, here);
  });

  it("disconnectSocket() from the plain node on a Strapi socket gives the client the reason", async () => {
    const target = await sockets.connect();
    await eventually(
      () =>
        plain.call<EntitySubscriptionsResult>("getEntitySubscriptions", target.id).then((r) =>
          r.success
        ),
      "the plain node to know it",
    );
    const notice = nextEvent(target, "strapi-io:disconnect");
    assert.equal(await plain.call("disconnectSocket", target.id, "shutting down this shard"), true);
    assert.deepEqual(await notice, { reason: "shutting down this shard" });
  });

  it("strapi.destroy() closes the Strapi node's Redis connections", async () => {
    sockets.closeAll();
    clients.closeAll();
    destroyed = true;
    await app.destroy();
    await plain.close();
    assert.deepEqual(await redisClientNames(SHARED_REDIS_PORT, prefix), []);
  });
});
