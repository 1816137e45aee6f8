/**
 * The uWebSockets.js transport: Socket.IO served from a uWS App on its own host/port. The only file in
 * `lib/` that touches uWebSockets.js, and it loads it lazily so the rest of `lib/` runs where uWS cannot.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { uServer } from "engine.io";
import { type HttpAnswer, NOT_FOUND, STATUS_TEXT } from "../http-routes.ts";
import { errorMessage } from "../logger.ts";
import {
  type BacklogLimits,
  backlogLimits,
  BACKPRESSURE_CLOSE_CODE,
  BACKPRESSURE_CLOSE_REASON,
  SlowConsumerGuard,
  SlowConsumerLog,
} from "./backpressure.ts";
import { type EngineServer, type EngineSocket, watchEngineBacklogs } from "./engine-backlogs.ts";
import { limitMessageSize } from "./message-size.ts";
import type { PreparedTransport, TransportContext, TransportHandle } from "./transport.ts";
import { withUwsPublish } from "./uws-publish-adapter.ts";

type Uws = typeof import("uWebSockets.js");
type UwsApp = import("uWebSockets.js").TemplatedApp;
type UwsWebSocket = import("uWebSockets.js").WebSocket<unknown>;
type UwsBehavior = import("uWebSockets.js").WebSocketBehavior<unknown>;
type ListenSocket = import("uWebSockets.js").us_listen_socket;

/** Re-exported where `mod.ts` has always taken them from; defined once, in `backpressure.ts`. */

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
        return {
          ok: false,
          reason: "uWebSockets.js loaded without its native binary for this Node.js version",
        };
      }
      return { ok: true, uws };
    } catch (error) {
      return { ok: false, reason: `uWebSockets.js could not be loaded: ${errorMessage(error)}` };
    }
  })();
  return availability;
}

/**
 * Prepares Socket.IO on a uWS App (its adapter mixin publishes each room natively through that App);
 * `start()` listens on `transport.host`/`transport.port`.
 */
export async function prepareUwsTransport(context: TransportContext): Promise<PreparedTransport> {
  const loaded = await loadUws();
  if (!loaded.ok) throw new Error(`strapi-io: transport 'uws' is unavailable: ${loaded.reason}`);
  const { uws } = loaded;
  const app = uws.App();
  const limits = backlogLimits(context.options.transport);
  const log = new SlowConsumerLog(context.logger);
  const guard = new UwsBacklogs(limits, log);
  // Before any publish: every publish passes through the guard.
  guard.install(app);
  return {
    adapter: { wrap: (base) => withUwsPublish(base, app), deliversItself: true },
    start: () => startUwsTransport(context, { uws, app, limits, log, guard }),
  };
}

/** What {@link prepareUwsTransport} made and `start()` goes on with. */
interface UwsParts {
  uws: Uws;
  app: UwsApp;
  limits: BacklogLimits;
  log: SlowConsumerLog;
  guard: UwsBacklogs;
}

async function startUwsTransport(
  context: TransportContext,
  { uws, app, limits, log, guard }: UwsParts,
): Promise<TransportHandle> {
  const { io, options } = context;
  const { host, port } = options.transport;
  const unlimitMessageSize = limitMessageSize(io, options.transport.maxMessageSize);

  // uWS's own limit is the hard limit: past it, uWS closes the socket inside the send that crossed it.
  const serverOptions = { ...options.socket.serverOptions, maxBackpressure: limits.hard };
  const engine = new uServer(serverOptions as never);
  engine.attach(app as never, serverOptions as never);
  // Below Socket.IO's own route (uWS matches the most specific): health, and a plain 404 for the rest.
  app.any("/*", (res, req) => {
    const request = {
      method: req.getMethod().toUpperCase(),
      path: req.getUrl(),
      authorization: req.getHeader("authorization"),
    };
    const answer = context.routes?.answer(request) ?? NOT_FOUND;
    const reply = (done: HttpAnswer): void =>
      void res.cork(() => {
        res.writeStatus(STATUS_TEXT[done.status] ?? String(done.status));
        res.writeHeader("content-type", done.contentType ?? "application/json");
        for (const [name, value] of Object.entries(done.headers ?? {})) {
          res.writeHeader(name, value);
        }
        res.end(request.method === "HEAD" ? undefined : done.body);
      });
    if (!(answer instanceof Promise)) {
      reply(answer);
      return;
    }
    let aborted = false;
    res.onAborted(() => void (aborted = true));
    void answer.then((done) => {
      if (!aborted) reply(done);
    });
  });
  engine.on("connection", (socket: UwsEngineSocket) => {
    socket.request = detachedRequest(socket.request);
  });
  // Packets Engine.IO holds itself (long-polling clients, a WebSocket not open yet); uWS holds the rest.
  const engineBacklogs = watchEngineBacklogs(engine as unknown as EngineServer, {
    limits,
    log,
    onPacket: guard.notePacket,
    // A WebSocket connection hands each packet to uWS at once (uWS holds its backlog, watched above); only
    // long-polling connections queue inside Engine.IO.
    holdsBacklog: (socket) => socket.transport.name !== "websocket",
  });
  io.bind(engine as never);

  const listenSocket = await new Promise<ListenSocket>((resolve, reject) => {
    // Exclusive: uWS otherwise sets SO_REUSEPORT, and a second server on the same port would silently
    // share its connections instead of failing.
    // The native listen(host, port, options, cb) exists; the published typings only declare it without host.
    const listen = app.listen as unknown as (
      host: string,
      port: number,
      options: number,
      cb: (socket: ListenSocket | false) => void,
    ) => void;
    listen.call(app, host, port, LISTEN_EXCLUSIVE_PORT, (socket) => {
      if (socket) resolve(socket);
      else {reject(
          new Error(
            `strapi-io: uWS could not listen on ${host}:${port} (port in use or not permitted)`,
          ),
        );}
    });
  });
  const boundPort = uws.us_socket_local_port(listenSocket);

  let closing: Promise<void> | undefined;
  return {
    type: "uws",
    port: boundPort,
    stats: () => ({ backpressureDisconnects: log.count }),
    close: () => {
      closing ??= (async () => {
        guard.stop();
        engineBacklogs.stop();
        await new Promise<void>((resolve) => io.close(() => resolve()));
        uws.us_listen_socket_close(listenSocket);
        // Close what is still open (HTTP keep-alive, half-closed sockets) so the port is free now.
        (app as { close?: () => void }).close?.();
        unlimitMessageSize();
      })();
      return closing;
    },
  };
}

