/**
 * The two Redis connections of one node — a publisher and a subscriber — opened with ioredis.
 *
 * - Boot: both connect before Socket.IO starts; an unreachable Redis is a clear error (naming the URL and
 *   the config key) unless `adapter.allowDegraded` is set, in which case the node starts and joins the
 *   cluster by itself once Redis answers.
 * - Run time: both reconnect by themselves (the subscriber re-subscribes); one warning per outage says that
 *   cross-node delivery is paused, one info line says when it resumes and how many messages were dropped.
 * - The publisher has no offline queue: while Redis is down, a publish fails at once (and is counted)
 *   instead of piling up in memory and arriving late. The subscriber keeps its queue, so subscriptions made
 *   during an outage are sent once Redis is back.
 * - No command ever becomes an unhandled rejection: the Redis adapter fires `publish()` and `subscribe()`
 *   without awaiting them, so every command's promise gets a handler here (callers that await still see
 *   the rejection).
 *
 * Loaded lazily (only when the Redis adapter is configured), so the core runs where ioredis is absent.
 *
 * @module
 */
import { Redis } from "ioredis";
import { errorMessage, type Logger } from "../logger.ts";
import type { ResolvedRedisOptions } from "../options.ts";

/** Reconnect delays grow by this much per attempt, up to {@link MAX_RECONNECT_DELAY}. */
const RECONNECT_STEP = 100;
const MAX_RECONNECT_DELAY = 2000;
/** How long a boot connection attempt may take before it counts as unreachable. */
const CONNECT_TIMEOUT = 5000;
/** How long a closing connection may take to end before its socket is destroyed. */
const DISCONNECT_TIMEOUT = 100;

/** A node's publisher and subscriber, and what they know about Redis being reachable. */
export class RedisConnections {
  readonly pub: Redis;
  readonly sub: Redis;
  readonly #logger: Logger;
  readonly #url: string;
  #closed = false;
  /** Not (yet) connected; starts true so that the first "ready" is not announced as a recovery. */
  #down = true;
  /** Until `open()` has decided how to report a failed boot, connection events are not logged. */
  #quiet = true;
  #dropped = 0;
  /** The last connection error of each client: ioredis rejects `connect()` with a vaguer one. */
  readonly #lastError = new Map<string, string>();
  readonly #onReady: Array<() => void> = [];

