/**
 * The delivery of one change to the sockets of this node that hold one of the filtered subscriptions it
 * entered or left: each gets exactly one event, the change (its audience's copy, with the ids of its
 * subscriptions that matched) or, when the document only left its subscriptions, `<singularName>:leave`
 * with its identifiers. Sockets with the same copy and the same matches share one frame. Sockets whose
 * snapshot is being read have theirs held (see `LiveQueries`); sockets away (recovery) get theirs kept for
 * replay. In a cluster, the node that wrote the change sends the same {@link MatchedChange} to the others,
 * and each delivers to its own sockets.
 *
 * @module
 */
import type { Delivery } from "./access-policy.ts";
import type { LiveQueryMatches } from "./live-queries.ts";
import { copyFor, type HeldEvent, payloadFor, withSubscriptions } from "./live-query-payloads.ts";
import type { IoNamespace, SocketData } from "./types.ts";

/** A change and what it matched, as delivered here and sent to the other nodes. */
export interface MatchedChange {
  /** The change's event name (`article:update`) and its leave event's (`article:leave`). */
  event: string;
  leave: string;
  /** The audiences' sanitized copies of the change (as the type-wide event carries them). */
  deliveries: readonly Delivery[];
  matches: LiveQueryMatches;
  /** `{ id, documentId, locale? }` of the document, for `:leave`. */
  identifiers: unknown;
}

/** Who receives, besides the sockets in the rooms. */
export interface MatchReceivers {
  /** The rooms of the matched queries. */
  rooms: readonly string[];
  /** The sockets away (recovery) in a room. */
  away(room: string): Iterable<{ sid: string; data: SocketData }>;
  /** Where a socket whose snapshot is being read keeps its events until its acknowledgement. */
  holding(socketId: string): { held: HeldEvent[] } | undefined;
}

export function deliverMatches(
  main: IoNamespace,
  { event: eventName, leave: leaveName, deliveries, matches, identifiers }: MatchedChange,
  { rooms, away, holding: holdingOf }: MatchReceivers,
): void {
  const entered = new Set(matches.entered);
  const left = new Set(matches.left);
  const groups = new Map<string, { event: string; payload: unknown; sockets: string[] }>();
  const seen = new Set<string>();
  for (const room of rooms) {
    const receivers: Array<{ id: string; data: SocketData }> = [];
    for (const id of main.adapter.rooms.get(room) ?? []) {
      const socket = main.sockets.get(id);
      if (socket) receivers.push({ id, data: socket.data });
    }
    for (const { sid, data } of away(room)) receivers.push({ id: sid, data });
    for (const { id, data } of receivers) {
      if (seen.has(id)) continue;
      seen.add(id);
      const held = (data.liveQueries ?? []).map((subscription) => subscription.id);
      const matched = held.filter((query) => entered.has(query));
      const holding = holdingOf(id);
      if (holding && (matched.length > 0 || held.some((query) => left.has(query)))) {
        const copy = copyFor(data, deliveries);
        if (copy === undefined) continue;
        holding.held.push(
          matched.length > 0
            ? {
              event: eventName,
              payload: withSubscriptions(
                payloadFor(data, matched, deliveries[copy]!, matches).payload,
                matched,
              ),
              leave: false,
            }
            : {
              event: leaveName,
              payload: {
                data: identifiers,
                subscriptions: held.filter((query) => left.has(query)),
              },
              leave: true,
            },
        );
        continue;
      }
      if (matched.length > 0) {
        const copy = copyFor(data, deliveries);
        // An audience that may no longer read the type gets nothing (its copy was never made).
        if (copy === undefined) continue;
        const { source, payload } = payloadFor(data, matched, deliveries[copy]!, matches);
        const key = `${source ?? copy}|${matched.join(",")}`;
        const group = groups.get(key) ??
          { event: eventName, payload: withSubscriptions(payload, matched), sockets: [] };
        group.sockets.push(id);
        groups.set(key, group);
        continue;
      }
      const gone = held.filter((query) => left.has(query));
      if (gone.length === 0 || copyFor(data, deliveries) === undefined) continue;
      const key = `leave|${gone.join(",")}`;
      const group = groups.get(key) ??
        { event: leaveName, payload: { data: identifiers, subscriptions: gone }, sockets: [] };
      group.sockets.push(id);
      groups.set(key, group);
    }
  }
  for (const { event, payload, sockets } of groups.values()) {
    // This node's sockets only (in a cluster, each node delivers to its own).
    main.local.to(sockets).emit(event, payload);
  }
}

/** A change from another node: checked for shape (it is input like any other). */
export function isMatchedChange(message: unknown): message is MatchedChange {
  if (typeof message !== "object" || message === null) return false;
  const { event, leave, deliveries, matches } = message as Partial<MatchedChange>;
  const strings = (list: unknown) =>
    Array.isArray(list) && list.every((item) => typeof item === "string");
  return typeof event === "string" && typeof leave === "string" && Array.isArray(deliveries) &&
    typeof matches === "object" && matches !== null && strings(matches.entered) &&
    strings(matches.left);
}
