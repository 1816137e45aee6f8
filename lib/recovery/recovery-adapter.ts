/**
 * The recovery's place in the adapter stack (see `lib/adapter-stack.ts`): directly above the transport's
 * delivery, below the cluster's publishing, so that it sees every broadcast delivered on this node — its
 * own and those from other nodes — and only those, and the packet that other nodes receive carries no
 * offset of this node's stream.
 *
 * @module
 */
import type { BroadcastOptions } from "socket.io-adapter";
import type { AdapterConstructor, Packet } from "../adapter-types.ts";
import type { IoSocket } from "../types.ts";
import type { Recovery } from "./recovery.ts";

/** Returns a subclass of `Base` whose deliveries enter `recovery`'s stream and whose sessions it keeps. */
export function withRecovery<T extends AdapterConstructor>(Base: T, recovery: Recovery): T {
  return class RecoveryAdapter extends Base {
    override broadcast(packet: Packet, opts: BroadcastOptions): void {
      recovery.deliver(
        this.nsp.name,
        packet,
        opts,
        (stamped, options) => super.broadcast(stamped, options),
      );
    }

    /** Socket.IO calls this (with `connectionStateRecovery` set) as a socket closes for a recoverable reason. */
    override persistSession(session: { sid: string }): void {
      const socket = this.nsp.sockets.get(session.sid) as IoSocket | undefined;
      if (socket) recovery.persist(socket);
    }

    /** Socket.IO's own restore runs before any middleware: strapi-io resumes in its last one instead. */
    override restoreSession(): Promise<never> {
      // Socket.IO's declaration says `Session`; its code (and its base adapter) takes `null` as "none".
      return Promise.resolve(null as never);
    }
  };
}
