/**
 * The raw-WebSocket plumbing the bench's load clients share (bench/protocol-client.ts, the recovery
 * storm's resumable connections, the live-query clients): raw TCP with one shared read buffer (`net`
 * `onread`), the upgrade request, a WebSocket frame reader, and the few Engine.IO / Socket.IO frames they
 * send. No per-message allocation, so that thousands of connections per process cost less than the server
 * they measure.
 *
 * @module
 */
import { connect, type Socket } from "node:net";

const HEADER_END = Buffer.from("\r\n\r\n");
/** Shared by every connection of the process: `onread` hands each read over synchronously. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Masked (key 0) client text frame: client-to-server frames must be masked. */
export function textFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 125) throw new RangeError("bench client frames are short");
  return Buffer.concat([Buffer.from([0x81, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}
/** Socket.IO's CONNECT to `/` without auth. */
export const CONNECT_FRAME: Buffer = textFrame("40");
/** Engine.IO's answer to a ping. */
export const PONG_FRAME: Buffer = textFrame("3");

/** The decimal number after `mark` in `data[start, end)`, or -1 when there is none. */
export function readSeq(data: Buffer, start: number, end: number, mark: Buffer): number {
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

/**
 * Called with each complete frame: its opcode and payload bounds in `data` (valid during the call only),
 * and the time of the read it came in (`process.hrtime`, ns).
 */
export type FrameHandler = (
  opcode: number,
  data: Buffer,
  start: number,
  end: number,
  now: number,
) => void;

/** Reads the upgrade response, then WebSocket frames, across reads that split them anywhere. */
export class FrameReader {
  readonly #onFrame: FrameHandler;
  readonly #onRefused: (status: string) => void;
  #pending: Buffer | null = null;
  #upgraded = false;

  /** `onRefused` gets the start of a response that is not `101 Switching Protocols`. */
  constructor(onFrame: FrameHandler, onRefused: (status: string) => void) {
    this.#onFrame = onFrame;
    this.#onRefused = onRefused;
  }

  /** For a new connection: forgets what the previous one left half-read. */
  reset(): void {
    this.#pending = null;
    this.#upgraded = false;
  }

  /** Feeds one read; `false` once the upgrade was refused (the caller stops reading). */
  read(bytes: Buffer): boolean {
    let data = bytes;
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
        this.#onRefused(data.subarray(0, Math.min(end, 80)).toString());
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
}

/**
 * Opens a TCP connection to the Socket.IO `path` on `port`, sends the WebSocket upgrade request, and hands
 * every read to `onRead` (through the shared buffer: the bytes are valid during the call only).
 */
export function openWebSocket(
  port: number,
  path: string,
  onRead: (data: Buffer) => boolean,
): Socket {
  const socket = connect({
    host: "127.0.0.1",
    port,
    onread: {
      buffer: READ_BUFFER,
      callback: (bytes: number, buffer: Uint8Array): boolean =>
        onRead((buffer as Buffer).subarray(0, bytes)),
    },
  });
  socket.setNoDelay(true);
  socket.on("connect", () => {
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
  return socket;
}
