/**
 * Creating `$io`: `createSocketIO()` for apps and tests, `prepareSocketIO()` + `start()` for the plugin,
 * which builds what handles connections between the two.
 *
 * @module
 */
import { Server } from "socket.io";
import { openAccessPolicy } from "./access-policy.ts";
import { type SocketIORuntime, StrapiIO } from "./io.ts";
import { consoleLogger } from "./logger.ts";
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
    // The adapter is set before any namespace exists: a Redis adapter replaced later would have subscribed for nothing.
    const server: IoServer = new Server(
      cluster
        ? { ...resolved.socket.serverOptions, adapter: cluster.adapter as never }
        : resolved.socket.serverOptions,
    );
    return new StrapiIO(server, resolved, runtime.policy ?? openAccessPolicy, logger, cluster);
  } catch (error) {
    cluster?.leave();
    await cluster?.close();
    throw error;
  }
}
