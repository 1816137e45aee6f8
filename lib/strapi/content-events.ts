/**
 * Content events from Strapi's Document Service middleware: one event per user-level action (create,
 * update, delete, publish, unpublish) on a configured content type, sent after the transaction commits,
 * through `$io.emit()` (so each audience gets its own sanitized copy).
 *
 * Under Draft & Publish, what readers see is the published version: a draft saved in the admin is not an
 * event (unless the type opts into drafts), publishing is one `publish` event with the published document,
 * unpublishing and deleting carry the identifiers only. A REST create or update on such a type publishes
 * at once, so it is one `create` / `update` event with the published document.
 *
 * @module
 */
import type { LiveQueryMatches } from "../live-queries.ts";
import { errorMessage, type Logger } from "../logger.ts";
import type { EmitOptions, LiveQuery } from "../types.ts";
import { afterCommit } from "./after-commit.ts";
import { queriesContaining } from "./live-query-rules.ts";
import {
  type ContentEventAction,
  defaultContentTypeEvents,
  type ResolvedContentTypeEvents,
  type ResolvedPluginOptions,
} from "./plugin-options.ts";
import type { DocumentContext, StrapiContentType, StrapiLike } from "./strapi-like.ts";

/** What `$io` needs from here. */
interface Emitter {
  emit(options: EmitOptions, matches?: LiveQueryMatches): Promise<void>;
  liveQueriesOn(uid: string): Array<{ id: string; query: LiveQuery }>;
}

/** The copies of a document for a subscription with `fields`/`populate`, per audience key (see live-query-rules.ts). */
export type ShapedCopies = (
  query: LiveQuery,
  documentId: string,
  locale: string | undefined,
) => Promise<Record<string, unknown> | undefined>;

/**
 * Events after which a document is in the filtered subscriptions it matches (others can only let it go),
 * for subscriptions on published versions and on drafts. Publishing and unpublishing leave the draft as
 * it was.
 */
const ENTERING = {
  published: new Set(["create", "update", "publish"]),
  draft: new Set(["create", "update"]),
};
/** Actions that can take a document out of a filtered subscription it was in. */
const LEAVING = new Set(["update", "publish", "unpublish", "delete", "discardDraft"]);

/** A raw row as the document service returns it. */
type Row = {
  id?: number;
  documentId?: string;
  locale?: string | null;
  publishedAt?: unknown;
  [key: string]: unknown;
};

/** One event to send once the change is committed. */
export interface PendingEvent {
  event: ContentEventAction;
  /** The row to send (when no populate is configured), or the identifiers of the version to refetch. */
  row: Row;
  /** `refetch` loads the document with the configured populate; `identifiers` sends `{ documentId, locale? }`. */
  send: "row" | "refetch" | "identifiers";
  status?: "published" | "draft";
}

/** Registers the document middleware; returns its remover. */
export function watchContentEvents(
  strapi: StrapiLike,
  io: Emitter,
  options: ResolvedPluginOptions,
  logger: Logger,
  shapes: ShapedCopies = () => Promise.resolve(undefined),
): () => void {
  const eventsFor = contentTypeEvents(options);
  const inOrder = inCommitOrder();

  const remove = strapi.documents.use(async (context: DocumentContext, next) => {
    const before = eventsFor(context.uid)
      ? await subscribedBefore(strapi, io, context, logger)
      : [];
    const result = await next();
    const config = eventsFor(context.uid);
    const contentType = config && strapi.contentType(context.uid);
    if (!config || !contentType) return result;
    const pending = pendingEvents(context.action, result, config, contentType).filter(({ event }) =>
      config.actions.has(event)
    );
    if (pending.length > 0) {
      afterCommit(
        strapi,
        logger,
        `${context.uid} ${context.action} event`,
        () =>
          inOrder(async () => {
            for (const item of pending) {
              await send(strapi, io, contentType, config, item, { before, shapes, logger });
            }
          }),
      );
    }
    return result;
  });
  // Strapi 5.54 returns the middleware's remover (its published types say the service): call it if it is one.
  return () => {
    if (typeof remove === "function") remove();
  };
}

