/**
 * The uWebSockets.js transport: Socket.IO served from a uWS App on its own host/port. The only file in
 * `lib/` that touches uWebSockets.js, and it loads it lazily so the rest of `lib/` runs where uWS cannot.
 *
 * @module
 */
import { uServer } from "engine.io";
import { errorMessage, type Logger } from "../logger.ts";
import type { TransportContext, TransportHandle } from "./transport.ts";
import { withUwsPublish } from "./uws-publish-adapter.ts";

type Uws = typeof import("uWebSockets.js");
type UwsApp = import("uWebSockets.js").TemplatedApp;
type UwsWebSocket = import("uWebSockets.js").WebSocket<unknown>;
type UwsBehavior = import("uWebSockets.js").WebSocketBehavior<unknown>;
type ListenSocket = import("uWebSockets.js").us_listen_socket;

/** WebSocket close code sent to a slow consumer: 1013 "Try Again Later" — reconnect and refetch. */
export const BACKPRESSURE_CLOSE_CODE = 1013;
/** Close reason sent with {@link BACKPRESSURE_CLOSE_CODE}. */
export const BACKPRESSURE_CLOSE_REASON = "strapi-io: send backlog over maxBackpressure (slow consumer)";
/**
 * Headroom between our limit and the limit handed to uWS. Our limit is checked once per loop turn; uWS's
 * own limit (with `closeOnBackpressureLimit`) only catches a socket that overflows inside one turn, so
 * that even then nothing is dropped silently: uWS closes it instead.
 */
const HARD_LIMIT_HEADROOM = 8 * 1024 * 1024;
/** uSockets' LIBUS_LISTEN_EXCLUSIVE_PORT (a const enum in the typings, absent at run time). */
const LISTEN_EXCLUSIVE_PORT = 1;

/** Outcome of trying to load uWebSockets.js. */
export type UwsAvailability = { ok: true; uws: Uws } | { ok: false; reason: string };

let availability: Promise<UwsAvailability> | undefined;

/**
 * Loads uWebSockets.js once. Fails (with the reason) when the package is missing, its binary does not
 * match this runtime, or only the republished build's slow pure-JS fallback would load.
 */
export function loadUws(): Promise<UwsAvailability> {
  availability ??= (async (): Promise<UwsAvailability> => {
    if (typeof (globalThis as { Deno?: unknown }).Deno !== "undefined") {
      return { ok: false, reason: "uWebSockets.js is a Node.js addon; this runtime is Deno" };
    }
    // The republished build falls back to a pure-JS emulation when its binary does not load; that
    // fallback is slower than node:http, so it counts as "not available".
    if (/^(1|true)$/i.test(process.env.UWS_USE_FALLBACK ?? "")) {
      return { ok: false, reason: "UWS_USE_FALLBACK is set" };
    }
    try {
      const loaded = await import("uWebSockets.js");
      const uws = ((loaded as { default?: Uws }).default ?? loaded) as Uws;
      if (typeof uws.App !== "function" || typeof (uws as { _cfg?: unknown })._cfg !== "function") {
        return { ok: false, reason: "uWebSockets.js loaded without its native binary for this Node.js version" };
      }
      return { ok: true, uws };
    } catch (error) {
      return { ok: false, reason: `uWebSockets.js could not be loaded: ${errorMessage(error)}` };
    }
  })();
  return availability;
}

/** Starts Socket.IO on a uWS App listening on `transport.host`/`transport.port`. */
export async function startUwsTransport(context: TransportContext): Promise<TransportHandle> {
  const loaded = await loadUws();
  if (!loaded.ok) throw new Error(`strapi-io: transport 'uws' is unavailable: ${loaded.reason}`);
  const { uws } = loaded;
  const { io, options, logger } = context;
  const { host, port, maxBackpressure } = options.transport;

  const app = uws.App();
  const guard = new BackpressureGuard(maxBackpressure, logger);
  guard.install(app);
  const published = withUwsPublish(io.adapter() as never, app);
  io.adapter((context.adapterOverlay ? context.adapterOverlay(published) : published) as never);

  const serverOptions = options.socket.serverOptions;
  const engine = new uServer({ ...serverOptions, maxBackpressure: maxBackpressure + HARD_LIMIT_HEADROOM } as never);
  engine.attach(app as never, { ...serverOptions, maxBackpressure: maxBackpressure + HARD_LIMIT_HEADROOM } as never);
  engine.on("connection", (socket: EngineSocket) => {
    socket.request = detachedRequest(socket.request);
    socket.on("packetCreate", guard.notePacket);
  });
  io.bind(engine as never);

  const listenSocket = await new Promise<ListenSocket>((resolve, reject) => {
    // Exclusive: uWS otherwise sets SO_REUSEPORT, and a second server on the same port would silently
    // share its connections instead of failing.
    // The native listen(host, port, options, cb) exists; the published typings only declare it without host.
    const listen = app.listen as unknown as (host: string, port: number, options: number, cb: (socket: ListenSocket | false) => void) => void;
    listen.call(app, host, port, LISTEN_EXCLUSIVE_PORT, (socket) => {
      if (socket) resolve(socket);
      else reject(new Error(`strapi-io: uWS could not listen on ${host}:${port} (port in use or not permitted)`));
    });
  });
  const boundPort = uws.us_socket_local_port(listenSocket);

  let closing: Promise<void> | undefined;
  return {
    type: "uws",
    port: boundPort,
    stats: () => ({ backpressureDisconnects: guard.disconnects }),
    close: () => {
      closing ??= (async () => {
        guard.stop();
        await new Promise<void>((resolve) => io.close(() => resolve()));
        uws.us_listen_socket_close(listenSocket);
        // Close what is still open (HTTP keep-alive, half-closed sockets) so the port is free now.
        (app as { close?: () => void }).close?.();
      })();
      return closing;
    },
  };
}

