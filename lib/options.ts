/**
 * Options of the `$io` core: the one place that states every default and validates what a user wrote.
 * The Strapi plugin's config (`config/plugins.ts` → `io.config`) is resolved by the same function at boot,
 * so a bad value fails there with a message naming the key and the value.
 *
 * @module
 */
import type { ServerOptions } from "socket.io";
import { expectKnownKeys, expectPlainObject, fail, integerAtLeast } from "./config-checks.ts";
import {
  LIMIT_DEFAULTS,
  type LimitOptions,
  type ResolvedLimits,
  resolveLimits,
} from "./limit-options.ts";
import {
  HEALTH_DEFAULTS,
  type HealthOptions,
  type ResolvedHealth,
  resolveHealth,
} from "./http-routes.ts";
import {
  METRICS_DEFAULTS,
  type MetricsOptions,
  type ResolvedMetrics,
  resolveMetrics,
} from "./metrics/metrics-options.ts";
import {
  RECOVERY_DEFAULTS,
  type RecoveryOptions,
  type ResolvedRecovery,
  resolveRecovery,
} from "./recovery/recovery-options.ts";

/** Which server carries Socket.IO. */
export const TRANSPORT_TYPES = ["auto", "uws", "node-http"] as const;
/** Which server carries Socket.IO: `auto` picks `uws` where uWebSockets.js loads, else `node-http`. */
export type TransportType = (typeof TRANSPORT_TYPES)[number];

/** Where and how Socket.IO is served. */
export interface TransportOptions {
  /**
   * `uws` serves Socket.IO from a uWebSockets.js App on its own host/port; `node-http` attaches to a
   * node:http server (Strapi's own, or one created on `host`/`port`); `auto` picks `uws` where
   * uWebSockets.js loads natively and says why when it falls back.
   * @default "auto"
   */
  type?: TransportType;
  /** Interface to listen on when strapi-io owns the listening socket. @default "0.0.0.0" */
  host?: string;
  /** Port to listen on when strapi-io owns the listening socket; `0` picks a free one (read it back from `$io.port`). @default 1338 */
  port?: number;
  /** Offer HTTP long-polling as a fallback when a client cannot open a WebSocket. @default true */
  polling?: boolean;
  /**
   * Bytes that may queue for one client for longer than `drainTimeout`: a client whose send backlog stays
   * over this limit is a slow consumer and is disconnected (close code 1013, with a reason), rather than
   * silently missing messages. A healthy client that is still draining one large message is not.
   * @default 1048576 (1 MiB)
   */
  maxBackpressure?: number;
  /**
   * Milliseconds a client's send backlog may stay over `maxBackpressure` while it drains. Past it, or
   * when the backlog passes the hard limit (`maxBackpressure + 16 × maxMessageSize`), it is disconnected.
   * @default 5000
   */
  drainTimeout?: number;
  /**
   * Largest message the server sends, in bytes once encoded (`emit`, `raw`, `emitToEntity`, …). A larger
   * one is refused with a `RangeError` to the caller and sent to nobody.
   * @default 1048576 (1 MiB)
   */
  maxMessageSize?: number;
}

/** Entity subscriptions: clients follow single documents. */
export interface EntitySubscriptionOptions {
  /** Accept `subscribe-entity` requests and `subscribeToEntity()` calls. @default true */
  enabled?: boolean;
  /** Most entities one socket may follow at once. @default 100 */
  maxPerSocket?: number;
  /** Content-type uids that may be followed; `null` allows every type the socket may read. @default null */
  allowedContentTypes?: readonly string[] | null;
}

/** Which adapter carries broadcasts and room state between Socket.IO servers. */
export const ADAPTER_TYPES = ["memory", "redis"] as const;
/** `memory`: one process; `redis`: every node sharing the Redis server forms one cluster. */
export type AdapterType = (typeof ADAPTER_TYPES)[number];

