/**
 * What one node can say about its own sockets, read from its {@link SocketIndex}: the busiest rooms, the
 * connections that match a search, and one slice of them described.
 *
 * @module
 */
import { isInternalRoom } from "../room-names.ts";
import type { IoNamespace, IoSocket } from "../types.ts";
import { type ConnectionRow, MAX_LISTED_ROOMS, type RoomSize } from "./operations-types.ts";
import { audienceOf, type SocketIndex } from "./socket-index.ts";

export function countConnections(namespaces: readonly IoNamespace[]): number {
  let count = 0;
  for (const namespace of namespaces) count += namespace.sockets.size;
  return count;
}

/** The `top` largest of this node's busy rooms (never a socket's own room or an audience's). */
export function busiestRooms(index: SocketIndex, top: number): RoomSize[] {
  const best: RoomSize[] = [];
  for (const { namespace, room, size } of index.busyRooms()) {
    if (best.length === top && size <= best[top - 1]!.sockets) continue;
    insertBySize(best, { namespace: namespace.name, name: room, sockets: size }, top);
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

/** The matching sockets of one page, described. */
export function matchingRows(
  index: SocketIndex,
  needle: string,
  offset: number,
  limit: number,
  node: string,
): ConnectionRow[] {
  const rows: ConnectionRow[] = [];
  for (const { namespace, id } of index.slice(needle, offset, limit)) {
    const socket = namespace.sockets.get(id);
    if (socket) rows.push(describeConnection(socket, node));
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
