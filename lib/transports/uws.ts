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
  io.adapter(withUwsPublish(io.adapter() as never, app) as never);

  const serverOptions = options.socket.serverOptions;
  const engine = new uServer({ ...serverOptions, maxBackpressure: maxBackpressure + HARD_LIMIT_HEADROOM } as never);
  engine.attach(app as never, { ...serverOptions, maxBackpressure: maxBackpressure + HARD_LIMIT_HEADROOM } as never);
  engine.on("connection", (socket: { on(event: "packetCreate", listener: () => void): void }) => {
    socket.on("packetCreate", guard.noteActivity);
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

/**
 * Enforces `maxBackpressure` without dropping anything silently. After every loop turn that sent
 * something, it checks each socket's uWS send backlog; a socket over the limit is ended with close code
 * 1013 and a reason (the close frame queues behind the backlog, so the client reads everything sent to it,
 * then learns why, then reconnects and refetches).
 */
class BackpressureGuard {
  disconnects = 0;
  readonly #limit: number;
  readonly #logger: Logger;
  readonly #open = new Set<UwsWebSocket>();
  /** Sockets with a backlog at the last check: a bare 1006 close of one of them is uWS's hard limit. */
  readonly #congested = new WeakSet<UwsWebSocket>();
  readonly #evicted = new WeakSet<UwsWebSocket>();
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
          behavior.close?.(socket, code, message);
        },
      });
    const publish = app.publish.bind(app);
    app.publish = (topic, message, isBinary, compress) => {
      this.noteActivity();
      return publish(topic, message, isBinary, compress);
    };
  }

  /** Schedules one check after the current loop turn. Bound, so it can be passed as a listener. */
  readonly noteActivity = (): void => {
    if (this.#scheduled || this.#stopped) return;
    this.#scheduled = true;
    setImmediate(this.#check);
  };

  stop(): void {
    this.#stopped = true;
  }

  readonly #check = (): void => {
    this.#scheduled = false;
    if (this.#stopped) return;
    for (const socket of this.#open) {
      const buffered = socket.getBufferedAmount();
      if (buffered === 0) {
        this.#congested.delete(socket);
        continue;
      }
      this.#congested.add(socket);
      if (buffered <= this.#limit || this.#evicted.has(socket)) continue;
      this.#evicted.add(socket);
      this.#count(`send backlog ${buffered} B over maxBackpressure ${this.#limit} B`);
      socket.end(BACKPRESSURE_CLOSE_CODE, BACKPRESSURE_CLOSE_REASON);
    }
  };

  #count(why: string): void {
    this.disconnects += 1;
    this.#logger.warn(`disconnected a slow client: ${why} (total ${this.disconnects})`);
  }
}
