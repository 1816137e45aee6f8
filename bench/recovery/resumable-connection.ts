/**
 * A minimal Socket.IO-over-WebSocket client that resumes its session the way socket.io-client does:
 * it keeps the session id (`pid`) of the server's CONNECT reply (`40{"sid":"…","pid":"…"}`) and the
 * offset of the last event it received (an event's last argument), and after losing its connection it
 * sends both in the CONNECT auth (`40{"pid":"…","offset":"…"}`). `recovered` is socket.io-client's
 * rule: the reply carries the session id that was sent.
 *
 * Like bench/protocol-client.ts (raw TCP and the frame reader of bench/ws-wire.ts), so that
 * 3,000+ connections per process cost less than the server they measure; unlike it, a connection can be
 * dropped (the TCP connection destroyed, no close frame: what a lost network looks like to the server)
 * and opened again, and it checks that content events arrive in order and exactly once.
 *
 * @module
 */
import type { Socket } from "node:net";
import { FrameReader, openWebSocket, PONG_FRAME, readSeq, textFrame } from "../ws-wire.ts";

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
  readonly #reader = new FrameReader(
    (opcode, data, start, end, now) => this.#onFrame(opcode, data, start, end, now),
    (status) => {
      this.#close(`upgrade refused: ${status}`);
      this.#socket?.destroy();
    },
  );
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
    this.#reader.reset();
    this.isConnected = false;
    this.isClosed = false;
    const socket: Socket = openWebSocket(
      this.#port,
      this.#path,
      (data) => socket === this.#socket && this.#reader.read(data),
    );
    this.#socket = socket;
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
