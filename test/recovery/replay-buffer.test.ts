/**
 * The pure parts of recovery, booting nothing: the replay buffer's bounds and the positions a client
 * sends back.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatOffset,
  isSessionId,
  newEpoch,
  newSessionId,
  parseOffset,
  sessionEpoch,
  sessionStart,
} from "../../lib/recovery/positions.ts";
import { type BufferEntry, ReplayBuffer } from "../../lib/recovery/replay-buffer.ts";

function event(seq: number, at = 0): BufferEntry {
  return {
    kind: "event",
    seq,
    at,
    nsp: "/",
    type: 2,
    data: ["e", seq],
    rooms: new Set(),
    except: undefined,
  };
}

const seqs = (entries: BufferEntry[] | undefined) => entries?.map((entry) => entry.seq);

describe("ReplayBuffer", () => {
  it("after(seq) returns every later entry, in order, from any position", () => {
    const buffer = new ReplayBuffer(100, 1000);
    for (const seq of [1, 2, 4, 7, 8]) buffer.append(event(seq));
    assert.deepEqual(seqs(buffer.after(0)), [1, 2, 4, 7, 8]);
    assert.deepEqual(seqs(buffer.after(3)), [4, 7, 8]);
    assert.deepEqual(seqs(buffer.after(4)), [7, 8]);
    assert.deepEqual(seqs(buffer.after(8)), []);
  });

  it("keeps at most maxEntries: a position before an evicted entry has no replay, one after still has", () => {
    const buffer = new ReplayBuffer(3, 1000);
    for (let seq = 1; seq <= 5; seq += 1) buffer.append(event(seq));
    assert.equal(buffer.size, 3);
    assert.equal(buffer.after(1), undefined, "entry 2 was evicted");
    assert.deepEqual(seqs(buffer.after(2)), [3, 4, 5], "nothing after 2 was evicted");
  });

  it("drops entries older than the retention, and a position past them still replays", () => {
    const buffer = new ReplayBuffer(100, 1000);
    buffer.append(event(1, 0));
    buffer.append(event(2, 500));
    buffer.trim(1600);
    assert.equal(buffer.size, 0);
    assert.equal(buffer.after(1), undefined);
    assert.deepEqual(seqs(buffer.after(2)), []);
  });

  it("stays correct across compaction of a long-running stream", () => {
    const buffer = new ReplayBuffer(10, 1_000_000);
    for (let seq = 1; seq <= 5000; seq += 1) buffer.append(event(seq));
    assert.deepEqual(seqs(buffer.after(4990)), [
      4991,
      4992,
      4993,
      4994,
      4995,
      4996,
      4997,
      4998,
      4999,
      5000,
    ]);
    assert.equal(buffer.after(4989), undefined);
  });
});

describe("positions", () => {
  it("an offset names its stream: another stream's, or anything else, is not one", () => {
    const epoch = newEpoch();
    assert.equal(parseOffset(formatOffset(epoch, 123_456), epoch), 123_456);
    assert.equal(parseOffset(formatOffset(newEpoch(), 5), epoch), undefined);
    for (
      const value of [
        undefined,
        5,
        {},
        "",
        `${epoch}.`,
        `${epoch}.-1`,
        `${epoch}.${"z".repeat(100)}`,
      ]
    ) {
      assert.equal(parseOffset(value, epoch), undefined, String(value));
    }
  });

  it("a session id carries the stream position it was issued at, and only its own shape passes", () => {
    const epoch = newEpoch();
    const pid = newSessionId(epoch, 1234);
    assert.ok(isSessionId(pid));
    assert.equal(sessionStart(pid), 1234);
    assert.equal(sessionEpoch(pid), epoch);
    assert.notEqual(newSessionId(epoch, 1234), pid, "random");
    for (
      const value of [null, 1, "short.a.1", `${pid}!`, `${"A".repeat(16)}.a.${"1".repeat(100)}`]
    ) {
      assert.equal(isSessionId(value), false, String(value));
    }
  });
});
