/**
 * Counting deliveries for `strapi_io_deliveries_total`: a layer of the adapter stack, directly above the
 * transport's delivery, that adds each broadcast's recipients on this node. Without walking them where it
 * can: a namespace or one room is a size; several of strapi-io's audience rooms (what `emit()` sends to, and
 * disjoint) a sum; only other multi-room broadcasts and `except` lists are walked.
 *
 * @module
 */
import type { BroadcastOptions, Room, SocketId } from "socket.io-adapter";
import type { AdapterConstructor, Packet } from "../adapter-types.ts";
import { isInternalRoom } from "../room-names.ts";

/** Returns a subclass of `Base` that reports each broadcast's number of local recipients. */
export function withDeliveryCount<T extends AdapterConstructor>(
  Base: T,
  delivered: (namespace: string, recipients: number) => void,
): T {
  return class DeliveryCountAdapter extends Base {
    override broadcast(packet: Packet, opts: BroadcastOptions): void {
      super.broadcast(packet, opts); // first: a refused (oversized) message reached nobody
      const recipients = countRecipients(this.rooms, this.sids, this.nsp.sockets.size, opts);
      if (recipients > 0) delivered(this.nsp.name, recipients);
    }
  };
}

function countRecipients(
  rooms: Map<Room, Set<SocketId>>,
  sids: Map<SocketId, Set<Room>>,
  everyone: number,
  { rooms: targets, except }: BroadcastOptions,
): number {
  const excluded = except && except.size > 0 ? except : undefined;
  const isExcluded = (id: SocketId) => {
    const joined = sids.get(id);
    if (!joined || !excluded) return false;
    for (const room of excluded) if (joined.has(room)) return true;
    return false;
  };
  if (targets.size === 0) {
    if (!excluded) return everyone;
    let out = 0;
    for (const id of sids.keys()) if (isExcluded(id)) out += 1;
    return everyone - out;
  }
  const disjoint = targets.size === 1 ||
    [...targets].every((room) => typeof room === "string" && isInternalRoom(room));
  if (disjoint && !excluded) {
    let count = 0;
    for (const room of targets) count += rooms.get(room)?.size ?? 0;
    return count;
  }
  const reached = new Set<SocketId>();
  for (const room of targets) {
    for (const id of rooms.get(room) ?? []) if (!isExcluded(id)) reached.add(id);
  }
  return reached.size;
}
