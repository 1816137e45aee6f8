/**
 * The cluster directory: every node knows which sockets the other nodes hold (id, namespace, followed
 * entities, filtered subscriptions), so that the synchronous `$io` methods (`joinRoom`, `leaveRoom`,
 * `disconnectSocket`, `unsubscribeFromEntity`, `getEntitySubscriptions`, `unsubscribe`,
 * `getSubscriptions`) can answer for a socket on another node without a round trip, and requests reach
 * the one node that holds it; and which distinct filtered queries each node matches against (see
 * `query-directory.ts`).
 *
 * Nodes talk through Socket.IO's `serverSideEmit` on `/` (so over the Redis adapter, in order with the
 * broadcasts of the same node):
 * - announcements, batched per loop turn: a socket connected, left, changed its entity or filtered
 *   subscriptions; this node's set of distinct queries changed;
 *   `alive` every `adapter.heartbeatInterval`; `bye` when a node closes;
 * - `hello` when a node joins (or gets Redis back after an outage): every node answers with a snapshot
 *   of its sockets, which replaces what the others knew of it (announcements lost during an outage are
 *   repaired that way);
 * - commands that only the holding node can carry out (entity subscriptions, checked there against the
 *   socket's own identity), with an acknowledgement.
 *
 * A node not heard from for three heartbeats, while this node's own Redis connection was up all along, is
 * considered gone and its sockets are forgotten. While Redis is down nothing is forgotten (nobody can be
 * heard); the snapshots after reconnecting put the directory right.
 *
 * @module
 */
import { errorMessage, type Logger } from "../logger.ts";
import type {
  ClusterCommand,
  ClusterLink,
  LiveQueryLink,
  NamespaceSet,
  RemoteSocketRef,
  StoredSubscription,
} from "../namespace-set.ts";
import type { IoNamespace, IoSocket, LiveQuery } from "../types.ts";
import { askNodes } from "./ask-nodes.ts";
import { QueryDirectory, type QueryEntry } from "./query-directory.ts";

/** Event names between nodes. */
const DIRECTORY_EVENT = "strapi-io:directory";
const COMMAND_EVENT = "strapi-io:command";

/** A socket as announced: id, namespace, followed entities, filtered subscriptions (ids). */
type SocketEntry = [
  id: string,
  namespace: string,
  subscriptions: StoredSubscription[],
  liveQueries?: string[],
];
/** One announcement. */
export type DirectoryOp =
  | ["hello"]
  | ["alive"]
  | ["bye"]
  | ["snapshot", SocketEntry[]]
  | ["add", SocketEntry]
  | ["remove", string]
  | ["subscriptions", string, StoredSubscription[]]
  | ["live", string, string[]]
  | ["queries", QueryEntry[]];
/** What travels in one `serverSideEmit`. */
export interface DirectoryMessage {
  node: string;
  ops: DirectoryOp[];
}
export interface CommandMessage {
  to: string;
  command: ClusterCommand;
}
/** A node's answer to a command: its value, or `null` from the nodes that do not hold the socket. */
export type CommandReply = { node: string; value: unknown } | null;

/** Where the directory learns whether Redis is reachable. */
export interface ConnectionStatus {
  readonly connected: boolean;
  onReconnect(listener: () => void): void;
}

/** Runs commands addressed to this node. */
export type CommandHandler = (command: ClusterCommand) => unknown;

/** Silent heartbeats after which a node is considered gone. */
const MISSED_HEARTBEATS = 3;
/**
 * How long a node waits before answering a `hello` with its snapshot: every `hello` received meanwhile
 * (after a Redis restart all nodes say hello at about the same time) is answered by that one snapshot.
 */
const SNAPSHOT_DELAY = 50;

