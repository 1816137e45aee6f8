/**
 * A minimal Socket.IO-over-WebSocket client that resumes its session the way socket.io-client does:
 * it keeps the session id (`pid`) of the server's CONNECT reply (`40{"sid":"…","pid":"…"}`) and the
 * offset of the last event it received (an event's last argument), and after losing its connection it
 * sends both in the CONNECT auth (`40{"pid":"…","offset":"…"}`). `recovered` is socket.io-client's
 * rule: the reply carries the session id that was sent.
 *
 * Like bench/protocol-client.ts (raw TCP, hand-written frame parser, one shared read buffer), so that
 * 3,000+ connections per process cost less than the server they measure; unlike it, a connection can be
 * dropped (the TCP connection destroyed, no close frame: what a lost network looks like to the server)
 * and opened again, and it checks that content events arrive in order and exactly once.
 *
 * @module
 */
import { connect, type Socket } from "node:net";

const HEADER_END = Buffer.from("\r\n\r\n");
/** Shared by every connection of the process: `onread` hands each read over synchronously. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const QUOTE = 0x22;
const CLOSE_BRACKET = 0x5d;

/** What a connection reports to its owner. */
export interface ResumableEvents {
  /** The Socket.IO CONNECT was acknowledged (first connect or reconnect). */
  connected(connection: ResumableConnection, now: number): void;
  /** A content event (one with a `seq`) arrived in order. */
  event(connection: ResumableConnection, seq: number, now: number): void;
  /** The connection failed or the server closed it (not called for {@link ResumableConnection.drop}). */
  closed(connection: ResumableConnection, why: string): void;
}

/** Masked (key 0) client text frame: client-to-server frames must be masked. */
function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new RangeError("bench client frames are short");
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}
const PONG_FRAME = textFrame("3");

function readSeq(data: Buffer, start: number, end: number, mark: Buffer): number {
  const at = data.indexOf(mark, start);
  if (at < 0 || at >= end) return -1;
  let seq = 0;
  for (let i = at + mark.length; i < end; i += 1) {
    const digit = (data[i] as number) - 48;
    if (digit < 0 || digit > 9) break;
    seq = seq * 10 + digit;
  }
  return seq;
}

export class ResumableConnection {
  readonly index: number;
  /** The session id of the last CONNECT reply ("" before the first, or when recovery is off). */
  pid = "";
  /** The offset of the last event received ("" before the first, or when recovery is off). */
  offset = "";
  /** Whether the last CONNECT reply resumed the session that was asked for. */
  recovered = false;
  isConnected = false;
  isClosed = false;
  /** The `seq` the next content event must carry; content events start at 0. */
  nextSeq = 0;
  /** Content events that arrived twice or past a gap (must stay 0). */
  misordered = 0;
  /** Bytes of the content events received (Socket.IO packets, without WebSocket framing). */
  eventBytes = 0;
  readonly #port: number;
  readonly #path: string;
  readonly #events: ResumableEvents;
  readonly #seqMark: Buffer;
  #socket: Socket | null = null;
  #pending: Buffer | null = null;
  #upgraded = false;
  /** The session id sent in the last CONNECT. */
  #askedPid = "";

  /** `seqMark`: what precedes the decimal `seq` of a content event in its frame (`"seq":` in the scenario's article). */
  constructor(
    index: number,
    port: number,
    path: string,
    events: ResumableEvents,
    seqMark: Buffer,
  ) {
    this.index = index;
    this.#port = port;
    this.#path = path;
    this.#events = events;
    this.#seqMark = seqMark;
  }

  /** Opens the connection (again): upgrade, Engine.IO open, then the CONNECT with `pid`/`offset` if it has a session. */
  open(): void {
    this.#pending = null;
    this.#upgraded = false;
    this.isConnected = false;
    this.isClosed = false;
    const socket: Socket = connect({
      host: "127.0.0.1",
      port: this.#port,
      onread: {
        buffer: READ_BUFFER,
        callback: (bytes: number, buffer: Uint8Array): boolean =>
          socket === this.#socket && this.#onRead(bytes, buffer as Buffer),
      },
    });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("connect", () => {
      socket.write(
        `GET ${this.#path} HTTP/1.1\r\nHost: 127.0.0.1:${this.#port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
          `Sec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on("error", (error) => socket === this.#socket && this.#close(error.message));
    socket.on("close", () => socket === this.#socket && this.#close("connection closed"));
  }

  /** Loses the connection: the TCP connection is destroyed, no WebSocket close frame, no Socket.IO DISCONNECT. */
  drop(): void {
    const socket = this.#socket;
    this.#socket = null;
    this.isConnected = false;
    socket?.destroy();
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
        this.#socket?.destroy();
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
      if (packet === 0x32 /* 2: EVENT */) this.#onEvent(data, start, end, now);
      else if (packet === 0x30 /* 0: CONNECT */) this.#onConnect(data, start, end, now);
      else if (packet === 0x34 /* 4: CONNECT_ERROR */) {
        this.#close(`connect_error ${data.subarray(start, end).toString()}`);
      }
    } else if (type === 0x32 /* 2: ping */) {
      this.#socket?.write(PONG_FRAME);
    } else if (type === 0x30 /* 0: open */) {
      // socket.io-client's CONNECT: the session id and last offset when it has a session.
      this.#askedPid = this.pid;
      const auth = this.pid === "" ? "" : JSON.stringify(
        this.offset === "" ? { pid: this.pid } : {
          pid: this.pid,
          offset: this.offset,
        },
      );
      this.#socket?.write(textFrame(`40${auth}`));
    }
  }

  #onConnect(data: Buffer, start: number, end: number, now: number): void {
    const reply = end > start + 2
      ? JSON.parse(data.toString("utf8", start + 2, end)) as { pid?: unknown }
      : {};
    const pid = typeof reply.pid === "string" ? reply.pid : "";
    this.recovered = this.#askedPid !== "" && pid === this.#askedPid;
    this.pid = pid;
    this.isConnected = true;
    this.#events.connected(this, now);
  }

  #onEvent(data: Buffer, start: number, end: number, now: number): void {
    // With recovery on, the last argument is the offset: `…,"<epoch>.<seq>"]`.
    if (data[end - 1] === CLOSE_BRACKET && data[end - 2] === QUOTE) {
      const open = data.lastIndexOf(QUOTE, end - 3);
      if (open > start) this.offset = data.toString("latin1", open + 1, end - 2);
    }
    const seq = readSeq(data, start, end, this.#seqMark);
    if (seq < 0) return;
    if (seq !== this.nextSeq) {
      this.misordered += 1;
      if (seq < this.nextSeq) return;
    }
    this.nextSeq = seq + 1;
    this.eventBytes += end - start;
    this.#events.event(this, seq, now);
  }
}
