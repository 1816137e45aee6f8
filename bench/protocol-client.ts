/**
 * A minimal Socket.IO-over-WebSocket client for load generation: raw TCP, a hand-written WebSocket frame
 * parser, Engine.IO v4 / Socket.IO v5 packets reduced to what a receiver needs (answer `2` pings with
 * `3`, send the `40` CONNECT, count `42` events and read their `seq`). No per-message allocation: reads
 * land in one shared buffer (`net` `onread`), so the client costs far less per message than the server
 * it measures (a real socket.io-client costs ~6 µs per message).
 *
 * @module
 */
import { connect, type Socket } from "node:net";

const SEQ_MARK = Buffer.from('"seq":');
const HEADER_END = Buffer.from("\r\n\r\n");
/** Shared by every connection of the process: `onread` hands each read over synchronously. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** What a connection reports to its owner. */
export interface ConnectionEvents {
  /** The Socket.IO CONNECT was acknowledged. */
  connected(connection: ProtocolConnection): void;
  /** A `42` event arrived; `seq` is -1 when the payload carries none. */
  message(connection: ProtocolConnection, seq: number, now: number): void;
  /** The connection failed or was closed by the server. */
  closed(connection: ProtocolConnection, why: string): void;
}

/** Masked (key 0) client text frame: client-to-server frames must be masked. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new RangeError("bench client frames are short");
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}
const CONNECT_FRAME = textFrame("40");
const PONG_FRAME = textFrame("3");

function readSeq(data: Buffer, start: number, end: number): number {
  const at = data.indexOf(SEQ_MARK, start);
  if (at < 0 || at >= end) return -1;
  let seq = 0;
  for (let i = at + SEQ_MARK.length; i < end; i += 1) {
    const digit = (data[i] as number) - 48;
    if (digit < 0 || digit > 9) break;
    seq = seq * 10 + digit;
  }
  return seq;
}

export class ProtocolConnection {
  readonly index: number;
  received = 0;
  isConnected = false;
  isClosed = false;
  readonly #socket: Socket;
  readonly #events: ConnectionEvents;
  #pending: Buffer | null = null;
  #upgraded = false;

  constructor(index: number, port: number, path: string, events: ConnectionEvents) {
    this.index = index;
    this.#events = events;
    this.#socket = connect({
      host: "127.0.0.1",
      port,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array) => this.#onRead(bytes, buffer as Buffer),
      },
    });
    this.#socket.setNoDelay(true);
    this.#socket.on("connect", () => {
      this.#socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
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

  #onRead(bytes: number, shared: Buffer): boolean {
    let data = shared.subarray(0, bytes);
    if (this.#pending) {
      data = Buffer.concat([this.#pending, data]);
      this.#pending = null;
    }
    let offset = 0;
    if (!this.#upgraded) {
      const end = data.indexOf(HEADER_END);
      if (end < 0) {
        this.#pending = Buffer.from(data);
        return true;
      }
      if (!data.subarray(0, 12).toString().startsWith("HTTP/1.1 101")) {
        this.#close(`upgrade refused: ${data.subarray(0, Math.min(end, 80)).toString()}`);
        this.#socket.destroy();
        return false;
      }
      this.#upgraded = true;
      offset = end + 4;
    }
    const now = Number(process.hrtime.bigint());
    while (data.length - offset >= 2) {
      const opcode = (data[offset] as number) & 0x0f;
      let length = (data[offset + 1] as number) & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        header = 10;
      }
      if (data.length - offset < header + length) break;
      this.#onFrame(opcode, data, offset + header, offset + header + length, now);
      offset += header + length;
    }
    // `data` may be a view of the shared buffer: keep a copy of a partial frame.
    if (offset < data.length) this.#pending = Buffer.from(data.subarray(offset));
    return true;
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
        this.#events.message(this, readSeq(data, start, end), now);
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