/**
 * Runs each write's sending after the previous write's has finished. Sending reads the database (the
 * document, the filtered subscriptions it matches) and sanitizes, which takes longer for some writes than
 * for others: without this, a `publish` could reach clients after the `delete` committed after it.
 */
function inCommitOrder(): (work: () => Promise<void>) => Promise<void> {
  let previous: Promise<void> = Promise.resolve();
  return (work) => {
    const next = previous.then(work);
    previous = next.catch(() => {}); // reported by afterCommit; the next write's events still go out
    return next;
  };
}

/** The content events configured for a type (`undefined`: none are sent). */
export function contentTypeEvents(
  options: Pick<ResolvedPluginOptions, "contentTypes">,
): (uid: string) => ResolvedContentTypeEvents | undefined {
  const configured = options.contentTypes === "api"
    ? undefined
    : new Map(options.contentTypes.map((entry) => [entry.uid, entry]));
  return (uid) =>
    configured
      ? configured.get(uid)
      : uid.startsWith("api::")
      ? defaultContentTypeEvents(uid)
      : undefined;
}

/** Turns one document-service action and its result into the events it means for readers. */
export function pendingEvents(
  action: string,
  result: unknown,
  config: ResolvedContentTypeEvents,
  contentType: StrapiContentType,
): PendingEvent[] {
  const draftAndPublish = contentType.options?.draftAndPublish === true;
  const fetchOrRow = config.populate === undefined ? "row" : "refetch";
  switch (action) {
    case "create":
    case "update": {
      const row = result as Row | null;
      if (!row?.documentId) return [];
      if (!draftAndPublish) return [{ event: action, row, send: fetchOrRow }];
      const published = isPublished(row);
      if (!published && !config.drafts) return [];
      return [{ event: action, row, send: fetchOrRow, status: published ? "published" : "draft" }];
    }
    case "publish":
      return entriesOf(result).map((row) => ({
        event: "publish",
        row,
        send: fetchOrRow,
        status: "published",
      }));
    case "unpublish":
      return oncePerLocale(entriesOf(result)).map((row) => ({
        event: "unpublish",
        row,
        send: "identifiers",
      }));
    case "discardDraft":
      if (!config.drafts) return [];
      return entriesOf(result).map((row) => ({
        event: "update",
        row,
        send: fetchOrRow,
        status: "draft",
      }));
    case "delete": {
      // A locale that was never published was never visible to readers: its deletion is not news to them.
      const visible = (row: Row) => !draftAndPublish || config.drafts || isPublished(row);
      const rows = entriesOf(result);
      const visibleLocales = new Set(rows.filter(visible).map((row) => row.locale ?? ""));
      return oncePerLocale(rows.filter((row) => visibleLocales.has(row.locale ?? ""))).map((
        row,
      ) => ({ event: "delete", row, send: "identifiers" }));
    }
    default:
      return [];
  }
}

/** What a change means for the filtered subscriptions on its type (nothing when nobody subscribed). */
async function matchSubscriptions(
  io: Emitter,
  uid: string,
  item: PendingEvent,
  before: readonly string[],
  shapes: ShapedCopies,
  strapi: StrapiLike,
): Promise<LiveQueryMatches | undefined> {
  const queries = io.liveQueriesOn(uid);
  const documentId = item.row.documentId;
  if ((queries.length === 0 && before.length === 0) || typeof documentId !== "string") return;
  const locale = typeof item.row.locale === "string" ? item.row.locale : undefined;
  // The versions this change touched: a draft saved leaves the published version (and its subscribers) alone.
  const touched = queries.filter(({ query }) => touches(item, query.status ?? "published"));
  const entering = touched.filter(({ query }) =>
    ENTERING[query.status ?? "published"].has(item.event)
  );
  const entered = entering.length > 0
    ? await queriesContaining(strapi, entering, documentId, locale)
    : [];
  const touchedIds = new Set(touched.map(({ id }) => id));
  const matches: LiveQueryMatches = {
    entered,
    left: before.filter((id) => touchedIds.has(id) && !entered.includes(id)),
  };
  const shaped: Record<string, Record<string, unknown>> = {};
  for (const { id, query } of queries) {
    if (!entered.includes(id)) continue;
    const copies = await shapes(query, documentId, locale);
    if (copies) shaped[id] = copies;
  }
  if (Object.keys(shaped).length > 0) matches.shaped = shaped;
  return matches;
}

