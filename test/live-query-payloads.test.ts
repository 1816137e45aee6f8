/**
 * What a socket still receives of the changes held while its snapshot was read (`afterSnapshot`): the
 * held events are replayed against what the client holds, so that nothing is applied twice and nothing
 * is lost, including a document that enters after the snapshot and leaves again before the
 * acknowledgement.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { afterSnapshot, type HeldEvent } from "../lib/live-query-payloads.ts";
import type { LiveQuerySnapshot } from "../lib/types.ts";

const ID = "q000000000000000000000001";
const OTHER = "q000000000000000000000002";

const snapshot: LiveQuerySnapshot = {
  data: [{ documentId: "a", updatedAt: "t1", title: "A" }],
  meta: { pagination: { page: 1, pageSize: 25, pageCount: 1, total: 1 } },
};
const change = (documentId: string, updatedAt: string, subscriptions = [ID]): HeldEvent => ({
  event: "article:update",
  payload: { data: { documentId, updatedAt }, subscriptions },
  leave: false,
});
const leave = (documentId: string, subscriptions = [ID]): HeldEvent => ({
  event: "article:leave",
  payload: { data: { documentId }, subscriptions },
  leave: true,
});

describe("afterSnapshot()", () => {
  it("drops what the snapshot already shows: the same version, or the leave of a document it lacks", () => {
    assert.deepEqual(afterSnapshot([change("a", "t1"), leave("b")], ID, snapshot), []);
  });

  it("keeps newer versions and leaves of documents the snapshot holds", () => {
    const held = [change("a", "t2"), leave("a")];
    assert.deepEqual(afterSnapshot(held, ID, snapshot).map(({ event }) => event), [
      "article:update",
      "article:leave",
    ]);
  });

  it("keeps a document that enters after the snapshot and leaves again", () => {
    const held = [change("c", "t1"), leave("c")];
    assert.deepEqual(afterSnapshot(held, ID, snapshot).map(({ event }) => event), [
      "article:update",
      "article:leave",
    ]);
  });

  it("sends an event settled for this subscription for the socket's other ones, and others untouched", () => {
    const out = afterSnapshot(
      [change("a", "t1", [ID, OTHER]), change("z", "t9", [OTHER])],
      ID,
      snapshot,
    );
    assert.deepEqual(
      out.map(({ payload }) => (payload as { subscriptions: string[] }).subscriptions),
      [
        [OTHER],
        [OTHER],
      ],
    );
  });
});
