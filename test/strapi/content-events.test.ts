/**
 * Content events in a real Strapi 5.54.0: who receives what when documents change over REST and through
 * the Document Service, and that nobody receives a field or a document they could not read over REST.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import { collect, nextEvent, untilMarker } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import {
  createRole,
  createToken,
  createUser,
  eventually,
  grant,
  rest,
  revoke,
  socketsFor,
} from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";
const CATEGORY = "api::category.category";
const CONTACT = "api::contact-message.contact-message";
const USER = "plugin::users-permissions.user";
const HEADLINE = "api::headline.headline"; // localized (i18n), Draft & Publish, populated with "*"

/**
 * Sends one more `article:update` down the path every content event ends on (`$io.emit()`) and waits until
 * `socket` has it. A content event a change had already sent down that path started before it, so has
 * arrived by then too: what `socket` has not received by then, it was not sent.
 */
async function afterEmitsInFlight(app: BootedStrapi, socket: ClientSocket): Promise<void> {
  const marker = nextEvent(socket, "article:update");
  await app.io.emit({ event: "update", schema: ARTICLE, data: { documentId: "marker" } });
  assert.deepEqual(await marker, { data: { documentId: "marker" } });
}

describe("content events (read rule, the default)", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;
  let fullAccess: string;
  let anonymous: ClientSocket; // public role: find/findOne on articles, create on contact messages
  let member: ClientSocket; // authenticated role: articles + categories
  let writer: ClientSocket; // a role that may create articles but not read them
  let readOnly: ClientSocket; // read-only API token
  let customNoRead: ClientSocket; // custom token allowed to create articles only
  let categoryId: number;
  let authorId: number;

  before(async () => {
    app = await bootStrapi({
      transport: { type: "uws", port: 0, host: "127.0.0.1" },
      contentTypes: [{ uid: ARTICLE, populate: ["category", "author"] }, CATEGORY, CONTACT, {
        uid: HEADLINE,
        populate: "*",
      }],
    });
    sockets = socketsFor(app);
    await grant(app, "public", [
      `${ARTICLE}.find`,
      `${ARTICLE}.findOne`,
      `${CONTACT}.create`,
      `${HEADLINE}.find`,
    ]);
    await grant(app, "authenticated", [
      `${ARTICLE}.find`,
      `${CATEGORY}.find`,
      `${CATEGORY}.findOne`,
    ]);
    await createRole(app, "writer", [`${ARTICLE}.create`]);
    fullAccess = (await createToken(app, "full-access")).accessKey;
    const memberUser = await createUser(app, "authenticated");
    authorId = memberUser.id;
    const writerUser = await createUser(app, "writer");
    anonymous = await sockets.connect();
    member = await sockets.connect({ token: memberUser.jwt });
    writer = await sockets.connect({ token: writerUser.jwt });
    readOnly = await sockets.connect({ token: (await createToken(app, "read-only")).accessKey });
    customNoRead = await sockets.connect({
      token: (await createToken(app, "custom", [`${ARTICLE}.create`])).accessKey,
    });
    categoryId =
      (await app.strapi.documents(CATEGORY).create({ data: { name: "News", budget: 1000 } })).id;
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  it("a REST create reaches each reader once, sanitized for it, and no one without read access", async () => {
    const seenByWriter = collect(writer, "article:create");
    const seenByCustom = collect(customNoRead, "article:create");
    const events = [anonymous, member, readOnly].map((socket) =>
      nextEvent<any>(socket, "article:create")
    );
    const created = await rest(app, "POST", "/api/articles", {
      data: {
        title: "Hello",
        body: "World",
        internalNotes: "do not leak",
        category: categoryId,
        author: authorId,
      },
    }, fullAccess);
    assert.equal(created.status, 201);
    const [forPublic, forMember, forReadOnly] = await Promise.all(events);
    const { documentId } = created.json.data;

    for (const payload of [forPublic, forMember, forReadOnly]) {
      assert.deepEqual(Object.keys(payload), ["data"], "payloads have REST's { data } shape");
      assert.equal(payload.data.documentId, documentId);
      assert.equal(payload.data.title, "Hello");
      assert.equal("internalNotes" in payload.data, false, "private fields never leave the server");
      assert.ok(
        payload.data.publishedAt,
        "a REST create on a Draft & Publish type is the published version",
      );
    }
    // The public role may not read categories or users: both relations are removed, as REST removes them.
    assert.equal("category" in forPublic.data, false);
    assert.equal("author" in forPublic.data, false);
    // Members may read categories (without the private budget), not users.
    assert.deepEqual(
      { name: forMember.data.category.name, budget: forMember.data.category.budget },
      { name: "News", budget: undefined },
    );
    assert.equal("author" in forMember.data, false);
    // A read-only token reads every type, but still never private or password fields of the author.
    assert.equal(forReadOnly.data.author.id, authorId);
    for (const secret of ["password", "resetPasswordToken", "confirmationToken"]) {
      assert.equal(secret in forReadOnly.data.author, false);
    }

    // One emit() sends every audience its copy at once: the readers have theirs, so the others' would be on the way.
    await untilMarker(app.io, writer, customNoRead);
    assert.deepEqual(seenByWriter, [], "a role that may create but not read receives nothing");
    assert.deepEqual(seenByCustom, [], "a token that may create but not read receives nothing");
  });

  it("each payload matches what the same role reads over REST", async () => {
    const event = nextEvent<any>(anonymous, "article:create");
    const created = await rest(app, "POST", "/api/articles", {
      data: { title: "Same as REST", internalNotes: "x", category: categoryId },
    }, fullAccess);
    const pushed = await event;
    const fetched = await rest(
      app,
      "GET",
      `/api/articles/${created.json.data.documentId}?populate[0]=category&populate[1]=author`,
    );
    assert.equal(fetched.status, 200);
    assert.deepEqual(pushed.data, fetched.json.data);
  });

  it("a public contact form does not broadcast submissions to the public that sent them", async () => {
    const seen = collect(anonymous, "contact-message:create");
    const forReadOnly = nextEvent(readOnly, "contact-message:create"); // a token that may read them does get it
    const posted = await rest(app, "POST", "/api/contact-messages", {
      data: { email: "a@b.test", message: "hi" },
    });
    assert.equal(posted.status, 201);
    await forReadOnly;
    await untilMarker(app.io, anonymous);
    assert.deepEqual(seen, []);
  });

  it("a draft is not pushed; publishing is one publish event; unpublish and delete carry identifiers only; a never-published delete is silent", async () => {
    const documents = app.strapi.documents(ARTICLE);
    const seen: Array<[string, any]> = [];
    anonymous.onAny((event, payload) =>
      event.startsWith("article:") && seen.push([event, payload])
    );
    try {
      const draft = await documents.create({ data: { title: "Draft", internalNotes: "n" } });
      await documents.update({ documentId: draft.documentId, data: { title: "Draft 2" } });

      // Each change's event is sent in the order of the changes (its refetch queues behind the earlier ones'):
      // an event for a draft would arrive before the publish event, one more for the publish before the unpublish.
      await documents.publish({ documentId: draft.documentId });
      await eventually(() => seen.length >= 1, "the publish event");
      assert.deepEqual(seen.map(([event]) => event), ["article:publish"], "drafts are not pushed");
      assert.equal(seen[0]![1].data.title, "Draft 2");

      await documents.unpublish({ documentId: draft.documentId });
      await eventually(() => seen.length >= 2, "the unpublish event");
      assert.deepEqual(
        seen.map(([event]) => event),
        ["article:publish", "article:unpublish"],
        "one publish, no create + delete pair",
      );
      assert.deepEqual(seen[1], ["article:unpublish", {
        data: { id: seen[0]![1].data.id, documentId: draft.documentId },
      }]);

      await documents.publish({ documentId: draft.documentId });
      await documents.delete({ documentId: draft.documentId });
      await eventually(() => seen.length >= 4, "publish and delete");
      assert.deepEqual(seen.slice(2).map(([event]) => event), [
        "article:publish",
        "article:delete",
      ]);
      assert.deepEqual(seen[3], ["article:delete", {
        data: { id: seen[2]![1].data.id, documentId: draft.documentId },
      }], "the id readers knew: the published one");

      // A document deleted while only a draft was never visible to readers: nothing to tell them.
      const unseen = await documents.create({ data: { title: "Never published" } });
      await documents.delete({ documentId: unseen.documentId });
      // A change made afterwards: its event would follow the delete's.
      const later = await documents.create({
        data: { title: "Published afterwards" },
        status: "published",
      });
      await eventually(() => seen.length >= 5, "the event of the change made afterwards");
      assert.deepEqual(seen.slice(4).map(([event, { data }]) => [event, data.documentId]), [[
        "article:create",
        later.documentId,
      ]]);
    } finally {
      anonymous.offAny();
    }
  });

  it("events are sent only after the enclosing transaction commits, one per document, none on rollback", async () => {
    const documents = app.strapi.documents(ARTICLE);
    const created = collect(anonymous, "article:create");
    const a = await documents.create({ data: { title: "A" }, status: "published" });
    const b = await documents.create({ data: { title: "B" }, status: "published" });
    await eventually(() => created.length === 2, "both create events");
    const deleted = collect<any>(anonymous, "article:delete");
    // As the admin's bulk delete does: several deletes in one transaction.
    await app.strapi.db.transaction(async () => {
      await Promise.all([a, b].map(({ documentId }) => documents.delete({ documentId })));
      await afterEmitsInFlight(app, anonymous);
      assert.deepEqual(deleted, [], "nothing is sent before the commit");
    });
    await eventually(() => deleted.length === 2, "two delete events");
    assert.deepEqual(
      deleted.map((payload) => payload.data.documentId).sort(),
      [a.documentId, b.documentId].sort(),
    );

    const createdC = nextEvent(anonymous, "article:create");
    const c = await documents.create({ data: { title: "C" }, status: "published" });
    await createdC;
    const afterRollback = collect(anonymous, "article:delete");
    await assert.rejects(app.strapi.db.transaction(async () => {
      await documents.delete({ documentId: c.documentId });
      throw new Error("roll back");
    }));
    await afterEmitsInFlight(app, anonymous);
    assert.deepEqual(afterRollback, [], "a rolled-back delete is not announced");
  });

  it("a permission granted or revoked at run time applies to the next event", async () => {
    const writerEvents = collect<any>(writer, "article:create");
    await grant(app, "writer", [`${ARTICLE}.findOne`]);
    await rest(app, "POST", "/api/articles", { data: { title: "Now visible" } }, fullAccess);
    await eventually(() => writerEvents.length === 1, "the event after the grant");
    assert.equal(writerEvents[0].data.title, "Now visible");

    await revoke(app, "writer", [`${ARTICLE}.findOne`]);
    const seenByPublic = collect<any>(anonymous, "article:create");
    await rest(app, "POST", "/api/articles", { data: { title: "Hidden again" } }, fullAccess);
    // One emit() sends every audience its copy at once: the public has its copy, so the writer's would be on the way.
    await eventually(
      () => seenByPublic.some((payload) => payload.data.title === "Hidden again"),
      "the public's copy",
    );
    await untilMarker(app.io, writer);
    assert.equal(writerEvents.length, 1, "no event after the revoke");
  });

  it("a relation becomes visible when its type's find permission is granted", async () => {
    await grant(app, "public", [`${CATEGORY}.find`]);
    try {
      const event = nextEvent<any>(anonymous, "article:create");
      await rest(app, "POST", "/api/articles", {
        data: { title: "With category", category: categoryId },
      }, fullAccess);
      assert.equal((await event).data.category.name, "News");
    } finally {
      await revoke(app, "public", [`${CATEGORY}.find`]);
    }
  });

  it("$io.emit() sanitizes data the server passes in, per audience", async () => {
    const event = nextEvent<any>(anonymous, "article:update");
    const members = nextEvent<any>(member, "article:update");
    await app.io.emit({
      event: "update",
      schema: ARTICLE,
      data: { id: 1, documentId: "abc", title: "T", internalNotes: "secret" },
    });
    assert.deepEqual(await event, { data: { id: 1, documentId: "abc", title: "T" } });
    assert.deepEqual(await members, { data: { id: 1, documentId: "abc", title: "T" } });
    await assert.rejects(
      app.io.emit({ event: "update", schema: "api::nope.nope", data: {} }),
      TypeError,
    );
  });

  it("events of a type nobody may read reach nobody; user documents never leak", async () => {
    const seen = [anonymous, member, readOnly].map((socket) => collect(socket, "user:update"));
    await app.io.emit({
      event: "update",
      schema: USER,
      data: { id: authorId, username: "x", password: "hash" },
    });
    await untilMarker(app.io, anonymous, member, readOnly);
    assert.deepEqual(seen[0], []);
    assert.deepEqual(seen[1], []);
    // The read-only token may read users over REST (find), but never the password.
    assert.deepEqual(seen[2], [{ data: { id: authorId, username: "x" } }]);
  });

  it("localized documents: each locale's event carries its locale, populated, and deleting a document announces every locale", async () => {
    await app.strapi.plugin("i18n").service("locales").create({ code: "fr", name: "French (fr)" });
    const documents = app.strapi.documents(HEADLINE);
    const seen: Array<[string, any]> = [];
    anonymous.onAny((event, payload) =>
      event.startsWith("headline:") && seen.push([event, payload])
    );
    try {
      const english = await documents.create({
        data: { text: "Hello", category: categoryId },
        locale: "en",
        status: "published",
      });
      await documents.update({
        documentId: english.documentId,
        locale: "fr",
        data: { text: "Bonjour" },
        status: "published",
      });
      await eventually(() => seen.length === 2, "the create and the French version");
      assert.deepEqual(seen.map(([event, { data }]) => [event, data.locale, data.text]), [[
        "headline:create",
        "en",
        "Hello",
      ], ["headline:update", "fr", "Bonjour"]]);
      assert.equal(
        "category" in seen[0]![1].data,
        false,
        "populate '*' still removes relations the role cannot read",
      );

      await documents.unpublish({ documentId: english.documentId, locale: "fr" });
      await eventually(() => seen.length === 3, "the French unpublish");
      assert.deepEqual(seen[2], ["headline:unpublish", {
        data: { id: seen[1]![1].data.id, documentId: english.documentId, locale: "fr" },
      }]);

      await documents.delete({ documentId: english.documentId, locale: "*" });
      await eventually(() => seen.length === 4, "the delete");
      await afterEmitsInFlight(app, anonymous);
      // The French version was only a draft by then: readers only hear of the English one going.
      assert.deepEqual(seen.slice(3), [["headline:delete", {
        data: { id: seen[0]![1].data.id, documentId: english.documentId, locale: "en" },
      }]]);
    } finally {
      anonymous.offAny();
    }
  });
});
