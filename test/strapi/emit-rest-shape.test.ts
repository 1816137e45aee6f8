/**
 * `$io.emit()` in a real Strapi 5.54.0 delivers only what REST could return for the type: whatever the
 * server puts in `data` besides the type's attributes (a user row under `owner`, inside a relation, a
 * component, a dynamic zone or a media file) reaches no reader, and a schema object that contradicts itself
 * is refused before anything is sent.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import { MAX_DEPTH } from "../../lib/strapi/rest-shape.ts";
import type { ContentTypeSchema } from "../../lib/types.ts";
import { nextEvent } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { createToken, createUser, grant, rest, socketsFor } from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";
const CATEGORY = "api::category.category";
const HEADLINE = "api::headline.headline"; // localized: `localizations` is a public relation to itself
const PAGE = "api::page.page"; // component `seo`, dynamic zone `blocks`, media `cover`, relation `category`
const USER = "plugin::users-permissions.user";
const FILE = "plugin::upload.file";

let markers = 0;

/**
 * Sends a `marker` event to every socket (after whatever the test did) and resolves, per socket, with the
 * events it received before it: Socket.IO keeps per-socket order, so nothing sent earlier is still coming.
 */
function markerFor(
  app: BootedStrapi,
  sockets: ClientSocket[],
): { send(): Promise<void>; arrived: Promise<Array<Array<[string, unknown]>>> } {
  markers += 1;
  const id = markers;
  const arrived = Promise.all(sockets.map((socket) => eventsBeforeMarker(socket, id)));
  return { send: () => app.io.raw({ event: "marker", data: id }), arrived };
}

function eventsBeforeMarker(
  socket: ClientSocket,
  id: number,
  ms = 3000,
): Promise<Array<[string, unknown]>> {
  return new Promise((resolve, reject) => {
    const seen: Array<[string, unknown]> = [];
    const timer = setTimeout(() => {
      socket.offAny(listener);
      reject(new Error("timed out waiting for the marker"));
    }, ms);
    const listener = (event: string, payload: unknown) => {
      if (event !== "marker" || payload !== id) return void seen.push([event, payload]);
      clearTimeout(timer);
      socket.offAny(listener);
      resolve(seen);
    };
    socket.onAny(listener);
  });
}

