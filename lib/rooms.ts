/**
 * Room mechanics of `$io`: join, leave, list.
 *
 * In a cluster, a socket connected to another node is joined or removed through Socket.IO's
 * `in(id).socketsJoin()` / `socketsLeave()`, which the node holding it carries out when the request
 * arrives over Redis (after whatever this node sent before, in order). `true` then means "the socket is
 * known to be connected to another node and the request was sent to it"; `false` means no node is known to
 * hold it, or Redis is unreachable so the request could not be sent. Listings ask every node.
 *
 * @module
 */
import { isInternalRoom } from "./room-names.ts";
import { locateSocket, namespaceOf, type NamespaceSet } from "./namespace-set.ts";
import { errorMessage } from "./logger.ts";
import type { SocketData, SocketInfo } from "./types.ts";
import { expectName } from "./validate.ts";

/** Adds a socket to `room` (on whichever node holds it); `false` when no socket has that id. */
export function joinRoom(namespaces: NamespaceSet, socketId: string, room: string): boolean {
  return changeMembership(namespaces, socketId, room, "join");
}

/** Removes a socket from `room` (on whichever node holds it); `false` when no socket has that id. */
export function leaveRoom(namespaces: NamespaceSet, socketId: string, room: string): boolean {
  return changeMembership(namespaces, socketId, room, "leave");
}

function changeMembership(
  namespaces: NamespaceSet,
  socketId: string,
  room: string,
  change: "join" | "leave",
): boolean {
  expectName(room, `${change}Room()`, "room");
  const where = locateSocket(namespaces, socketId);
  if (!where) return false;
  if (where.local) {
    void where.local[change](room);
    return true;
  }
  if (!namespaces.cluster?.connected) return false;
  const remote = namespaceOf(namespaces, where.remote).in(socketId);
  if (change === "join") remote.socketsJoin(room);
  else remote.socketsLeave(room);
  return true;
}

/** Every socket in `room`, in every served namespace, as the adapter reports them (cluster-wide with one). */
export async function getSocketsInRoom(
  namespaces: NamespaceSet,
  room: string,
): Promise<SocketInfo[]> {
  expectName(room, "getSocketsInRoom()", "room");
  const sockets = await fetchEverywhere(namespaces, room, "getSocketsInRoom()");
  return sockets.map((socket) => socketInfo(socket.id, socket.data, socket.rooms));
}

/**
 * The sockets in `room` in every served namespace, on every node. In a cluster, rejects when a node does
 * not answer within `adapter.requestsTimeout` or Redis is unreachable (a partial list would look complete).
 */
export async function fetchEverywhere(
  namespaces: NamespaceSet,
  room: string,
  method: string,
): Promise<Array<{ id: string; data: SocketData; rooms: Set<string> }>> {
  try {
    const perNamespace = await Promise.all(
      namespaces.all.map((namespace) => namespace.in(room).fetchSockets()),
    );
    return perNamespace.flat();
  } catch (error) {
    if (!namespaces.cluster) throw error;
    throw new Error(`${method}: could not ask every cluster node (${errorMessage(error)})`);
  }
}

/** The public view of a socket: internal audience rooms and its own id room left out. */
function socketInfo(
  id: string,
  data: SocketData | undefined,
  rooms: Iterable<string>,
): SocketInfo {
  const info: SocketInfo = {
    id,
    rooms: [...rooms].filter((room) => room !== id && !isInternalRoom(room)),
  };
  if (data?.userId !== undefined) info.userId = data.userId;
  if (data?.role !== undefined) info.role = data.role;
  return info;
}
