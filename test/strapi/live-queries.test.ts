/**
 * Filtered subscriptions in a real Strapi 5.54.0: `subscribe` with a REST filter, checked for the socket's
 * own role (find permission, Strapi's content-API query validation), matching and leaving on create,
 * update, unpublish and delete, a relation filter, one event per change and socket (never also the
 * type-wide copy), and the limits.
 */
// Strapi objects and REST bodies cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import type { LiveQueryResult } from "../../lib/types.ts";
import { MARKER, request, until, untilMarker } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { eventually, grant, revoke, socketsFor } from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";
const CATEGORY = "api::category.category";
const TOKEN = "live-queries-metrics-token";

type Received = [event: string, payload: any];

/** Every event a socket receives (offsets dropped), for asserting the exact sequence. */
function record(socket: ClientSocket): Received[] {
  const received: Received[] = [];
  socket.onAny((event: string, payload: unknown) => {
    if (event !== MARKER) received.push([event, payload]);
  });
  return received;
}

/** `[event, title or documentId, subscriptions]` of each received event. */
function summary(received: Received[]): unknown[] {
  return received.map(([event, payload]) => [
    event,
    payload?.data?.title ?? payload?.data?.documentId,
    payload?.subscriptions,
  ]);
}

describe("filtered subscriptions in Strapi", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;
  let news: { id: number; documentId: string };
  let sport: { id: number; documentId: string };

  before(async () => {
    app = await bootStrapi({
      transport: { type: "uws", port: 0, host: "127.0.0.1" },
      contentTypes: [ARTICLE],
      liveQueries: { maxPerSocket: 2 },
      metrics: { enabled: true, token: TOKEN },
    });
    sockets = socketsFor(app);
    await grant(app, "public", [`${ARTICLE}.find`, `${ARTICLE}.findOne`, `${CATEGORY}.find`]);
    const categories = app.strapi.documents(CATEGORY);
    news = await categories.create({ data: { name: "news" }, status: "published" });
    sport = await categories.create({ data: { name: "sport" }, status: "published" });
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  const articles = () => app.strapi.documents(ARTICLE);
  const create = (title: string, category?: { documentId: string }) =>
    articles().create({
      data: {
        title,
        internalNotes: "private",
        ...(category ? { category: category.documentId } : {}),
      },
      status: "published",
    });

  it("a matching change arrives once, with the subscription; a change leaving it arrives as :leave; others type-wide", async () => {
    const subscriber = await sockets.connect();
    const bystander = await sockets.connect();
    const ack = await request<LiveQueryResult>(subscriber, "subscribe", {
      uid: ARTICLE,
      filters: { title: { $startsWith: "Live" } },
    });
    assert.equal(ack.success, true, ack.error);
    const id = ack.subscription!;
    assert.match(id, /^q[0-9a-f]{24}$/);
    const received = [record(subscriber), record(bystander)];

    const live = await create("Live one");
    await create("Other one");
    const update = (title: string) =>
      articles().update({ documentId: live.documentId, data: { title }, status: "published" });
    await update("Live two");
    await update("Moved out");
    await update("Live again");
    await articles().delete({ documentId: live.documentId });
    // Content events go out after the commit, while the write returns: wait for them, then the marker.
    await until(() => received[0]!.length === 6 && received[1]!.length === 6, "the events arrived");
    await untilMarker(app.io, subscriber, bystander);

    assert.deepEqual(summary(received[0]!), [
      ["article:create", "Live one", [id]],
      ["article:create", "Other one", undefined],
      ["article:update", "Live two", [id]],
      ["article:leave", live.documentId, [id]],
      ["article:update", "Live again", [id]],
      ["article:leave", live.documentId, [id]],
    ]);
    assert.deepEqual(summary(received[1]!), [
      ["article:create", "Live one", undefined],
      ["article:create", "Other one", undefined],
      ["article:update", "Live two", undefined],
      ["article:update", "Moved out", undefined],
      ["article:update", "Live again", undefined],
      ["article:delete", live.documentId, undefined],
    ]);
    // The subscriber's copy is sanitized for its role like the type-wide one: no private field.
    assert.equal("internalNotes" in received[0]![0]![1].data, false);
    assert.deepEqual(Object.keys(received[0]![3]![1].data).sort(), ["documentId", "id"]);
  });

  it("overlapping subscriptions: one event listing every one that matched; a relation filter works", async () => {
    const socket = await sockets.connect();
    const byTitle = await request<LiveQueryResult>(socket, "subscribe", {
      uid: ARTICLE,
      filters: { title: { $contains: "match" } },
    });
    const byCategory = await request<LiveQueryResult>(socket, "subscribe", {
      uid: ARTICLE,
      filters: { category: { name: { $eq: "news" } } },
    });
    assert.equal(byTitle.success && byCategory.success, true);
    const received = record(socket);
    await create("match in news", news);
    await create("match in sport", sport);
    await create("plain news", news);
    // Content events go out after the commit, while the write returns: wait for them, then the marker.
    await until(() => received.length === 3, "the events arrived");
    await untilMarker(app.io, socket);
    assert.deepEqual(summary(received), [
      ["article:create", "match in news", [byTitle.subscription, byCategory.subscription]],
      ["article:create", "match in sport", [byTitle.subscription]],
      ["article:create", "plain news", [byCategory.subscription]],
    ]);
  });

  it("two sockets with the same filter share one subscription id", async () => {
    const [a, b] = await Promise.all([sockets.connect(), sockets.connect()]);
    const filters = { title: { $eq: "shared" } };
    const [first, second] = await Promise.all(
      [a, b].map((socket) =>
        request<LiveQueryResult>(socket, "subscribe", { uid: ARTICLE, filters })
      ),
    );
    assert.equal(first!.subscription, second!.subscription);
    const scrape = await app.io.answerOperations("metrics", `Bearer ${TOKEN}`);
    const text = (await scrape!).body;
    const gauge = (name: string) =>
      Number(text.split("\n").find((line) => line.startsWith(`${name} `))?.split(" ")[1]);
    assert.ok(gauge("strapi_io_filtered_subscriptions") >= 2);
    assert.ok(gauge("strapi_io_filtered_queries") >= 1);
  });

  it("unpublishing a matching document sends :leave; publishing it again, the publish event", async () => {
    const socket = await sockets.connect();
    const { subscription } = await request<LiveQueryResult>(socket, "subscribe", {
      uid: ARTICLE,
      filters: { title: { $eq: "Toggled" } },
    });
    const received = record(socket);
    const toggled = await create("Toggled");
    await articles().unpublish({ documentId: toggled.documentId });
    await articles().publish({ documentId: toggled.documentId });
    // Content events go out after the commit, while the write returns: wait for them, then the marker.
    await until(() => received.length === 3, "the events arrived");
    await untilMarker(app.io, socket);
    assert.deepEqual(summary(received), [
      ["article:create", "Toggled", [subscription]],
      ["article:leave", toggled.documentId, [subscription]],
      ["article:publish", "Toggled", [subscription]],
    ]);
  });

  it("refuses filters on a private field, on a password, and on a relation the role may not read", async () => {
    const socket = await sockets.connect();
    for (
      const filters of [
        { internalNotes: { $eq: "private" } },
        { author: { password: { $startsWith: "$2" } } },
        { author: { username: { $eq: "admin" } } },
      ]
    ) {
      const answer = await request<LiveQueryResult>(socket, "subscribe", { uid: ARTICLE, filters });
      assert.equal(answer.success, false, JSON.stringify(filters));
      assert.match(answer.error ?? "", /Invalid filters/);
    }
  });

  it("refuses a type the role may not find, unsupported keys, hostile shapes, and past the limit", async () => {
    const socket = await sockets.connect();
    const ask = (body: unknown) => request<LiveQueryResult>(socket, "subscribe", body);
    assert.match(
      (await ask({ uid: "plugin::users-permissions.user" })).error ?? "",
      /content type/,
    );
    assert.match((await ask({ uid: "api::page.page" })).error ?? "", /may not find/);
    assert.match((await ask({ uid: ARTICLE, sort: "title" })).error ?? "", /not supported/);
    assert.match((await ask({ uid: ARTICLE, fields: "title" })).error ?? "", /'fields' must be/);
    assert.match(
      (await ask({ uid: ARTICLE, fields: ["internalNotes"] })).error ?? "",
      /Invalid fields/,
    );
    assert.match((await ask({ uid: ARTICLE, snapshot: { limit: 1000 } })).error ?? "", /1 to 100/);
    assert.match((await ask({ uid: ARTICLE, filters: [] })).error ?? "", /must be an object/);
    let deep: Record<string, unknown> = { $eq: 1 };
    for (let level = 0; level < 2000; level += 1) deep = { title: deep };
    assert.match((await ask({ uid: ARTICLE, filters: deep })).error ?? "", /deeper/);
    assert.equal((await ask(null)).success, false);
    assert.equal((await ask({ uid: ARTICLE, filters: { title: { $eq: "1" } } })).success, true);
    assert.equal((await ask({ uid: ARTICLE, filters: { title: { $eq: "2" } } })).success, true);
    assert.match(
      (await ask({ uid: ARTICLE, filters: { title: { $eq: "3" } } })).error ?? "",
      /at most 2 per socket/,
    );
  });

  it("a subscription comes back with a recovered socket, with what matched while it was away", async () => {
    const socket = await sockets.connect();
    const { subscription } = await request<LiveQueryResult>(socket, "subscribe", {
      uid: ARTICLE,
      filters: { title: { $eq: "While away" } },
    });
    const received = record(socket);
    const id = socket.id!;
    socket.io.engine.close();
    await eventually(() => !app.io.server.sockets.sockets.has(id), "the server saw the drop");
    await create("While away");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("connect_error", reject);
      socket.connect();
    });
    assert.equal(socket.recovered, true);
    await create("While away");
    // Content events go out after the commit, while the write returns: wait for them, then the marker.
    await until(() => received.length === 2, "the events arrived");
    await untilMarker(app.io, socket);
    assert.deepEqual(summary(received), [
      ["article:create", "While away", [subscription]],
      ["article:create", "While away", [subscription]],
    ]);
    assert.equal(app.io.getSubscriptions(id).subscriptions?.[0]?.id, subscription);
  });

  it("snapshot: the acknowledgement carries the matching documents (sanitized, paginated like REST) before any event", async () => {
    await create("Snap b");
    await create("Snap a");
    await create("Snap c");
    const socket = await sockets.connect();
    const log: unknown[] = [];
    socket.onAny((event: string, payload: any) => {
      if (event !== MARKER) log.push([event, payload?.data?.title, payload?.subscriptions]);
    });
    // A write racing the snapshot: committed while it is read or just after.
    const [ack] = await Promise.all([
      request<LiveQueryResult>(socket, "subscribe", {
        uid: ARTICLE,
        filters: { title: { $startsWith: "Snap" } },
        snapshot: { limit: 2, sort: "title:asc" },
      }).then((answer) => {
        log.push(["ack"]);
        return answer;
      }),
      create("Snap racing"),
    ]);
    const racingEvent = () =>
      log.some((entry) =>
        (entry as unknown[])[1] === "Snap racing" && (entry as unknown[])[2] !== undefined
      );
    // Content events go out after the commit, while the write returns: wait for it, then the marker.
    await until(
      () => ack.snapshot?.meta.pagination.total === 4 || racingEvent(),
      "the racing write is in the snapshot or arrived",
    );
    await untilMarker(app.io, socket);
    assert.equal(ack.success, true, ack.error);
    const snapshot = ack.snapshot!;
    assert.deepEqual(snapshot.data.map((document) => document.title), ["Snap a", "Snap b"]);
    assert.equal(snapshot.data.some((document) => "internalNotes" in document), false);
    assert.equal(snapshot.meta.pagination.pageSize, 2);
    assert.ok(snapshot.meta.pagination.total >= 3);
    // The racing write is either in the snapshot, or arrives once, for the subscription, after the
    // acknowledgement (committed before the subscription started, it came type-wide: no subscriptions).
    const ackAt = log.findIndex((entry) => (entry as unknown[])[0] === "ack");
    const forSubscription = log.flatMap((entry, index) =>
      (entry as unknown[])[1] === "Snap racing" && (entry as unknown[])[2] !== undefined
        ? [[index, (entry as unknown[])[2]]]
        : []
    );
    const inSnapshot = snapshot.meta.pagination.total === 4;
    assert.equal(forSubscription.length, inSnapshot ? 0 : 1, "in the snapshot or sent once");
    for (const [index, subscriptions] of forSubscription) {
      assert.ok((index as number) > ackAt, "after the acknowledgement");
      assert.deepEqual(subscriptions, [ack.subscription]);
    }
    assert.match(
      (await request<LiveQueryResult>(socket, "subscribe", {
        uid: ARTICLE,
        snapshot: { sort: "internalNotes:asc" },
      })).error ?? "",
      /Invalid sort/,
    );
  });

  it("fields and populate shape the subscription's events and snapshot as REST would, for the role", async () => {
    await create("Shaped before", news);
    const socket = await sockets.connect();
    const ack = await request<LiveQueryResult>(socket, "subscribe", {
      uid: ARTICLE,
      filters: { title: { $startsWith: "Shaped" } },
      fields: ["title"],
      populate: ["category", "author"],
      snapshot: {},
    });
    assert.equal(ack.success, true, ack.error);
    const received = record(socket);
    await create("Shaped after", sport);
    // Content events go out after the commit, while the write returns: wait for this one. (The event of
    // "Shaped before" may come too, if its commit raced the subscription: the snapshot shows it anyway.)
    const after = () => received.find(([, payload]) => payload?.data?.title === "Shaped after");
    await until(() => after() !== undefined, "the event arrived");
    await untilMarker(app.io, socket);
    assert.equal(
      received.filter(([, payload]) => payload?.data?.title === "Shaped after").length,
      1,
    );
    const [event, payload] = after()!;
    assert.equal(event, "article:create");
    assert.deepEqual(payload.subscriptions, [ack.subscription]);
    for (const data of [ack.snapshot!.data[0]!, payload.data]) {
      // Only the asked fields (and the ids REST always returns), the readable relation, not `author`
      // (the public role may not read users: REST drops that populate too).
      assert.deepEqual(Object.keys(data).sort(), ["category", "documentId", "id", "title"]);
      assert.equal(typeof (data.category as { name?: unknown }).name, "string");
    }
    assert.equal((payload.data.category as { name: string }).name, "sport");
  });

  it("unsubscribe stops the subscription's events (the type-wide stream goes on)", async () => {
    const socket = await sockets.connect();
    const { subscription } = await request<LiveQueryResult>(socket, "subscribe", {
      uid: ARTICLE,
      filters: { title: { $eq: "Quiet" } },
    });
    assert.deepEqual(await request(socket, "unsubscribe", { subscription }), {
      success: true,
      subscription,
    });
    const received = record(socket);
    await create("Quiet");
    // Content events go out after the commit, while the write returns: wait for them, then the marker.
    await until(() => received.length === 1, "the events arrived");
    await untilMarker(app.io, socket);
    assert.deepEqual(summary(received), [["article:create", "Quiet", undefined]]);
    assert.deepEqual(app.io.getSubscriptions(socket.id!), { success: true, subscriptions: [] });
  });

  it("a subscription whose filter the role may no longer use ends, and its socket is told (last: it revokes)", async () => {
    const socket = await sockets.connect();
    const { subscription } = await request<LiveQueryResult>(socket, "subscribe", {
      uid: ARTICLE,
      filters: { category: { name: { $eq: "news" } } },
    });
    const ended = new Promise<{ subscription: string; error: string }>((resolve) =>
      socket.once("strapi-io:subscription-ended", resolve)
    );
    await revoke(app, "public", [`${CATEGORY}.find`]);
    const notice = await ended;
    assert.equal(notice.subscription, subscription);
    assert.match(notice.error, /Invalid filters/);
    assert.deepEqual(app.io.getSubscriptions(socket.id!), { success: true, subscriptions: [] });
    await grant(app, "public", [`${CATEGORY}.find`]);
  });
});