/**
 * Scale-out over Redis with Socket.IO's Redis adapter (`@socket.io/redis-adapter`, pub/sub): every `$io`
 * method keeps its meaning with sockets spread over several nodes. Two connections per node (a publisher
 * and a subscriber), opened at start and closed by `close()`.
 */
export interface RedisAdapterOptions {
  type: "redis";
  /** Redis URL of the publisher connection (`redis://[user:pass@]host:port[/db]`, `rediss://` for TLS). @default "redis://127.0.0.1:6379" */
  url?: string;
  /** Redis URL of the subscriber connection, when it should go elsewhere (a replica). @default the value of `url` */
  subscriberUrl?: string;
  /**
   * Prefix of every Redis channel strapi-io uses; nodes with the same prefix form one cluster, so two apps
   * can share one Redis server with different prefixes.
   * @default "strapi-io"
   */
  keyPrefix?: string;
  /** Milliseconds a node waits for the others to answer a cluster-wide request (room listings, remote subscriptions). @default 5000 */
  requestsTimeout?: number;
  /**
   * Milliseconds between "still here" messages of a node. A node silent for three intervals (while this
   * node's own Redis connection is up) is considered gone and its sockets leave this node's directory.
   * @default 5000
   */
  heartbeatInterval?: number;
  /**
   * Start even when Redis cannot be reached at boot: the node serves its own clients, logs a warning, and
   * joins the cluster by itself once Redis answers. Without it, an unreachable Redis is a boot error.
   * @default false
   */
  allowDegraded?: boolean;
}

/** One process, nothing shared (the default). */
export interface MemoryAdapterOptions {
  type: "memory";
}

/** Socket.IO settings. */
export interface SocketOptions {
  /**
   * Passed through to Socket.IO's `Server` (`cors`, `pingInterval`, `maxHttpBufferSize`, `path`, …).
   * `transports` is derived from `transport.polling` and must not be set here.
   * @default {}
   */
  serverOptions?: Partial<Omit<ServerOptions, "transports">>;
}

/** Everything `createSocketIO()` and the Strapi plugin accept. Every key is optional. */
export interface IoOptions {
  /** Where and how Socket.IO is served. */
  transport?: TransportOptions;
  /** Socket.IO settings. */
  socket?: SocketOptions;
  /** Extra namespaces (besides `/`), e.g. `["chat"]`; each is guarded like `/`. @default [] */
  namespaces?: readonly string[];
  /** Entity-subscription settings. */
  entitySubscriptions?: EntitySubscriptionOptions;
  /** How nodes share broadcasts and rooms: one process (`memory`) or a cluster over Redis (`redis`). @default { type: "memory" } */
  adapter?: MemoryAdapterOptions | RedisAdapterOptions;
  /** Bounds on what one client can cause: events, connections, payload size. */
  limits?: LimitOptions;
  /** Replaying what a client missed while its connection was down. */
  recovery?: RecoveryOptions;
  /** Liveness and readiness endpoints on strapi-io's own port. */
  health?: HealthOptions;
  /** Prometheus metrics on strapi-io's own port. */
  metrics?: MetricsOptions;
  /** Filtered subscriptions (`subscribe` with a filter). */
  liveQueries?: LiveQueryOptions;
}

/** Filtered subscriptions (see the README's "Filtered subscriptions"). */
export interface LiveQueryOptions {
  /** Accept `subscribe` requests. @default true */
  enabled?: boolean;
  /** Filtered subscriptions one socket may hold. @default 20 */
  maxPerSocket?: number;
  /** Distinct queries this node matches changes against (each costs a count per change of its type). @default 1000 */
  maxQueries?: number;
}

/** Redis adapter options with every default applied. */
export type ResolvedRedisOptions = Required<RedisAdapterOptions>;

/** The keys of {@link IoOptions}, for strict checking (a key not listed is an error). */
export const CORE_KEYS = [
  "transport",
  "socket",
  "namespaces",
  "entitySubscriptions",
  "adapter",
  "limits",
  "recovery",
  "health",
  "metrics",
  "liveQueries",
] as const;

