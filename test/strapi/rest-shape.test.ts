/**
 * restShape(): the pure cut of a document to what REST could return, against hand-written schemas shaped
 * like Strapi's normalized ones (no Strapi booted; test/strapi/emit-rest-shape.test.ts runs it for real).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_DEPTH, MAX_ENTRIES, restShape } from "../../lib/strapi/rest-shape.ts";
import type { StrapiModel } from "../../lib/strapi/strapi-like.ts";

const contentType = (uid: string, attributes: StrapiModel["attributes"]): StrapiModel => ({
  uid,
  modelType: "contentType",
  attributes,
});
const component = (uid: string, attributes: StrapiModel["attributes"]): StrapiModel => ({
  uid,
  modelType: "component",
  attributes,
});

const ARTICLE = contentType("api::article.article", {
  title: { type: "string" },
  internalNotes: { type: "text", private: true },
  meta: { type: "json" },
  publishedAt: { type: "datetime" },
  category: { type: "relation", relation: "manyToOne", target: "api::category.category" },
  localizations: { type: "relation", relation: "oneToMany", target: "api::article.article" },
  seo: { type: "component", component: "shared.seo", repeatable: false },
  quotes: { type: "component", component: "shared.quote", repeatable: true },
  blocks: { type: "dynamiczone", components: ["shared.quote", "shared.seo"] },
  cover: { type: "media", multiple: false },
  related: { type: "relation", relation: "morphToMany" },
});
const MODELS = new Map<string, StrapiModel>([
  [ARTICLE.uid, ARTICLE],
  ["api::category.category", contentType("api::category.category", { name: { type: "string" } })],
  [
    "plugin::upload.file",
    contentType("plugin::upload.file", { url: { type: "string" }, formats: { type: "json" } }),
  ],
  [
    "plugin::users-permissions.user",
    contentType("plugin::users-permissions.user", {
      username: { type: "string" },
      password: { type: "password" },
    }),
  ],
  ["shared.seo", component("shared.seo", { metaTitle: { type: "string" } })],
  ["shared.quote", component("shared.quote", { text: { type: "text" } })],
]);
const strapi = { getModel: (uid: string) => MODELS.get(uid) };

const userRow = { id: 7, username: "owner", email: "owner@example.test", password: "$2a$10$hash" };

describe("restShape()", () => {
  it("restShape() keeps the attributes, id and documentId of a document and drops every other key", () => {
    const data = {
      id: 1,
      documentId: "a1",
      title: "T",
      internalNotes: "kept for the sanitizer",
      owner: userRow,
      __component: "shared.seo",
      count: 3,
    };
    assert.deepEqual(restShape(strapi, ARTICLE, data), {
      id: 1,
      documentId: "a1",
      title: "T",
      internalNotes: "kept for the sanitizer",
    });
  });

  it("restShape() keeps id and documentId only with the kind of value REST has there", () => {
    assert.deepEqual(restShape(strapi, ARTICLE, { id: userRow, documentId: 5, title: "T" }), {
      title: "T",
    });
  });

  it("restShape() cuts a relation to its target's attributes, one entry or a list, and keeps ids and { count }", () => {
    const data = {
      category: { id: 2, documentId: "c2", name: "News", owner: userRow },
      localizations: [{ id: 3, documentId: "a1", title: "Hallo", owner: userRow }, 4, null, [
        userRow,
      ]],
    };
    assert.deepEqual(restShape(strapi, ARTICLE, data), {
      category: { id: 2, documentId: "c2", name: "News" },
      localizations: [{ id: 3, documentId: "a1", title: "Hallo" }, 4, null],
    });
    assert.deepEqual(restShape(strapi, ARTICLE, { category: { count: 2, owner: userRow } }), {
      category: { count: 2 },
    });
  });

  it("restShape() cuts components and dynamic-zone entries to their component, keeps __component, and drops entries of other components", () => {
    const data = {
      seo: { id: 1, metaTitle: "M", owner: userRow },
      quotes: [{ id: 2, text: "q", owner: userRow }],
      blocks: [
        { __component: "shared.quote", id: 3, text: "q", owner: userRow },
        null,
        { __component: "shared.hero", id: 4, text: "not a component of this zone" },
        { __component: "plugin::users-permissions.user", ...userRow },
        { id: 5, text: "no __component" },
      ],
    };
    assert.deepEqual(restShape(strapi, ARTICLE, data), {
      seo: { id: 1, metaTitle: "M" },
      quotes: [{ id: 2, text: "q" }],
      blocks: [{ __component: "shared.quote", id: 3, text: "q" }, null],
    });
    assert.deepEqual(
      restShape(strapi, ARTICLE, { blocks: { __component: "shared.quote", text: "not a list" } }),
      {},
    );
  });

  it("restShape() cuts media to plugin::upload.file and morph-to entries to the type their __type names", () => {
    const data = {
      cover: {
        id: 1,
        url: "/uploads/a.png",
        formats: { small: { url: "/s.png" } },
        owner: userRow,
      },
      related: [{ __type: "api::category.category", id: 2, name: "News", owner: userRow }, {
        __type: "api::nope.nope",
        id: 3,
      }, { id: 4 }],
    };
    assert.deepEqual(restShape(strapi, ARTICLE, data), {
      cover: { id: 1, url: "/uploads/a.png", formats: { small: { url: "/s.png" } } },
      related: [{ __type: "api::category.category", id: 2, name: "News" }],
    });
  });

  it("restShape() keeps scalars (and Dates) in scalar attributes, any JSON in json attributes, and drops objects elsewhere", () => {
    const publishedAt = new Date(0);
    const data = { title: userRow, publishedAt, meta: { nested: [userRow] }, category: "c2" };
    assert.deepEqual(restShape(strapi, ARTICLE, data), {
      publishedAt,
      meta: { nested: [userRow] },
      category: "c2",
    });
  });

  it("restShape() ignores keys that only Object.prototype knows", () => {
    const data = JSON.parse(
      '{"__proto__": {"polluted": true}, "constructor": {"x": 1}, "toString": "x", "title": "T"}',
    );
    const shaped = restShape(strapi, ARTICLE, data) as Record<string, unknown>;
    assert.deepEqual(shaped, { title: "T" });
    assert.equal(Object.getPrototypeOf(shaped), Object.prototype);
  });

  it("restShape() returns what is not a document as given, and cuts a list entry by entry", () => {
    for (const value of [null, undefined, "a1", 5]) {
      assert.equal(restShape(strapi, ARTICLE, value), value);
    }
    assert.deepEqual(
      restShape(strapi, ARTICLE, [{ title: "A", owner: userRow }, null, [userRow], { title: "B" }]),
      [{ title: "A" }, null, { title: "B" }],
    );
  });

  it("restShape() does not change its input", () => {
    const data = { title: "T", owner: userRow, category: { name: "News", owner: userRow } };
    const before = structuredClone(data);
    restShape(strapi, ARTICLE, data);
    assert.deepEqual(data, before);
  });

  it("restShape() drops a reference back to an entry it is inside of", () => {
    const data: Record<string, unknown> = { id: 1, title: "T" };
    data.localizations = [data, { id: 2, title: "U", localizations: [data] }];
    data.self = data;
    const seo: Record<string, unknown> = { metaTitle: "M" };
    seo.seo = seo;
    data.seo = seo;
    assert.deepEqual(restShape(strapi, ARTICLE, data), {
      id: 1,
      title: "T",
      localizations: [{ id: 2, title: "U", localizations: [] }],
      seo: { metaTitle: "M" },
    });
  });

  it("restShape() walks at most MAX_DEPTH levels below the document, however deep the data", () => {
    let data: Record<string, unknown> = { id: 0 };
    for (let level = 1; level <= 200_000; level += 1) {
      data = { id: level, localizations: [data], owner: data };
    }
    let entry = restShape(strapi, ARTICLE, data) as { localizations?: unknown[] } | undefined;
    let levels = 0;
    while (entry) {
      levels += 1;
      assert.equal("owner" in entry, false);
      entry = entry.localizations?.[0] as typeof entry;
    }
    assert.equal(levels, MAX_DEPTH + 1, "the document and MAX_DEPTH levels of entries below it");
  });

  it("restShape() refuses with a RangeError a document whose shared references would make it walk more than MAX_ENTRIES entries", () => {
    let data: Record<string, unknown> = { id: 0 };
    // 40 objects, each referenced twice by the one above: 2^40 entries once expanded.
    for (let level = 1; level <= 40; level += 1) data = { id: level, localizations: [data, data] };
    assert.throws(() => restShape(strapi, ARTICLE, data), (error: Error) => {
      assert.ok(error instanceof RangeError);
      assert.match(
        error.message,
        new RegExp(`^emit\\(\\): 'data' holds more than ${MAX_ENTRIES} entries`),
      );
      return true;
    });
  });

  it("restShape() keeps a document with shared (non-cyclic) references, expanded as JSON would send it", () => {
    const category = { id: 2, name: "News", owner: userRow };
    const shaped = restShape(strapi, ARTICLE, { localizations: [{ category }, { category }] });
    assert.deepEqual(shaped, {
      localizations: [{ category: { id: 2, name: "News" } }, { category: { id: 2, name: "News" } }],
    });
  });
});
