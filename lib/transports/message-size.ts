/**
 * `transport.maxMessageSize`: the largest message the server sends, enforced where every outgoing packet
 * becomes bytes, Socket.IO's encoder. Every path goes through the one `Encoder` instance of the server
 * (`server.encoder`): the adapters' broadcasts (in-memory, Redis, the uWS publish mixin), and every
 * per-socket packet (`Client` writes). Measuring the parts that encoder returns costs no second encoding;
 * a message over the limit throws a `RangeError` to whoever sent it, before any byte reaches a socket.
 *
 * @module
 */
import { Buffer } from "node:buffer";

/** What Socket.IO's encoder returns for one packet: a string, then its binary attachments. */
type EncodedPart = string | ArrayBuffer | ArrayBufferView;
interface PacketEncoder {
  encode(packet: unknown): EncodedPart[];
}
/** Socket.IO packet types that carry an event name first (socket.io-parser's `PacketType`). */
const EVENT = 2;
const BINARY_EVENT = 5;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units). */
const MAX_UTF8_BYTES_PER_UNIT = 3;

/**
 * Makes `server`'s encoder refuse packets over `maxMessageSize` bytes. Call it before the server sends
 * anything; the adapters and clients hold the same encoder instance, so namespaces created earlier are
 * covered too. Returns the function that undoes it.
 */
export function limitMessageSize(
  server: { readonly encoder: unknown },
  maxMessageSize: number,
): () => void {
  const encoder = server.encoder as PacketEncoder;
  const own = Object.getOwnPropertyDescriptor(encoder, "encode");
  const encode = encoder.encode;
  encoder.encode = function encodeWithinLimit(this: PacketEncoder, packet: unknown): EncodedPart[] {
    const parts = encode.call(this, packet);
    if (upperBound(parts) > maxMessageSize) {
      const size = encodedSize(parts);
      if (size > maxMessageSize) {
        throw new RangeError(
          `strapi-io: cannot send ${
            describe(packet)
          }: it is ${size} bytes once encoded, over transport.maxMessageSize (${maxMessageSize} bytes)`,
        );
      }
    }
    return parts;
  };
  return () => {
    if (own) Object.defineProperty(encoder, "encode", own);
    else delete (encoder as Partial<PacketEncoder>).encode;
  };
}

/** The bytes of an encoded packet: UTF-8 of its string part plus its attachments. */
export function encodedSize(parts: readonly EncodedPart[]): number {
  let size = 0;
  for (const part of parts) {
    size += typeof part === "string" ? Buffer.byteLength(part) : part.byteLength;
  }
  return size;
}

/** A bound that needs no pass over the string: most messages are far under the limit and stop here. */
function upperBound(parts: readonly EncodedPart[]): number {
  let bound = 0;
  for (const part of parts) {
    bound += typeof part === "string" ? part.length * MAX_UTF8_BYTES_PER_UNIT : part.byteLength;
  }
  return bound;
}

/** `event 'name'` for an event packet, else `a packet`; the name only, truncated, never the data. */
function describe(packet: unknown): string {
  const { type, data } = (packet ?? {}) as { type?: unknown; data?: unknown };
  const name = (type === EVENT || type === BINARY_EVENT) && Array.isArray(data)
    ? data[0]
    : undefined;
  if (typeof name !== "string") return "a packet";
  return `event '${name.length > 64 ? `${name.slice(0, 64)}…` : name}'`;
}
