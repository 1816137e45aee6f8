/**
 * The rules of a replay: which kept events a resumed socket missed (the adapter's own rule, applied to the
 * rooms it had), and writing them to it encoded once per event, however many sockets replay it.
 *
 * @module
 */
import type { Room } from "socket.io-adapter";
import type { Packet } from "../adapter-types.ts";
import type { IoSocket, SocketData } from "../types.ts";
import { covers, type Vector } from "./handoff.ts";
import type { BufferedEvent, BufferEntry } from "./replay-buffer.ts";

/** An event to replay: this node's own (its encoded form cached there) or one another node carried. */
export interface ReplayItem {
  readonly type: number;
  readonly nsp: string;
  readonly data: readonly unknown[];
  encoded?: ReadonlyArray<string | Uint8Array>;
}

/** `Adapter#encoder` is declared private but is the adapter's documented way to encode once. */
type Encoder = { encode(packet: Packet): Array<string | Uint8Array> };
type WritableSocket = {
  client: { writeToEngine(packets: readonly unknown[], options: object): void };
};

/** The events of `entries` that a socket of `nsp` in `rooms` received, less those `vector` covers. */
export function matching(
  entries: readonly BufferEntry[],
  nsp: string,
  rooms: ReadonlySet<Room>,
  vector?: Vector,
): BufferedEvent[] {
  return entries.filter((entry): entry is BufferedEvent =>
    entry.kind === "event" && entry.nsp === nsp && reaches(entry, rooms) && !covers(vector, entry)
  );
}

/** Whether a socket in `rooms` received `event` (the adapter's rule: in one target room, in no `except`). */
function reaches(event: BufferedEvent, rooms: ReadonlySet<Room>): boolean {
  if (event.except) { for (const room of event.except) if (rooms.has(room)) return false; }
  if (event.rooms.size === 0) return true;
  for (const room of event.rooms) if (rooms.has(room)) return true;
  return false;
}

/** Same audience and same principal (both absent for the public role): who may resume a session. */
export function sameIdentity(before: SocketData, now: SocketData): boolean {
  return before.audience === now.audience &&
    before.principal?.kind === now.principal?.kind &&
    before.principal?.id === now.principal?.id;
}

/** Writes `items` to `socket`, in order, each encoded once and the encoding kept for the next socket. */
export function writeReplay(socket: IoSocket, items: readonly ReplayItem[]): void {
  const encoder = (socket.nsp.adapter as unknown as { encoder: Encoder }).encoder;
  const client = (socket as unknown as WritableSocket).client;
  for (const item of items) {
    item.encoded ??= encoder.encode({ type: item.type, nsp: item.nsp, data: item.data });
    client.writeToEngine(item.encoded, { preEncoded: true });
  }
}
