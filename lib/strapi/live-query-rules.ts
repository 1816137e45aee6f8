/**
 * Filtered subscriptions inside Strapi: whether a socket may hold one (the REST rules: `find` on the type,
 * a filter that only touches what its role or token may read, checked by Strapi's own content-API query
 * validation), and which of the subscribed queries a document is in (one count per distinct query).
 *
 * @module
 */
import type { LiveQueryDecision, SnapshotOptions } from "../access-policy.ts";
import { describe } from "../config-checks.ts";
import { errorMessage } from "../logger.ts";
import type { LiveQuery, LiveQueryRequest, LiveQuerySnapshot, SocketData } from "../types.ts";
import type { Audiences, PermissionSet } from "./audiences.ts";
import { restShape } from "./rest-shape.ts";
import type { StrapiContentType, StrapiLike } from "./strapi-like.ts";

/** Largest filter accepted, as JSON, and deepest: a filter is walked by Strapi's validator. */
const MAX_FILTER_LENGTH = 4096;
const MAX_FILTER_DEPTH = 12;
const LOCALE = /^[A-Za-z0-9_-]{1,32}$/;
const REQUEST_KEYS = new Set([
  "uid",
  "filters",
  "locale",
  "status",
  "snapshot",
  "fields",
  "populate",
]);
/** A subscription's order is the client's business: `sort` belongs to its `snapshot`. */
const NOT_YET = new Set(["sort"]);
const FIELD = /^[A-Za-z0-9_]{1,64}$/;
const MAX_FIELDS = 50;
/** Documents a snapshot may hold (REST's default page size is 25). */
const MAX_SNAPSHOT = 100;
const DEFAULT_SNAPSHOT = 25;
/** Counts of one change run side by side (see {@link queriesContaining}). */
const CONCURRENT_COUNTS = 4;
const SORT = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*(:(asc|desc|ASC|DESC))?$/;

/** Decides `authorizeQuery` for the Strapi policy. */
export async function authorizeLiveQuery(
  strapi: StrapiLike,
  audiences: Audiences,
  identity: SocketData,
  request: LiveQueryRequest,
  streamsDrafts: (uid: string) => boolean,
): Promise<LiveQueryDecision> {
  const refuse = (error: string): LiveQueryDecision => ({ allowed: false, error });
  for (const key of Object.keys(request)) {
    if (NOT_YET.has(key)) return refuse(`'${key}' is not supported in subscriptions yet`);
    if (!REQUEST_KEYS.has(key)) return refuse(`Unknown subscription key ${describe(key)}`);
  }
  const { uid, filters, locale, status, snapshot: wanted, fields, populate } =
    request as unknown as Record<string, unknown>;
  const contentType = typeof uid === "string" && uid.startsWith("api::")
    ? strapi.contentType(uid)
    : undefined;
  if (!contentType) return refuse(`'uid' must be a content type of this app, got ${describe(uid)}`);
  if (status !== undefined && status !== "published" && status !== "draft") {
    return refuse(`'status' must be 'published' or 'draft', got ${describe(status)}`);
  }
  if (status === "draft" && contentType.options?.draftAndPublish !== true) {
    return refuse(`${contentType.uid} has no drafts (Draft & Publish is off)`);
  }
  if (status === "draft" && !streamsDrafts(contentType.uid)) {
    return refuse(
      `Drafts of ${contentType.uid} are not streamed: its content events need 'drafts: true'`,
    );
  }
  if (locale !== undefined && (typeof locale !== "string" || !LOCALE.test(locale))) {
    return refuse(`'locale' must be a locale code, got ${describe(locale)}`);
  }
  if (filters !== undefined) {
    const shapeError = filterShapeError(filters);
    if (shapeError) return refuse(shapeError);
  }
  if (
    fields !== undefined &&
    (!Array.isArray(fields) || fields.length > MAX_FIELDS ||
      fields.some((field) => typeof field !== "string" || !FIELD.test(field)))
  ) {
    return refuse(
      `'fields' must be attribute names (at most ${MAX_FIELDS}), got ${describe(fields)}`,
    );
  }
  if (populate !== undefined) {
    const shapeError = typeof populate === "string"
      ? (FIELD.test(populate) || populate === "*" ? undefined : "'populate' is not a REST populate")
      : Array.isArray(populate)
      ? (populate.length <= MAX_FIELDS &&
          populate.every((entry) => typeof entry === "string" && FIELD.test(entry))
        ? undefined
        : `'populate' must be relation names (at most ${MAX_FIELDS}) or an object`)
      : filterShapeError(populate)?.replace("'filters'", "'populate'");
    if (shapeError) return refuse(shapeError);
  }
  const snapshot = wanted === undefined ? undefined : snapshotOptions(wanted);
  if (typeof snapshot === "string") return refuse(snapshot);
  const set = await permissionSetOf(audiences, identity);
  if (!set?.allows(`${contentType.uid}.find`)) {
    return refuse(`Forbidden: this role or token may not find ${contentType.uid}`);
  }
  const checked: Record<string, unknown> = {};
  if (filters !== undefined) checked.filters = filters;
  if (snapshot?.sort) checked.sort = snapshot.sort;
  if (fields !== undefined) checked.fields = fields;
  if (populate !== undefined) checked.populate = populate;
  if (Object.keys(checked).length > 0) {
    try {
      await strapi.contentAPI.validate.query(checked, contentType, { auth: set.auth });
    } catch (error) {
      const what = filters !== undefined ? "filters" : Object.keys(checked).join(", ");
      return refuse(`Invalid ${what}: ${errorMessage(error)}`);
    }
  }
  const query: LiveQuery = {
    uid: contentType.uid,
    key: canonical({
      uid: contentType.uid,
      filters: filters ?? null,
      locale: locale ?? null,
      fields: fields ?? null,
      populate: populate ?? null,
      ...(status === "draft" ? { status } : {}),
    }),
  };
  if (status === "draft") query.status = "draft";
  if (filters !== undefined) query.filters = filters as Record<string, unknown>;
  if (fields !== undefined) query.fields = fields as string[];
  if (populate !== undefined) query.populate = populate as LiveQuery["populate"];
  if (typeof locale === "string") query.locale = locale;
  return snapshot ? { allowed: true, query, snapshot } : { allowed: true, query };
}

