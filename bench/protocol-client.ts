/**
 * A minimal Socket.IO-over-WebSocket client for load generation: raw TCP and the frame reader of
 * bench/ws-wire.ts, Engine.IO v4 / Socket.IO v5 packets reduced to what a receiver needs (answer `2`
 * pings with `3`, send the `40` CONNECT, count `42` events and read their `seq`). No per-message
 * allocation, so the client costs far less per message than the server it measures (a real
 * socket.io-client costs ~6 µs per message).
 *
 * @module
 */
import type { Socket } from "node:net";
import { CONNECT_FRAME, FrameReader, openWebSocket, PONG_FRAME, readSeq } from "./ws-wire.ts";

const SEQ_MARK = Buffer.from('"seq":');

/** What a connection reports to its owner. */
export interface ConnectionEvents {
  /** The Socket.IO CONNECT was acknowledged. */
  connected(connection: ProtocolConnection): void;
  /** A `42` event arrived; `seq` is -1 when the payload carries none. */
  message(connection: ProtocolConnection, seq: number, now: number): void;
  /** The connection failed or was closed by the server. */
  closed(connection: ProtocolConnection, why: string): void;
}

export class ProtocolConnection {
  readonly index: number;
  received = 0;
  isConnected = false;
  isClosed = false;
  readonly #socket: Socket;
  readonly #events: ConnectionEvents;
  readonly #reader = new FrameReader(
    (opcode, data, start, end, now) => this.#onFrame(opcode, data, start, end, now),
    (status) => {
      this.#close(`upgrade refused: ${status}`);
      this.#socket.destroy();
    },
  );

  constructor(index: number, port: number, path: string, events: ConnectionEvents) {
    this.index = index;
    this.#events = events;
    this.#socket = openWebSocket(port, path, (data) => this.#reader.read(data));
    this.#socket.on("error", (error) => this.#close(`socket error: ${error.message}`));
    this.#socket.on("close", () => this.#close("connection closed"));
  }

  destroy(): void {
    this.isClosed = true;
    this.#socket.destroy();
  }

  #close(why: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.#events.closed(this, why);
  }

  #onFrame(opcode: number, data: Buffer, start: number, end: number, now: number): void {
    if (opcode === 0x8) {
      const code = end - start >= 2 ? data.readUInt16BE(start) : 1005;
      this.#close(
        `server closed the WebSocket (${code} ${data.subarray(start + 2, end).toString()})`,
      );
      return;
    }
    if (opcode !== 0x1) return;
    const type = data[start];
    if (type === 0x34 /* 4: Engine.IO message */) {
      const packet = data[start + 1];
      if (packet === 0x32 /* 2: EVENT */) {
        this.received += 1;
        this.#events.message(this, readSeq(data, start, end, SEQ_MARK), now);
      } else if (packet === 0x30 /* 0: CONNECT */) {
        this.isConnected = true;
        this.#events.connected(this);
      } else if (packet === 0x34 /* 4: CONNECT_ERROR */) {
        this.#close(`connect_error ${data.subarray(start, end).toString()}`);
      }
    } else if (type === 0x32 /* 2: ping */) {
      this.#socket.write(PONG_FRAME);
    } else if (type === 0x30 /* 0: open */) {
      this.#socket.write(CONNECT_FRAME);
    }
  }
}
