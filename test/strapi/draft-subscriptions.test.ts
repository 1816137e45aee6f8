/**
 * Filtered subscriptions on drafts (`status: "draft"`, REST's `status=draft`) in a real Strapi 5.54.0:
 * allowed on a Draft & Publish type whose draft events are streamed, matched against draft versions
 * (saving a draft touches them, publishing and unpublishing do not), with a snapshot of drafts; and a
 * draft saved never makes a document leave a subscription on published versions.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { LiveQueryResult } from "../../lib/types.ts";
import { recordContentEvents, request, until, untilMarker } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { grant, socketsFor } from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";
const HEADLINE = "api::headline.headline";
const CATEGORY = "api::category.category";

describe("filtered subscriptions on drafts", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;

  before(async () => {
    app = await bootStrapi({
      transport: { type: "uws", port: 0, host: "127.0.0.1" },
      contentTypes: [{ uid: ARTICLE, drafts: true }, HEADLINE, CATEGORY],
    });
    sockets = socketsFor(app);
    await grant(app, "public", [
      `${ARTICLE}.find`,
      `${ARTICLE}.findOne`,
      `${HEADLINE}.find`,
      `${CATEGORY}.find`,
    ]);
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  it("is refused where drafts are not streamed or do not exist, and for an unknown status", async () => {
    const socket = await sockets.connect();
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ uid: HEADLINE, status: "draft" }, /drafts: true/],
      [{ uid: CATEGORY, status: "draft" }, /no drafts/],
      [{ uid: ARTICLE, status: "archived" }, /'published' or 'draft'/],
      [{ uid: ARTICLE, status: ["draft"] }, /'published' or 'draft'/],
    ];
    for (const [query, error] of cases) {
      const ack = await request<LiveQueryResult>(socket, "subscribe", query);
      assert.equal(ack.success, false, JSON.stringify(query));
      assert.match(ack.error!, error);
    }
  });

  it("follows draft versions; a draft saved never makes a published subscriber's document leave", async () => {
    const articles = app.strapi.documents(ARTICLE);
    const existing = await articles.create({ data: { title: "Draft zero" } }); // a draft only
    const onDrafts = await sockets.connect();
    const onPublished = await sockets.connect();
    const filters = { title: { $startsWith: "Draft" } };
    const draftAck = await request<LiveQueryResult>(onDrafts, "subscribe", {
      uid: ARTICLE,
      filters,
      status: "draft",
      snapshot: {},
    });
    assert.equal(draftAck.success, true, draftAck.error);
    assert.deepEqual(draftAck.snapshot!.data.map((doc) => doc.documentId), [existing.documentId]);
    const publishedAck = await request<LiveQueryResult>(onPublished, "subscribe", {
      uid: ARTICLE,
      filters,
      snapshot: {},
    });
    assert.deepEqual(publishedAck.snapshot!.data, [], "no published version yet");
    assert.notEqual(draftAck.subscription, publishedAck.subscription);
    const [drafts, published] = [draftAck.subscription, publishedAck.subscription];
    const received = [recordContentEvents(onDrafts), recordContentEvents(onPublished)];

    const doc = await articles.create({ data: { title: "Draft one" } });
    const { documentId } = doc;
    const save = (title: string) => articles.update({ documentId, data: { title } });
    await save("Moved out");
    await save("Draft two");
    await articles.publish({ documentId });
    await save("Draft moved"); // the published version still says "Draft two"
    await articles.unpublish({ documentId });
    await articles.delete({ documentId });
    await until(
      () => received.every((list) => list.length === 7),
      "the seven events arrived",
    ).catch((error) => {
      throw new Error(`${error.message}: ${JSON.stringify(received)}`);
    });
    await untilMarker(app.io, onDrafts, onPublished);

    assert.deepEqual(received[0], [
      ["article:create", "Draft one", [drafts]],
      ["article:leave", documentId, [drafts]],
      ["article:update", "Draft two", [drafts]],
      ["article:publish", "Draft two", undefined], // the draft did not change
      ["article:update", "Draft moved", [drafts]],
      ["article:unpublish", documentId, undefined],
      ["article:leave", documentId, [drafts]],
    ]);
    assert.deepEqual(received[1], [
      ["article:create", "Draft one", undefined],
      ["article:update", "Moved out", undefined], // no published version: nothing to leave
      ["article:update", "Draft two", undefined],
      ["article:publish", "Draft two", [published]],
      ["article:update", "Draft moved", undefined], // a draft saved: the published one still matches
      ["article:leave", documentId, [published]],
      ["article:delete", documentId, undefined],
    ]);
  });
});