/** One node's view of the others, and its link for the `$io` core. */
export class ClusterDirectory implements ClusterLink {
  readonly nodeId: string;
  readonly #status: ConnectionStatus;
  readonly #logger: Logger;
  readonly #heartbeatInterval: number;
  readonly #requestsTimeout: number;
  readonly #remote = new Map<string, RemoteSocketRef>();
  readonly #nodes = new Map<string, NodeState>();
  readonly #queries: QueryDirectory;
  #liveQueries: LiveQueryLink | undefined;
  /** This node's distinct queries changed since they were last announced. */
  #queriesChanged = false;
  #namespaces: NamespaceSet | undefined;
  #handler: CommandHandler | undefined;
  #queue: DirectoryOp[] = [];
  #flushScheduled = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #snapshotTimer: ReturnType<typeof setTimeout> | undefined;
  /** Since when this node's Redis connection has been up without a break (`undefined` while down). */
  #upSince: number | undefined;
  #stopped = false;

  constructor(
    nodeId: string,
    status: ConnectionStatus,
    options: { heartbeatInterval: number; requestsTimeout: number },
    logger: Logger,
  ) {
    this.nodeId = nodeId;
    this.#status = status;
    this.#logger = logger;
    this.#heartbeatInterval = options.heartbeatInterval;
    this.#requestsTimeout = options.requestsTimeout;
    this.#queries = new QueryDirectory(nodeId, options.requestsTimeout, logger);
  }

  get connected(): boolean {
    return !this.#stopped && this.#status.connected;
  }

  /** Starts announcing this node's sockets and listening to the others'; `handler` runs commands for local sockets. */
  attach(namespaces: NamespaceSet, handler: CommandHandler): void {
    this.#namespaces = namespaces;
    this.#handler = handler;
    for (const namespace of namespaces.all) this.#watch(namespace);
    const main = namespaces.main;
    main.on(DIRECTORY_EVENT, (message: DirectoryMessage) => this.#receive(message));
    main.on(
      COMMAND_EVENT,
      (message: CommandMessage, ack?: (reply: CommandReply) => void) => this.#command(message, ack),
    );
    this.#status.onReconnect(() => this.#join());
    this.#upSince = this.#status.connected ? Date.now() : undefined;
    this.#heartbeat = setInterval(() => this.#tick(), this.#heartbeatInterval);
    this.#heartbeat.unref?.();
    this.#join();
  }

  /** Nodes this one knows of, itself included. */
  get nodeCount(): number {
    return this.#nodes.size + 1;
  }

  findRemote(socketId: string): RemoteSocketRef | undefined {
    return this.#remote.get(socketId);
  }

  async ask(
    ref: RemoteSocketRef,
    command: ClusterCommand,
  ): Promise<{ answered: true; value: unknown } | { answered: false; reason: string }> {
    if (!this.connected) return { answered: false, reason: "Redis is unreachable" };
    const message: CommandMessage = { to: ref.node, command };
    const replies = await askNodes(
      this.#requireNamespaces().main,
      COMMAND_EVENT,
      message,
      this.#requestsTimeout,
    ) as CommandReply[];
    const reply = replies.find((candidate) => candidate?.node === ref.node);
    return reply
      ? { answered: true, value: reply.value }
      : { answered: false, reason: `no answer from node ${ref.node}` };
  }

  tell(ref: RemoteSocketRef, command: ClusterCommand): boolean {
    if (!this.connected) return false;
    const message: CommandMessage = { to: ref.node, command };
    this.#requireNamespaces().main.serverSideEmit(
      COMMAND_EVENT,
      message,
    );
    return true;
  }

  subscriptionsChanged(socket: IoSocket): void {
    this.#announce(["subscriptions", socket.id, subscriptionsOf(socket)]);
  }

  liveQueriesChanged(socket: IoSocket): void {
    this.#announce(["live", socket.id, liveQueriesOf(socket)]);
  }

  serveLiveQueries(link: LiveQueryLink): void {
    this.#liveQueries = link;
    this.#queries.serve(
      this.#requireNamespaces().main,
      link,
      (node) => void (this.#nodeState(node).lastSeen = Date.now()),
    );
  }

