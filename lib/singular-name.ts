/**
 * The type name in a content event's name (`article` in `article:create`), read from the `schema` that
 * `emit()` was given. The core names events with it; the Strapi policy checks that it is the singularName
 * of the content type it sanitizes for, so that the name and the payload always describe one type.
 *
 * @module
 */
import { describe } from "./config-checks.ts";
import type { ContentTypeSchema } from "./types.ts";
import { singularNameInUid } from "./validate.ts";

/**
 * `article` from `"api::article.article"`, or from a schema object's `info.singularName`, or from its `uid`
 * when it has no `info` (Strapi registers a content type under the key that is its singularName).
 *
 * @throws {TypeError} when `schema` names no type.
 */
export function singularNameOf(schema: string | ContentTypeSchema): string {
  if (typeof schema === "string") return nameInUid(schema, "'schema'");
  if (typeof schema !== "object" || schema === null) {
    throw new TypeError(
      `emit(): 'schema' must be a content-type uid or a schema object, got ${describe(schema)}`,
    );
  }
  const singularName = (schema.info as ContentTypeSchema["info"] | undefined)?.singularName;
  if (singularName === undefined && schema.uid !== undefined) {
    return nameInUid(schema.uid, "'schema.uid'");
  }
  if (typeof singularName !== "string" || singularName === "") {
    throw new TypeError(
      `emit(): 'schema' must be a content-type uid or a schema object with info.singularName or a uid, got info.singularName ${
        describe(singularName)
      }`,
    );
  }
  return singularName;
}

function nameInUid(uid: unknown, argument: string): string {
  const name = singularNameInUid(uid);
  if (name === undefined) {
    throw new TypeError(
      `emit(): ${argument} must be a content-type uid like 'api::article.article', got ${
        describe(uid)
      }`,
    );
  }
  return name;
}
