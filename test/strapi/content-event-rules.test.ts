/**
 * pendingEvents(): which content events one Document Service action means for readers. A pure rule: no
 * Strapi is booted (test/strapi/content-events.test.ts shows the same in a real Strapi).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pendingEvents } from "../../lib/strapi/content-events.ts";
import { defaultContentTypeEvents } from "../../lib/strapi/plugin-options.ts";
import type { StrapiContentType } from "../../lib/strapi/strapi-like.ts";

const UID = "api::article.article";
const withDraftAndPublish: StrapiContentType = {
  uid: UID,
  modelType: "contentType",
  info: { singularName: "article" },
  options: { draftAndPublish: true },
  attributes: {},
};
const withoutDraftAndPublish: StrapiContentType = {
  ...withDraftAndPublish,
  options: { draftAndPublish: false },
};
const defaults = defaultContentTypeEvents(UID);
const withDrafts = { ...defaults, drafts: true };
const withPopulate = { ...defaults, populate: ["author"] };

const published = { id: 2, documentId: "d1", publishedAt: "2026-01-01T00:00:00.000Z" };
const draft = { id: 1, documentId: "d1", publishedAt: null };

/** The events and how each is sent, in order. */
function summary(events: ReturnType<typeof pendingEvents>): string[] {
  return events.map(({ event, row, send, status }) =>
    `${event} ${row.id ?? "-"} ${send}${status ? ` ${status}` : ""}`
  );
}

describe("pendingEvents()", () => {
  it("create and update of a type without Draft & Publish are one event each, with the row", () => {
    assert.deepEqual(summary(pendingEvents("create", draft, defaults, withoutDraftAndPublish)), [
      "create 1 row",
    ]);
    assert.deepEqual(summary(pendingEvents("update", draft, defaults, withoutDraftAndPublish)), [
      "update 1 row",
    ]);
  });

  it("saving a draft under Draft & Publish is not pushed, unless drafts: true", () => {
    assert.deepEqual(summary(pendingEvents("update", draft, defaults, withDraftAndPublish)), []);
    assert.deepEqual(summary(pendingEvents("update", draft, withDrafts, withDraftAndPublish)), [
      "update 1 row draft",
    ]);
    assert.deepEqual(summary(pendingEvents("create", published, defaults, withDraftAndPublish)), [
      "create 2 row published",
    ]);
  });

  it("a configured populate makes every document event a refetch", () => {
    assert.deepEqual(
      summary(pendingEvents("update", published, withPopulate, withDraftAndPublish)),
      ["update 2 refetch published"],
    );
  });

  it("publish is one event per published entry (per locale)", () => {
    const result = {
      documentId: "d1",
      entries: [{ ...published, locale: "en" }, { ...published, id: 3, locale: "fr" }],
    };
    assert.deepEqual(summary(pendingEvents("publish", result, defaults, withDraftAndPublish)), [
      "publish 2 row published",
      "publish 3 row published",
    ]);
  });

  it("unpublish and delete announce each locale once, by its published row, with identifiers only", () => {
    const result = { documentId: "d1", entries: [draft, published] };
    assert.deepEqual(summary(pendingEvents("unpublish", result, defaults, withDraftAndPublish)), [
      "unpublish 2 identifiers",
    ]);
    assert.deepEqual(summary(pendingEvents("delete", result, defaults, withDraftAndPublish)), [
      "delete 2 identifiers",
    ]);
  });

  it("deleting a document readers never saw published sends nothing (unless drafts: true)", () => {
    const result = { documentId: "d1", entries: [draft] };
    assert.deepEqual(summary(pendingEvents("delete", result, defaults, withDraftAndPublish)), []);
    assert.deepEqual(summary(pendingEvents("delete", result, withDrafts, withDraftAndPublish)), [
      "delete 1 identifiers",
    ]);
  });

  it("discardDraft is an update of the draft only when drafts are pushed; other actions send nothing", () => {
    const result = { documentId: "d1", entries: [draft] };
    assert.deepEqual(
      summary(pendingEvents("discardDraft", result, defaults, withDraftAndPublish)),
      [],
    );
    assert.deepEqual(
      summary(pendingEvents("discardDraft", result, withDrafts, withDraftAndPublish)),
      ["update 1 row draft"],
    );
    for (const action of ["findOne", "findMany", "count", "clone"]) {
      assert.deepEqual(pendingEvents(action, published, defaults, withDraftAndPublish), [], action);
    }
  });
});
