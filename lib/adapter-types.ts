/**
 * The adapter types that the transports' and the cluster's adapter classes share, and the one way the
 * transports' adapters encode a broadcast once.
 *
 * @module
 */
import type { Adapter } from "socket.io-adapter";

/**
 * An adapter class, as Socket.IO's `server.adapter()` takes it (constructed with the namespace), and as a
 * mixin's base: TypeScript requires a mixin base constructor to take `any[]`.
 */
// deno-lint-ignore no-explicit-any
export type AdapterConstructor = new (...args: any[]) => Adapter;

/** A Socket.IO packet as adapters broadcast it. */
export type Packet = Parameters<Adapter["broadcast"]>[0];

/**
 * Encodes a packet once for every recipient of a broadcast, with the adapter's `encoder` (declared private
 * in socket.io-adapter's typings, but the adapter's documented way to do so). It is the server's encoder
 * instance, so `transport.maxMessageSize` applies.
 */
export function encodeOnce(adapter: Adapter, packet: Packet): Array<string | Uint8Array> {
  return (adapter as unknown as { encoder: { encode(packet: Packet): Array<string | Uint8Array> } })
    .encoder.encode(packet);
}
