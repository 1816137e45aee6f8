/**
 * Filtered subscriptions ("live queries"): a socket follows the documents of a content type that match a
 * filter, in Strapi's REST query syntax. The policy validates each query for the socket's own identity;
 * sockets with the same (normalized) query share one room, `live-query:<id>`, and the query id is the
 * same for all of them (it names the query, not the socket).
 *
 * Matching a change against the queries is the policy's side (the Strapi plugin runs one count per
 * distinct query and change); here is who follows which query, and the delivery: a socket gets one event
 * per change — the subscription's when one of its queries matched (with `subscriptions`, every one of its
 * queries that matched) or let the document go (`<singularName>:leave`), else the type-wide one.
 *
 * @module
 */
import type { AccessPolicy, Delivery, LiveQueryDecision } from "./access-policy.ts";
import { type ClientGuard, refusal } from "./client-guard.ts";
import { describe } from "./config-checks.ts";
import { errorMessage, type Logger } from "./logger.ts";
import { deliverMatches, isMatchedChange, type MatchedChange } from "./live-query-delivery.ts";
import { afterSnapshot, type HeldEvent } from "./live-query-payloads.ts";
import {
  listRemote,
  notSubscribed,
  subscribeRemote,
  unsubscribeRemote,
} from "./live-query-remote.ts";
import { type ClusterCommand, findLocalSocket, type NamespaceSet } from "./namespace-set.ts";
import type {
  IoNamespace,
  IoSocket,
  LiveQuery,
  LiveQueryRequest,
  LiveQueryResult,
  LiveQuerySnapshot,
  LiveQuerySubscription,
  SocketData,
} from "./types.ts";

/** `liveQueries` options, resolved. */
export interface ResolvedLiveQueries {
  enabled: boolean;
  /** Subscriptions one socket may hold. */
  maxPerSocket: number;
  /** Distinct queries this node matches changes against. */
  maxQueries: number;
}

/** What matched one change: the queries the document is in after it, and those it left. */
export interface LiveQueryMatches {
  entered: readonly string[];
  left: readonly string[];
  /**
   * For entered queries with `fields`/`populate`: the payload per audience key (read in that shape and
   * sanitized for it). Other queries' subscribers get their audience's type-wide copy.
   */
  shaped?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

const ROOM_PREFIX = "live-query:";

/** The room of the sockets following query `id`. */
export function liveQueryRoom(id: string): string {
  return `${ROOM_PREFIX}${id}`;
}

interface Registered {
  query: LiveQuery;
  sockets: number;
  /** When its last socket left (kept `keepIdle` ms: a socket away may resume with it). */
  idleSince?: number;
}

/** Who follows which query on this node, and the delivery of matched changes. */
export class LiveQueries {
  readonly #namespaces: NamespaceSet;
  readonly #options: ResolvedLiveQueries;
  readonly #policy: AccessPolicy;
  readonly #keepIdle: number;
  readonly #away: (room: string) => Iterable<{ sid: string; data: SocketData }>;
  readonly #registry = new Map<string, Registered>();
  /**
   * Sockets whose new subscription's snapshot is being read: their subscription events wait here (by the
   * new query's id) and are sent after the acknowledgement, less what the snapshot already shows.
   */
  readonly #holding = new Map<string, { query: string; held: HeldEvent[] }>();
  readonly #onDisconnect: (this: IoSocket) => void;

  constructor(
    namespaces: NamespaceSet,
    options: ResolvedLiveQueries,
    policy: AccessPolicy,
    recovery: {
      /** How long a query nobody holds is still matched: a socket away may resume with it. */
      keepIdle: number;
      /** The sockets away (recovery) in a room: they receive what their query matched, to replay it. */
      away(room: string): Iterable<{ sid: string; data: SocketData }>;
    },
    _logger: Logger,
    guard: ClientGuard,
  ) {
    this.#namespaces = namespaces;
    this.#options = options;
    this.#policy = policy;
    this.#keepIdle = recovery.keepIdle;
    this.#away = recovery.away;
    // Answered by the guard on `/` (a connection holds no listener of its own for them).
    const onMain = (socket: IoSocket) => socket.nsp === namespaces.main;
    guard.route(
      "subscribe",
      guard.handler(
        "subscribe",
        async (socket, [request], ack) => {
          const { result, afterReply } = await this.#subscribe(socket, request);
          ack?.(result);
          afterReply?.(); // what changed while the snapshot was read: after the acknowledgement
        },
        { reply: false },
      ),
      onMain,
    );
    guard.route(
      "unsubscribe",
      guard.handler("unsubscribe", (socket, [request]) => {
        const id = (request as { subscription?: unknown } | null)?.subscription;
        if (typeof id !== "string") {
          return refusal("invalid_request", "Expected { subscription: string }");
        }
        return this.#unsubscribe(socket, id);
      }, { reply: true }),
      onMain,
    );
    const release = (id: string) => this.#release(id);
    this.#onDisconnect = function (this: IoSocket) {
      for (const { id } of subscriptionsOf(this)) release(id);
    };
  }

