/**
 * Recovery as one `$io` runs it: the node's replay stream and sessions sized by the options and, in a
 * cluster, wired to the other nodes (asking them for sessions, handing over on shutdown, a break in the
 * stream after every Redis outage).
 *
 * @module
 */
import type { RedisCluster } from "../cluster/redis-cluster.ts";
import type { Logger } from "../logger.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { NamespaceSet } from "../namespace-set.ts";
import type { ResolvedIoOptions } from "../options.ts";
import { Recovery } from "./recovery.ts";
import { connectRecoveryCluster, type RecoveryCluster } from "./recovery-peers.ts";

/** The recovery of one `$io`, and its cluster side when there is one. */
export interface RecoverySetup {
  recovery: Recovery;
  cluster?: RecoveryCluster;
}

/** Starts recovery when `options.recovery.enabled`; `undefined` otherwise. */
export function setUpRecovery(
  options: ResolvedIoOptions,
  namespaces: NamespaceSet,
  cluster: RedisCluster | undefined,
  metrics: Metrics,
  logger: Logger,
): RecoverySetup | undefined {
  if (!options.recovery.enabled) return undefined;
  const { pingInterval, pingTimeout } = options.socket.serverOptions;
  const link = namespaces.cluster;
  const recovery = new Recovery(options.recovery, {
    maxSessions: options.limits.connections.maxPerNode,
    // Engine.IO's defaults when unset.
    detectionDelay: (pingInterval ?? 25_000) + (pingTimeout ?? 20_000),
    complete: link && (() => link.connected),
    outcome: (outcome) => metrics.recovery(outcome),
  }, logger);
  if (!cluster || options.adapter.type !== "redis") return { recovery };
  // What other nodes sent during a Redis outage never arrived: no replay may span it.
  cluster.onReconnect(() => recovery.messagesLost());
  const peers = connectRecoveryCluster(
    namespaces.main,
    recovery,
    options.adapter.requestsTimeout,
    logger,
  );
  recovery.connectPeers(peers);
  return { recovery, cluster: peers };
}
