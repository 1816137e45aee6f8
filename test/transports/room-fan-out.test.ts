/**
 * withRoomFanOut(): a broadcast to rooms visits exactly the sockets Socket.IO's own adapter visits, once
 * each and in the same order, without its de-duplication set. Checked against Socket.IO's `Adapter` on
 * random memberships and targets (a seeded generator, so a failure can be replayed).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Server } from "socket.io";
import { Adapter, type BroadcastOptions } from "socket.io-adapter";
import { withRoomFanOut } from "../../lib/transports/room-fan-out.ts";

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

type Visiting = { apply(opts: BroadcastOptions, callback: (socket: { id: string }) => void): void };

describe("withRoomFanOut()", () => {
  it("visits the same sockets as Socket.IO's adapter, once each, in the same order", () => {
    const server = new Server();
    const FanOut = withRoomFanOut(Adapter);
    const next = random(42);
    for (let round = 0; round < 300; round += 1) {
      const nsp = server.of(`/round-${round}`);
      const reference = new Adapter(nsp);
      const fanOut = new FanOut(nsp);
      const rooms = Array.from({ length: 1 + Math.floor(next() * 12) }, (_, i) => `room-${i}`);
      const sockets = 1 + Math.floor(next() * 40);
      for (let s = 0; s < sockets; s += 1) {
        const id = `socket-${s}`;
        (nsp.sockets as unknown as Map<string, { id: string }>).set(id, { id });
        const joined = new Set([id, ...rooms.filter(() => next() < 0.3)]);
        reference.addAll(id, joined);
        fanOut.addAll(id, joined);
      }
      const target = new Set(rooms.filter(() => next() < 0.4));
      const except = new Set(next() < 0.2 ? rooms.filter(() => next() < 0.2) : []);
      const opts: BroadcastOptions = { rooms: target, except };
      const visited = (adapter: Adapter) => {
        const ids: string[] = [];
        (adapter as unknown as Visiting).apply(opts, (socket) => ids.push(socket.id));
        return ids;
      };
      const expected = visited(reference);
      assert.deepEqual(visited(fanOut), expected, `round ${round}`);
      assert.equal(new Set(expected).size, expected.length);
    }
  });
});
