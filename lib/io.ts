/**
 * The `$io` core: the public surface of DESIGN.md over a Socket.IO server, composed from the room,
 * entity-subscription and transport modules, with access decisions delegated to an {@link AccessPolicy}.
 * Usable without Strapi (tests, benchmarks, Deno, standalone servers).
 *
 * @module
 */
import type { Server as HttpServer } from "node:http";
import type { AccessPolicy } from "./access-policy.ts";
import { installAdapterStack } from "./adapter-stack.ts";
import { ClientGuard } from "./client-guard.ts";
import { ConnectionLimits } from "./connection-limits.ts";
import { EntitySubscriptions } from "./entity-subscriptions.ts";
import {
  firstOf,
  healthRoutes,
  type HttpAnswer,
  type HttpRoutes,
  metricsRoute,
} from "./http-routes.ts";
import type { Logger } from "./logger.ts";
import {
  bothMetrics,
  type Metrics,
  type MetricsFactory,
  type MetricSources,
} from "./metrics/metrics.ts";
import { NodeActivity } from "./operations/node-activity.ts";
import { Operations } from "./operations/operations.ts";
import type { ConnectionPage, ConnectionQuery, IoOverview } from "./operations/operations-types.ts";
import type { ResolvedIoOptions } from "./options.ts";
import { getSocketsInRoom, joinRoom, leaveRoom } from "./rooms.ts";
import type { RedisCluster } from "./cluster/redis-cluster.ts";
import type { Recovery } from "./recovery/recovery.ts";
import type { RecoveryCluster } from "./recovery/recovery-peers.ts";
import { setUpRecovery } from "./recovery/recovery-setup.ts";
import { installSocketLifecycle } from "./socket-lifecycle.ts";
import { reachOf, sendDeliveries } from "./content-delivery.ts";
import { LiveQueries, type LiveQueryMatches } from "./live-queries.ts";
import { identifiersOf } from "./live-query-payloads.ts";
import { singularNameOf } from "./singular-name.ts";
import {
  createNamespaceSet,
  findNamespace,
  locateSocket,
  namespaceOf,
  type NamespaceSet,
} from "./namespace-set.ts";
import { prepareTransport } from "./transports/select.ts";
import type {
  RunningTransportType,
  TransportHandle,
  TransportStats,
} from "./transports/transport.ts";
import type {
  DisconnectNotice,
  EmitOptions,
  EntitySubscriptionResult,
  EntitySubscriptionsResult,
  IoNamespace,
  IoServer,
  IoSocket,
  LiveQuery,
  LiveQueryRequest,
  LiveQueryResult,
  LiveQuerySubscription,
  RawEmitOptions,
  SocketInfo,
  SocketIO,
} from "./types.ts";
import { expectName, expectNames } from "./validate.ts";

/** Runtime parts `createSocketIO()` can be given besides options. */
export interface SocketIORuntime {
  /** A node:http server to share (used by the `node-http` transport; Strapi passes its own). */
  httpServer?: HttpServer;
  /** Where to log. @default a console logger */
  logger?: Logger;
  /** Who may connect and read what. @default openAccessPolicy (everyone reads everything) */
  policy?: AccessPolicy;
  /**
   * Called for every socket once it is connected and identified (the plugin registers user events here,
   * behind `guard.handler()`, so that they are limited and answered like strapi-io's own).
   */
  onConnection?: (socket: IoSocket, guard: ClientGuard) => void;
  /**
   * Runs once `$io` exists and before its transport starts, so before any client can connect (the plugin's
   * `hooks.init`; plug another adapter here). `$io.port` and `$io.transport` are not known yet.
   */
  init?: (io: StrapiIO) => void | Promise<void>;
  /**
   * Called when the cluster's Redis is back after an outage: what other nodes announced meanwhile was lost
   * (the plugin refreshes its cached roles and tokens). Never called on a single node.
   */
  onClusterReconnect?: () => void;
}

/** @internal What `createSocketIO()` builds a `StrapiIO` with, besides the server and options. */
export interface StrapiIOParts {
  policy: AccessPolicy;
  logger: Logger;
  cluster: RedisCluster | undefined;
  metrics: MetricsFactory;
}

