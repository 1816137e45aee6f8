/**
 * Test harness: starts `$io` on a chosen transport (port 0, loopback) and connects real socket.io-client
 * clients to it; everything opened is closed by `cleanup()`.
 */
import {
  io as connect,
  type ManagerOptions,
  type Socket as ClientSocket,
  type SocketOptions,
} from "socket.io-client";
import { createSocketIO } from "../../lib/create-socket-io.ts";
import type { SocketIORuntime, StrapiIO } from "../../lib/io.ts";
import type { Logger } from "../../lib/logger.ts";
import type { IoOptions } from "../../lib/options.ts";
import type { RunningTransportType } from "../../lib/transports/transport.ts";

export const TRANSPORTS: RunningTransportType[] = ["uws", "node-http"];

/** A logger that records instead of printing, so tests can assert on warnings. */
export function recordingLogger(): Logger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const record = (level: string) => (message: string) => void lines.push({ level, message });
  return {
    lines,
    debug: record("debug"),
    info: record("info"),
    warn: record("warn"),
    error: record("error"),
  };
}

export interface Harness {
  io: StrapiIO;
  url: string;
  /** Connects a client and waits until it is connected (rejects with the connect_error otherwise). */
  client(
    namespace?: string,
    options?: Partial<ManagerOptions & SocketOptions>,
  ): Promise<ClientSocket>;
  /** Connects a client and resolves with the connect_error it gets. */
  refusedClient(
    namespace?: string,
    options?: Partial<ManagerOptions & SocketOptions>,
  ): Promise<Error & { data?: unknown }>;
  cleanup(): Promise<void>;
}

export async function startHarness(
  transport: RunningTransportType,
  options: IoOptions = {},
  runtime: SocketIORuntime = {},
): Promise<Harness> {
  const io = await createSocketIO(
    {
      ...options,
      transport: { host: "127.0.0.1", port: 0, ...options.transport, type: transport },
    },
    { logger: recordingLogger(), ...runtime },
  );
  const url = `http://127.0.0.1:${io.port}`;
  const clients: ClientSocket[] = [];
  const open = (namespace = "/", extra: Partial<ManagerOptions & SocketOptions> = {}) => {
    const socket = connect(`${url}${namespace === "/" ? "" : namespace}`, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      ...extra,
    });
    clients.push(socket);
    return socket;
  };
  return {
    io,
    url,
    client: (namespace, extra) =>
      new Promise((resolve, reject) => {
        const socket = open(namespace, extra);
        socket.once("connect", () => resolve(socket));
        socket.once("connect_error", reject);
      }),
    refusedClient: (namespace, extra) =>
      new Promise((resolve, reject) => {
        const socket = open(namespace, extra);
        socket.once("connect", () => reject(new Error("expected the handshake to be refused")));
        socket.once("connect_error", resolve);
      }),
    cleanup: async () => {
      for (const socket of clients) socket.disconnect();
      await io.close();
    },
  };
}

/** Resolves with the arguments of the next `event`, or rejects after `ms`. */
export function nextEvent<T = unknown>(socket: ClientSocket, event: string, ms = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, handler);
      reject(new Error(`timed out waiting for '${event}'`));
    }, ms);
    const handler = (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    };
    socket.once(event, handler);
  });
}

/** Collects every `event` a socket receives, for asserting what did *not* arrive. */
export function collect<T = unknown>(socket: ClientSocket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => void seen.push(payload));
  return seen;
}

/** What {@link recordContentEvents} keeps of one event. */
export type ContentEventSummary = [
  event: string,
  titleOrDocumentId: unknown,
  subscriptions: unknown,
];

/**
 * `[event, title or documentId, subscriptions]` of every event a socket receives (markers left out): the
 * exact sequence a filtered-subscription test asserts.
 */
export function recordContentEvents(socket: ClientSocket): ContentEventSummary[] {
  const received: ContentEventSummary[] = [];
  socket.onAny((event: string, payload: unknown) => {
    if (event === MARKER) return;
    const { data, subscriptions } = (payload ?? {}) as {
      data?: { title?: unknown; documentId?: unknown };
      subscriptions?: unknown;
    };
    received.push([event, data?.title ?? data?.documentId, subscriptions]);
  });
  return received;
}

/** The event `untilMarker()` sends; no feature of the plugin uses it. */
export const MARKER = "test:marker";

/**
 * Sends each socket a marker (`sendPrivateMessage()`, which finds a socket in any namespace) and resolves once
 * every marker has arrived. Socket.IO keeps per-socket order, so whatever the server sent those sockets before
 * has arrived by then: assert on what was collected to show that something did *not* arrive.
 */
export async function untilMarker(
  io: Pick<StrapiIO, "sendPrivateMessage">,
  ...sockets: ClientSocket[]
): Promise<void> {
  const arrived = sockets.map((socket) => nextEvent(socket, MARKER));
  for (const socket of sockets) io.sendPrivateMessage(socket.id!, MARKER, null);
  await Promise.all(arrived);
}

/**
 * `untilMarker()` for sockets of a cluster: `node` sends the marker to everyone in `/` with `raw()`, the way
 * its own broadcasts travel (through its Redis connection, in order), so it arrives after whatever that
 * node sent those sockets before.
 */
export async function untilMarkerFrom(
  node: { call(method: string, ...args: unknown[]): Promise<unknown> },
  ...sockets: ClientSocket[]
): Promise<void> {
  const arrived = sockets.map((socket) => nextEvent(socket, MARKER));
  await node.call("raw", { event: MARKER, data: null });
  await Promise.all(arrived);
}

/** Sends a client event with an acknowledgement and resolves with the acknowledgement. */
export function request<T>(socket: ClientSocket, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(2000).emitWithAck(event, ...args) as Promise<T>;
}

/** Resolves once `condition()` holds (checked every 10 ms), or rejects after `ms` saying what it waited for. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
