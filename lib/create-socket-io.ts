/**
 * Creating `$io`: `createSocketIO()` for apps and tests, `prepareSocketIO()` + `start()` for the plugin,
 * which builds what handles connections between the two.
 *
 * @module
 */
import { Server, type ServerOptions } from "socket.io";
import { Adapter } from "socket.io-adapter";
import { openAccessPolicy } from "./access-policy.ts";
import { type SocketIORuntime, StrapiIO } from "./io.ts";
import { consoleLogger } from "./logger.ts";
import { loadMetrics } from "./metrics/metrics.ts";
import { type IoOptions, type ResolvedIoOptions, resolveOptions } from "./options.ts";
import type { IoServer } from "./types.ts";

/**
 * Creates the Socket.IO server, starts the configured transport and returns `$io`.
 *
 * @example
 * ```ts
 * import { createSocketIO } from "strapi-io";
 * const io = await createSocketIO({ transport: { type: "uws", port: 0 } });
 * console.log(`clients connect to port ${io.port}`);
 * await io.raw({ event: "hello", data: { at: Date.now() } });
 * await io.close();
 * ```
 */
export function createSocketIO(
  options: IoOptions = {},
  runtime: SocketIORuntime = {},
): Promise<StrapiIO> {
  return startSocketIO(resolveOptions(options), runtime);
}

/** {@link createSocketIO} for options already resolved: prepare, run `init`, start. */
async function startSocketIO(
  resolved: ResolvedIoOptions,
  runtime: SocketIORuntime = {},
): Promise<StrapiIO> {
  const io = await prepareSocketIO(resolved, runtime);
  try {
    await runtime.init?.(io);
    await io.start(runtime);
    return io;
  } catch (error) {
    await io.close();
    throw error;
  }
}

/** The Socket.IO server options behind `resolved`: its base adapter, and recovery's hooks when it is on. */
function serverOptionsOf(
  resolved: ResolvedIoOptions,
  clusterAdapter: unknown,
): Partial<ServerOptions> {
  const options: Partial<ServerOptions> = { ...resolved.socket.serverOptions };
  // Set before any namespace exists: a Redis adapter replaced later would have subscribed for nothing.
  if (clusterAdapter) options.adapter = clusterAdapter as never;
  if (resolved.recovery.enabled) {
    // Makes Socket.IO issue session ids, keep sessions of recoverable disconnects and send every
    // `socket.emit()` through the adapter (so it gets an offset). The adapter is named, or Socket.IO would
    // pick its own session-aware one; restoring and the middleware bypass stay strapi-io's (recovery.ts).
    options.adapter ??= Adapter as never;
    options.connectionStateRecovery = {
      maxDisconnectionDuration: resolved.recovery.window,
      skipMiddlewares: false,
    };
  }
  return options;
}

/**
 * @internal Builds `$io` — the Socket.IO server and, in a cluster, this node's Redis membership — without
 * accepting connections yet: `start()` opens the transport. Between the two, the caller can build what
 * needs `$io` and must exist before the first socket connects (the plugin's sessions and client events).
 */
export async function prepareSocketIO(
  resolved: ResolvedIoOptions,
  runtime: Pick<SocketIORuntime, "logger" | "policy"> = {},
): Promise<StrapiIO> {
  const logger = runtime.logger ?? consoleLogger();
  // Loaded only when configured: the Redis client is a Node package the core must not need (Deno).
  const cluster = resolved.adapter.type === "redis"
    ? await (await import("./cluster/redis-cluster.ts")).startRedisCluster(resolved.adapter, logger)
    : undefined;
  try {
    const metrics = await loadMetrics(resolved.metrics);
    const server: IoServer = new Server(serverOptionsOf(resolved, cluster?.adapter));
    return new StrapiIO(server, resolved, {
      policy: runtime.policy ?? openAccessPolicy,
      logger,
      cluster,
      metrics,
    });
  } catch (error) {
    cluster?.leave();
    await cluster?.close();
    throw error;
  }
}
