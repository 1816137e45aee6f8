/**
 * Socket.IO's in-memory adapter finds the targets of a broadcast to rooms (`Adapter#apply`) by adding every
 * target socket id to a new `Set`, so that a socket in two of the rooms is visited once. On node:http that
 * set is the one per-recipient allocation of a broadcast: it grows to the size of the audience and is
 * thrown away after every emit (`$io.emit()` sends each permission set to its audience rooms, an entity
 * event goes to one room).
 *
 * {@link withRoomFanOut} visits the same sockets, once each and in the same order, without it: one room
 * needs no de-duplication, and a socket in a later room is skipped when its own room set (which the adapter
 * keeps anyway) holds one of the earlier target rooms. Broadcasts with `except` rooms, and those to more
 * than {@link MAX_ROOMS} rooms, keep Socket.IO's path. (The one difference: `socketsLeave()` of some target
 * rooms may call `leave()` a second time for a socket it made leave an earlier one, which does nothing.)
 *
 * @module
 */
import type { Adapter, BroadcastOptions, Room, SocketId } from "socket.io-adapter";
import type { AdapterConstructor } from "../adapter-types.ts";

/** Past this many rooms, checking each socket's rooms against the earlier ones costs more than the set. */
const MAX_ROOMS = 8;

/** What `Adapter#apply` (undeclared in socket.io-adapter's typings) takes and hands to its callback. */
type ApplyCallback = (socket: unknown) => void;
interface AdapterInternals {
  nsp: { sockets: Map<SocketId, unknown> };
  apply(opts: BroadcastOptions, callback: ApplyCallback): void;
}

/** Returns a subclass of `Base` whose broadcasts to a few rooms visit their sockets without a de-duplication set. */
export function withRoomFanOut<T extends AdapterConstructor>(Base: T): T {
  const inherited = Base.prototype as unknown as AdapterInternals;
  const RoomFanOutAdapter = class extends Base {};
  // `apply` is private in socket.io-adapter's typings, so TypeScript has no way to override it in the class.
  Object.defineProperty(RoomFanOutAdapter.prototype, "apply", {
    configurable: true,
    writable: true,
    value: function apply(this: Adapter, opts: BroadcastOptions, callback: ApplyCallback): void {
      const { rooms, except } = opts;
      if (rooms.size === 0 || rooms.size > MAX_ROOMS || (except !== undefined && except.size > 0)) {
        inherited.apply.call(this, opts, callback);
        return;
      }
      const sockets = (this as unknown as AdapterInternals).nsp.sockets;
      const visited: Room[] = [];
      for (const room of rooms) {
        const members = this.rooms.get(room);
        if (members === undefined) continue;
        for (const id of members) {
          if (visited.length > 0 && inEarlierRoom(this, id, visited)) continue;
          const socket = sockets.get(id);
          if (socket !== undefined) callback(socket);
        }
        visited.push(room);
      }
    },
  });
  return RoomFanOutAdapter;
}

/** Whether socket `id` is in one of `rooms` (so it was visited there). */
function inEarlierRoom(adapter: Adapter, id: SocketId, rooms: readonly Room[]): boolean {
  const joined = adapter.sids.get(id);
  if (joined === undefined) return false;
  for (const room of rooms) if (joined.has(room)) return true;
  return false;
}
