/**
 * What `$io.overview()` and `$io.listConnections()` read instead of walking every socket: measured at
 * 100,000 sockets (`bench/operations/RESULTS.md`), a pass that reads each socket object held the event
 * loop for 100–300 ms, because reading through that many objects is what costs. So each namespace keeps,
 * from its adapter's own room events and the connection handler:
 * - the busy rooms: those with two sockets or more that are neither a socket's own nor an audience's
 *   (an app that gives each user a room of its own has as many rooms as sockets; a room of one is not
 *   "busy", and walking them all was the largest cost left);
 * - per connected socket, its search text (id, user, role, token name), lower-cased once;
 * and, for audience counts, the kind (public, role, token) of each audience key: an audience room's size
 * is then the count of that audience.
 *
 * No listener per socket: a socket's entry goes when its own room is deleted (Socket.IO deletes it when
 * the socket leaves).
 *
 * @module
 */
import { audienceRoom, isInternalRoom } from "../room-names.ts";
import type { IoNamespace, IoSocket } from "../types.ts";
import type { AudienceCounts } from "./operations-types.ts";

/** Public, role (a user's) or token: what the socket's principal is. */
export function audienceOf(socket: IoSocket): keyof AudienceCounts {
  const principal = socket.data.principal;
  return principal ? (principal.kind === "token" ? "token" : "role") : "public";
}

/** One namespace's part of the index. */
interface NamespaceIndex {
  namespace: IoNamespace;
  /** The app's, entities' and filtered subscriptions' rooms with two sockets or more. */
  busyRooms: Set<string>;
  /** Connected sockets by id, in connection order: their search text. */
  texts: Map<string, string>;
}

export class SocketIndex {
  readonly #namespaces = new Map<IoNamespace, NamespaceIndex>();
  /** Audience key → kind. Audiences are roles and tokens: few. */
  readonly #audienceKinds = new Map<string, keyof AudienceCounts>();

  /** Follows the rooms of `namespace`'s adapter (call after the adapter stack is installed). */
  watch(namespace: IoNamespace): void {
    const entry: NamespaceIndex = { namespace, busyRooms: new Set(), texts: new Map() };
    this.#namespaces.set(namespace, entry);
    const adapter = namespace.adapter;
    const sizeOf = (room: string) => adapter.rooms.get(room)?.size ?? 0;
    adapter.on("join-room", (room: unknown, id: unknown) => {
      if (typeof room !== "string" || room === id || sizeOf(room) < 2) return;
      if (!isInternalRoom(room)) entry.busyRooms.add(room);
    });
    adapter.on("leave-room", (room: unknown) => {
      if (typeof room === "string" && sizeOf(room) < 2) entry.busyRooms.delete(room);
    });
    adapter.on("delete-room", (room: unknown) => {
      if (typeof room === "string") entry.texts.delete(room); // a socket's own room: it left
    });
  }

  /** Indexes a socket that just connected. */
  connected(socket: IoSocket): void {
    const entry = this.#namespaces.get(socket.nsp);
    if (!entry) return;
    const { audience, role, tokenName, userId, user } = socket.data;
    if (audience !== undefined) this.#audienceKinds.set(audience, audienceOf(socket));
    const words = [socket.id, role, tokenName, userId, user?.username, user?.email];
    entry.texts.set(
      socket.id,
      words.filter((word) => typeof word === "string" || typeof word === "number").join("\n")
        .toLowerCase(),
    );
  }

  /** Connections by audience kind: audience rooms' sizes; sockets without an audience count as public. */
  countAudiences(): AudienceCounts {
    const counts: AudienceCounts = { public: 0, role: 0, token: 0 };
    let total = 0;
    for (const { namespace } of this.#namespaces.values()) {
      total += namespace.sockets.size;
      for (const [key, kind] of this.#audienceKinds) {
        if (kind !== "public") {
          counts[kind] += namespace.adapter.rooms.get(audienceRoom(key))?.size ?? 0;
        }
      }
    }
    counts.public = Math.max(0, total - counts.role - counts.token);
    return counts;
  }

  /** The busy rooms of each namespace, with their sizes. */
  busyRooms(): Array<{ namespace: IoNamespace; room: string; size: number }> {
    const found: Array<{ namespace: IoNamespace; room: string; size: number }> = [];
    for (const { namespace, busyRooms } of this.#namespaces.values()) {
      for (const room of busyRooms) {
        found.push({ namespace, room, size: namespace.adapter.rooms.get(room)?.size ?? 0 });
      }
    }
    return found;
  }

  /** How many connected sockets' text contains `needle` (lower case). */
  count(needle: string): number {
    let count = 0;
    for (const { texts } of this.#namespaces.values()) {
      if (needle === "") {
        count += texts.size;
        continue;
      }
      for (const text of texts.values()) if (text.includes(needle)) count += 1;
    }
    return count;
  }

  /** The matching sockets from `offset` on (namespaces in order, then connection order), at most `limit`. */
  slice(
    needle: string,
    offset: number,
    limit: number,
  ): Array<{ namespace: IoNamespace; id: string }> {
    const found: Array<{ namespace: IoNamespace; id: string }> = [];
    let skip = offset;
    for (const { namespace, texts } of this.#namespaces.values()) {
      if (needle === "" && skip >= texts.size) {
        skip -= texts.size; // a whole namespace before the page
        continue;
      }
      for (const [id, text] of texts) {
        if (found.length === limit) return found;
        if (needle !== "" && !text.includes(needle)) continue;
        if (skip > 0) skip -= 1;
        else found.push({ namespace, id });
      }
    }
    return found;
  }
}