/** Options with every default applied: what the rest of `lib/` reads. */
export interface ResolvedIoOptions {
  transport: Required<TransportOptions>;
  socket: { serverOptions: Partial<ServerOptions> };
  /** Namespace names without the leading slash. */
  namespaces: string[];
  entitySubscriptions: {
    enabled: boolean;
    maxPerSocket: number;
    allowedContentTypes: readonly string[] | null;
  };
  adapter: MemoryAdapterOptions | ResolvedRedisOptions;
  limits: ResolvedLimits;
  recovery: ResolvedRecovery;
  health: ResolvedHealth;
  metrics: ResolvedMetrics;
  liveQueries: Required<LiveQueryOptions>;
}

/** The defaults, in one place. */
export const DEFAULTS = {
  transport: {
    type: "auto",
    host: "0.0.0.0",
    port: 1338,
    polling: true,
    maxBackpressure: 1024 * 1024,
    drainTimeout: 5000,
    maxMessageSize: 1024 * 1024,
  },
  path: "/socket.io",
  entitySubscriptions: { enabled: true, maxPerSocket: 100, allowedContentTypes: null },
  adapter: { type: "memory" },
  redis: {
    url: "redis://127.0.0.1:6379",
    keyPrefix: "strapi-io",
    requestsTimeout: 5000,
    heartbeatInterval: 5000,
    allowDegraded: false,
  },
  limits: LIMIT_DEFAULTS,
  recovery: RECOVERY_DEFAULTS,
  health: HEALTH_DEFAULTS,
  metrics: METRICS_DEFAULTS,
  liveQueries: { enabled: true, maxPerSocket: 20, maxQueries: 1000 },
} as const;

const NAMESPACE_NAME = /^[A-Za-z0-9_\-.]+(\/[A-Za-z0-9_\-.]+)*$/;

/**
 * Merges `options` with the defaults and validates the result.
 * @throws {TypeError} naming the key and the value, e.g. `strapi-io: 'transport.port' must be an integer from 0 to 65535, got -1`.
 */
