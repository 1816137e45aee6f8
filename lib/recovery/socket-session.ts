/**
 * The Socket.IO socket fields a resume rewrites before the socket connects: its session id (`pid`, which
 * Socket.IO declares private and sends in the CONNECT reply) and its id (the session's, so that rooms and
 * private messages addressed to it reach it again).
 *
 * @module
 */
import type { IoSocket } from "../types.ts";

/** The session id the socket's CONNECT reply carries. */
export function sessionIdOf(socket: IoSocket): string | undefined {
  return (socket as unknown as { pid?: string }).pid;
}

export function setSessionId(socket: IoSocket, pid: string): void {
  (socket as unknown as { pid?: string }).pid = pid;
}

/**
 * Gives a socket that has not connected yet the id of the session it resumes. Socket.IO keeps such a
 * socket in `_preConnectSockets` by id (it moves it to `sockets` on connect).
 */
export function renameSocket(socket: IoSocket, id: string): void {
  const waiting = (socket.nsp as unknown as { _preConnectSockets?: Map<string, IoSocket> })
    ._preConnectSockets;
  waiting?.delete(socket.id);
  (socket as { id: string }).id = id;
  waiting?.set(id, socket);
}
