/**
 * The adapter types that the transports' and the cluster's adapter classes share.
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