  shareQuery(id: string, query: LiveQuery): Promise<void> {
    if (!this.connected || this.#nodes.size === 0) return Promise.resolve();
    return this.#queries.share(this.#requireNamespaces().main, id, query);
  }

  queriesChanged(): void {
    this.#queriesChanged = true;
    this.#announce(["alive"]); // schedules a flush, which carries the queries
  }

  remoteQueries(): Map<string, { query: LiveQuery; nodes: string[] }> {
    return this.#queries.all();
  }

  remoteQuery(node: string, id: string): LiveQuery | undefined {
    return this.#queries.get(node, id);
  }

  publishMatches(message: unknown): void {
    if (this.connected) this.#queries.publish(this.#requireNamespaces().main, message);
  }

  /** Says goodbye (the others forget this node's sockets at once) and stops announcing. */
  leave(): void {
    if (this.#stopped) return;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#snapshotTimer) clearTimeout(this.#snapshotTimer);
    this.#queue = [];
    if (this.#namespaces && this.#status.connected) this.#send([["bye"]]);
    this.#stopped = true;
  }

  #watch(namespace: IoNamespace): void {
    namespace.on("connection", (socket) => {
      this.#announce(["add", [
        socket.id,
        namespace.name,
        subscriptionsOf(socket),
        liveQueriesOf(socket),
      ]]);
      socket.on("disconnect", () => this.#announce(["remove", socket.id]));
    });
  }

  /** Asks every node for its sockets and tells them ours (on start, and after Redis comes back). */
  #join(): void {
    if (this.#stopped || !this.#status.connected) return;
    // A (re)connection ends a break in which nobody could be heard: silence is counted from now.
    this.#upSince = Date.now();
    this.#queue = []; // the snapshot below covers whatever was queued
    this.#announce(["hello"]);
    this.#announce(["snapshot", this.#localEntries()]);
    this.#queriesChanged = true;
  }

  #tick(): void {
    if (this.#stopped) return;
    const now = Date.now();
    if (!this.#status.connected) {
      this.#upSince = undefined;
      return;
    }
    this.#upSince ??= now;
    this.#announce(["alive"]);
    const silence = MISSED_HEARTBEATS * this.#heartbeatInterval;
    if (now - this.#upSince < silence) return;
    for (const [node, state] of this.#nodes) {
      if (now - state.lastSeen <= silence) continue;
      this.#logger.warn(
        `cluster node ${node} silent for ${
          now - state.lastSeen
        } ms: forgetting its ${state.sockets.size} socket(s)`,
      );
      this.#forget(node);
    }
  }

