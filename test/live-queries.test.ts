/**
 * Filtered subscriptions in the core, with a policy of the test's own (the Strapi side is in
 * test/strapi/live-queries.test.ts): what a snapshot holds back and lets through, on both transports.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AccessPolicy } from "../lib/access-policy.ts";
import { audienceRoom } from "../lib/room-names.ts";
import type { LiveQueryResult } from "../lib/types.ts";
import {
  MARKER,
  request,
  startHarness,
  TRANSPORTS,
  until,
  untilMarker,
} from "./support/harness.ts";

const ARTICLE = "api::article.article";

/** Every socket is a reader; a subscription's snapshot waits for `gate` (the test releases it). */
function gatedPolicy() {
  let release!: () => void;
  let asked = false;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const policy: AccessPolicy = {
    identify: async () => ({ role: "reader", audience: "readers", user: null }),
    deliveries: async (_event, _schema, data) => [
      { to: { rooms: [audienceRoom("readers")] }, payload: { data } },
    ],
    authorizeEntity: async (_identity, _uid, id) => ({ allowed: true, id: String(id) }),
    authorizeQuery: async (_identity, request) => ({
      allowed: true,
      query: { uid: request.uid, key: JSON.stringify(request.filters ?? null) },
      snapshot: request.snapshot ? { limit: 10 } : undefined,
    }),
    snapshot: async () => {
      asked = true;
      await gate;
      return {
        data: [{ documentId: "d1", updatedAt: "t1" }],
        meta: { pagination: { page: 1, pageSize: 10, pageCount: 1, total: 1 } },
      };
    },
  };
  return { policy, release, asked: () => asked };
}

for (const transport of TRANSPORTS) {
  describe(`filtered subscriptions over ${transport}`, () => {
    it("changes while the snapshot is read wait for the acknowledgement, less what the snapshot shows", async () => {
      const { policy, release, asked } = gatedPolicy();
      const h = await startHarness(transport, {}, { policy });
      try {
        const socket = await h.client();
        const log: unknown[] = [];
        socket.onAny(
          (event: string, payload: { data: { documentId: string }; subscriptions?: string[] }) => {
            if (event !== MARKER) log.push([event, payload.data.documentId, payload.subscriptions]);
          },
        );
        // A callback, called as the answer is read: the log shows the order on the wire.
        const acked = new Promise<LiveQueryResult>((resolve) =>
          socket.emit("subscribe", { uid: ARTICLE, filters: { title: "x" }, snapshot: {} }, (
            answer: LiveQueryResult,
          ) => {
            log.push(["ack"]);
            resolve(answer);
          })
        );
        await until(asked, "the snapshot is being read");
        const id = h.io.getSubscriptions(socket.id!).subscriptions![0]!.id;
        const emit = (documentId: string, updatedAt: string, entered: string[], left: string[]) =>
          h.io.emit({ event: "update", schema: ARTICLE, data: { documentId, updatedAt } }, {
            entered,
            left,
          });
        await emit("d1", "t1", [id], []); // the version the snapshot shows: dropped
        await emit("d2", "t2", [id], []); // not in it: sent after the acknowledgement
        await emit("d3", "t3", [], [id]); // leaves what the snapshot does not show: dropped
        await emit("d1", "t4", [], [id]); // leaves what it shows: sent
        // Without `updatedAt` (a subscription's `fields` left it out), not in the snapshot: sent.
        await h.io.emit({ event: "update", schema: ARTICLE, data: { documentId: "d5" } }, {
          entered: [id],
          left: [],
        });
        assert.deepEqual(log, [], "nothing before the acknowledgement");
        release();
        const ack = await acked;
        // Held events go out right after the acknowledgement, in the same turn on the server.
        await until(() => log.length === 4, "the held events arrived");
        await untilMarker(h.io, socket);
        assert.equal(ack.subscription, id);
        assert.deepEqual(ack.snapshot?.data, [{ documentId: "d1", updatedAt: "t1" }]);
        assert.deepEqual(log, [
          ["ack"],
          ["article:update", "d2", [id]],
          ["article:leave", "d1", [id]],
          ["article:update", "d5", [id]],
        ]);
      } finally {
        await h.cleanup();
      }
    });

    it("a policy without authorizeQuery refuses filtered subscriptions", async () => {
      const h = await startHarness(transport);
      try {
        const socket = await h.client();
        const answer = await request<LiveQueryResult>(socket, "subscribe", { uid: ARTICLE });
        assert.deepEqual(answer, {
          success: false,
          error: "This access policy does not support filtered subscriptions",
        });
      } finally {
        await h.cleanup();
      }
    });
  });
}