describe("emit() delivers only what REST could return for the type", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;
  let anonymous: ClientSocket; // public: articles, pages, headlines
  let member: ClientSocket; // authenticated: articles, categories, pages
  let readOnly: ClientSocket; // read-only API token: every type, users included
  let fullAccess: ClientSocket; // full-access API token
  let readers: ClientSocket[];
  let credentials: Map<ClientSocket, string | undefined>;
  /** A raw users-permissions row: password hash, e-mail, reset token. */
  let userRow: Record<string, unknown>;
  let categoryRow: Record<string, unknown>;
  let fileRow: Record<string, unknown>;

  before(async () => {
    // No automatic content events: every event in this file is an explicit emit().
    app = await bootStrapi({
      transport: { type: "uws", port: 0, host: "127.0.0.1" },
      contentTypes: [],
    });
    sockets = socketsFor(app);
    await grant(app, "public", [
      `${ARTICLE}.find`,
      `${ARTICLE}.findOne`,
      `${PAGE}.find`,
      `${PAGE}.findOne`,
      `${HEADLINE}.find`,
    ]);
    await grant(app, "authenticated", [
      `${ARTICLE}.find`,
      `${CATEGORY}.find`,
      `${CATEGORY}.findOne`,
      `${PAGE}.find`,
      `${PAGE}.findOne`,
    ]);
    const user = await createUser(app, "authenticated");
    const readOnlyKey = (await createToken(app, "read-only")).accessKey;
    const fullAccessKey = (await createToken(app, "full-access")).accessKey;
    anonymous = await sockets.connect();
    member = await sockets.connect({ token: user.jwt });
    readOnly = await sockets.connect({ token: readOnlyKey });
    fullAccess = await sockets.connect({ token: fullAccessKey });
    readers = [anonymous, member, readOnly, fullAccess];
    credentials = new Map([[anonymous, undefined], [member, user.jwt], [readOnly, readOnlyKey], [
      fullAccess,
      fullAccessKey,
    ]]);

    userRow = await app.strapi.db.query(USER).findOne({
      where: { id: user.id },
      populate: ["role"],
    });
    assert.ok(
      typeof userRow.password === "string" && typeof userRow.email === "string",
      "the row carries what must not leak",
    );
    categoryRow = await app.strapi.documents(CATEGORY).create({
      data: { name: "News", budget: 1000 },
    });
    fileRow = await app.strapi.db.query(FILE).create({
      data: {
        name: "cover.png",
        hash: "cover_hash",
        ext: ".png",
        mime: "image/png",
        size: 1.5,
        url: "/uploads/cover.png",
        provider: "local",
        width: 8,
        height: 8,
        folderPath: "/",
      },
    });
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  /** Asserts that no trace of the user row is in `payload`. */
  const assertNoUserRow = (payload: unknown, who: string) => {
    const text = JSON.stringify(payload);
    for (const secret of [userRow.password, userRow.email, userRow.username]) {
      assert.equal(text.includes(String(secret)), false, `${who} received part of the user row`);
    }
  };

  it("emit() drops a top-level key that is not an attribute: a user row under 'owner' reaches no reader", async () => {
    const events = readers.map((socket) => nextEvent<any>(socket, "article:owner-key"));
    await app.io.emit({
      event: "owner-key",
      schema: ARTICLE,
      data: { id: 1, documentId: "a1", title: "T", owner: userRow, ownerId: userRow.id },
    });
    const payloads = await Promise.all(events);
    payloads.forEach((payload, index) => {
      assert.deepEqual(payload, { data: { id: 1, documentId: "a1", title: "T" } });
      assertNoUserRow(payload, `reader ${index}`);
    });
  });

  it("emit() cuts a populated relation to its target's attributes: a key hidden inside it reaches no reader", async () => {
    const events = readers.map((socket) => nextEvent<any>(socket, "article:relation-key"));
    const category = { ...categoryRow, owner: userRow };
    await app.io.emit({
      event: "relation-key",
      schema: ARTICLE,
      data: { id: 1, documentId: "a1", title: "T", category },
    });
    const fetched = await rest(
      app,
      "GET",
      `/api/categories/${categoryRow.documentId}`,
      undefined,
      credentials.get(member),
    );
    assert.equal(fetched.status, 200);
    const [forPublic, ...forCategoryReaders] = await Promise.all(events);
    assert.deepEqual(
      forPublic,
      { data: { id: 1, documentId: "a1", title: "T" } },
      "the public may not read categories",
    );
    for (const [index, payload] of forCategoryReaders.entries()) {
      assert.deepEqual(
        payload.data.category,
        fetched.json.data,
        "the category as REST returns it, budget (private) and owner gone",
      );
      assertNoUserRow(payload, `reader ${index + 1}`);
    }
  });

  it("emit() cuts components, dynamic-zone entries and media to their schema, keeps __component, and drops entries of other components", async () => {
    const events = readers.map((socket) => nextEvent<any>(socket, "page:component-keys"));
    await app.io.emit({
      event: "component-keys",
      schema: PAGE,
      data: {
        id: 1,
        documentId: "p1",
        title: "P",
        seo: {
          id: 1,
          metaTitle: "M",
          owner: userRow,
          category: { ...categoryRow, owner: userRow },
        },
        blocks: [
          { __component: "shared.quote", id: 2, text: "q", owner: userRow },
          {
            __component: "shared.hero",
            id: 3,
            text: "not a component of this zone",
            owner: userRow,
          },
          { __component: USER, ...userRow },
        ],
        cover: { ...fileRow, owner: userRow },
      },
    });
    const payloads = await Promise.all(events);
    payloads.forEach((payload, index) => assertNoUserRow(payload, `reader ${index}`));
    const { data } = payloads[readers.indexOf(fullAccess)];
    assert.deepEqual(data.seo, {
      id: 1,
      metaTitle: "M",
      category: {
        id: categoryRow.id,
        documentId: categoryRow.documentId,
        name: "News",
        createdAt: categoryRow.createdAt,
        updatedAt: categoryRow.updatedAt,
        publishedAt: categoryRow.publishedAt,
      },
    });
    assert.deepEqual(data.blocks, [{ __component: "shared.quote", id: 2, text: "q" }]);
    assert.equal(data.cover.url, "/uploads/cover.png");
    assert.equal("owner" in data.cover, false);
    assert.equal(
      "folderPath" in data.cover,
      false,
      "the sanitizer still removes private attributes",
    );
  });

  it("emit() of a stored document delivers each reader its REST response, whatever extra keys the server adds", async () => {
    const page = await app.strapi.documents(PAGE).create({
      data: {
        title: "Stored",
        seo: { metaTitle: "M", internalNote: "private", category: categoryRow.id },
        blocks: [{ __component: "shared.quote", text: "q", by: "b" }, {
          __component: "shared.seo",
          metaTitle: "M2",
          internalNote: "private",
        }],
        cover: fileRow.id,
        category: categoryRow.id,
      },
    });
    const row = await app.strapi.documents(PAGE).findOne({
      documentId: page.documentId,
      populate: "*",
    });
    const events = readers.map((socket) => nextEvent<any>(socket, "page:stored"));
    const data = {
      ...row,
      owner: userRow,
      seo: { ...row.seo, owner: userRow },
      blocks: row.blocks.map((block: object) => ({ ...block, owner: userRow })),
    };
    await app.io.emit({ event: "stored", schema: PAGE, data });
    const payloads = await Promise.all(events);
    for (const [index, socket] of readers.entries()) {
      const fetched = await rest(
        app,
        "GET",
        `/api/pages/${page.documentId}?populate=*`,
        undefined,
        credentials.get(socket),
      );
      assert.equal(fetched.status, 200);
      assert.deepEqual(
        payloads[index],
        { data: fetched.json.data },
        `reader ${index} gets what it reads over REST`,
      );
    }
  });

  it("emit() refuses a schema object that contradicts itself or the app with a TypeError, and delivers nothing", async () => {
    const marker = markerFor(app, readers);
    const data = { id: 1, documentId: "a1", title: "T", name: "N", username: "u" };
    const refusals: Array<[unknown, RegExp]> = [
      [
        { uid: ARTICLE, info: { singularName: "comment" } },
        /^emit\(\): 'schema' is inconsistent: uid 'api::article\.article' is the content type 'article', but info\.singularName says 'comment'$/,
      ],
      [
        { uid: CATEGORY, info: { singularName: "article" } },
        /^emit\(\): 'schema' is inconsistent: uid 'api::category\.category' is the content type 'category', but info\.singularName says 'article'$/,
      ],
      [
        { uid: "api::nope.nope", info: { singularName: "nope" } },
        /^emit\(\): 'schema' must be a content type of this app, got uid 'api::nope\.nope'$/,
      ],
      [
        { uid: 42, info: { singularName: "article" } },
        /^emit\(\): 'schema' must be a content type of this app, got uid 42$/,
      ],
      [
        { info: { singularName: "user" } },
        /^emit\(\): 'schema' is ambiguous: info\.singularName 'user' is the singularName of ('admin::user', 'plugin::users-permissions\.user'|'plugin::users-permissions\.user', 'admin::user'); give its uid$/,
      ],
      [
        { info: { singularName: "nope" } },
        /^emit\(\): 'schema' must be a content type of this app, got info\.singularName 'nope'$/,
      ],
      [
        { uid: ARTICLE, info: { singularName: "x".repeat(500) } },
        /info\.singularName says 'x{57}\.\.\.'$/,
      ],
    ];
    for (const [schema, message] of refusals) {
      await assert.rejects(
        app.io.emit({ event: "update", schema: schema as ContentTypeSchema, data }),
        (error: Error) => {
          assert.ok(
            error instanceof TypeError,
            `${error.name} for ${JSON.stringify(schema).slice(0, 80)}`,
          );
          assert.match(error.message, message);
          return true;
        },
      );
    }
    await marker.send();
    for (const seen of await marker.arrived) assert.deepEqual(seen, []);
  });

  it("emit() accepts a consistent schema object and names the event after the type it sanitizes for", async () => {
    const schemas = [
      app.strapi.contentType(ARTICLE),
      { uid: ARTICLE, info: { singularName: "article" } },
      { uid: ARTICLE },
      { info: { singularName: "article" } },
    ];
    for (const schema of schemas) {
      const marker = markerFor(app, readers);
      await app.io.emit({
        event: "update",
        schema: schema as ContentTypeSchema,
        data: { id: 1, documentId: "a1", title: "T", internalNotes: "private" },
      });
      await marker.send();
      for (const seen of await marker.arrived) {
        assert.deepEqual(seen, [["article:update", {
          data: { id: 1, documentId: "a1", title: "T" },
        }]]);
      }
    }
  });

  it("emit() of cyclic or very deep data neither overflows nor sends more than MAX_DEPTH levels; a huge expansion is refused", async () => {
    const marker = markerFor(app, readers);
    // A cycle through a relation the readers may follow, and one through a key that is no attribute.
    const cyclic: Record<string, unknown> = {
      id: 1,
      documentId: "h1",
      text: "Hello",
      locale: "en",
    };
    cyclic.localizations = [cyclic, {
      id: 2,
      documentId: "h1",
      text: "Bonjour",
      locale: "fr",
      localizations: [cyclic],
    }];
    cyclic.self = cyclic;
    await app.io.emit({ event: "cyclic", schema: HEADLINE, data: cyclic });
    // 100,000 levels of nesting, through an attribute and through a key that is none.
    let deep: Record<string, unknown> = { id: 0, documentId: "h0", text: "bottom" };
    for (let level = 1; level <= 100_000; level += 1) {
      deep = { id: level, documentId: `h${level}`, text: "t", localizations: [deep], owner: deep };
    }
    await app.io.emit({ event: "deep", schema: HEADLINE, data: deep });
    // 40 objects each referenced twice by the one above: 2^40 entries once expanded. Refused, nothing sent.
    let shared: Record<string, unknown> = { id: 0 };
    for (let level = 1; level <= 40; level += 1) {
      shared = { id: level, localizations: [shared, shared] };
    }
    await assert.rejects(
      app.io.emit({ event: "shared", schema: HEADLINE, data: shared }),
      RangeError,
    );
    await marker.send();

    const [forPublic, forMember, ...forTokens] = await marker.arrived;
    assert.deepEqual(forMember, [], "the authenticated role may not read headlines");
    for (const seen of [forPublic!, ...forTokens]) {
      assert.deepEqual(seen.map(([event]) => event), ["headline:cyclic", "headline:deep"]);
      assert.deepEqual(seen[0]![1], {
        data: {
          id: 1,
          documentId: "h1",
          text: "Hello",
          locale: "en",
          localizations: [{
            id: 2,
            documentId: "h1",
            text: "Bonjour",
            locale: "fr",
            localizations: [],
          }],
        },
      });
      let entry = (seen[1]![1] as { data: any }).data;
      let levels = 0;
      while (entry) {
        levels += 1;
        assert.equal("owner" in entry, false);
        entry = entry.localizations?.[0];
      }
      assert.equal(levels, MAX_DEPTH + 1, "the document and MAX_DEPTH levels below it");
    }
  });
});
