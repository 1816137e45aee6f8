/**
 * Socket.IO's Redis adapter (`@socket.io/redis-adapter`, pub/sub), bound to one node's connections, and
 * the overlay that lets it work under the transports' delivery mixins.
 *
 * Two things the published adapter does not do for us:
 * - **Being replaced.** `server.adapter(X)` builds a new adapter for every namespace and drops the old one
 *   without closing it; a dropped Redis adapter would keep its listeners on the shared subscriber and
 *   deliver every message a second time. Here each new adapter of a namespace retires the previous one
 *   (its listeners only: the Redis subscriptions are the connection's, shared with its successor).
 * - **Local delivery through the transport.** The Redis adapter delivers to this node's sockets with
 *   `super.broadcast`, which is bound to Socket.IO's in-memory `Adapter` and so skips any class stacked on
 *   top of it (the transports' mixins: uWS's native publish, `lib/transports/uws-publish-adapter.ts`, and
 *   node-http's frames written to the TCP sockets, `lib/transports/direct-frames.ts`), and a mixin, for
 *   the broadcasts it delivers itself, never calls the Redis adapter at all. {@link withClusterDelivery}
 *   sits above the mixin: it publishes every broadcast to Redis itself, then hands it to the mixin as a
 *   local one; broadcasts arriving from other nodes take the same local path. The wire format is the
 *   published adapter's, so nodes of either transport share one cluster.
 *
 * @module
 */
import { RedisAdapter } from "@socket.io/redis-adapter";
import type { Adapter, BroadcastOptions, Room } from "socket.io-adapter";
import type { AdapterConstructor, Packet } from "../adapter-types.ts";
import { errorMessage, type Logger } from "../logger.ts";
import type { ResolvedRedisOptions } from "../options.ts";
import type { RedisConnections } from "./redis-connections.ts";

type Namespace = ConstructorParameters<typeof Adapter>[0];

/** The parts of `RedisAdapter` that TypeScript declares private but that this file must reach. */
interface RedisAdapterInternals {
  uid: string;
  channel: string;
  pubClient: {
    publish(channel: string, message: Uint8Array | string): unknown;
    off(event: string, listener: (...args: unknown[]) => void): void;
  };
  subClient: {
    on(event: string, listener: (...args: unknown[]) => void): void;
    off(event: string, listener: (...args: unknown[]) => void): void;
  };
  friendlyErrorHandler: (...args: unknown[]) => void;
  parser: { encode(value: unknown): Uint8Array; decode(message: Uint8Array): unknown };
  redisListeners: Map<string, (...args: unknown[]) => void>;
  hasRoom(room: string): boolean;
}

/** The Redis adapter class of one node: every namespace's adapter shares the node's two connections. */
export function redisAdapterClass(
  connections: RedisConnections,
  options: ResolvedRedisOptions,
  logger: Logger,
): AdapterConstructor {
  const current = new Map<string, ClusterRedisAdapter>();
  class ClusterRedisAdapter extends RedisAdapter {
    #retired = false;

    constructor(nsp: Namespace) {
      super(nsp, connections.pub, connections.sub, {
        key: options.keyPrefix,
        requestsTimeout: options.requestsTimeout,
        publishOnSpecificResponseChannel: true,
      });
      const previous = current.get(nsp.name);
      if (previous) previous.#retire();
      current.set(nsp.name, this);
      guardListeners(this as unknown as RedisAdapterInternals, logger);
    }

    /**
     * Local delivery first: it encodes the packet, so a message over `transport.maxMessageSize` is refused
     * (a `RangeError` to the caller) before any other node receives it. The published adapter publishes first.
     */
    override broadcast(packet: Packet, opts: BroadcastOptions): void {
      if (opts.flags?.local) return super.broadcast(packet, opts);
      super.broadcast(packet, { ...opts, flags: { ...opts.flags, local: true } });
      publish(this as unknown as RedisAdapterInternals & Adapter, packet, opts);
    }

    /** Called by `io.close()`: stops listening. The connections themselves are closed by the cluster. */
    override close(): void {
      this.#retire();
      if (current.get(this.nsp.name) === this) current.delete(this.nsp.name);
    }

    #retire(): void {
      if (this.#retired) return;
      this.#retired = true;
      const self = this as unknown as RedisAdapterInternals;
      for (const event of ["pmessageBuffer", "messageBuffer"]) {
        const listener = self.redisListeners.get(event);
        if (listener) self.subClient.off(event, listener);
      }
      self.pubClient.off("error", self.friendlyErrorHandler);
      self.subClient.off("error", self.friendlyErrorHandler);
    }
  }
  return ClusterRedisAdapter as unknown as AdapterConstructor;
}

/**
 * Messages and requests from other nodes are handled inside the Redis client's event handlers, where a
 * throw (or a rejection) would end the process: the adapter's listeners are replaced by ones that log it.
 */