/** The parts of an Engine.IO socket this transport touches. */
interface EngineSocket {
  request: UwsHandshakeRequest;
  on(event: "packetCreate", listener: (packet: { data?: unknown }) => void): void;
}

/** What engine.io's uWS server attaches to a uWS HttpRequest during the handshake. */
interface UwsHandshakeRequest {
  method: string;
  url: string;
  _query: Record<string, string>;
  headers: Record<string, string>;
  connection: { remoteAddress: string };
}

/**
 * The handshake request as a plain object with what `socket.request` and `socket.handshake` expose
 * (method, url, query, headers, remote address). Engine.IO keeps the request for the connection's life;
 * with uWS it is the HttpRequest wrapper (dead once the upgrade returns) holding the HttpResponse wrapper
 * and its abort handler, a few hundred bytes per connection for nothing. Runs on engine.io's `connection`
 * event, before Socket.IO reads `conn.request`.
 */
function detachedRequest(request: UwsHandshakeRequest): UwsHandshakeRequest {
  const { method, url, _query, headers, connection } = request;
  return { method, url, _query, headers, connection };
}

/**
 * Enforces `maxBackpressure` without dropping anything silently. After every loop turn that sent
 * something, it checks uWS send backlogs; a socket over the limit is ended with close code 1013 and a
 * reason (the close frame queues behind the backlog, so the client reads everything sent to it, then
 * learns why, then reconnects and refetches).
 *
 * The check costs O(sockets with a backlog), not O(open sockets): a socket whose backlog was 0 when last
 * looked at holds at most the bytes sent since, and those are counted (every publish, every per-socket
 * packet, each counted once however many sockets it reaches). Only when that count passes the limit can
 * an unwatched socket be over it, and only then are all open sockets scanned. The count restarts from
 * what was sent since the previous check (it may still sit in uWS's topic queues, drained at the end of
 * the loop turn), never from 0.
 */
class BackpressureGuard {
  disconnects = 0;
  readonly #limit: number;
  readonly #logger: Logger;
  readonly #open = new Set<UwsWebSocket>();
  /** Sockets with a backlog at their last check: checked every turn; a bare 1006 close of one is uWS's hard limit. */
  readonly #congested = new Set<UwsWebSocket>();
  readonly #evicted = new WeakSet<UwsWebSocket>();
  /** Bytes sent since the last full scan, and since the last check. */
  #sinceScan = 0;
  #sinceCheck = 0;
  #scheduled = false;
  #stopped = false;

  constructor(limit: number, logger: Logger) {
    this.#limit = limit;
    this.#logger = logger;
  }

  /** Wraps the App's `ws()` and `publish()` so that every behaviour and every publish passes through the guard. */
  install(app: UwsApp): void {
    const ws = app.ws.bind(app);
    app.ws = (pattern: string, behavior: UwsBehavior) =>
      ws(pattern, {
        ...behavior,
        closeOnBackpressureLimit: 1,
        open: (socket) => {
          this.#open.add(socket);
          behavior.open?.(socket);
        },
        close: (socket, code, message) => {
          this.#open.delete(socket);
          if (code === 1006 && this.#congested.has(socket) && !this.#evicted.has(socket)) {
            this.#count("closed by uWS at its hard limit inside one loop turn");
          }
          this.#congested.delete(socket);
          behavior.close?.(socket, code, message);
        },
      });
    const publish = app.publish.bind(app);
    app.publish = (topic, message, isBinary, compress) => {
      this.#noteBytes(byteBound(message));
      return publish(topic, message, isBinary, compress);
    };
  }

  /** Counts one per-socket Engine.IO packet (engine `packetCreate`). Bound, so it can be passed as a listener. */
  readonly notePacket = (packet: { data?: unknown }): void => {
    this.#noteBytes(16 + byteBound(packet.data));
  };

  stop(): void {
    this.#stopped = true;
  }

  #noteBytes(bytes: number): void {
    this.#sinceScan += bytes;
    this.#sinceCheck += bytes;
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(this.#check);
  }

  readonly #check = (): void => {
    this.#scheduled = false;
    if (this.#stopped) return;
    if (this.#sinceScan > this.#limit) {
      this.#sinceScan = this.#sinceCheck;
      // Every open socket: rebuild the congested set rather than delete from it socket by socket.
      this.#congested.clear();
      for (const socket of this.#open) if (socket.getBufferedAmount() > 0) this.#inspect(socket);
    } else {
      for (const socket of this.#congested) this.#inspect(socket);
    }
    this.#sinceCheck = 0;
  };

  #inspect(socket: UwsWebSocket): void {
    const buffered = socket.getBufferedAmount();
    if (buffered === 0) {
      this.#congested.delete(socket);
      return;
    }
    this.#congested.add(socket);
    if (buffered <= this.#limit || this.#evicted.has(socket)) return;
    this.#evicted.add(socket);
    this.#count(`send backlog ${buffered} B over maxBackpressure ${this.#limit} B`);
    socket.end(BACKPRESSURE_CLOSE_CODE, BACKPRESSURE_CLOSE_REASON);
  }

  #count(why: string): void {
    this.disconnects += 1;
    this.#logger.warn(`disconnected a slow client: ${why} (total ${this.disconnects})`);
  }
}

/** The bytes `data` takes on the wire (UTF-8 for strings). */
function byteBound(data: unknown): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