/**
 * The documents matching `query` now, as a REST list would return them to `identity` (first page of
 * `limit`, in `sort` order, sanitized for its permission set).
 */
export async function readSnapshot(
  strapi: StrapiLike,
  audiences: Audiences,
  identity: SocketData,
  query: LiveQuery,
  { limit, sort }: SnapshotOptions,
): Promise<LiveQuerySnapshot> {
  const set = await permissionSetOf(audiences, identity);
  const contentType = strapi.contentType(query.uid);
  if (!set || !contentType) throw new Error(`no permission set or type for ${query.uid}`);
  const params: Record<string, unknown> = { status: statusOf(query) };
  if (query.filters) params.filters = query.filters;
  if (query.locale) params.locale = query.locale;
  const documents = strapi.documents(query.uid);
  const shape = await shapeFor(strapi, query, contentType, set);
  const [rows, total] = await Promise.all([
    documents.findMany({ ...params, ...shape, ...(sort ? { sort } : {}), limit, start: 0 }),
    documents.count(params),
  ]);
  const data = await Promise.all(
    (rows as unknown[]).map((row) =>
      strapi.contentAPI.sanitize.output(restShape(strapi, contentType, row), contentType, {
        auth: set.auth,
      })
    ),
  );
  return {
    data: data as Array<Record<string, unknown>>,
    meta: { pagination: { page: 1, pageSize: limit, pageCount: Math.ceil(total / limit), total } },
  };
}

/**
 * The copies of one document as subscriptions with `fields`/`populate` carry it: per audience key, the
 * document read with that shape (REST strips what each permission set may not ask for) and sanitized for
 * it; `undefined` for a query without a shape (its subscribers get the type-wide copy).
 */
export async function shapedCopies(
  strapi: StrapiLike,
  audiences: Audiences,
  query: LiveQuery,
  documentId: string,
  locale: string | undefined,
): Promise<Record<string, unknown> | undefined> {
  if (query.fields === undefined && query.populate === undefined) return undefined;
  const contentType = strapi.contentType(query.uid);
  if (!contentType) return undefined;
  const current = await audiences.current();
  const copies: Record<string, unknown> = {};
  for (const set of current.sets) {
    if (!set.allows(`${query.uid}.find`)) continue;
    const params: Record<string, unknown> = { documentId, status: statusOf(query) };
    const inLocale = query.locale ?? locale;
    if (inLocale !== undefined) params.locale = inLocale;
    const row = await strapi.documents(query.uid).findOne({
      ...params,
      ...(await shapeFor(strapi, query, contentType, set)),
    });
    if (!row) continue;
    const data = await strapi.contentAPI.sanitize.output(
      restShape(strapi, contentType, row),
      contentType,
      { auth: set.auth },
    );
    for (const audience of set.audiences) copies[audience] = { data };
  }
  return copies;
}