/**
 * The filtered subscriptions the document of a change is in before the change (one count per distinct
 * query on its type, and only when someone subscribed): those it is no longer in afterwards, it left.
 * A failed lookup is logged and counts as none: it must not fail the user's write.
 */
async function subscribedBefore(
  strapi: StrapiLike,
  io: Emitter,
  context: DocumentContext,
  logger: Logger,
): Promise<string[]> {
  const documentId = context.params?.documentId;
  if (!LEAVING.has(context.action) || typeof documentId !== "string") return [];
  const queries = io.liveQueriesOn(context.uid);
  if (queries.length === 0) return [];
  const locale = typeof context.params.locale === "string" && context.params.locale !== "*"
    ? context.params.locale
    : undefined;
  try {
    return await queriesContaining(strapi, queries, documentId, locale);
  } catch (error) {
    logger.error(`could not match ${context.uid} against subscriptions: ${errorMessage(error)}`);
    return [];
  }
}

async function send(
  strapi: StrapiLike,
  io: Emitter,
  contentType: StrapiContentType,
  config: ResolvedContentTypeEvents,
  item: PendingEvent,
  { before, shapes, logger }: { before: readonly string[]; shapes: ShapedCopies; logger: Logger },
): Promise<void> {
  let data: unknown;
  if (item.send === "identifiers") {
    data = identifiers(item.row);
  } else if (item.send === "row") {
    data = item.row;
  } else {
    const params: Record<string, unknown> = {
      documentId: item.row.documentId,
      populate: config.populate,
    };
    if (item.row.locale) params.locale = item.row.locale;
    if (item.status) params.status = item.status;
    data = await strapi.documents(contentType.uid).findOne(params);
    if (!data) return; // gone again before we could read it: the next event says what happened
  }
  let matches: LiveQueryMatches | undefined;
  try {
    matches = await matchSubscriptions(io, contentType.uid, item, before, shapes, strapi);
  } catch (error) {
    // The type-wide event still goes out; subscribers then get it as type-wide readers do.
    logger.error(
      `could not match ${contentType.uid} against subscriptions: ${errorMessage(error)}`,
    );
  }
  await io.emit({ event: item.event, schema: contentType.uid, data }, matches);
}

/**
 * Whether a change can move a document in or out of subscriptions on `status` versions: a draft saved
 * touches drafts only; publishing and unpublishing touch the published version only; a create, an
 * update that publishes at once, or a delete touch both.
 */
function touches(item: PendingEvent, status: "published" | "draft"): boolean {
  if (status === "published") return item.status !== "draft";
  return item.status === "draft" || item.event === "create" || item.event === "update" ||
    item.event === "delete";
}

function isPublished(row: Row): boolean {
  return row.publishedAt !== null && row.publishedAt !== undefined;
}

/** `{ id, documentId, locale? }` (the id readers knew: the published row's): what delete and unpublish carry. */
function identifiers(row: Row): { id?: number; documentId: string; locale?: string } {
  const ids: { id?: number; documentId: string; locale?: string } = {
    id: row.id,
    documentId: row.documentId as string,
  };
  if (ids.id === undefined) delete ids.id;
  if (row.locale) ids.locale = row.locale;
  return ids;
}

function entriesOf(result: unknown): Row[] {
  const { documentId, entries } = (result ?? {}) as { documentId?: string; entries?: Row[] };
  if (!Array.isArray(entries)) return [];
  return entries.map((row) => ({ ...row, documentId: row.documentId ?? documentId }));
}

/**
 * Delete and unpublish touch a draft and a published row per locale; readers hear of each locale once, by
 * the published row (the one REST showed them).
 */
function oncePerLocale(rows: Row[]): Row[] {
  const seen = new Set<string>();
  return [...rows].sort((a, b) => Number(isPublished(b)) - Number(isPublished(a))).filter((row) => {
    const key = row.locale ?? "";
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
