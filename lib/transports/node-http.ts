/**
 * The node:http transport: Socket.IO attached to an existing node:http server (Strapi's, one port for
 * everything) or to one it creates. Runs on Node and on Deno's node:http. Upgrade requests for other paths
 * (Strapi's data-transfer endpoint, for example) are left alone. Broadcasts are written straight to the
 * WebSockets' TCP sockets (`direct-frames.ts`). Slow consumers are held to the same rule as on uWS
 * (`backpressure.ts`): here a backlog sits in Engine.IO's write buffer, in the WebSocket's and in the TCP
 * socket's.
 *
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from "node:http";
import { type HttpAnswer, NOT_FOUND } from "../http-routes.ts";
import type { AddressInfo } from "node:net";
import {
  backlogLimits,
  BACKPRESSURE_CLOSE_CODE,
  BACKPRESSURE_CLOSE_REASON,
  SlowConsumerLog,
} from "./backpressure.ts";
import { FrameWriter, withDirectFrames } from "./direct-frames.ts";
import {
  EngineBacklogs,
  type EngineServer,
  type EngineTransport,
  type EngineWire,
} from "./engine-backlogs.ts";
import { limitMessageSize } from "./message-size.ts";
import { withRoomFanOut } from "./room-fan-out.ts";
import type { PreparedTransport, TransportContext, TransportHandle } from "./transport.ts";

/** Events engine.io adds listeners for on the server it attaches to; removed again on close. */
const ATTACHED_EVENTS = ["request", "upgrade", "close", "listening"] as const;

/**
 * Prepares Socket.IO on node:http. Its adapter mixin fans out to rooms without a de-duplication set and,
 * unless the app plugged an adapter of its own, writes each broadcast's frame straight to the recipients'
 * TCP sockets (`direct-frames.ts`), so it delivers itself. `start()` attaches to `context.httpServer`, or
 * creates a server on `transport.host`/`transport.port`.
 */
export function prepareNodeHttpTransport(context: TransportContext): PreparedTransport {
  const limits = backlogLimits(context.options.transport);
  const log = new SlowConsumerLog(context.logger);
  const wire = new WsWire(limits.drainTimeout);
  const backlogs = new EngineBacklogs({ limits, log, wire });
  const writer = new FrameWriter((connection, tcp) => backlogs.wroteAround(connection, tcp));
  return {
    adapter: {
      // An adapter the app plugged delivers through its own `broadcast` (which may publish to its other
      // servers): Socket.IO's per-socket path then, below it.
      wrap: (base, plugged) =>
        plugged ? withRoomFanOut(base) : withDirectFrames(withRoomFanOut(base), writer),
      deliversItself: true,
    },
    start: () => startNodeHttpTransport(context, { log, wire, backlogs }),
  };
}

/** What {@link prepareNodeHttpTransport} made and `start()` goes on with. */
interface NodeHttpParts {
  log: SlowConsumerLog;
  wire: WsWire;
  backlogs: EngineBacklogs;
}

async function startNodeHttpTransport(
  context: TransportContext,
  { log, wire, backlogs }: NodeHttpParts,
): Promise<TransportHandle> {
  const { io, options } = context;
  const owned = context.httpServer === undefined;
  const server = context.httpServer ?? createServer();
  const before = snapshotListeners(server);
  const unlimitMessageSize = limitMessageSize(io, options.transport.maxMessageSize);

  // Engine.IO passes the requests that are not Socket.IO's to the listeners it found: on a server of our
  // own, that is health and a plain 404 (without one, such a request would hang).
  if (owned) {
    server.on("request", (request, response) => answerPlainRequest(context, request, response));
  }
  // destroyUpgrade: false — engine.io would otherwise destroy every upgrade it does not own after 1 s.
  io.attach(server, { ...options.socket.serverOptions, destroyUpgrade: false } as never);
  backlogs.watch(io.engine as unknown as EngineServer);
  if (!owned) {
    // io.close() closes the server it is attached to; a shared server (Strapi's) is not ours to close.
    (io as unknown as { httpServer?: HttpServer }).httpServer = undefined;
  }

  if (owned) {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.transport.port, options.transport.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  }

  let closing: Promise<void> | undefined;
  return {
    type: "node-http",
    get port() {
      const address = server.address();
      return address !== null && typeof address === "object" ? (address as AddressInfo).port : 0;
    },
    stats: () => ({ backpressureDisconnects: log.count }),
    close: () => {
      closing ??= (async () => {
        backlogs.stop();
        wire.terminateAll();
        const closed = new Promise<void>((resolve) => io.close(() => resolve()));
        // io.close() ends Socket.IO's connections; idle keep-alive ones would hold an owned server open.
        if (owned) server.closeAllConnections?.();
        await closed;
        if (!owned) restoreListeners(server, before);
        unlimitMessageSize();
      })();
      return closing;
    },
  };
}

