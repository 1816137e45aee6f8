/**
 * The slow-consumer rule (see `backpressure.ts`) for what queues inside Engine.IO: each connection's
 * `writeBuffer`, the packets it holds while its transport is not writable (a WebSocket transport on node:http
 * waits for each write to complete; a long-polling client that stops polling never makes it writable), plus
 * what the transport itself still holds (`wire`, given by the transport that knows it).
 *
 * The cost follows the work already done: a running byte count per connection, raised on `packetCreate`
 * (each distinct encoded string measured once, however many connections it goes to) and emptied on `flush`
 * (which hands the whole buffer to the transport). Only connections sent to while their transport was busy
 * (or sent a packet over the soft limit) since the last check, and those still congested, are checked, never
 * all of them. A transport that writes around Engine.IO reports what its wire could not take at once
 * (`wroteAround`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type BacklogLimits, SlowConsumerGuard, type SlowConsumerLog } from "./backpressure.ts";

/** The parts of an Engine.IO transport this file reads. */
export interface EngineTransport {
  readonly name: string;
  /** Whether Engine.IO hands the next packet to the transport at once (else it waits in `writeBuffer`). */
  readonly writable: boolean;
}

/** The parts of an Engine.IO socket (one connection) this file touches. */
export interface EngineSocket {
  readonly transport: EngineTransport;
  on(
    event: "packetCreate",
    listener: (this: EngineSocket, packet: { data?: unknown }) => void,
  ): unknown;
  on(event: "flush", listener: () => void): unknown;
  once(event: "close", listener: () => void): unknown;
  close(discard?: boolean): unknown;
}

/** The parts of an Engine.IO server this file touches. */
export interface EngineServer {
  on(event: "connection", listener: (socket: EngineSocket) => void): unknown;
}

/** What a transport adds about the bytes its connections hold below Engine.IO. */
export interface EngineWire {
  /** Bytes `transport` holds and has not handed to the network yet (0 when it holds none of its own). */
  backlog(transport: EngineTransport): number;
  /** Sends the slow-consumer close to `transport` before Engine.IO closes it, where the wire can carry one. */
  close?(transport: EngineTransport): void;
}

/** What {@link watchEngineBacklogs} needs. */
export interface EngineBacklogOptions {
  limits: BacklogLimits;
  log: SlowConsumerLog;
  wire?: EngineWire;
  /** Called with every packet Engine.IO creates and its size, for a transport that counts bytes too. */
  onPacket?: (socket: EngineSocket, bytes: number) => void;
  /**
   * Which connections Engine.IO can hold a backlog for. The others only get `onPacket`, through one
   * listener shared by all of them (a node holds many connections). @default every connection
   */
  holdsBacklog?: (socket: EngineSocket) => boolean;
}

/** A running watch; `stop()` lets go of every connection and clears the guard's timer. */
export interface EngineBacklogWatch {
  stop(): void;
}

/** Applies the slow-consumer rule to every connection `engine` accepts from now on. */
export function watchEngineBacklogs(
  engine: EngineServer,
  options: EngineBacklogOptions,
): EngineBacklogWatch {
  const backlogs = new EngineBacklogs(options);
  backlogs.watch(engine);
  return backlogs;
}

/** A packet costs an object in the buffer besides its data (and a frame header on the wire). */
const PACKET_OVERHEAD = 64;

/**
 * The slow-consumer rule for an Engine.IO server's connections. Made before the server exists (a transport
 * that writes to connections itself needs it for its adapter mixin), then `watch()`es the server.
 */
export class EngineBacklogs implements EngineBacklogWatch {
  readonly #options: EngineBacklogOptions;
  readonly #guard: SlowConsumerGuard<Connection>;
  /** By Engine.IO socket (what a transport writing around Engine.IO knows a connection by). */
  readonly #connections = new WeakMap<object, Connection>();

  constructor(options: EngineBacklogOptions) {
    this.#options = options;
    const { limits, log, wire } = options;
    this.#guard = new SlowConsumerGuard<Connection>(limits, log, {
      backlog: (connection) =>
        connection.queued + (wire ? wire.backlog(connection.socket.transport) : 0),
      evict: ({ socket }) => {
        wire?.close?.(socket.transport);
        // Discard: close now, without waiting to flush a buffer that is not draining; Engine.IO empties it.
        socket.close(true);
      },
    });
  }

  /** Applies the rule to every connection `engine` accepts from now on. */
  watch(engine: EngineServer): void {
    const { limits, onPacket, holdsBacklog } = this.#options;
    const guard = this.#guard;
    const sizes = new PacketSizes();
    const countOnly = function (this: EngineSocket, packet: { data?: unknown }) {
      onPacket?.(this, PACKET_OVERHEAD + sizes.of(packet.data));
    };
    engine.on("connection", (socket) => {
      if (holdsBacklog && !holdsBacklog(socket)) {
        if (onPacket) socket.on("packetCreate", countOnly);
        return;
      }
      const connection: Connection = { socket, queued: 0, awaitingDrain: false };
      this.#connections.set(socket, connection);
      socket.on("packetCreate", (packet) => {
        const bytes = PACKET_OVERHEAD + sizes.of(packet.data);
        onPacket?.(socket, bytes);
        // A transport that is writable takes the packet at once (Engine.IO flushes right after this event,
        // which empties `queued`) and stays unwritable until it has handed it to the network: everything
        // sent meanwhile stays in the buffer and is checked below, with what the wire still holds. So a
        // packet that goes straight out needs no check unless it alone is over the soft limit. Healthy
        // connections, which are writable whenever the next event comes, then cost no check at all.
        if (socket.transport.writable && bytes <= limits.soft) return;
        connection.queued += bytes;
        guard.touch(connection);
      });
      // Emitted just before the whole buffer goes to a transport that has become writable again, i.e. that
      // delivered everything it was given before: the connection is draining.
      socket.on("flush", () => {
        guard.restart(connection);
        connection.queued = 0;
      });
      socket.once("close", () => guard.forget(connection));
    });
  }

  /**
   * Something was written to the wire of Engine.IO socket `socket` without Engine.IO (see
   * `direct-frames.ts`), and `wire` still holds part of it: the connection is checked after this loop turn,
   * and its time over the soft limit starts again once the wire has drained (what Engine.IO's `flush`
   * means for the packets it writes).
   */
  wroteAround(socket: object, wire: DrainingWire): void {
    const connection = this.#connections.get(socket);
    if (connection === undefined) return;
    this.#guard.touch(connection);
    if (connection.awaitingDrain) return;
    connection.awaitingDrain = true;
    wire.once("drain", () => {
      connection.awaitingDrain = false;
      this.#guard.restart(connection);
    });
  }

  stop(): void {
    this.#guard.stop();
  }
}

/** A writable stream below Engine.IO that says when it has handed everything to the network. */
export interface DrainingWire {
  once(event: "drain", listener: () => void): unknown;
}

interface Connection {
  readonly socket: EngineSocket;
  /** Bytes in the Engine.IO `writeBuffer`. */
  queued: number;
  /** Written to around Engine.IO, and waiting for its wire to drain. */
  awaitingDrain: boolean;
}

/**
 * UTF-8 sizes of packet data. A broadcast hands the same encoded string to every connection, one after the
 * other: remembering the last one measures it once, not once per connection.
 */
class PacketSizes {
  #last: string | undefined;
  #lastBytes = 0;

  of(data: unknown): number {
    if (typeof data === "string") {
      if (data !== this.#last) {
        this.#last = data;
        this.#lastBytes = Buffer.byteLength(data);
      }
      return this.#lastBytes;
    }
    if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
    return 0;
  }
}
