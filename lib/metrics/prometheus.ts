/**
 * The metrics of one `$io` in a prom-client registry of its own (two `$io` in one process, or an app
 * that uses prom-client itself, never mix). Loaded only when `metrics.enabled` (see `metrics.ts`).
 *
 * @module
 */
import client from "prom-client";
import { audienceOf } from "../operations/socket-index.ts";
import type { IoSocket } from "../types.ts";
import type { EmitMethod, Metrics, MetricSources, RecoveryOutcome } from "./metrics.ts";

/** Socket.IO's disconnect reasons; anything else is counted as `other`. */
const DISCONNECT_REASONS = new Set([
  "transport close",
  "transport error",
  "ping timeout",
  "parse error",
  "forced close",
  "forced server close",
  "server shutting down",
  "server namespace disconnect",
  "client namespace disconnect",
]);

/** Distinct values a label fed by app code (refusal codes, content types) may take before `other`. */
const MAX_LABEL_VALUES = 100;
const LABEL_VALUE = /^[A-Za-z0-9_:.\-]{1,80}$/;

export function prometheusMetrics(sources: MetricSources, nodeId: string | undefined): Metrics {
  const register = new client.Registry();
  if (nodeId) register.setDefaultLabels({ node: nodeId });
  client.collectDefaultMetrics({ register, prefix: "strapi_io_" });
  const registers = [register];

  const connections = new client.Gauge({
    name: "strapi_io_connections",
    help: "Connected sockets, by transport, namespace and audience kind (public, role, token).",
    labelNames: ["transport", "namespace", "audience"] as const,
    registers,
  });
  const connects = new client.Counter({
    name: "strapi_io_connects_total",
    help: "Sockets connected (recovered ones included), by namespace.",
    labelNames: ["namespace"] as const,
    registers,
  });
  const disconnects = new client.Counter({
    name: "strapi_io_disconnects_total",
    help: "Sockets disconnected, by Socket.IO's reason.",
    labelNames: ["reason"] as const,
    registers,
  });
  const refusals = new client.Counter({
    name: "strapi_io_handshake_refusals_total",
    help: "Handshakes refused, by the code the client's connect_error carries.",
    labelNames: ["code"] as const,
    registers,
  });
  const emits = new client.Counter({
    name: "strapi_io_emits_total",
    help: "Calls of the $io sending methods, by method.",
    labelNames: ["method"] as const,
    registers,
  });
  const deliveries = new client.Counter({
    name: "strapi_io_deliveries_total",
    help: "Events delivered to sockets of this node (one per recipient), by namespace.",
    labelNames: ["namespace"] as const,
    registers,
  });
  const contentEvents = new client.Counter({
    name: "strapi_io_content_events_total",
    help: "Content events sent with emit(), by content type and action.",
    labelNames: ["content_type", "action"] as const,
    registers,
  });
  const copies = new client.Counter({
    name: "strapi_io_sanitized_copies_total",
    help:
      "Copies of content events sanitized (one per permission set with receivers), by content type.",
    labelNames: ["content_type"] as const,
    registers,
  });
  const sanitizing = new client.Histogram({
    name: "strapi_io_sanitize_duration_seconds",
    help: "Time to decide the receivers of one content event and sanitize its copies.",
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers,
  });
  const recoveries = new client.Counter({
    name: "strapi_io_recoveries_total",
    help: "Reconnecting clients that asked to resume a session, by outcome.",
    labelNames: ["outcome"] as const,
    registers,
  });
  new client.Counter({
    name: "strapi_io_backpressure_disconnects_total",
    help: "Slow consumers disconnected (send backlog over transport.maxBackpressure).",
    registers,
    collect() {
      this.reset();
      this.inc(sources.backpressureDisconnects());
    },
  });
  /** A gauge read from `value()` at each scrape. */
  const readAtScrape = (name: string, help: string, value: () => number) =>
    new client.Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value());
      },
    });
  readAtScrape(
    "strapi_io_entity_subscriptions",
    "Entity subscriptions held by the sockets of this node.",
    () => sources.entitySubscriptions(),
  );
  readAtScrape(
    "strapi_io_filtered_subscriptions",
    "Filtered subscriptions held by the sockets of this node.",
    () => sources.liveQueries().subscriptions,
  );
  readAtScrape(
    "strapi_io_filtered_queries",
    "Distinct filtered queries this node matches changes against.",
    () => sources.liveQueries().queries,
  );
  readAtScrape(
    "strapi_io_recovery_buffered_events",
    "Events kept for replay to reconnecting clients.",
    () => sources.recovery()?.events ?? 0,
  );
  readAtScrape(
    "strapi_io_recovery_sessions",
    "Sessions of disconnected sockets that may still resume.",
    () => sources.recovery()?.sessions ?? 0,
  );
  const cluster = sources.cluster;
  if (cluster) {
    readAtScrape(
      "strapi_io_redis_connected",
      "1 when this node reaches the cluster's Redis, else 0.",
      () => cluster.connected() ? 1 : 0,
    );
    readAtScrape(
      "strapi_io_cluster_nodes",
      "Nodes of the cluster this node knows of, itself included.",
      () => cluster.nodes(),
    );
  }

  const codes = boundedLabel();
  const actions = boundedLabel();
  const contentTypes = boundedLabel();
  /** Each socket's labels as counted when it connected (its audience may change; the count must not drift). */
  const counted = new WeakMap<
    IoSocket,
    { transport: string; namespace: string; audience: string }
  >();

  return {
    countsSockets: true,
    connected(socket) {
      const labels = {
        transport: sources.transport() ?? "unknown",
        namespace: socket.nsp.name,
        audience: audienceOf(socket),
      };
      counted.set(socket, labels);
      connections.inc(labels);
      connects.inc({ namespace: labels.namespace });
    },
    disconnected(socket, reason) {
      const labels = counted.get(socket);
      if (labels) connections.dec(labels);
      disconnects.inc({ reason: DISCONNECT_REASONS.has(reason) ? reason : "other" });
    },
    refused: (code) => refusals.inc({ code: codes(code) }),
    emitted: (method: EmitMethod) => emits.inc({ method }),
    delivered: (namespace, recipients) => deliveries.inc({ namespace }, recipients),
    contentEvent(contentType, action, made, seconds) {
      const type = contentTypes(contentType);
      contentEvents.inc({ content_type: type, action: actions(action) });
      copies.inc({ content_type: type }, made);
      sanitizing.observe(seconds);
    },
    recovery: (outcome: RecoveryOutcome) => recoveries.inc({ outcome }),
    render: async () => ({ contentType: register.contentType, body: await register.metrics() }),
  };
}

/** A label value as given while it is well-formed and among the first {@link MAX_LABEL_VALUES}; else `other`. */
function boundedLabel(): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (!LABEL_VALUE.test(value) || seen.size >= MAX_LABEL_VALUES) return "other";
    seen.add(value);
    return value;
  };
}
