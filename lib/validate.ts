/**
 * Argument checks for `$io` methods: a `TypeError` whose message names the method, the argument and the
 * value it got.
 *
 * @module
 */
import { describe } from "./config-checks.ts";

/** Throws unless `value` is a non-empty string. */
export function expectName(
  value: unknown,
  method: string,
  argument: string,
): asserts value is string {
  if (typeof value !== "string" || value === "") {
    throw new TypeError(
      `${method}: '${argument}' must be a non-empty string, got ${describe(value)}`,
    );
  }
}

/** Throws unless `value` is a non-empty string or an array of them; returns them as an array. */
export function expectNames(value: unknown, method: string, argument: string): string[] {
  const names = Array.isArray(value) ? value : [value];
  names.forEach((name, index) =>
    expectName(name, method, Array.isArray(value) ? `${argument}[${index}]` : argument)
  );
  return names as string[];
}

/** Longest entity id or content-type uid accepted (a documentId has 24 characters): a bound on what a client can make the database look up. */
const MAX_IDENTIFIER_LENGTH = 256;

/** Whether `value` is a usable entity id: a non-empty string (at most 256 characters) or a positive safe integer. */
export function isEntityId(value: unknown): value is string | number {
  if (typeof value === "string") return value !== "" && value.length <= MAX_IDENTIFIER_LENGTH;
  return Number.isSafeInteger(value) && (value as number) > 0;
}

/** What {@link isEntityId} accepts, for messages. */
export const ENTITY_ID_EXPECTED =
  "a documentId (a string of at most 256 characters) or a positive integer id";

/** Throws unless `value` is a usable entity id. */
export function expectEntityId(value: unknown, method: string): asserts value is string | number {
  if (!isEntityId(value)) {
    throw new TypeError(`${method}: 'id' must be ${ENTITY_ID_EXPECTED}, got ${describe(value)}`);
  }
}

/** A content-type uid: `<namespace>::<api or plugin>.<singularName>`; the last part is captured. */
const CONTENT_TYPE_UID = /^[a-z0-9-]+::[a-z0-9-]+\.([a-z0-9-]+)$/i;

/** Whether `value` looks like a content-type uid (`api::article.article`, `plugin::users-permissions.user`). */
export function isContentTypeUid(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_IDENTIFIER_LENGTH &&
    CONTENT_TYPE_UID.test(value);
}

/** The singularName a content-type uid ends with (`article` in `api::article.article`); `undefined` when `value` is no uid. */
export function singularNameInUid(value: unknown): string | undefined {
  return isContentTypeUid(value) ? CONTENT_TYPE_UID.exec(value)?.[1] : undefined;
}
