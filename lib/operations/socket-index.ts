/**
 * What `$io.overview()` and `$io.listConnections()` read instead of walking every socket: measured at
 * 100,000 sockets (`bench/operations/RESULTS.md`), a pass that reads each socket object held the event
 * loop for 100–300 ms, because reading through that many objects is what costs. So each namespace keeps,
 * from its adapter's own `create-room` / `delete-room` events and the connection handler:
 * - the rooms that are neither a socket's own nor an audience's (few, however many sockets);
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
  /** The app's, entities' and filtered subscriptions' rooms. */
  rooms: Set<string>;
  /** Connected sockets by id, in connection order: their search text. */
  texts: Map<string, string>;
}

export class SocketIndex {
  readonly #namespaces = new Map<IoNamespace, NamespaceIndex>();
  /** Audience key → kind. Audiences are roles and tokens: few. */
  readonly #audienceKinds = new Map<string, keyof AudienceCounts>();

  /** Follows the rooms of `namespace`'s adapter (call after the adapter stack is installed). */
  watch(namespace: IoNamespace): void {
    const entry: NamespaceIndex = { namespace, rooms: new Set(), texts: new Map() };
    this.#namespaces.set(namespace, entry);
    const adapter = namespace.adapter;
    adapter.on("create-room", (room: unknown) => {
      // A socket's own room is created while its id is already among the adapter's sockets.
      if (typeof room === "string" && !adapter.sids.has(room) && !isInternalRoom(room)) {
        entry.rooms.add(room);
      }
    });
    adapter.on("delete-room", (room: unknown) => {
      if (typeof room !== "string") return;
      entry.rooms.delete(room);
      entry.texts.delete(room); // the socket's own room: it left
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

  /** The rooms of each namespace the overview may list. */
  *rooms(): Generator<{ namespace: IoNamespace; room: string; size: number }> {
    for (const { namespace, rooms } of this.#namespaces.values()) {
      for (const room of rooms) {
        const size = namespace.adapter.rooms.get(room)?.size ?? 0;
        if (size > 0) yield { namespace, room, size };
      }
    }
  }

  /** The ids of the connected sockets whose text contains `needle` (lower case), in order. */
  *matching(needle: string): Generator<{ namespace: IoNamespace; id: string }> {
    for (const { namespace, texts } of this.#namespaces.values()) {
      for (const [id, text] of texts) {
        if (needle === "" || text.includes(needle)) yield { namespace, id };
      }
    }
  }
}