/** The parts of an Engine.IO socket this file touches. */
interface UwsEngineSocket {
  request: UwsHandshakeRequest;
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
 * The slow-consumer rule (see `backpressure.ts`) for uWS send backlogs, without dropping anything silently:
 * a slow consumer is ended with close code 1013 and the reason (the close frame queues behind the backlog,
 * so the client reads what was sent to it, then learns why, then reconnects and refetches). uWS's `drain`
 * tells when a backlog went down, so a reader that keeps draining large messages is never judged on them.
 *
 * Checks cost O(sockets with a backlog), not O(open sockets): a socket whose backlog was 0 when last looked
 * at holds at most the bytes published since, and those are counted (each publish once, however many
 * sockets it reaches). Only when that count passes the soft limit can an unwatched socket be over it, and
 * only then are all open sockets scanned. The count restarts from what was sent since the previous check
 * (it may still sit in uWS's topic queues, drained at the end of the loop turn), never from 0.
 */
class UwsBacklogs {
  readonly #limits: BacklogLimits;
  readonly #guard: SlowConsumerGuard<UwsWebSocket>;
  readonly #log: SlowConsumerLog;
  readonly #open = new Set<UwsWebSocket>();
  /** Bytes published since the last full scan, and bytes sent since the last check. */
  #sinceScan = 0;
  #sinceCheck = 0;

  constructor(limits: BacklogLimits, log: SlowConsumerLog) {
    this.#limits = limits;
    this.#log = log;
    const probe = {
      backlog: (socket: UwsWebSocket) => socket.getBufferedAmount(),
      evict: (socket: UwsWebSocket) =>
        socket.end(BACKPRESSURE_CLOSE_CODE, BACKPRESSURE_CLOSE_REASON),
    };
    this.#guard = new SlowConsumerGuard(limits, log, probe, this.#beforeCheck);
  }

  /** Wraps the App's `ws()` and `publish()` so that every behaviour and every publish passes through here. */
  install(app: UwsApp): void {
    const ws = app.ws.bind(app);
    app.ws = (pattern: string, behavior: UwsBehavior) =>
      ws(pattern, {
        ...behavior,
        // Past its maxBackpressure (the hard limit), uWS closes the socket rather than skip a message.
        closeOnBackpressureLimit: 1,
        open: (socket) => {
          this.#open.add(socket);
          behavior.open?.(socket);
        },
        drain: (socket) => {
          this.#guard.relieve(socket);
          behavior.drain?.(socket);
        },
        close: (socket, code, message) => {
          this.#open.delete(socket);
          // uWS closes with 1006 (no close frame) at its own limit; a socket that was near it is counted.
          if (
            code === 1006 && !this.#guard.evicted(socket) &&
            this.#guard.lastBacklog(socket) + this.#sinceCheck > this.#limits.hard
          ) {
            this.#log.record(
              `closed by uWS at the hard limit ${this.#limits.hard} B inside one loop turn`,
            );
          }
          this.#guard.forget(socket);
          behavior.close?.(socket, code, message);
        },
      });
    const publish = app.publish.bind(app);
    app.publish = (topic, message, isBinary, compress) => {
      const bytes = byteBound(message);
      this.#sinceScan += bytes;
      this.#sinceCheck += bytes;
      this.#guard.schedule();
      return publish(topic, message, isBinary, compress);
    };
  }

  /** Counts one per-socket Engine.IO packet and checks its WebSocket after this turn. Bound, to be passed as a callback. */
  readonly notePacket = (socket: EngineSocket, bytes: number): void => {
    this.#sinceCheck += bytes;
    const transport = socket.transport as { name: string; socket?: UwsWebSocket };
    // Engine.IO's uWS WebSocket transport writes each packet to uWS at once; until `open` there is no socket yet.
    if (transport.name === "websocket" && transport.socket && this.#open.has(transport.socket)) {
      this.#guard.touch(transport.socket);
    }
  };

  stop(): void {
    this.#guard.stop();
  }

  readonly #beforeCheck = (): void => {
    if (this.#sinceScan > this.#limits.soft) {
      this.#sinceScan = this.#sinceCheck;
      for (const socket of this.#open) {
        if (socket.getBufferedAmount() > 0) this.#guard.touch(socket);
      }
    }
    this.#sinceCheck = 0;
  };
}

/** The bytes `data` takes on the wire (UTF-8 for strings). */
function byteBound(data: unknown): number {
  if (typeof data === "string") return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}