/** What `$io.stats()` reports. */
export interface IoStats extends TransportStats {
  /** With `recovery` on: events (and breaks) kept for replay, and sessions of sockets away. */
  recovery?: { events: number; sessions: number };
}

/** Default reason sent with `strapi-io:disconnect` when `disconnectSocket()` is called without one. */
const DEFAULT_DISCONNECT_REASON = "disconnected by the server";

/** `strapi.$io`: see {@link SocketIO} for the contract. Created by `createSocketIO()` (create-socket-io.ts). */
export class StrapiIO implements SocketIO {
  readonly #server: IoServer;
  readonly #namespaces: NamespaceSet;
  readonly #policy: AccessPolicy;
  readonly #logger: Logger;
  readonly #entities: EntitySubscriptions;
  readonly #cluster: RedisCluster | undefined;
  readonly #connectionLimits: ConnectionLimits;
  readonly #options: ResolvedIoOptions;
  readonly #recovery: Recovery | undefined;
  readonly #recoveryCluster: RecoveryCluster | undefined;
  readonly #metrics: Metrics;
  readonly #liveQueries: LiveQueries;
  readonly #operations: Operations;
  #onConnection: SocketIORuntime["onConnection"];
  /** The adapter class the server was created with (another one at start was plugged by the app's `init`). */
  readonly #ownAdapter: unknown;
  #transport: TransportHandle | undefined;
  #closing = false;

