/**
 * What one node can say about its own sockets: audience counts, the busiest rooms, the connections that
 * match a search and one slice of them. Each is one pass over the node's sockets or rooms, run only when
 * asked (an admin page polls; nothing is kept per socket for it).
 *
 * @module
 */
import { isInternalRoom } from "../room-names.ts";
import type { IoNamespace, IoSocket } from "../types.ts";
import {
  type AudienceCounts,
  type ConnectionRow,
  MAX_LISTED_ROOMS,
  type RoomSize,
} from "./operations-types.ts";

/** Public, role (a user's) or token: what the socket's principal is. */
export function audienceOf(socket: IoSocket): keyof AudienceCounts {
  const principal = socket.data.principal;
  return principal ? (principal.kind === "token" ? "token" : "role") : "public";
}

export function countAudiences(namespaces: readonly IoNamespace[]): AudienceCounts {
  const counts: AudienceCounts = { public: 0, role: 0, token: 0 };
  for (const namespace of namespaces) {
    for (const socket of namespace.sockets.values()) counts[audienceOf(socket)] += 1;
  }
  return counts;
}

export function countConnections(namespaces: readonly IoNamespace[]): number {
  let count = 0;
  for (const namespace of namespaces) count += namespace.sockets.size;
  return count;
}

/** The `top` largest rooms of this node, leaving out each socket's own room and the audience rooms. */
export function busiestRooms(namespaces: readonly IoNamespace[], top: number): RoomSize[] {
  const best: RoomSize[] = [];
  for (const namespace of namespaces) {
    const { rooms, sids } = namespace.adapter;
    for (const [name, members] of rooms) {
      if (typeof name !== "string" || sids.has(name) || isInternalRoom(name)) continue;
      if (best.length === top && members.size <= best[top - 1]!.sockets) continue;
      insertBySize(best, { namespace: namespace.name, name, sockets: members.size }, top);
    }
  }
  return best;
}

/** The `top` largest of several nodes' rooms, summed by namespace and name. */
export function mergeRooms(lists: RoomSize[][], top: number): RoomSize[] {
  const sums = new Map<string, RoomSize>();
  for (const list of lists) {
    for (const room of list) {
      const key = `${room.namespace}\u0000${room.name}`;
      const known = sums.get(key);
      if (known) known.sockets += room.sockets;
      else sums.set(key, { ...room });
    }
  }
  return [...sums.values()]
    .sort((a, b) =>
      b.sockets - a.sockets || a.namespace.localeCompare(b.namespace) ||
      a.name.localeCompare(b.name)
    )
    .slice(0, top);
}

/** Keeps `list` sorted by size, largest first, at most `top` long. */
function insertBySize(list: RoomSize[], room: RoomSize, top: number): void {
  let at = list.length;
  while (at > 0 && list[at - 1]!.sockets < room.sockets) at -= 1;
  list.splice(at, 0, room);
  if (list.length > top) list.pop();
}

/** Whether `needle` (lower case) is in the socket's id, user, role or token name. */
function matches(socket: IoSocket, needle: string): boolean {
  if (needle === "") return true;
  const { user, role, tokenName, userId } = socket.data;
  const candidates = [
    socket.id,
    role,
    tokenName,
    userId === undefined ? undefined : String(userId),
    typeof user?.username === "string" ? user.username : undefined,
    typeof user?.email === "string" ? user.email : undefined,
  ];
  return candidates.some((text) => text !== undefined && text.toLowerCase().includes(needle));
}

/** How many of this node's sockets match `needle`. */
export function countMatching(namespaces: readonly IoNamespace[], needle: string): number {
  let count = 0;
  for (const namespace of namespaces) {
    for (const socket of namespace.sockets.values()) if (matches(socket, needle)) count += 1;
  }
  return count;
}

/** The matching sockets from `offset` on (namespaces in order, then connection order), at most `limit`. */
export function matchingRows(
  namespaces: readonly IoNamespace[],
  needle: string,
  offset: number,
  limit: number,
  node: string,
): ConnectionRow[] {
  const rows: ConnectionRow[] = [];
  let skip = offset;
  for (const namespace of namespaces) {
    for (const socket of namespace.sockets.values()) {
      if (rows.length === limit) return rows;
      if (!matches(socket, needle)) continue;
      if (skip > 0) skip -= 1;
      else rows.push(describeConnection(socket, node));
    }
  }
  return rows;
}

function describeConnection(socket: IoSocket, node: string): ConnectionRow {
  const rooms: string[] = [];
  let roomCount = 0;
  for (const room of socket.rooms) {
    if (room === socket.id || isInternalRoom(room)) continue;
    roomCount += 1;
    if (rooms.length < MAX_LISTED_ROOMS) rooms.push(room);
  }
  const { user, userId, role, tokenName } = socket.data;
  return {
    id: socket.id,
    node,
    namespace: socket.nsp.name,
    transport: socket.conn.transport.name,
    connectedAt: new Date(socket.handshake.issued).toISOString(),
    audience: audienceOf(socket),
    user: userId === undefined ? null : {
      id: userId,
      ...(typeof user?.username === "string" ? { username: user.username } : {}),
      ...(typeof user?.email === "string" ? { email: user.email } : {}),
    },
    role: role ?? null,
    token: tokenName ?? null,
    rooms,
    roomCount,
  };
}
