/**
 * Broadcasts on node:http without Engine.IO's per-packet work. Socket.IO hands every recipient of a broadcast
 * to Engine.IO one by one: a packet object, `packetCreate`, the write buffer, `flush` (twice: socket and
 * server), a write of the frame's header and a write of its data under `cork()`, a write callback, then
 * `drain` (twice) and `ready` to make the transport writable again. A profile of `emit()` on node:http puts
 * most of the server's user time there, not in strapi-io, and every recipient also costs one `send()` per
 * packet, in bursts too.
 *
 * {@link withDirectFrames} encodes a broadcast once into one WebSocket frame (header and data in one buffer)
 * and writes it straight to each recipient's TCP socket, the way uWS publishes. A TCP socket written to is
 * corked until the end of the loop turn, so the frames of a turn leave in one `writev()`; bursts cost one
 * system call per recipient instead of one per message.
 *
 * Order is kept: a frame goes around Engine.IO only when Engine.IO holds nothing for that connection (its
 * write buffer is empty: what it wrote before is already in the TCP socket's queue, and what it writes later
 * comes after). Every other recipient — long-polling, a WebSocket with per-message deflate, a connection
 * that is closing or upgrading, or one with packets waiting in Engine.IO — goes through Engine.IO as before,
 * with the same frame. A backlog left in the TCP socket is reported to the slow-consumer guard.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { setImmediate } from "node:timers";
import type { BroadcastOptions } from "socket.io-adapter";
import { type AdapterConstructor, encodeOnce, type Packet } from "../adapter-types.ts";

/** The TCP socket below a `ws` WebSocket. */
export interface TcpWire {
  readonly destroyed: boolean;
  /** Bytes written and not yet handed to the kernel (corked bytes included). */
  readonly writableLength: number;
  readonly writableCorked: number;
  write(chunk: Uint8Array): boolean;
  cork(): void;
  uncork(): void;
  once(event: "drain", listener: () => void): unknown;
}

/** The parts of a `ws` WebSocket (Engine.IO's WebSocket transport's `socket`) read here. */
interface WsSocket {
  readonly readyState: number;
  readonly _socket?: TcpWire;
}

/** The parts of an Engine.IO connection read here. */
export interface EngineConnection {
  readonly readyState: string;
  readonly upgrading?: boolean;
  readonly writeBuffer: readonly unknown[];
  readonly transport: {
    readonly name: string;
    readonly writable: boolean;
    readonly perMessageDeflate?: unknown;
    readonly socket?: WsSocket;
  };
}

/** The parts of a Socket.IO socket a broadcast visits. */
interface BroadcastTarget {
  conn: EngineConnection;
  client: { writeToEngine(packets: unknown[], options: object): void };
  notifyOutgoingListeners?(packet: Packet): void;
}

/** What `Adapter#apply` (undeclared in socket.io-adapter's typings) takes. */
interface Applying {
  apply(opts: BroadcastOptions, callback: (socket: BroadcastTarget) => void): void;
}

/** ws's `WebSocket.OPEN`. */
const WS_OPEN = 1;

/** Where a connection's backlog is reported when the TCP socket could not take a turn's frames at once. */
export type BacklogReport = (connection: EngineConnection, wire: TcpWire) => void;

/**
 * Writes frames to TCP sockets, corked until the end of the loop turn. One per transport: the turn's corked
 * sockets are uncorked together.
 */
export class FrameWriter {
  readonly #reportBacklog: BacklogReport;
  readonly #corked: Array<{ wire: TcpWire; connection: EngineConnection }> = [];

  constructor(reportBacklog: BacklogReport) {
    this.#reportBacklog = reportBacklog;
  }

  /**
   * Writes `frame` to `connection`'s TCP socket; `false` when it must go through Engine.IO instead (see the
   * module doc). A volatile frame is dropped, as Engine.IO drops it, when the socket is still busy with an
   * earlier write.
   */
  write(connection: EngineConnection, frame: Uint8Array, volatile: boolean): boolean {
    if (
      connection.readyState !== "open" || connection.writeBuffer.length > 0 || connection.upgrading
    ) {
      return false;
    }
    const transport = connection.transport;
    if (transport.name !== "websocket" || transport.perMessageDeflate) return false;
    const wire = transport.socket?.readyState === WS_OPEN ? transport.socket._socket : undefined;
    if (wire === undefined || wire.destroyed) return false;
    if (volatile && (!transport.writable || wire.writableLength > 0)) return true;
    if (wire.writableCorked === 0) {
      wire.cork();
      if (this.#corked.push({ wire, connection }) === 1) setImmediate(this.#uncork);
    }
    wire.write(frame);
    return true;
  }

  readonly #uncork = (): void => {
    // Copied first: a report may lead to a close that writes, which must not change the list being walked.
    const corked = this.#corked.splice(0);
    for (const { wire } of corked) wire.uncork();
    for (const { wire, connection } of corked) {
      if (wire.writableLength > 0 && !wire.destroyed) this.#reportBacklog(connection, wire);
    }
  };
}

/**
 * Returns a subclass of `Base` whose broadcasts write one pre-encoded WebSocket frame to each recipient
 * through `writer`. It delivers without calling the base's `broadcast`, so a cluster adapter below it must
 * be reached from above (the transport says so with `deliversItself`). Packets with binary attachments
 * take the base's path.
 */
export function withDirectFrames<T extends AdapterConstructor>(Base: T, writer: FrameWriter): T {
  return class DirectFramesAdapter extends Base {
    override broadcast(packet: Packet, opts: BroadcastOptions): void {
      packet.nsp = this.nsp.name;
      const encoded = encodeOnce(this, packet);
      const text = encoded.length === 1 ? encoded[0] : undefined;
      if (typeof text !== "string") {
        super.broadcast(packet, opts);
        return;
      }
      const flags = opts.flags ?? {};
      const volatile = flags.volatile === true;
      const frame = textFrame(`4${text}`); // "4": Engine.IO's message packet
      // For the recipients Engine.IO writes to: the same frame, which its WebSocket transport sends as is.
      const packetOptions = {
        preEncoded: true,
        volatile: flags.volatile,
        compress: flags.compress,
        wsPreEncodedFrame: [frame],
      };
      (this as unknown as Applying).apply(opts, (socket) => {
        socket.notifyOutgoingListeners?.(packet);
        if (!writer.write(socket.conn, frame, volatile)) {
          socket.client.writeToEngine(encoded, packetOptions);
        }
      });
    }
  };
}

/** An unmasked, final WebSocket text frame (RFC 6455 §5.2) of `text`: header and UTF-8 data in one buffer. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81; // FIN, opcode 1 (text)
  if (header === 2) frame[1] = length;
  else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.write(text, header, "utf8");
  return frame;
}
