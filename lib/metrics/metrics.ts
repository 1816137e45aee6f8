/**
 * What strapi-io counts for operators, behind one small interface: the core calls it at the few points
 * where something happens (a connection, a refusal, an emit, a recovery), and a scrape renders it. Off by
 * default: then every call is a no-op and prom-client is never loaded (so the core still runs on Deno).
 *
 * Labels are bounded by design — transport, namespace, audience kind, disconnect reason, refusal code,
 * content type, action, method, outcome — never a socket, room, user or token.
 *
 * @module
 */
import type { IoSocket } from "../types.ts";
import type { ResolvedMetrics } from "./metrics-options.ts";

/** The `$io` methods counted by `strapi_io_emits_total{method}`. */
export type EmitMethod =
  | "emit"
  | "raw"
  | "sendPrivateMessage"
  | "broadcast"
  | "emitToNamespace"
  | "emitToEntity";

/** How a reconnecting client's request to resume ended (`strapi_io_recoveries_total{outcome}`). */
export type RecoveryOutcome =
  | "recovered"
  | "no_session"
  | "identity_changed"
  | "missed_events_gone"
  | "redis_down"
  | "busy";

/** Values read at scrape time rather than counted. */
export interface MetricSources {
  /** Which transport runs (known once started). */
  transport(): string | undefined;
  backpressureDisconnects(): number;
  /** Events kept for replay and sessions away; `undefined` without recovery. */
  recovery(): { events: number; sessions: number } | undefined;
  /** Entity subscriptions held by sockets of this node. */
  entitySubscriptions(): number;
  /** Filtered subscriptions held by sockets of this node, and the distinct queries behind them. */
  liveQueries(): { subscriptions: number; queries: number };
  /** In a cluster: whether Redis is reachable, and how many nodes this one knows (itself included). */
  cluster?: { connected(): boolean; nodes(): number };
}

/** The counting side: what the core calls. */
export interface Metrics {
  /** Whether {@link connected} and {@link disconnected} count anything (else no per-socket listener is added). */
  readonly countsSockets: boolean;
  connected(socket: IoSocket): void;
  disconnected(socket: IoSocket, reason: string): void;
  refused(code: string): void;
  emitted(method: EmitMethod): void;
  /** A broadcast reached `recipients` sockets of `namespace` on this node. */
  delivered(namespace: string, recipients: number): void;
  /** One `emit()` delivered: its content type and action, its sanitized copies and the seconds it took to make them. */
  contentEvent(contentType: string, action: string, copies: number, seconds: number): void;
  recovery(outcome: RecoveryOutcome): void;
  /** The Prometheus exposition text and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Metrics switched off: nothing is counted. */
export const NO_METRICS: Metrics = {
  countsSockets: false,
  connected() {},
  disconnected() {},
  refused() {},
  emitted() {},
  delivered() {},
  contentEvent() {},
  recovery() {},
  render: () => Promise.reject(new Error("strapi-io: metrics are not enabled")),
};

/** Both `first` and `second` counting the same events; `first` renders. */
export function bothMetrics(first: Metrics, second: Metrics): Metrics {
  return {
    countsSockets: first.countsSockets || second.countsSockets,
    connected(socket) {
      first.connected(socket);
      second.connected(socket);
    },
    disconnected(socket, reason) {
      first.disconnected(socket, reason);
      second.disconnected(socket, reason);
    },
    refused(code) {
      first.refused(code);
      second.refused(code);
    },
    emitted(method) {
      first.emitted(method);
      second.emitted(method);
    },
    delivered(namespace, recipients) {
      first.delivered(namespace, recipients);
      second.delivered(namespace, recipients);
    },
    contentEvent(contentType, action, copies, seconds) {
      first.contentEvent(contentType, action, copies, seconds);
      second.contentEvent(contentType, action, copies, seconds);
    },
    recovery(outcome) {
      first.recovery(outcome);
      second.recovery(outcome);
    },
    render: () => first.render(),
  };
}

/** Builds the metrics of one `$io` from what it can read at scrape time. */
export type MetricsFactory = (sources: MetricSources, nodeId: string | undefined) => Metrics;

/**
 * What `options` ask for: prom-client's metrics (loaded now, so that building them later is synchronous)
 * when enabled, else {@link NO_METRICS}.
 */
export async function loadMetrics(options: ResolvedMetrics): Promise<MetricsFactory> {
  if (!options.enabled) return () => NO_METRICS;
  const { prometheusMetrics } = await import("./prometheus.ts");
  return prometheusMetrics;
}