  /** @internal Use `createSocketIO()`. */
  constructor(server: IoServer, options: ResolvedIoOptions, parts: StrapiIOParts) {
    const { policy, logger, cluster } = parts;
    this.#server = server;
    this.#ownAdapter = server.adapter();
    this.#options = options;
    this.#cluster = cluster;
    this.#namespaces = createNamespaceSet(server, options.namespaces, cluster?.directory);
    this.#policy = policy;
    this.#logger = logger;
    const activity = new NodeActivity();
    const guard = new ClientGuard(
      options.limits.events,
      logger,
      (socket, reason) => disconnectWithNotice(socket, reason),
      activity.received,
    );
    this.#entities = new EntitySubscriptions(
      this.#namespaces,
      options.entitySubscriptions,
      policy,
      logger,
      guard,
    );
    this.#liveQueries = new LiveQueries(
      this.#namespaces,
      options.liveQueries,
      policy,
      {
        // Kept while a socket away may resume with it: changes meanwhile must still be matched.
        keepIdle: options.recovery.enabled ? options.recovery.window : 0,
        away: (room) => this.#recovery?.awayMembers(room) ?? [],
      },
      logger,
      guard,
    );
    const limits = new ConnectionLimits(options.limits.connections, logger);
    this.#connectionLimits = limits;
    // Read when scraped or asked for an overview only, when everything below exists.
    const sources: MetricSources = {
      transport: () => this.#transport?.type,
      backpressureDisconnects: () => this.#transport?.stats().backpressureDisconnects ?? 0,
      recovery: () => this.#recovery?.size,
      entitySubscriptions: () => this.#entities.count(),
      liveQueries: () => this.#liveQueries.count(),
      cluster: cluster && {
        connected: () => cluster.directory.connected,
        nodes: () => cluster.directory.nodeCount,
      },
    };
    const metrics = bothMetrics(parts.metrics(sources, cluster?.nodeId), activity);
    this.#metrics = metrics;
    const recovery = setUpRecovery(options, this.#namespaces, cluster, metrics, logger);
    this.#recovery = recovery?.recovery;
    this.#recoveryCluster = recovery?.cluster;
    this.#operations = new Operations({
      namespaces: this.#namespaces.all,
      activity,
      readings: sources,
      cluster: cluster && options.adapter.type === "redis"
        ? {
          nodeId: cluster.nodeId,
          main: this.#namespaces.main,
          requestsTimeout: options.adapter.requestsTimeout,
        }
        : undefined,
      logger,
    });
    installSocketLifecycle(this.#namespaces.all, {
      policy,
      limits,
      recovery: recovery?.recovery,
      metrics,
      operations: this.#operations,
      guard,
      liveQueries: this.#liveQueries,
      logger,
      onConnection: () => this.#onConnection,
    });
    // Commands from other nodes for sockets connected here run the same code as local calls.
    cluster?.directory.attach(
      this.#namespaces,
      (command) =>
        command.op === "subscribe" || command.op === "unsubscribe"
          ? this.#entities.runCommand(command)
          : this.#liveQueries.runCommand(command),
    );
    if (cluster) this.#liveQueries.joinCluster();
  }

  /**
   * @internal Opens the transport: from here on clients connect, and each connected socket is handed to
   * `onConnection`. Called once, by `createSocketIO()` or after `prepareSocketIO()`.
   */
  async start(
    { httpServer, onConnection, onClusterReconnect }: Pick<
      SocketIORuntime,
      "httpServer" | "onConnection" | "onClusterReconnect"
    > = {},
  ): Promise<void> {
    if (this.#transport) throw new Error("strapi-io: $io has already started");
    this.#onConnection = onConnection;
    if (onClusterReconnect) this.#cluster?.onReconnect(onClusterReconnect);
    try {
      const transport = await prepareTransport({
        io: this.#server,
        options: this.#options,
        logger: this.#logger,
        httpServer,
        routes: this.#routes(),
      });
      const metrics = this.#metrics;
      installAdapterStack(
        this.#server,
        this.#ownAdapter,
        transport.adapter,
        this.#cluster,
        this.#recovery,
        (nsp, count) => metrics.delivered(nsp, count),
      );
      this.#operations.watch(); // the namespaces' adapters are the stack's from here on
      this.#transport = await transport.start();
    } catch (error) {
      // A transport that failed after binding an engine leaves connections to end; one that failed before has none.
      if (this.#server.engine) this.#server.close();
      throw error;
    }
    this.#connectionLimits.attach(this.#server.engine as never);
  }

  /** The Socket.IO server. */
  get server(): IoServer {
    return this.#server;
  }

  /** The configured namespaces, by name without the leading slash. */
  get namespaces(): Record<string, IoNamespace> {
    return this.#namespaces.named;
  }

  /** Which transport runs. */
  get transport(): RunningTransportType {
    return this.#requireTransport().type;
  }

  /** The port clients connect to. */
  get port(): number {
    return this.#requireTransport().port;
  }

  /** Counters: the transport's (slow clients disconnected) and, with `recovery` on, what it holds now. */
  stats(): IoStats {
    const stats: IoStats = this.#requireTransport().stats();
    if (this.#recovery) stats.recovery = this.#recovery.size;
    return stats;
  }

  /** This node's totals and, in a cluster, every node's: connections, audiences, events in and out, rooms. */
  overview(): Promise<IoOverview> {
    return this.#operations.overview();
  }

  /** One page of the connections of this node (or of the cluster) that match `query.search`. */
  listConnections(query?: ConnectionQuery): Promise<ConnectionPage> {
    return this.#operations.listConnections(query);
  }

  /**
   * Delivers a content event; `matches` (from the plugin's content events) are the filtered subscriptions
   * the change entered or left: their sockets get the subscription's event instead of the type-wide one.
   */
  async emit(options: EmitOptions, matches?: LiveQueryMatches): Promise<void> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("emit(): expected { event, schema, data }");
    }
    const { event, schema, data } = options;
    expectName(event, "emit()", "event");
    const eventName = `${singularNameOf(schema)}:${event}`;
    const main = this.#namespaces.main;
    this.#metrics.emitted("emit");
    const started = performance.now();
    const deliveries = await this.#policy.deliveries(
      event,
      schema,
      data,
      reachOf(this.#namespaces, this.#recovery),
    );
    this.#metrics.contentEvent(
      typeof schema === "string" ? schema : singularNameOf(schema),
      event,
      deliveries.length,
      (performance.now() - started) / 1000,
    );
    const subscribers = this.#liveQueries.roomsOf(matches);
    sendDeliveries(this.#namespaces, eventName, deliveries, subscribers);
    if (matches && subscribers.length > 0) {
      const leave = `${singularNameOf(schema)}:leave`;
      this.#liveQueries.deliverEverywhere(
        main,
        eventName,
        leave,
        deliveries,
        matches,
        identifiersOf(data),
      );
    }
  }

  /** Makes a socket follow the documents of `uid` that match `query` (checked for that socket's identity). */
  subscribe(
    socketId: string,
    uid: string,
    query: Omit<LiveQueryRequest, "uid"> = {},
  ): Promise<LiveQueryResult> {
    return this.#liveQueries.subscribe(socketId, uid, query);
  }

  /** Stops a socket following a filtered subscription. */
  unsubscribe(socketId: string, subscription: string): LiveQueryResult {
    return this.#liveQueries.unsubscribe(socketId, subscription);
  }

  /** The filtered subscriptions a socket holds. */
  getSubscriptions(
    socketId: string,
  ): { success: boolean; subscriptions?: LiveQuerySubscription[]; error?: string } {
    return this.#liveQueries.list(socketId);
  }

  /** @internal Re-checks every filtered subscription after an access change (the plugin calls it). */
  revalidateSubscriptions(): Promise<void> {
    return this.#liveQueries.revalidate();
  }

  /** @internal The distinct filtered subscriptions on `uid` a change must be matched against. */
  liveQueriesOn(uid: string): Array<{ id: string; query: LiveQuery }> {
    return this.#liveQueries.queriesOn(uid);
  }

  async raw(options: RawEmitOptions): Promise<void> {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("raw(): expected { event, rooms?, data }");
    }
    const { event, rooms, data } = options;
    expectName(event, "raw()", "event");
    const targets = rooms === undefined ? [] : expectNames(rooms, "raw()", "rooms");
    const main = this.#namespaces.main;
    this.#metrics.emitted("raw");
    (targets.length === 0 ? main : main.to(targets)).emit(event, data);
  }

  joinRoom(socketId: string, room: string): boolean {
    return joinRoom(this.#namespaces, socketId, room);
  }

  leaveRoom(socketId: string, room: string): boolean {
    return leaveRoom(this.#namespaces, socketId, room);
  }

  getSocketsInRoom(room: string): Promise<SocketInfo[]> {
    return getSocketsInRoom(this.#namespaces, room);
  }

  sendPrivateMessage(socketId: string, event: string, data: unknown): void {
    expectName(socketId, "sendPrivateMessage()", "socketId");
    expectName(event, "sendPrivateMessage()", "event");
    this.#metrics.emitted("sendPrivateMessage");
    const where = locateSocket(this.#namespaces, socketId);
    // Not connected here: address its id room, which the adapter resolves on the node holding it (or nowhere).
    if (where?.local) where.local.emit(event, data);
    else namespaceOf(this.#namespaces, where?.remote).to(socketId).emit(event, data);
  }

  broadcast(socketId: string, event: string, data: unknown): void {
    expectName(socketId, "broadcast()", "socketId");
    expectName(event, "broadcast()", "event");
    this.#metrics.emitted("broadcast");
    const where = locateSocket(this.#namespaces, socketId);
    if (where?.local) where.local.broadcast.emit(event, data);
    else namespaceOf(this.#namespaces, where?.remote).except(socketId).emit(event, data);
  }

  emitToNamespace(namespace: string, event: string, data: unknown): void {
    expectName(namespace, "emitToNamespace()", "namespace");
    expectName(event, "emitToNamespace()", "event");
    const target = findNamespace(this.#namespaces, namespace);
    this.#metrics.emitted("emitToNamespace");
    if (!target) {
      const served = ["/", ...Object.keys(this.#namespaces.named)].join(", ");
      throw new TypeError(
        `emitToNamespace(): 'namespace' must be a configured namespace (${served}), got '${namespace}'`,
      );
    }
    target.emit(event, data);
  }

  disconnectSocket(socketId: string, reason?: string): boolean {
    if (reason !== undefined && typeof reason !== "string") {
      throw new TypeError(
        `disconnectSocket(): 'reason' must be a string when given, got ${typeof reason}`,
      );
    }
    const where = locateSocket(this.#namespaces, socketId);
    if (!where) return false;
    const notice: DisconnectNotice = { reason: reason || DEFAULT_DISCONNECT_REASON };
    if (where.local) {
      disconnectWithNotice(where.local, notice.reason);
      return true;
    }
    // On another node: both requests leave through the same Redis connection, so they arrive in this order.
    if (!this.#namespaces.cluster?.connected) return false;
    const namespace = namespaceOf(this.#namespaces, where.remote);
    namespace.to(socketId).emit("strapi-io:disconnect", notice);
    namespace.in(socketId).disconnectSockets(true);
    return true;
  }

  subscribeToEntity(
    socketId: string,
    uid: string,
    id: string | number,
  ): Promise<EntitySubscriptionResult> {
    return this.#entities.subscribe(socketId, uid, id);
  }

  unsubscribeFromEntity(
    socketId: string,
    uid: string,
    id: string | number,
  ): EntitySubscriptionResult {
    return this.#entities.unsubscribe(socketId, uid, id);
  }

  getEntitySubscriptions(socketId: string): EntitySubscriptionsResult {
    return this.#entities.list(socketId);
  }

  emitToEntity(uid: string, id: string | number, event: string, data: unknown): void {
    this.#metrics.emitted("emitToEntity");
    this.#entities.emit(uid, id, event, data);
  }

  getEntityRoomSockets(
    uid: string,
    id: string | number,
  ): Promise<Array<{ id: string; user: Record<string, unknown> | null }>> {
    return this.#entities.roomSockets(uid, id);
  }

  /**
   * Disconnects every client and frees the transport (listen socket, shared-server listeners); in a cluster,
   * tells the other nodes this one is leaving and closes both Redis connections. Idempotent.
   */
  async close(): Promise<void> {
    const draining = !this.#closing && this.#transport !== undefined;
    this.#closing = true; // unready at once: balancers stop sending new clients
    const { drainDelay } = this.#options.health;
    if (draining && drainDelay > 0) await new Promise((resolve) => setTimeout(resolve, drainDelay));
    // Recovery in a cluster: the others keep every broadcast from the announcement on, and take over the
    // sessions of the sockets closed next (see lib/recovery/handoff.ts).
    const handingOff = this.#transport && this.#namespaces.cluster?.connected
      ? this.#recoveryCluster
      : undefined;
    this.#cluster?.leave(); // first, so the other nodes forget this node's sockets at once
    this.#connectionLimits.detach();
    await handingOff?.announceHandoff();
    await this.#transport?.close();
    handingOff?.handOff();
    await this.#cluster?.close();
    this.#recovery?.close();
  }

  /**
   * @internal What some role or token may read changed (the plugin calls this for each committed change):
   * a client away since before it replays nothing and refetches (its missed copies were sanitized under
   * the old rules).
   */
  accessChanged(): void {
    this.#recovery?.accessChanged();
  }

  /**
   * @internal Health or metrics, as strapi-io's own port answers them, for a route of another server (the
   * plugin's `/api/io/…` routes on Strapi's); `undefined` when that one is switched off.
   */
  answerOperations(
    what: "live" | "ready" | "metrics",
    authorization: string,
  ): HttpAnswer | Promise<HttpAnswer> | undefined {
    const { health, metrics } = this.#options;
    const path = what === "metrics" ? metrics.path : `${health.path}/${what}`;
    return this.#routes().answer({ method: "GET", path, authorization });
  }

  /** What strapi-io answers over plain HTTP on its own port. */
  #routes(): HttpRoutes {
    const health = healthRoutes(this.#options.health, () => this.#unreadiness());
    const { metrics } = this.#options;
    if (!metrics.enabled || metrics.token === undefined) return health;
    return firstOf(health, metricsRoute(metrics.path, metrics.token, () => this.#metrics.render()));
  }

  /** Why this node should not get new clients now (nothing when it should). */
  #unreadiness(): string[] {
    const reasons: string[] = [];
    if (this.#closing) reasons.push("shutting down");
    if (this.#namespaces.cluster && !this.#namespaces.cluster.connected) {
      reasons.push("Redis unreachable");
    }
    return reasons;
  }

  #requireTransport(): TransportHandle {
    if (!this.#transport) throw new Error("strapi-io: the transport has not started");
    return this.#transport;
  }
}

/** Sends `strapi-io:disconnect` with the reason, then closes the socket's connection. */
function disconnectWithNotice(socket: IoSocket, reason: string): void {
  const notice: DisconnectNotice = { reason };
  socket.emit("strapi-io:disconnect", notice);
  // Packets are written in order, so the notice reaches the client before the DISCONNECT packet.
  socket.disconnect(true);
}
