/**
 * Deliveries to several audience rooms at once (one permission set shared by several roles): on uWS they
 * are one native publish per audience topic, which relies on audience rooms being disjoint. Run on both
 * transports, so node-http states the expected behaviour too.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AccessPolicy } from "../../lib/access-policy.ts";
import { audienceRoom } from "../../lib/room-names.ts";
import {
  collect,
  type Harness,
  nextEvent,
  startHarness,
  TRANSPORTS,
  untilMarker,
} from "../support/harness.ts";

/** Sockets name their audience in `auth.audience`; every event goes to one set of three audiences. */
const sharedSetPolicy: AccessPolicy = {
  identify: async (socket) => {
    const { audience } = socket.handshake.auth as { audience?: string };
    return { role: audience ?? "public", audience, user: null };
  },
  deliveries: async (
    _event,
    _schema,
    data,
  ) => [{ to: { rooms: ["a", "b", "c"].map(audienceRoom) }, payload: { data } }],
  authorizeEntity: async (_identity, _uid, id) => ({ allowed: true, id: String(id) }),
};

for (const transport of TRANSPORTS) {
  describe(`emit() to several audience rooms over ${transport}`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(transport, {}, { policy: sharedSetPolicy });
    });
    after(() => h.cleanup());

    it("reaches every socket of those audiences once, WebSocket and polling alike, and no one else", async () => {
      const inA = await h.client("/", { auth: { audience: "a" } });
      const inB = await h.client("/", { auth: { audience: "b" } });
      const pollingInC = await h.client("/", {
        auth: { audience: "c" },
        transports: ["polling"],
        upgrade: false,
      });
      const outsider = await h.client("/", { auth: { audience: "d" } });
      const seen = [inA, inB, pollingInC, outsider].map((socket) =>
        collect(socket, "article:update")
      );
      const arrived = Promise.all(
        [inA, inB, pollingInC].map((socket) => nextEvent(socket, "article:update")),
      );
      await h.io.emit({
        event: "update",
        schema: "api::article.article",
        data: { documentId: "x" },
      });
      for (const payload of await arrived) assert.deepEqual(payload, { data: { documentId: "x" } });
      await untilMarker(h.io, inA, inB, pollingInC, outsider);
      assert.deepEqual(seen.map((events) => events.length), [1, 1, 1, 0]);
    });

    it("still delivers one copy to a socket that was put in two of those audience rooms", async () => {
      const inBoth = await h.client("/", { auth: { audience: "a" } });
      // Not through identify() (one audience per socket): by hand, which the uWS fan-out must survive.
      assert.equal(h.io.joinRoom(inBoth.id!, audienceRoom("b")), true);
      const inA = await h.client("/", { auth: { audience: "a" } });
      const seenBoth = collect(inBoth, "article:update");
      const seenA = collect(inA, "article:update");
      const arrived = Promise.all([
        nextEvent(inBoth, "article:update"),
        nextEvent(inA, "article:update"),
      ]);
      await h.io.emit({
        event: "update",
        schema: "api::article.article",
        data: { documentId: "y" },
      });
      await arrived;
      await untilMarker(h.io, inBoth, inA);
      assert.equal(seenBoth.length, 1);
      assert.equal(seenA.length, 1);
    });
  });
}