  #announce(op: DirectoryOp): void {
    if (this.#stopped || !this.#namespaces) return;
    this.#queue.push(op);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      const ops = this.#queue;
      this.#queue = [];
      if (this.#queriesChanged && this.#liveQueries) {
        this.#queriesChanged = false;
        ops.push(["queries", this.#liveQueries.localQueries()]);
      }
      if (ops.length > 0 && !this.#stopped) this.#send(ops);
    });
  }

  #send(ops: DirectoryOp[]): void {
    // While Redis is down the publish fails and is counted by the connections; the snapshot after
    // reconnecting repairs what the others missed.
    const message: DirectoryMessage = { node: this.nodeId, ops };
    this.#requireNamespaces().main.serverSideEmit(
      DIRECTORY_EVENT,
      message,
    );
  }

  #receive(message: DirectoryMessage): void {
    if (
      this.#stopped || !message || typeof message.node !== "string" ||
      message.node === this.nodeId || !Array.isArray(message.ops)
    ) return;
    const { node } = message;
    const state = this.#nodeState(node);
    state.lastSeen = Date.now();
    for (const op of message.ops) {
      try {
        this.#apply(node, state, op);
      } catch (error) {
        this.#logger.warn(
          `ignored a malformed cluster directory message from node ${node}: ${errorMessage(error)}`,
        );
      }
    }
  }

  #apply(node: string, state: NodeState, op: DirectoryOp): void {
    const { sockets } = state;
    switch (op[0]) {
      case "hello":
        this.#snapshotTimer ??= setTimeout(() => {
          this.#snapshotTimer = undefined;
          this.#announce(["snapshot", this.#localEntries()]);
          this.#queriesChanged = true;
        }, SNAPSHOT_DELAY);
        return;
      case "alive":
        return;
      case "bye":
        this.#forget(node);
        return;
      case "snapshot":
        for (const id of sockets) this.#remote.delete(id);
        sockets.clear();
        for (const entry of op[1]) this.#add(node, sockets, entry);
        return;
      case "add":
        this.#add(node, sockets, op[1]);
        return;
      case "remove":
        sockets.delete(op[1]);
        if (this.#remote.get(op[1])?.node === node) this.#remote.delete(op[1]);
        return;
      case "subscriptions": {
        const ref = this.#remote.get(op[1]);
        if (ref?.node === node) ref.subscriptions = op[2];
        return;
      }
      case "live": {
        const ref = this.#remote.get(op[1]);
        if (ref?.node === node) ref.liveQueries = stringsIn(op[2]);
        return;
      }
      case "queries":
        this.#queries.replace(node, op[1]);
        return;
    }
  }

  #add(
    node: string,
    sockets: Set<string>,
    [id, namespace, subscriptions, liveQueries]: SocketEntry,
  ): void {
    if (typeof id !== "string" || typeof namespace !== "string") {
      throw new TypeError("bad socket entry");
    }
    sockets.add(id);
    this.#remote.set(id, {
      id,
      node,
      namespace,
      subscriptions: Array.isArray(subscriptions) ? subscriptions : [],
      liveQueries: stringsIn(liveQueries),
    });
  }

  #forget(node: string): void {
    const state = this.#nodes.get(node);
    if (!state) return;
    for (const id of state.sockets) {
      if (this.#remote.get(id)?.node === node) this.#remote.delete(id);
    }
    this.#nodes.delete(node);
    this.#queries.forget(node);
  }

  #nodeState(node: string): NodeState {
    let state = this.#nodes.get(node);
    if (!state) {
      state = { lastSeen: 0, sockets: new Set() };
      this.#nodes.set(node, state);
    }
    return state;
  }

  #command(message: CommandMessage, ack?: (reply: CommandReply) => void): void {
    if (this.#stopped || message?.to !== this.nodeId || !this.#handler) {
      ack?.(null);
      return;
    }
    Promise.resolve()
      .then(() => this.#handler!(message.command))
      .then(
        (value) => ack?.({ node: this.nodeId, value }),
        (error) => {
          this.#logger.error(
            `cluster command '${String(message.command?.op)}' failed: ${errorMessage(error)}`,
          );
          ack?.({ node: this.nodeId, value: undefined });
        },
      );
  }

  #localEntries(): SocketEntry[] {
    const entries: SocketEntry[] = [];
    for (const namespace of this.#requireNamespaces().all) {
      for (const socket of namespace.sockets.values()) {
        entries.push([socket.id, namespace.name, subscriptionsOf(socket), liveQueriesOf(socket)]);
      }
    }
    return entries;
  }

  #requireNamespaces(): NamespaceSet {
    if (!this.#namespaces) throw new Error("strapi-io: the cluster directory is not attached");
    return this.#namespaces;
  }
}

/** What this node knows of another. */
interface NodeState {
  lastSeen: number;
  sockets: Set<string>;
}

function liveQueriesOf(socket: IoSocket): string[] {
  return (socket.data?.liveQueries ?? []).map(({ id }) => id);
}

function stringsIn(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === "string") : [];
}

function subscriptionsOf(socket: IoSocket): StoredSubscription[] {
  return (socket.data?.entitySubscriptions ?? []) as StoredSubscription[];
}