export function resolveOptions(options: IoOptions = {}): ResolvedIoOptions {
  expectPlainObject(options, "(config)");
  expectKnownKeys(options, CORE_KEYS, "");
  const transport = options.transport ?? {};
  expectPlainObject(transport, "transport");
  expectKnownKeys(transport, Object.keys(DEFAULTS.transport), "transport");
  const socket = options.socket ?? {};
  expectPlainObject(socket, "socket");
  expectKnownKeys(socket, ["serverOptions"], "socket");
  const entity = options.entitySubscriptions ?? {};
  expectPlainObject(entity, "entitySubscriptions");
  expectKnownKeys(entity, Object.keys(DEFAULTS.entitySubscriptions), "entitySubscriptions");

  const type = transport.type ?? DEFAULTS.transport.type;
  if (!TRANSPORT_TYPES.includes(type)) {
    fail("transport.type", `one of ${TRANSPORT_TYPES.join(", ")}`, type);
  }
  const host = transport.host ?? DEFAULTS.transport.host;
  if (typeof host !== "string" || host === "") fail("transport.host", "a non-empty string", host);
  const port = transport.port ?? DEFAULTS.transport.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail("transport.port", "an integer from 0 to 65535", port);
  }
  const polling = transport.polling ?? DEFAULTS.transport.polling;
  if (typeof polling !== "boolean") fail("transport.polling", "a boolean", polling);
  const maxBackpressure = integerAtLeast(
    transport.maxBackpressure ?? DEFAULTS.transport.maxBackpressure,
    1024,
    "transport.maxBackpressure",
    "an integer number of bytes",
  );
  const drainTimeout = integerAtLeast(
    transport.drainTimeout ?? DEFAULTS.transport.drainTimeout,
    0,
    "transport.drainTimeout",
    "an integer number of milliseconds",
  );
  const maxMessageSize = integerAtLeast(
    transport.maxMessageSize ?? DEFAULTS.transport.maxMessageSize,
    1024,
    "transport.maxMessageSize",
    "an integer number of bytes",
  );

  const serverOptions = socket.serverOptions ?? {};
  expectPlainObject(serverOptions, "socket.serverOptions");
  if ("transports" in serverOptions) {
    fail(
      "socket.serverOptions.transports",
      "unset (use 'transport.polling' to switch long-polling)",
      serverOptions.transports,
    );
  }
  if ("maxHttpBufferSize" in serverOptions) {
    fail(
      "socket.serverOptions.maxHttpBufferSize",
      "unset (use 'limits.maxPayload')",
      serverOptions.maxHttpBufferSize,
    );
  }
  const path = serverOptions.path ?? DEFAULTS.path;
  if (typeof path !== "string" || !path.startsWith("/")) {
    fail("socket.serverOptions.path", "a path starting with '/'", path);
  }

  const namespaces = options.namespaces ?? [];
  if (!Array.isArray(namespaces)) fail("namespaces", "an array of namespace names", namespaces);
  const namespaceNames = namespaces.map((name, index) => {
    const bare = typeof name === "string" ? name.replace(/^\//, "") : name;
    if (typeof bare !== "string" || !NAMESPACE_NAME.test(bare)) {
      fail(`namespaces[${index}]`, "a namespace name like 'chat'", name);
    }
    return bare as string;
  });
  const duplicate = namespaceNames.find((name, index) => namespaceNames.indexOf(name) !== index);
  if (duplicate !== undefined) fail("namespaces", "names without duplicates", duplicate);

  const enabled = entity.enabled ?? DEFAULTS.entitySubscriptions.enabled;
  if (typeof enabled !== "boolean") fail("entitySubscriptions.enabled", "a boolean", enabled);
  const maxPerSocket = integerAtLeast(
    entity.maxPerSocket ?? DEFAULTS.entitySubscriptions.maxPerSocket,
    1,
    "entitySubscriptions.maxPerSocket",
    "a positive integer",
  );
  const allowed = entity.allowedContentTypes ?? DEFAULTS.entitySubscriptions.allowedContentTypes;
  if (
    allowed !== null &&
    (!Array.isArray(allowed) || allowed.some((uid) => typeof uid !== "string" || uid === ""))
  ) {
    fail(
      "entitySubscriptions.allowedContentTypes",
      "an array of content-type uids or null",
      allowed,
    );
  }

  const adapter = resolveAdapter(options.adapter ?? DEFAULTS.adapter);
  if (adapter.type !== "memory" && "adapter" in serverOptions) {
    fail(
      "socket.serverOptions.adapter",
      `unset when 'adapter.type' is '${adapter.type}'`,
      "an adapter",
    );
  }
  if ("connectionStateRecovery" in serverOptions) {
    // Socket.IO's own recovery restores a session before any middleware runs: never with strapi-io's.
    fail(
      "socket.serverOptions.connectionStateRecovery",
      "unset (use 'recovery')",
      serverOptions.connectionStateRecovery,
    );
  }
  const limits = resolveLimits(options.limits ?? {});
  const recovery = resolveRecovery(options.recovery ?? {});
  const health = resolveHealth(options.health ?? {});
  const metrics = resolveMetrics(options.metrics ?? {});
  const live = options.liveQueries ?? {};
  expectPlainObject(live, "liveQueries");
  expectKnownKeys(live, Object.keys(DEFAULTS.liveQueries), "liveQueries");
  const liveEnabled = live.enabled ?? DEFAULTS.liveQueries.enabled;
  if (typeof liveEnabled !== "boolean") fail("liveQueries.enabled", "a boolean", liveEnabled);
  const liveQueries = {
    enabled: liveEnabled,
    maxPerSocket: integerAtLeast(
      live.maxPerSocket ?? DEFAULTS.liveQueries.maxPerSocket,
      1,
      "liveQueries.maxPerSocket",
      "a positive integer",
    ),
    maxQueries: integerAtLeast(
      live.maxQueries ?? DEFAULTS.liveQueries.maxQueries,
      1,
      "liveQueries.maxQueries",
      "a positive integer",
    ),
  };
  if (metrics.enabled && health.enabled && metrics.path.startsWith(`${health.path}/`)) {
    fail("metrics.path", `outside 'health.path' (${health.path})`, metrics.path);
  }

  return {
    transport: { type, host, port, polling, maxBackpressure, drainTimeout, maxMessageSize },
    socket: {
      serverOptions: {
        ...serverOptions,
        path,
        transports: polling ? ["websocket", "polling"] : ["websocket"],
        maxHttpBufferSize: limits.maxPayload,
      },
    },
    namespaces: namespaceNames,
    entitySubscriptions: { enabled, maxPerSocket, allowedContentTypes: allowed },
    adapter,
    limits,
    recovery,
    health,
    metrics,
    liveQueries,
  };
}

