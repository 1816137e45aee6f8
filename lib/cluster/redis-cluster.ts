/**
 * One node of a strapi-io cluster over Redis: its two connections, the Redis adapter class its Socket.IO
 * server uses, and its cluster directory. `createSocketIO()` imports this file lazily, only when
 * `adapter.type` is `"redis"`, so the core runs where ioredis cannot (Deno without Redis config).
 *
 * @module
 */
import type { Logger } from "../logger.ts";
import type { ResolvedRedisOptions } from "../options.ts";
import { ClusterDirectory } from "./cluster-directory.ts";
import type { AdapterConstructor } from "../adapter-types.ts";
import { redisAdapterClass, withClusterDelivery } from "./redis-adapter.ts";
import { RedisConnections } from "./redis-connections.ts";

/** A node's membership in the cluster: what `createSocketIO()` wires in, and closes on `close()`. */
export interface RedisCluster {
  /** This node's id in the cluster (also in its Redis connection names, `<keyPrefix>:<nodeId>:pub|sub`). */
  readonly nodeId: string;
  /** The adapter class for Socket.IO's `Server` (set before any namespace exists). */
  readonly adapter: AdapterConstructor;
  /**
   * Stacks cluster delivery above the class a transport (uWS publish) and the recovery wrapped around
   * {@link adapter}; `awayIn(room)` tells it which rooms sockets away from this node (recovery) are in.
   */
  overlay(wrapped: AdapterConstructor, awayIn?: (room: string) => boolean): AdapterConstructor;
  readonly directory: ClusterDirectory;
  /** Calls `listener` whenever Redis is back after an outage (messages of the outage were lost). */
  onReconnect(listener: () => void): void;
  /** Tells the other nodes this one is leaving; call before closing the Socket.IO server. */
  leave(): void;
  /** Closes both Redis connections. Idempotent. */
  close(): Promise<void>;
}

/** Connects to Redis (a boot error when unreachable, unless `allowDegraded`) and prepares the adapter and directory. */
export async function startRedisCluster(
  options: ResolvedRedisOptions,
  logger: Logger,
): Promise<RedisCluster> {
  const nodeId = globalThis.crypto.randomUUID().slice(0, 8);
  const connections = await RedisConnections.open(options, nodeId, logger);
  const directory = new ClusterDirectory(nodeId, connections, options, logger);
  logger.info(`cluster node ${nodeId} joined over Redis (channel prefix '${options.keyPrefix}')`);
  return {
    nodeId,
    adapter: redisAdapterClass(connections, options, logger),
    overlay: (wrapped, awayIn) => withClusterDelivery(wrapped, logger, awayIn),
    directory,
    onReconnect: (listener) => connections.onReconnect(listener),
    leave: () => directory.leave(),
    close: () => connections.close(),
  };
}