/** A query's `fields`/`populate`, less what `set` may not ask for (what REST does before it reads). */
async function shapeFor(
  strapi: StrapiLike,
  query: LiveQuery,
  contentType: StrapiContentType,
  set: PermissionSet,
): Promise<Record<string, unknown>> {
  const asked: Record<string, unknown> = {};
  if (query.fields !== undefined) asked.fields = query.fields;
  if (query.populate !== undefined) asked.populate = query.populate;
  if (Object.keys(asked).length === 0) return {};
  const allowed = await strapi.contentAPI.sanitize.query(asked, contentType, { auth: set.auth });
  const shape: Record<string, unknown> = {};
  if (allowed.fields !== undefined) shape.fields = allowed.fields;
  if (allowed.populate !== undefined) shape.populate = allowed.populate;
  return shape;
}

/** The permission set of a socket's audience in the current snapshot of roles and tokens. */
async function permissionSetOf(
  audiences: Audiences,
  identity: SocketData,
): Promise<PermissionSet | undefined> {
  const current = await audiences.current();
  return current.sets.find((candidate) =>
    identity.audience !== undefined && candidate.audiences.includes(identity.audience)
  );
}

/** `snapshot: { limit?, sort? }` checked, or why not. */
function snapshotOptions(wanted: unknown): SnapshotOptions | string {
  if (typeof wanted !== "object" || wanted === null || Array.isArray(wanted)) {
    return `'snapshot' must be an object like { limit, sort }, got ${describe(wanted)}`;
  }
  const { limit = DEFAULT_SNAPSHOT, sort, ...rest } = wanted as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) return `Unknown snapshot key ${describe(unknown)}`;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_SNAPSHOT) {
    return `'snapshot.limit' must be an integer from 1 to ${MAX_SNAPSHOT}, got ${describe(limit)}`;
  }
  const sorts = sort === undefined ? [] : Array.isArray(sort) ? sort : [sort];
  if (sorts.length > 5 || sorts.some((entry) => typeof entry !== "string" || !SORT.test(entry))) {
    return `'snapshot.sort' must be REST sort fields like 'publishedAt:desc' (at most 5)`;
  }
  const options: SnapshotOptions = { limit: limit as number };
  if (sorts.length > 0) options.sort = sorts as string[];
  return options;
}

/** Ids of `queries` that document `documentId` (in `locale`, when it has one) is in now. */
export async function queriesContaining(
  strapi: StrapiLike,
  queries: ReadonlyArray<{ id: string; query: LiveQuery }>,
  documentId: string,
  locale: string | undefined,
): Promise<string[]> {
  const candidates = queries.filter(({ query }) =>
    query.locale === undefined || locale === undefined || query.locale === locale
  );
  const contains = async ({ query }: { query: LiveQuery }) => {
    const params: Record<string, unknown> = {
      filters: { $and: [query.filters ?? {}, { documentId }] },
      status: statusOf(query),
    };
    const inLocale = query.locale ?? locale;
    if (inLocale !== undefined) params.locale = inLocale;
    return await strapi.documents(query.uid).count(params) > 0;
  };
  // A few counts at a time: a database with a pool (PostgreSQL) runs them side by side, and one change
  // never takes every connection of it.
  const found: string[] = [];
  for (let start = 0; start < candidates.length; start += CONCURRENT_COUNTS) {
    const batch = candidates.slice(start, start + CONCURRENT_COUNTS);
    const results = await Promise.all(batch.map(contains));
    batch.forEach(({ id }, index) => results[index] && found.push(id));
  }
  return found;
}

/** Which versions of the documents a query reads. */
function statusOf(query: LiveQuery): "published" | "draft" {
  return query.status ?? "published";
}

/** Why a client's `filters` cannot even be looked at, if so: not a plain object, too large, too deep. */
function filterShapeError(filters: unknown): string | undefined {
  if (typeof filters !== "object" || filters === null || Array.isArray(filters)) {
    return `'filters' must be an object, got ${describe(filters)}`;
  }
  // Depth first, without recursion (a hostile filter may be thousands of levels deep).
  const stack: Array<[unknown, number]> = [[filters, 1]];
  let nodes = 0;
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (depth > MAX_FILTER_DEPTH) {
      return `'filters' is nested deeper than ${MAX_FILTER_DEPTH} levels`;
    }
    nodes += 1;
    if (nodes > MAX_FILTER_LENGTH) return `'filters' has more than ${MAX_FILTER_LENGTH} values`;
    if (typeof value === "object" && value !== null) {
      for (const child of Object.values(value)) stack.push([child, depth + 1]);
    }
  }
  if (JSON.stringify(filters).length > MAX_FILTER_LENGTH) {
    return `'filters' is larger than ${MAX_FILTER_LENGTH} bytes`;
  }
  return undefined;
}

/** JSON with object keys sorted: equal queries, equal text. */
function canonical(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, inner: unknown) =>
      inner && typeof inner === "object" && !Array.isArray(inner)
        ? Object.fromEntries(
          Object.entries(inner as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0
          ),
        )
        : inner,
  );
}