function answerPlainRequest(
  context: TransportContext,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const method = request.method ?? "GET";
  const answer = context.routes?.answer({
    method,
    path: (request.url ?? "/").split("?", 1)[0] as string,
    authorization: request.headers.authorization ?? "",
  }) ?? NOT_FOUND;
  const reply = (done: HttpAnswer) => {
    response.writeHead(done.status, {
      "content-type": done.contentType ?? "application/json",
      ...done.headers,
    });
    response.end(method === "HEAD" ? undefined : done.body);
  };
  if (answer instanceof Promise) void answer.then(reply);
  else reply(answer);
}

type ListenerSnapshot = Map<string, Array<(...args: unknown[]) => void>>;

function snapshotListeners(server: HttpServer): ListenerSnapshot {
  return new Map(
    ATTACHED_EVENTS.map((
      event,
    ) => [event, server.listeners(event) as Array<(...args: unknown[]) => void>]),
  );
}

/** Puts a shared server's listeners back as they were before engine.io wrapped them. */
function restoreListeners(server: HttpServer, snapshot: ListenerSnapshot): void {
  for (const [event, listeners] of snapshot) {
    server.removeAllListeners(event);
    for (const listener of listeners) server.on(event, listener);
  }
}

/** The parts of a `ws` WebSocket (what engine.io's WebSocket transport holds as `socket`) this file touches. */
interface NodeWebSocket {
  /** Bytes handed to `send()` and not yet written to the network (ws's own count plus the net socket's buffer). */
  readonly bufferedAmount: number;
  readonly readyState: number;
  close(code: number, reason: string): void;
  terminate(): void;
  once(event: "close", listener: () => void): unknown;
}

/** ws's `WebSocket.CLOSED`. */
const WS_CLOSED = 3;

/**
 * What a node:http WebSocket holds below Engine.IO, and how a slow one is closed: with 1013 and the reason,
 * queued behind what it has not read yet. A client that still does not read gets `drainTimeout` more, then
 * the TCP connection is destroyed (ws alone would keep it, and what it holds, for 30 s).
 */
class WsWire implements EngineWire {
  readonly #grace: number;
  readonly #closing = new Set<NodeWebSocket>();

  constructor(grace: number) {
    this.#grace = grace;
  }

  backlog(transport: EngineTransport): number {
    return webSocketOf(transport)?.bufferedAmount ?? 0;
  }

  close(transport: EngineTransport): void {
    const socket = webSocketOf(transport);
    if (!socket || socket.readyState === WS_CLOSED) return;
    socket.close(BACKPRESSURE_CLOSE_CODE, BACKPRESSURE_CLOSE_REASON);
    this.#closing.add(socket);
    const timer = setTimeout(() => socket.terminate(), this.#grace);
    (timer as { unref?: () => void }).unref?.();
    socket.once("close", () => {
      clearTimeout(timer);
      this.#closing.delete(socket);
    });
  }

  /** Destroys the connections still waiting to deliver their close frame (the transport is closing). */
  terminateAll(): void {
    for (const socket of this.#closing) socket.terminate();
  }
}

function webSocketOf(transport: EngineTransport): NodeWebSocket | undefined {
  return transport.name === "websocket"
    ? (transport as EngineTransport & { socket?: NodeWebSocket }).socket
    : undefined;
}