const REDIS_URL = /^rediss?:\/\/[^\s]+$/;
const KEY_PREFIX = /^[A-Za-z0-9_\-.:]+$/;

function resolveAdapter(
  adapter: MemoryAdapterOptions | RedisAdapterOptions,
): ResolvedIoOptions["adapter"] {
  expectPlainObject(adapter, "adapter");
  if (!ADAPTER_TYPES.includes(adapter.type)) {
    fail("adapter.type", `one of ${ADAPTER_TYPES.join(", ")}`, adapter.type);
  }
  if (adapter.type === "memory") {
    expectKnownKeys(adapter, ["type"], "adapter");
    return { type: "memory" };
  }
  const defaults = DEFAULTS.redis;
  expectKnownKeys(adapter, ["type", ...Object.keys(defaults), "subscriberUrl"], "adapter");
  const url = adapter.url ?? defaults.url;
  if (typeof url !== "string" || !REDIS_URL.test(url)) {
    fail("adapter.url", "a redis:// or rediss:// URL", url);
  }
  const subscriberUrl = adapter.subscriberUrl ?? url;
  if (typeof subscriberUrl !== "string" || !REDIS_URL.test(subscriberUrl)) {
    fail("adapter.subscriberUrl", "a redis:// or rediss:// URL", subscriberUrl);
  }
  const keyPrefix = adapter.keyPrefix ?? defaults.keyPrefix;
  if (typeof keyPrefix !== "string" || !KEY_PREFIX.test(keyPrefix)) {
    fail(
      "adapter.keyPrefix",
      "a non-empty string of letters, digits, '_', '-', '.', ':'",
      keyPrefix,
    );
  }
  const requestsTimeout = adapter.requestsTimeout ?? defaults.requestsTimeout;
  if (!Number.isInteger(requestsTimeout) || requestsTimeout < 100) {
    fail(
      "adapter.requestsTimeout",
      "an integer number of milliseconds, at least 100",
      requestsTimeout,
    );
  }
  const heartbeatInterval = adapter.heartbeatInterval ?? defaults.heartbeatInterval;
  if (!Number.isInteger(heartbeatInterval) || heartbeatInterval < 50) {
    fail(
      "adapter.heartbeatInterval",
      "an integer number of milliseconds, at least 50",
      heartbeatInterval,
    );
  }
  const allowDegraded = adapter.allowDegraded ?? defaults.allowDegraded;
  if (typeof allowDegraded !== "boolean") fail("adapter.allowDegraded", "a boolean", allowDegraded);
  return {
    type: "redis",
    url,
    subscriberUrl,
    keyPrefix,
    requestsTimeout,
    heartbeatInterval,
    allowDegraded,
  };
}
