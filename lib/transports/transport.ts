/**
 * The small contract every transport implements: attach a Socket.IO server to a runtime's server, report
 * where it listens, count what it had to refuse, and free everything on `close()`.
 *
 * @module
 */
import type { Server as HttpServer } from "node:http";
import type { AdapterConstructor } from "../adapter-types.ts";
import type { HttpRoutes } from "../http-routes.ts";
import type { Logger } from "../logger.ts";
import type { ResolvedIoOptions } from "../options.ts";
import type { IoServer } from "../types.ts";

/** Transports that actually run (`auto` resolves to one of them). */
export type RunningTransportType = "uws" | "node-http";

/** What a transport needs to start. */
export interface TransportContext {
  io: IoServer;
  options: ResolvedIoOptions;
  logger: Logger;
  /** An existing node:http server to share (Strapi's); `node-http` creates its own when absent. */
  httpServer?: HttpServer;
  /**
   * Plain HTTP requests to answer on a server of strapi-io's own (uWS's, or one `node-http` created); any
   * other path that is not Socket.IO's gets `404`. A shared server's other paths are its owner's.
   */
  routes?: HttpRoutes;
}

/** Counters a transport keeps. */
export interface TransportStats {
  /**
   * Connections disconnected as slow consumers: a send backlog over `transport.maxBackpressure` for longer
   * than `transport.drainTimeout`, or over the hard limit (`maxBackpressure + 16 × maxMessageSize`).
   */
  backpressureDisconnects: number;
}

/**
 * What a transport contributes to the adapter stack (composed in one place, `lib/adapter-stack.ts`): a
 * subclass of whatever adapter class it is given.
 */
export interface AdapterMixin {
  /**
   * `plugged`: the base is an adapter the app plugged through `init` (`hooks.init`), whose own `broadcast`
   * may be what reaches its other servers; a mixin that can leaves delivery to it then.
   */
  wrap<T extends AdapterConstructor>(base: T, plugged: boolean): T;
  /**
   * Whether the subclass delivers local broadcasts without calling the base class's `broadcast` (uWS's
   * native publish, node-http's frames written to the TCP sockets): a base that publishes to other nodes
   * in `broadcast` must then be reached from above.
   */
  deliversItself: boolean;
}

/** A transport that is set up but does not accept connections yet. */
export interface PreparedTransport {
  /** Its adapter mixin, installed by the caller before `start()`. */
  readonly adapter: AdapterMixin;
  /** Binds Socket.IO and starts accepting connections. */
  start(): Promise<TransportHandle>;
}

/** A started transport. */
export interface TransportHandle {
  readonly type: RunningTransportType;
  /** The port clients connect to (read back from the listening socket, so `0` resolves to the real one). */
  readonly port: number;
  stats(): TransportStats;
  /** Closes the listening socket (or detaches from a shared server) and every connection. Idempotent. */
  close(): Promise<void>;
}
