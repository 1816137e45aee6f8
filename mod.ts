/**
 * strapi-io — the realtime layer for Strapi v5: Socket.IO on uWebSockets.js, with content events
 * delivered per role and sanitized, rooms, private messages, namespaces and entity subscriptions.
 *
 * Inside Strapi, install the plugin and use `strapi.$io`. Standalone (tests, Deno, a plain server):
 *
 * @example
 * ```ts
 * import { createSocketIO } from "strapi-io";
 *
 * const io = await createSocketIO({ transport: { type: "node-http", port: 3000 } });
 * io.server.on("connection", (socket) => io.joinRoom(socket.id, "lobby"));
 * await io.raw({ event: "news", rooms: "lobby", data: { headline: "Hello" } });
 * ```
 *
 * @module
 */

export { createSocketIO } from "./lib/create-socket-io.ts";
export { StrapiIO } from "./lib/io.ts";
export type { IoStats, SocketIORuntime } from "./lib/io.ts";
export type {
  AudienceCounts,
  ConnectionPage,
  ConnectionQuery,
  ConnectionRow,
  IoOverview,
  NodeOverview,
  RoomSize,
  Throughput,
} from "./lib/operations/operations-types.ts";
export type { Acknowledge, ClientGuard, GuardedRun } from "./lib/client-guard.ts";

export { ADAPTER_TYPES, DEFAULTS, resolveOptions, TRANSPORT_TYPES } from "./lib/options.ts";
export type {
  AdapterType,
  EntitySubscriptionOptions,
  IoOptions,
  LiveQueryOptions,
  MemoryAdapterOptions,
  RedisAdapterOptions,
  ResolvedIoOptions,
  SocketOptions,
  TransportOptions,
  TransportType,
} from "./lib/options.ts";

export { LIMIT_DEFAULTS } from "./lib/limit-options.ts";
export type {
  ConnectionLimitOptions,
  EventLimitOptions,
  LimitOptions,
  ResolvedLimits,
} from "./lib/limit-options.ts";

export { RECOVERY_DEFAULTS } from "./lib/recovery/recovery-options.ts";
export type { RecoveryOptions, ResolvedRecovery } from "./lib/recovery/recovery-options.ts";
export { HEALTH_DEFAULTS } from "./lib/http-routes.ts";
export type { HealthOptions, ResolvedHealth } from "./lib/http-routes.ts";
export { METRICS_DEFAULTS } from "./lib/metrics/metrics-options.ts";
export type { MetricsOptions, ResolvedMetrics } from "./lib/metrics/metrics-options.ts";
export { liveQueryRoom } from "./lib/live-queries.ts";

export { strapiPlugin } from "./lib/strapi/plugin.ts";
export type { StrapiServerPlugin } from "./lib/strapi/plugin.ts";
export { AUTH_STRATEGIES } from "./lib/strapi/auth.ts";
export type { AuthStrategy } from "./lib/strapi/auth.ts";
export {
  CONTENT_EVENT_ACTIONS,
  EMIT_PERMISSIONS,
  resolvePluginOptions,
} from "./lib/strapi/plugin-options.ts";
export type {
  ClientEventContext,
  ClientEventHandler,
  ContentEventAction,
  ContentTypeEvents,
  EmitPermission,
  PluginHooks,
  PluginOptions,
  PopulateOption,
  ResolvedPluginOptions,
} from "./lib/strapi/plugin-options.ts";
// Types `strapi.$io` for apps that import this package (augments Strapi's own `Strapi` interface).
import "./lib/strapi/augment.ts";

export { HandshakeError, openAccessPolicy } from "./lib/access-policy.ts";
export type {
  AccessPolicy,
  Delivery,
  EntityAccessDecision,
  LiveQueryDecision,
  SnapshotOptions,
} from "./lib/access-policy.ts";

export { audienceRoom, entityRoom } from "./lib/room-names.ts";
export { consoleLogger } from "./lib/logger.ts";
export type { Logger } from "./lib/logger.ts";

export {
  BACKPRESSURE_CLOSE_CODE,
  BACKPRESSURE_CLOSE_REASON,
} from "./lib/transports/backpressure.ts";
export type { RunningTransportType, TransportStats } from "./lib/transports/transport.ts";

export type {
  ClientEventRefusal,
  ClientEventRefusalCode,
  ClientToServerEvents,
  ContentTypeSchema,
  DisconnectNotice,
  EmitOptions,
  EntitySubscription,
  EntitySubscriptionRequest,
  EntitySubscriptionResult,
  EntitySubscriptionsResult,
  InterServerEvents,
  IoNamespace,
  IoServer,
  IoSocket,
  LiveQuery,
  LiveQueryRequest,
  LiveQueryResult,
  LiveQuerySnapshot,
  LiveQuerySubscription,
  RawEmitOptions,
  ServerToClientEvents,
  SocketData,
  SocketIdentity,
  SocketInfo,
  SocketIO,
} from "./lib/types.ts";