  private constructor(options: ResolvedRedisOptions, nodeId: string, logger: Logger) {
    this.#logger = logger;
    this.#url = redactUrl(options.url);
    const common = {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT,
      // ioredis arms this timer on disconnect even for a socket that is already closed (Redis down), and it
      // then keeps the process alive for that long after close(): keep it short.
      disconnectTimeout: DISCONNECT_TIMEOUT,
      // Stop retrying once closed, so a node that shuts down during an outage leaves no timer behind.
      retryStrategy: (
        attempt: number,
      ) => (this.#closed ? null : Math.min(attempt * RECONNECT_STEP, MAX_RECONNECT_DELAY)),
    };
    // Auto-pipelining would batch a burst of publishes (about 8% more cross-node throughput in
    // bench/cluster) but its promises bypass `sendCommand`: a publish failing at close would go unhandled.
    this.pub = new Redis(options.url, {
      ...common,
      connectionName: `${options.keyPrefix}:${nodeId}:pub`,
      enableOfflineQueue: false,
    });
    this.sub = new Redis(options.subscriberUrl, {
      ...common,
      connectionName: `${options.keyPrefix}:${nodeId}:sub`,
      maxRetriesPerRequest: null,
    });
    for (const [role, client] of [["publisher", this.pub], ["subscriber", this.sub]] as const) {
      catchEveryCommand(client, () => void (this.#down && (this.#dropped += 1)));
      client.on("error", (error: Error) => {
        this.#lastError.set(role, errorMessage(error));
        this.#lost(role, error);
      });
      client.on("close", () => this.#lost(role));
      client.on("ready", () => this.#ready());
    }
  }

  /**
   * Opens both connections. Rejects with an error naming the URL when Redis cannot be reached, unless
   * `allowDegraded` is set (then it resolves at once and the connections keep trying in the background).
   */
  static async open(
    options: ResolvedRedisOptions,
    nodeId: string,
    logger: Logger,
  ): Promise<RedisConnections> {
    const connections = new RedisConnections(options, nodeId, logger);
    const attempt = (client: Redis, role: string, key: string, url: string) =>
      client.connect().catch((error: unknown) => {
        const why = connections.#lastError.get(role) ?? errorMessage(error);
        throw new Error(
          `strapi-io: cannot connect to Redis at ${redactUrl(url)} ('${key}'): ${why}`,
        );
      });
    const connecting = Promise.all([
      attempt(connections.pub, "publisher", "adapter.url", options.url),
      attempt(
        connections.sub,
        "subscriber",
        options.subscriberUrl === options.url ? "adapter.url" : "adapter.subscriberUrl",
        options.subscriberUrl,
      ),
    ]);
    if (options.allowDegraded) {
      connecting.then(() => (connections.#quiet = false), (error) => {
        if (connections.#closed) return;
        connections.#quiet = false;
        logger.warn(
          `${
            errorMessage(error).replace(/^strapi-io: /, "")
          }; running degraded (adapter.allowDegraded): this node serves only its own clients until Redis answers`,
        );
      });
      return connections;
    }
    try {
      await connecting;
    } catch (error) {
      await connections.close();
      throw new Error(
        `${
          errorMessage(error)
        }. Start Redis, fix the URL, or set 'adapter.allowDegraded: true' to start without it.`,
      );
    }
    connections.#quiet = false;
    return connections;
  }

  /** Whether both connections are up, so that a request to other nodes can be published now. */
  get connected(): boolean {
    return !this.#closed && this.pub.status === "ready" && this.sub.status === "ready";
  }

  /** Calls `listener` whenever both connections are up again after an outage (or a degraded boot). */
  onReconnect(listener: () => void): void {
    this.#onReady.push(listener);
  }

  /** Closes both connections (politely when Redis is up, at once when it is not). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.pub, this.sub].map((client) => quit(client)));
  }

  #lost(role: string, error?: Error): void {
    if (this.#closed || this.#quiet) return;
    if (this.#down) {
      this.#logger.debug(`Redis ${role}: ${error ? errorMessage(error) : "connection closed"}`);
      return;
    }
    this.#down = true;
    this.#dropped = 0;
    const why = error ? errorMessage(error) : "connection closed";
    this.#logger.warn(
      `Redis at ${this.#url} unreachable (${role}: ${why}): cross-node delivery is paused, this node keeps serving its own clients and reconnects by itself`,
    );
  }

  #ready(): void {
    if (this.#closed || !this.connected) return;
    if (this.#down) {
      this.#down = false;
      const dropped = this.#dropped === 0
        ? ""
        : ` (${this.#dropped} cross-node message(s) could not be sent while it was down)`;
      if (!this.#quiet) {
        this.#logger.info(`Redis at ${this.#url} reachable: cross-node delivery resumed${dropped}`);
      }
    }
    for (const listener of this.#onReady) listener();
  }
}

/** Attaches a handler to every command's promise, so fire-and-forget callers cannot leak a rejection. */
function catchEveryCommand(client: Redis, onFailure: () => void): void {
  type SendCommand = (command: { promise: Promise<unknown> }, stream?: unknown) => Promise<unknown>;
  const original = (client.sendCommand as unknown as SendCommand).bind(client);
  (client as unknown as { sendCommand: SendCommand }).sendCommand = (command, stream) => {
    const result = original(command, stream);
    result.catch(onFailure);
    return result;
  };
}

async function quit(client: Redis): Promise<void> {
  if (client.status === "end") return;
  if (client.status === "ready") {
    try {
      await client.quit();
      return;
    } catch {
      // fall through: close the socket without the QUIT handshake
    }
  }
  const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
  client.disconnect();
  // A client between reconnect attempts has no socket to close and emits no "end".
  await Promise.race([ended, new Promise<void>((resolve) => setTimeout(resolve, 50))]);
}

/** The URL without its password, for log lines and errors. */
function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}
