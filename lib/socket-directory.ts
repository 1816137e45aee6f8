/**
 * Finds sockets by id across the namespaces `$io` serves (`/` and the configured ones).
 *
 * @module
 */
import type { IoNamespace, IoServer, IoSocket } from "./types.ts";

/** The namespaces one `$io` serves: `/` first, then the configured ones by bare name. */
export interface NamespaceSet {
  readonly server: IoServer;
  readonly main: IoNamespace;
  readonly named: Record<string, IoNamespace>;
  /** `/` and every configured namespace. */
  readonly all: readonly IoNamespace[];
}

/** Builds the namespace set, creating the configured namespaces on `server`. */
export function createNamespaceSet(server: IoServer, names: readonly string[]): NamespaceSet {
  const named = Object.fromEntries(names.map((name) => [name, server.of(`/${name}`)])) as Record<string, IoNamespace>;
  return { server, main: server.sockets, named, all: [server.sockets, ...Object.values(named)] };
}

/** The socket connected to this process with that id, in any served namespace. */
export function findLocalSocket(namespaces: NamespaceSet, socketId: unknown): IoSocket | undefined {
  if (typeof socketId !== "string" || socketId === "") return undefined;
  for (const namespace of namespaces.all) {
    const socket = namespace.sockets.get(socketId);
    if (socket) return socket;
  }
  return undefined;
}

/** Looks a namespace up by `chat`, `/chat` or `/` (the main one); `undefined` when it is not served. */
export function findNamespace(namespaces: NamespaceSet, name: string): IoNamespace | undefined {
  if (name === "/" || name === "") return namespaces.main;
  return namespaces.named[name.replace(/^\//, "")];
}
