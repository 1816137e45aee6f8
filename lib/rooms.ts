/**
 * Room mechanics of `$io`: join, leave, list.
 *
 * @module
 */
import { isInternalRoom } from "./room-names.ts";
import { findLocalSocket, type NamespaceSet } from "./socket-directory.ts";
import type { SocketData, SocketInfo } from "./types.ts";
import { expectName } from "./validate.ts";

/** Adds a socket to `room`; `false` when no socket has that id. */
export function joinRoom(namespaces: NamespaceSet, socketId: string, room: string): boolean {
  expectName(room, "joinRoom()", "room");
  const socket = findLocalSocket(namespaces, socketId);
  if (!socket) return false;
  void socket.join(room);
  return true;
}

/** Removes a socket from `room`; `false` when no socket has that id. */
export function leaveRoom(namespaces: NamespaceSet, socketId: string, room: string): boolean {
  expectName(room, "leaveRoom()", "room");
  const socket = findLocalSocket(namespaces, socketId);
  if (!socket) return false;
  void socket.leave(room);
  return true;
}

/** Every socket in `room`, in every served namespace, as the adapter reports them (cluster-wide with one). */
export async function getSocketsInRoom(namespaces: NamespaceSet, room: string): Promise<SocketInfo[]> {
  expectName(room, "getSocketsInRoom()", "room");
  const perNamespace = await Promise.all(namespaces.all.map((namespace) => namespace.in(room).fetchSockets()));
  return perNamespace.flat().map((socket) => socketInfo(socket.id, socket.data, socket.rooms));
}

/** The public view of a socket: internal audience rooms and its own id room left out. */
export function socketInfo(id: string, data: SocketData | undefined, rooms: Iterable<string>): SocketInfo {
  const info: SocketInfo = { id, rooms: [...rooms].filter((room) => room !== id && !isInternalRoom(room)) };
  if (data?.userId !== undefined) info.userId = data.userId;
  if (data?.role !== undefined) info.role = data.role;
  return info;
}