  /** A resumed socket's subscriptions count again. */
  attach(socket: IoSocket): void {
    const held = subscriptionsOf(socket);
    if (held.length === 0) return;
    this.#watchDisconnect(socket);
    const before = this.#registry.size;
    for (const { id, query } of held) this.#hold(id, query);
    if (this.#registry.size > before) this.#namespaces.cluster?.queriesChanged();
  }

  /** Makes a socket follow a query, after the policy of its node validated it for that socket. */
  async subscribe(
    socketId: string,
    uid: string,
    query: Omit<LiveQueryRequest, "uid"> = {},
  ): Promise<LiveQueryResult> {
    const socket = findLocalSocket(this.#namespaces, socketId);
    if (socket) {
      const { result, afterReply } = await this.#subscribe(socket, { ...query, uid });
      afterReply?.();
      return result;
    }
    return await subscribeRemote(this.#namespaces.cluster, socketId, uid, query);
  }

  /** Stops a socket following a query. */
  unsubscribe(socketId: string, subscription: string): LiveQueryResult {
    const socket = findLocalSocket(this.#namespaces, socketId);
    if (socket) return this.#unsubscribe(socket, subscription);
    return unsubscribeRemote(this.#namespaces.cluster, socketId, subscription);
  }

  /** Runs a request another node sent for a socket connected here (checked here like any input). */
  async runCommand(
    command: Extract<ClusterCommand, { op: "live-subscribe" | "live-unsubscribe" }>,
  ): Promise<unknown> {
    if (command.op === "live-unsubscribe") {
      return typeof command.subscription === "string"
        ? this.unsubscribe(command.socketId, command.subscription)
        : undefined;
    }
    if (!findLocalSocket(this.#namespaces, command.socketId)) return undefined;
    if (typeof command.uid !== "string" || typeof command.query !== "object") {
      return refusal("invalid_request", "Expected a content type uid and a query");
    }
    return await this.subscribe(command.socketId, command.uid, command.query ?? {});
  }

  /**
   * In a cluster: announces this node's queries to the others (see `ClusterDirectory`), and delivers the
   * matches they send for the sockets connected here.
   */
  joinCluster(): void {
    this.#namespaces.cluster?.serveLiveQueries({
      localQueries: () => [...this.#registry].map(([id, { query }]) => [id, query]),
      deliverRemote: (message) => this.#deliverRemote(message),
    });
  }

  /** The queries a socket follows. */
  list(
    socketId: string,
  ): { success: boolean; subscriptions?: LiveQuerySubscription[]; error?: string } {
    const socket = findLocalSocket(this.#namespaces, socketId);
    if (socket) {
      return {
        success: true,
        subscriptions: subscriptionsOf(socket).map(({ id, query }) => ({ id, ...query })),
      };
    }
    return listRemote(this.#namespaces.cluster, socketId);
  }

  /**
   * Checks every filtered subscription of this node again, for its socket's identity now (after a change of
   * roles, permissions or tokens, or of the socket's role): one it may no longer hold ends, and its socket
   * is told with `strapi-io:subscription-ended` `{ subscription, error }` (a filter on a relation its role
   * can no longer read would otherwise go on revealing which documents match).
   */
  async revalidate(): Promise<void> {
    const policy = this.#policy;
    if (!policy.authorizeQuery) return;
    // A query is checked once per audience (what the policy decides on), not once per socket.
    const decided = new Map<string, Promise<LiveQueryDecision>>();
    for (const socket of this.#namespaces.main.sockets.values()) {
      for (const { id, query } of subscriptionsOf(socket)) {
        const request: LiveQueryRequest = { uid: query.uid };
        if (query.filters !== undefined) request.filters = query.filters;
        if (query.locale !== undefined) request.locale = query.locale;
        if (query.fields !== undefined) request.fields = query.fields;
        if (query.populate !== undefined) request.populate = query.populate;
        const key = `${socket.data.audience ?? ""}|${id}`;
        let pending = decided.get(key);
        if (!pending) {
          pending = policy.authorizeQuery(socket.data, request);
          decided.set(key, pending);
        }
        const decision = await pending;
        if (decision.allowed || !socket.connected) continue;
        this.#unsubscribe(socket, id);
        socket.emit("strapi-io:subscription-ended", { subscription: id, error: decision.error });
      }
    }
  }

  /** Subscriptions held by the sockets of this node, and the distinct queries (held or idle) behind them. */
  count(): { subscriptions: number; queries: number } {
    let subscriptions = 0;
    for (const entry of this.#registry.values()) subscriptions += entry.sockets;
    return { subscriptions, queries: this.#registry.size };
  }

  /** The distinct queries on `uid` that changes must be matched against (held, or idle but resumable). */
  queriesOn(uid: string): Array<{ id: string; query: LiveQuery }> {
    const now = Date.now();
    const found: Array<{ id: string; query: LiveQuery }> = [];
    let dropped = false;
    for (const [id, entry] of this.#registry) {
      if (entry.idleSince !== undefined && now - entry.idleSince > this.#keepIdle) {
        this.#registry.delete(id);
        dropped = true;
      } else if (entry.query.uid === uid) found.push({ id, query: entry.query });
    }
    const cluster = this.#namespaces.cluster;
    if (dropped) cluster?.queriesChanged();
    // In a cluster the node that wrote the change matches it for every node's queries, once.
    for (const [id, { query }] of cluster?.remoteQueries() ?? []) {
      if (query.uid === uid && !this.#registry.has(id)) found.push({ id, query });
    }
    return found;
  }

  /**
   * Delivers a change's matches to the sockets of this node and, in a cluster where another node holds
   * one of the queries, sends them there too (each node delivers to its own sockets).
   */
  deliverEverywhere(
    main: IoNamespace,
    eventName: string,
    leaveName: string,
    deliveries: readonly Delivery[],
    matches: LiveQueryMatches,
    identifiers: unknown,
  ): void {
    const change: MatchedChange = {
      event: eventName,
      leave: leaveName,
      deliveries,
      matches,
      identifiers,
    };
    this.#deliver(main, change);
    const cluster = this.#namespaces.cluster;
    if (!cluster) return;
    const remote = cluster.remoteQueries();
    if ([...matches.entered, ...matches.left].some((id) => remote.has(id))) {
      cluster.publishMatches(change);
    }
  }

  /** The rooms of the sockets that get a subscription event instead of the type-wide one. */
  roomsOf(matches: LiveQueryMatches | undefined): string[] {
    return matches ? [...matches.entered, ...matches.left].map(liveQueryRoom) : [];
  }

  /** Sends each socket of this node that holds a matched query its one event (see `live-query-delivery.ts`). */
  #deliver(main: IoNamespace, change: MatchedChange): void {
    deliverMatches(main, change, {
      rooms: this.roomsOf(change.matches),
      away: this.#away,
      holding: (socketId) => this.#holding.get(socketId),
    });
  }

  #deliverRemote(message: unknown): void {
    if (isMatchedChange(message)) this.#deliver(this.#namespaces.main, message);
  }

  /**
   * Starts a subscription. With a snapshot, the changes committed while it is read are held until
   * `afterReply`, which the caller calls once the acknowledgement is written.
   */
  async #subscribe(
    socket: IoSocket,
    request: unknown,
  ): Promise<{ result: LiveQueryResult; afterReply?: () => void }> {
    const decision = await this.#decide(socket, request);
    if ("refused" in decision) return { result: decision.refused };
    const { query } = decision;
    const id = await queryId(query);
    const refused = this.#admit(socket, id);
    if (refused) return { result: refused };
    const cluster = this.#namespaces.cluster;
    if (cluster && !this.#registry.has(id)) {
      // Known to every node before the socket joins: a change written anywhere from then on is matched.
      // Registered here first, so that no announcement of this node's queries made meanwhile leaves it out.
      this.#hold(id, query);
      await cluster.shareQuery(id, query);
      this.#release(id); // the socket is counted below
      const changed = this.#admit(socket, id); // the socket may have subscribed meanwhile
      if (changed) return { result: changed };
    }
    // Joined before the snapshot is read: a change committed meanwhile is held, not lost.
    this.#watchDisconnect(socket);
    socket.data.liveQueries = [...subscriptionsOf(socket), { id, query }];
    this.#hold(id, query);
    socket.join(liveQueryRoom(id));
    cluster?.liveQueriesChanged(socket);
    if (!decision.snapshot || !this.#policy.snapshot) {
      return { result: { success: true, subscription: id } };
    }
    if (this.#holding.has(socket.id)) {
      this.#unsubscribe(socket, id);
      const error = "Another snapshot of this socket is being read: try again";
      return { result: { success: false, error } };
    }
    const holding = { query: id, held: [] as HeldEvent[] };
    this.#holding.set(socket.id, holding);
    let snapshot: LiveQuerySnapshot;
    try {
      snapshot = await this.#policy.snapshot(socket.data, query, decision.snapshot);
    } catch (error) {
      this.#holding.delete(socket.id);
      this.#unsubscribe(socket, id);
      const message = `Could not read the snapshot: ${errorMessage(error)}`;
      return { result: { success: false, error: message } };
    }
    // Sent in the turn the acknowledgement is written, right after it: what changed meanwhile, in order,
    // less what the snapshot already shows.
    const afterReply = () => {
      this.#holding.delete(socket.id);
      for (const { event, payload } of afterSnapshot(holding.held, id, snapshot)) {
        this.#namespaces.main.to(socket.id).emit(event, payload);
      }
    };
    return { result: { success: true, subscription: id, snapshot }, afterReply };
  }

  /** The policy's decision on a client's request, or why it cannot even be asked. */
  async #decide(
    socket: IoSocket,
    request: unknown,
  ): Promise<{ refused: LiveQueryResult } | Extract<LiveQueryDecision, { allowed: true }>> {
    if (!this.#options.enabled) {
      return { refused: { success: false, error: "Filtered subscriptions are disabled" } };
    }
    if (socket.nsp !== this.#namespaces.main) {
      const error = "Filtered subscriptions are served on the main namespace '/'";
      return { refused: { success: false, error } };
    }
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      const expected = `Expected { uid, filters?, locale? }, got ${describe(request)}`;
      return { refused: refusal("invalid_request", expected) };
    }
    if (!this.#policy.authorizeQuery) {
      const error = "This access policy does not support filtered subscriptions";
      return { refused: { success: false, error } };
    }
    const decision = await this.#policy.authorizeQuery(socket.data, request as LiveQueryRequest);
    return decision.allowed ? decision : { refused: { success: false, error: decision.error } };
  }

  /** Why `socket` may not start following query `id` now, if so (`success` when it already does). */
  #admit(socket: IoSocket, id: string): LiveQueryResult | undefined {
    // The socket may have left while the policy looked.
    if (!socket.connected) return { success: false, error: "Socket disconnected" };
    const held = subscriptionsOf(socket);
    if (held.some((subscription) => subscription.id === id)) {
      return { success: true, subscription: id };
    }
    if (held.length >= this.#options.maxPerSocket) {
      return {
        success: false,
        error: `Subscription limit reached: at most ${this.#options.maxPerSocket} per socket`,
      };
    }
    if (!this.#registry.has(id) && this.#registry.size >= this.#options.maxQueries) {
      this.queriesOn(""); // drops idle ones past their time
      if (this.#registry.size >= this.#options.maxQueries) {
        return {
          success: false,
          error:
            `Too many distinct subscriptions on this node (at most ${this.#options.maxQueries})`,
        };
      }
    }
    return undefined;
  }

  #unsubscribe(socket: IoSocket, id: string): LiveQueryResult {
    const held = subscriptionsOf(socket);
    if (!held.some((subscription) => subscription.id === id)) return notSubscribed(id);
    socket.data.liveQueries = held.filter((subscription) => subscription.id !== id);
    socket.leave(liveQueryRoom(id));
    this.#release(id);
    this.#namespaces.cluster?.liveQueriesChanged(socket);
    return { success: true, subscription: id };
  }

  /** Listened to from a socket's first subscription only: most sockets hold none. */
  #watchDisconnect(socket: IoSocket): void {
    if (!socket.listeners("disconnect").includes(this.#onDisconnect)) {
      socket.on("disconnect", this.#onDisconnect);
    }
  }

  #hold(id: string, query: LiveQuery): void {
    const entry = this.#registry.get(id);
    if (entry) {
      entry.sockets += 1;
      entry.idleSince = undefined;
    } else this.#registry.set(id, { query, sockets: 1 });
  }

  #release(id: string): void {
    const entry = this.#registry.get(id);
    if (!entry) return;
    entry.sockets -= 1;
    if (entry.sockets <= 0) entry.idleSince = Date.now();
  }
}

function subscriptionsOf(socket: IoSocket): Array<{ id: string; query: LiveQuery }> {
  return socket.data.liveQueries ?? [];
}

/**
 * A query's id: the same for every socket that sends the same normalized query, and (SHA-256) not one a
 * client can make collide with another's query to share its room.
 */
async function queryId(query: LiveQuery): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(query.key),
  );
  let id = "q";
  for (const byte of new Uint8Array(digest).subarray(0, 12)) {
    id += byte.toString(16).padStart(2, "0");
  }
  return id;
}
