/**
 * Entity subscriptions in a real Strapi 5.54.0, under the `action` emit rule (where followers matter most:
 * a role that may read an entity but lacks the action's permission hears of that entity only through its
 * subscription).
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import type { EntitySubscriptionResult, EntitySubscriptionsResult } from "../../lib/types.ts";
import { collect, nextEvent, request, untilMarker } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import {
  createToken,
  createUser,
  eventually,
  grant,
  rest,
  socketsFor,
} from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";
const CATEGORY = "api::category.category";

describe("entity subscriptions (emitPermission: 'action')", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;
  let fullAccess: string;
  let reader: ClientSocket; // public: findOne on articles only
  let editor: ClientSocket; // authenticated: find, findOne, update on articles
  let article: { id: number; documentId: string };

  before(async () => {
    app = await bootStrapi({
      transport: { type: "uws", port: 0, host: "127.0.0.1" },
      emitPermission: "action",
      entitySubscriptions: { maxPerSocket: 2 },
    });
    sockets = socketsFor(app);
    await grant(app, "public", [`${ARTICLE}.findOne`]);
    await grant(app, "authenticated", [
      `${ARTICLE}.find`,
      `${ARTICLE}.findOne`,
      `${ARTICLE}.update`,
    ]);
    fullAccess = (await createToken(app, "full-access")).accessKey;
    reader = await sockets.connect();
    editor = await sockets.connect({ token: (await createUser(app)).jwt });
    const created = await rest(app, "POST", "/api/articles", {
      data: { title: "Followed", internalNotes: "private" },
    }, fullAccess);
    article = { id: created.json.data.id, documentId: created.json.data.documentId };
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  it("subscribe-entity checks the entity exists and the socket's role may findOne it", async () => {
    const ok = await request<EntitySubscriptionResult>(reader, "subscribe-entity", {
      uid: ARTICLE,
      id: article.documentId,
    });
    assert.deepEqual(ok, {
      success: true,
      room: `entity:${ARTICLE}:${article.documentId}`,
      uid: ARTICLE,
      id: article.documentId,
    });

    const missing = await request<EntitySubscriptionResult>(reader, "subscribe-entity", {
      uid: ARTICLE,
      id: "nope",
    });
    assert.equal(missing.success, false);
    assert.match(missing.error!, /Not found/);

    const forbidden = await request<EntitySubscriptionResult>(reader, "subscribe-entity", {
      uid: CATEGORY,
      id: "x",
    });
    assert.equal(forbidden.success, false);
    assert.match(forbidden.error!, /Forbidden/);

    const unknownType = await request<EntitySubscriptionResult>(reader, "subscribe-entity", {
      uid: "api::nope.nope",
      id: "x",
    });
    assert.match(unknownType.error!, /Unknown content type/);

    const malformed = await request<EntitySubscriptionResult>(reader, "subscribe-entity", {
      uid: 42,
    });
    assert.equal(malformed.success, false);
  });

  it("a numeric id resolves to the documentId", async () => {
    const result = await request<EntitySubscriptionResult>(editor, "subscribe-entity", {
      uid: ARTICLE,
      id: article.id,
    });
    assert.equal(result.success, true);
    assert.equal(result.id, article.documentId);
    const listed = await request<EntitySubscriptionsResult>(editor, "get-entity-subscriptions");
    assert.deepEqual(listed.subscriptions?.map(({ id }) => id), [article.documentId]);
  });

  it("a follower without the action's permission gets that entity's events, sanitized, once", async () => {
    const readerEvents = collect<any>(reader, "article:update");
    const editorEvents = collect<any>(editor, "article:update");
    await rest(
      app,
      "PUT",
      `/api/articles/${article.documentId}`,
      { data: { title: "Changed" } },
      fullAccess,
    );
    await eventually(
      () => readerEvents.length === 1 && editorEvents.length === 1,
      "one update each",
    );
    // One emit() sends every copy at once: a second copy to either socket would be on the way already.
    await untilMarker(app.io, reader, editor);
    assert.equal(readerEvents.length, 1, "the reader hears of it through its subscription only");
    assert.equal(editorEvents.length, 1, "the editor (stream and subscription) hears of it once");
    assert.equal(readerEvents[0].data.title, "Changed");
    assert.equal("internalNotes" in readerEvents[0].data, false);
  });

  it("without a subscription, the action rule keeps readers out of the stream", async () => {
    const other = await rest(
      app,
      "POST",
      "/api/articles",
      { data: { title: "Not followed" } },
      fullAccess,
    );
    const readerEvents = collect(reader, "article:update");
    const forEditor = nextEvent<any>(editor, "article:update"); // the stream (update permission) does carry it
    await rest(app, "PUT", `/api/articles/${other.json.data.documentId}`, {
      data: { title: "Changed too" },
    }, fullAccess);
    assert.equal((await forEditor).data.title, "Changed too");
    // One emit() sends every audience its copy at once: the reader's would be on the way already.
    await untilMarker(app.io, reader);
    assert.deepEqual(readerEvents, []);
  });

  it("emitToEntity() reaches the subscribers; getEntityRoomSockets() lists them with their user", async () => {
    const got = nextEvent(reader, "custom");
    app.io.emitToEntity(ARTICLE, article.documentId, "custom", { hello: 1 });
    assert.deepEqual(await got, { hello: 1 }, "by documentId");
    // Under Draft & Publish, each publish writes a new published row: read the current numeric id.
    const { id: currentId } = await app.strapi.db.query(ARTICLE).findOne({
      where: { documentId: article.documentId, publishedAt: { $notNull: true } },
    });
    const viaNumericId = nextEvent(reader, "custom");
    app.io.emitToEntity(ARTICLE, currentId, "custom", { hello: 2 });
    assert.deepEqual(await viaNumericId, { hello: 2 });
    const listed = await app.io.getEntityRoomSockets(ARTICLE, article.documentId);
    assert.deepEqual(listed.map(({ id }) => id).sort(), [reader.id, editor.id].sort());
    assert.equal(listed.find(({ id }) => id === reader.id)?.user, null);
  });

  it("the per-socket limit holds", async () => {
    const second = await rest(
      app,
      "POST",
      "/api/articles",
      { data: { title: "Second" } },
      fullAccess,
    );
    const third = await rest(
      app,
      "POST",
      "/api/articles",
      { data: { title: "Third" } },
      fullAccess,
    );
    assert.equal(
      (await app.io.subscribeToEntity(reader.id!, ARTICLE, second.json.data.documentId)).success,
      true,
    );
    const over = await app.io.subscribeToEntity(reader.id!, ARTICLE, third.json.data.documentId);
    assert.equal(over.success, false);
    assert.match(over.error!, /limit/);
  });

  it("unsubscribe-entity stops the entity's events", async () => {
    const result = await request<EntitySubscriptionResult>(reader, "unsubscribe-entity", {
      uid: ARTICLE,
      id: article.documentId,
    });
    assert.equal(result.success, true);
    const readerEvents = collect(reader, "article:update");
    const forEditor = nextEvent<any>(editor, "article:update"); // the stream (update permission) does carry it
    await rest(
      app,
      "PUT",
      `/api/articles/${article.documentId}`,
      { data: { title: "Unfollowed" } },
      fullAccess,
    );
    assert.equal((await forEditor).data.title, "Unfollowed");
    // One emit() sends every audience its copy at once: the reader's would be on the way already.
    await untilMarker(app.io, reader);
    assert.deepEqual(readerEvents, []);
  });
});
