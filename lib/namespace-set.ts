/**
 * The namespaces `$io` serves (`/` and the configured ones), and how a socket is found in them by id:
 * here or, in a cluster, on another node. A socket connected here is a live `IoSocket`; one connected
 * to another node is known from the cluster directory (see `lib/cluster/`), which every node keeps from
 * the others' announcements.
 *
 * @module
 */
import { Adapter } from "socket.io-adapter";
import type { EntitySubscription, IoNamespace, IoServer, IoSocket, LiveQuery } from "./types.ts";

/** An entity a socket follows, with the id as it was asked for (a numeric id resolves to a documentId). */
export interface StoredSubscription extends EntitySubscription {
  requestedId: string;
}

/** A socket connected to another node, as this node's cluster directory knows it. */
export interface RemoteSocketRef {
  id: string;
  /** The node it is connected to. */
  node: string;
  /** Its namespace, with the leading slash (`/`, `/chat`). */
  namespace: string;
  /** The entities it follows, as its node last announced them. */
  subscriptions: StoredSubscription[];
  /** The ids of the filtered subscriptions it holds, as its node last announced them. */
  liveQueries: string[];
}

/** A request that only the node holding the socket can carry out (it runs its own checks). */
export type ClusterCommand =
  | { op: "subscribe"; socketId: string; uid: string; id: string | number }
  | { op: "unsubscribe"; socketId: string; uid: string; id: string | number }
  | { op: "live-subscribe"; socketId: string; uid: string; query: Record<string, unknown> }
  | { op: "live-unsubscribe"; socketId: string; subscription: string };

/** What the `$io` core asks of a cluster. Absent on a single node. */
export interface ClusterLink {
  /** The socket with that id on another node, if the directory knows it. */
  findRemote(socketId: string): RemoteSocketRef | undefined;
  /** Whether requests to other nodes can be sent now (Redis is reachable). */
  readonly connected: boolean;
  /**
   * Runs `command` on the node holding `ref` and resolves with its answer, or with `{ answered: false }`
   * when that node could not be asked or did not answer within `adapter.requestsTimeout`.
   */
  ask(
    ref: RemoteSocketRef,
    command: ClusterCommand,
  ): Promise<{ answered: true; value: unknown } | { answered: false; reason: string }>;
  /** Sends `command` to the node holding `ref` without waiting; `false` when Redis is unreachable. */
  tell(ref: RemoteSocketRef, command: ClusterCommand): boolean;
  /** A local socket's entity subscriptions changed: the other nodes' directories must learn it. */
  subscriptionsChanged(socket: IoSocket): void;
  /** A local socket's filtered subscriptions changed (its `data.liveQueries`). */
  liveQueriesChanged(socket: IoSocket): void;
  /**
   * Where this node's distinct filtered queries are read from, and what to call when a node sends the
   * matches of a change for its sockets (see `LiveQueries`).
   */
  serveLiveQueries(link: LiveQueryLink): void;
  /**
   * Tells every node that this node now matches changes against `query`, and resolves once each has it
   * (or after `adapter.requestsTimeout`): from then on, a change written on any node is matched against it.
   */
  shareQuery(id: string, query: LiveQuery): Promise<void>;
  /** This node's set of distinct queries changed (one was dropped): the others replace their copy. */
  queriesChanged(): void;
  /** The distinct queries other nodes match against, with the nodes that hold each. */
  remoteQueries(): Map<string, { query: LiveQuery; nodes: string[] }>;
  /** A query another node announced, by id. */
  remoteQuery(node: string, id: string): LiveQuery | undefined;
  /** Sends the matches of a change to the other nodes, for their sockets. */
  publishMatches(message: unknown): void;
}

/** The filtered subscriptions' side of the cluster directory. */
export interface LiveQueryLink {
  /** This node's distinct queries (held or kept idle). */
  localQueries(): Array<[id: string, query: LiveQuery]>;
  /** Another node's matches of a change, to deliver to this node's sockets. */
  deliverRemote(message: unknown): void;
}

/** The namespaces one `$io` serves: `/` first, then the configured ones by bare name. */
export interface NamespaceSet {
  readonly server: IoServer;
  readonly main: IoNamespace;
  readonly named: Record<string, IoNamespace>;
  /** `/` and every configured namespace. */
  readonly all: readonly IoNamespace[];
  /** The cluster this node belongs to, when the Redis adapter is configured. */
  readonly cluster?: ClusterLink;
}

/** Where a socket is: connected here, or connected to another node of the cluster. */
export type SocketLocation = { local: IoSocket; remote?: undefined } | {
  local?: undefined;
  remote: RemoteSocketRef;
};

/** Builds the namespace set, creating the configured namespaces on `server`. */
export function createNamespaceSet(
  server: IoServer,
  names: readonly string[],
  cluster?: ClusterLink,
): NamespaceSet {
  const named = Object.fromEntries(names.map((name) => [name, server.of(`/${name}`)])) as Record<
    string,
    IoNamespace
  >;
  const set = {
    server,
    main: server.sockets,
    named,
    all: [server.sockets, ...Object.values(named)],
  };
  return cluster ? { ...set, cluster } : set;
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

/** The socket with that id here or, in a cluster, on another node; `undefined` when nobody knows it. */
export function locateSocket(
  namespaces: NamespaceSet,
  socketId: unknown,
): SocketLocation | undefined {
  const local = findLocalSocket(namespaces, socketId);
  if (local) return { local };
  const remote = typeof socketId === "string" && socketId !== ""
    ? namespaces.cluster?.findRemote(socketId)
    : undefined;
  return remote ? { remote } : undefined;
}

/**
 * The namespace to address a socket through: a remote socket's own namespace (every node serves the same
 * ones), else `/`.
 */
export function namespaceOf(
  namespaces: NamespaceSet,
  remote: RemoteSocketRef | undefined,
): IoNamespace {
  return (remote && findNamespace(namespaces, remote.namespace)) || namespaces.main;
}

/**
 * Whether a namespace's adapter reaches other nodes. The in-memory adapter (and strapi-io's uWS subclass of
 * it) cannot: its `serverSideEmit` only warns. Redis' can, and so can an adapter plugged in by `hooks.init`.
 */
export function reachesOtherNodes(namespace: IoNamespace): boolean {
  return namespace.adapter.serverSideEmit !== Adapter.prototype.serverSideEmit;
}

/** Looks a namespace up by `chat`, `/chat` or `/` (the main one); `undefined` when it is not served. */
export function findNamespace(namespaces: NamespaceSet, name: string): IoNamespace | undefined {
  if (name === "/" || name === "") return namespaces.main;
  return namespaces.named[name.replace(/^\//, "")];
}
