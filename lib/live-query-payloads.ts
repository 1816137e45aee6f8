/**
 * What each socket of a filtered subscription receives for a change: its audience's copy of the content
 * event (or its subscription's shaped copy, with `fields`/`populate`) with the ids of its subscriptions
 * that matched, or the identifiers of a document that left them; and, while a subscription's snapshot is
 * read, which held events still need sending after it.
 *
 * @module
 */
import type { Delivery } from "./access-policy.ts";
import { audienceRoom } from "./room-names.ts";
import type { LiveQueryMatches } from "./live-queries.ts";
import type { LiveQuerySnapshot, SocketData } from "./types.ts";

/** A subscription event held while a snapshot is read. */
export interface HeldEvent {
  event: string;
  payload: unknown;
  leave: boolean;
}

/**
 * The held events of a socket as they must still be sent after a snapshot of subscription `id`, in order.
 * They are replayed against what the client holds for `id` (the snapshot's documents, then each event
 * applied): an event whose outcome the client already has (the same version of a document it holds, or
 * the leave of one it does not hold) goes without `id`, or not at all when no other subscription is left
 * to send it for. Events that came after the snapshot always change what it holds, so they all go.
 */
export function afterSnapshot(
  held: readonly HeldEvent[],
  id: string,
  snapshot: LiveQuerySnapshot,
): Array<{ event: string; payload: unknown }> {
  const holds = new Map<unknown, unknown>(
    snapshot.data.map((document) => [document.documentId, document.updatedAt]),
  );
  const out: Array<{ event: string; payload: unknown }> = [];
  for (const { event, payload, leave } of held) {
    const { data, subscriptions } = payload as {
      data: { documentId?: unknown; updatedAt?: unknown };
      subscriptions: string[];
    };
    if (!subscriptions.includes(id)) {
      out.push({ event, payload });
      continue;
    }
    const known = holds.has(data.documentId);
    // The same version only when both say so (a subscription's `fields` may leave `updatedAt` out: then
    // the event is sent, and applying it again is harmless; losing it would not be).
    const settled = leave
      ? !known
      : known && data.updatedAt !== undefined && holds.get(data.documentId) === data.updatedAt;
    if (leave) holds.delete(data.documentId);
    else holds.set(data.documentId, data.updatedAt);
    if (!settled) {
      out.push({ event, payload });
      continue;
    }
    const rest = subscriptions.filter((subscription) => subscription !== id);
    if (rest.length > 0) {
      out.push({ event, payload: { ...(payload as object), subscriptions: rest } });
    }
  }
  return out;
}

/** `{ id?, documentId, locale? }` of a document: what a leave event carries. */
export function identifiersOf(data: unknown): Record<string, unknown> {
  const { id, documentId, locale } = (data ?? {}) as Record<string, unknown>;
  const ids: Record<string, unknown> = { documentId };
  if (id !== undefined) ids.id = id;
  if (typeof locale === "string") ids.locale = locale;
  return ids;
}

/** Which of `deliveries` reaches the socket's audience (its copy), if any. */
export function copyFor(data: SocketData, deliveries: readonly Delivery[]): number | undefined {
  const audience = data.audience;
  const room = audience === undefined ? undefined : audienceRoom(audience);
  const index = deliveries.findIndex(({ to }) =>
    to === "everyone" || (room !== undefined && to.rooms.includes(room))
  );
  return index === -1 ? undefined : index;
}

/**
 * What a socket that matched `matched` receives: the payload of its first subscription with a shape
 * (`fields`/`populate`), read for its audience, else its audience's type-wide copy. `source` names the
 * shaped copy (`<query>|<audience>`), for grouping sockets that get the same one.
 */
export function payloadFor(
  data: SocketData,
  matched: readonly string[],
  copy: Delivery,
  matches: LiveQueryMatches,
): { source?: string; payload: unknown } {
  const audience = data.audience;
  if (audience === undefined || !matches.shaped) return { payload: copy.payload };
  for (const query of matched) {
    const shaped = matches.shaped[query]?.[audience];
    if (shaped !== undefined) return { source: `${query}|${audience}`, payload: shaped };
  }
  return { payload: copy.payload };
}

export function withSubscriptions(payload: unknown, subscriptions: string[]): unknown {
  return { ...(payload as Record<string, unknown>), subscriptions };
}