function guardListeners(adapter: RedisAdapterInternals, logger: Logger): void {
  for (
    const [event, what] of [["pmessageBuffer", "deliver a broadcast from"], [
      "messageBuffer",
      "answer a request from",
    ]] as const
  ) {
    const listener = adapter.redisListeners.get(event);
    if (!listener) continue;
    const failed = (error: unknown) =>
      logger.error(`could not ${what} another node: ${errorMessage(error)}`);
    const guarded = (...args: unknown[]) => {
      try {
        const result = listener(...args) as unknown;
        if (result instanceof Promise) result.catch(failed);
      } catch (error) {
        failed(error);
      }
    };
    adapter.subClient.off(event, listener);
    adapter.subClient.on(event, guarded);
    adapter.redisListeners.set(event, guarded);
  }
}

/**
 * Stacks cluster delivery above an adapter class that wraps the Redis adapter (the uWS publish mixin):
 * every broadcast is published to Redis here, then delivered locally by `Base` as a `local` broadcast;
 * broadcasts from other nodes are delivered locally the same way. `awayIn(room)` says whether a socket
 * away from this node (recovery) is in `room`: broadcasts to it are delivered here, to be replayed.
 */
export function withClusterDelivery<T extends AdapterConstructor>(
  Base: T,
  logger: Logger,
  awayIn: (room: string) => boolean = () => false,
): T {
  return class ClusterDeliveryAdapter extends Base {
    /** How this node's own broadcasts start on the wire (msgpack: array of 3, then the uid string). */
    #ownPrefix: Uint8Array | undefined;
    /** Broadcasts this adapter published (its origin count, see `lib/recovery/handoff.ts`). */
    #published = 0;

    override broadcast(packet: Packet, opts: BroadcastOptions): void {
      if (opts.flags?.local) {
        super.broadcast(packet, opts); // from another node (its origin in the flags), or `io.local`
        return;
      }
      const self = this as unknown as RedisAdapterInternals & Adapter;
      // Where it comes from, the same on every node: how recovery stitches two nodes' streams.
      this.#published += 1;
      const flags = { ...opts.flags, origin: [self.uid, this.#published] };
      // Local delivery first: it encodes, so an oversized message is refused before other nodes see it.
      super.broadcast(packet, { ...opts, flags: { ...flags, local: true } });
      if (!this.#toLocalSocket(opts.rooms)) publish(self, packet, { ...opts, flags });
    }

    /**
     * Whether the broadcast is for one socket connected here (`socket.emit()`, which Socket.IO routes
     * through the adapter when recovery is on): no other node has anyone in that room.
     */
    #toLocalSocket(rooms: Set<Room>): boolean {
      return rooms.size === 1 && this.sids.has(rooms.values().next().value as Room);
    }

    /** Replaces `RedisAdapter#onmessage` (same filtering), ending in this class's local delivery. */
    onmessage(_pattern: unknown, channel: string | Uint8Array, message: Uint8Array): void {
      const self = this as unknown as RedisAdapterInternals & Adapter;
      const name = channel.toString();
      if (!name.startsWith(self.channel)) return;
      const room = name.slice(self.channel.length, -1);
      // Nobody here is in that room, nor away from this node with a session to resume.
      if (room !== "" && !self.hasRoom(room) && !awayIn(room)) return;
      // Every broadcast of this node comes back to it: recognize it by its first bytes, not by decoding it.
      this.#ownPrefix ??= self.parser.encode([self.uid, null, null]).subarray(0, -2);
      if (startsWith(message, this.#ownPrefix)) return;
      let decoded: [
        string,
        Packet | undefined,
        { rooms?: unknown[]; except?: unknown[]; flags?: BroadcastOptions["flags"] },
      ];
      try {
        decoded = self.parser.decode(message) as typeof decoded;
      } catch (error) {
        logger.warn(
          `ignored a malformed message on Redis channel '${name}': ${errorMessage(error)}`,
        );
        return;
      }
      const [uid, packet, remote] = Array.isArray(decoded) ? decoded : [];
      if (uid === self.uid || !packet || typeof remote !== "object" || remote === null) return; // ours, or not a broadcast
      packet.nsp ??= "/";
      if (packet.nsp !== self.nsp.name) return;
      const rooms = new Set((remote.rooms ?? []) as string[]);
      const except = new Set((remote.except ?? []) as string[]);
      try {
        this.broadcast(packet, { rooms, except, flags: { ...remote.flags, local: true } });
      } catch (error) {
        // Thrown here it would surface in the Redis client's event handler and end the process.
        logger.error(
          `could not deliver a broadcast from another node on '${name}': ${errorMessage(error)}`,
        );
      }
    }
  };
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i += 1) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** What `RedisAdapter#broadcast` publishes, byte for byte, so that plain nodes understand it. */
function publish(
  adapter: RedisAdapterInternals & Adapter,
  packet: Packet,
  opts: BroadcastOptions,
): void {
  packet.nsp = adapter.nsp.name;
  const message = adapter.parser.encode([adapter.uid, packet, {
    rooms: [...opts.rooms],
    except: [...new Set(opts.except)],
    flags: opts.flags,
  }]);
  const channel = opts.rooms.size === 1
    ? `${adapter.channel}${String(opts.rooms.values().next().value)}#`
    : adapter.channel;
  adapter.pubClient.publish(channel, message);
}
