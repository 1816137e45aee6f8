/** singularNameOf(): the type name in a content event's name, from emit()'s `schema` (no server started). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { singularNameOf } from "../lib/singular-name.ts";
import type { ContentTypeSchema } from "../lib/types.ts";

describe("singularNameOf()", () => {
  it("singularNameOf() reads the last segment of a uid", () => {
    assert.equal(singularNameOf("api::article.article"), "article");
    assert.equal(singularNameOf("plugin::users-permissions.user"), "user");
  });

  it("singularNameOf() reads a schema object's info.singularName, or its uid when it has no info", () => {
    assert.equal(singularNameOf({ info: { singularName: "note" } }), "note");
    assert.equal(
      singularNameOf({ uid: "api::article.article", info: { singularName: "article" } }),
      "article",
    );
    assert.equal(singularNameOf({ uid: "api::article.article" } as ContentTypeSchema), "article");
  });

  it("singularNameOf() refuses with a TypeError what names no type, quoting the value truncated", () => {
    const refusals: Array<[unknown, RegExp]> = [
      [
        "not-a-uid",
        /^emit\(\): 'schema' must be a content-type uid like 'api::article\.article', got 'not-a-uid'$/,
      ],
      [`api::a.${"b".repeat(200)}!`, /got 'api::a\.b{50}\.\.\.'$/],
      [
        {},
        /^emit\(\): 'schema' must be a content-type uid or a schema object with info\.singularName or a uid, got info\.singularName undefined$/,
      ],
      [{ info: { singularName: "" } }, /got info\.singularName ''$/],
      [{ info: { singularName: 42 } }, /got info\.singularName 42$/],
      [
        { uid: 42 },
        /^emit\(\): 'schema\.uid' must be a content-type uid like 'api::article\.article', got 42$/,
      ],
      [null, /^emit\(\): 'schema' must be a content-type uid or a schema object, got null$/],
      [7, /got 7$/],
    ];
    for (const [schema, message] of refusals) {
      assert.throws(() => singularNameOf(schema as ContentTypeSchema), (error: Error) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, message);
        return true;
      });
    }
  });
});
