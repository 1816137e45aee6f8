/**
 * The slow-consumer rule by itself (no server): fake connections whose backlog the test sets.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type BacklogLimits,
  backlogLimits,
  SlowConsumerGuard,
  SlowConsumerLog,
} from "../../lib/transports/backpressure.ts";
import { recordingLogger } from "../support/harness.ts";
import { nextTurn } from "../support/paused-reader.ts";

interface Fake {
  name: string;
  backlog: number;
}

function setup(limits: BacklogLimits) {
  const logger = recordingLogger();
  const log = new SlowConsumerLog(logger);
  const evicted: string[] = [];
  const waiters = new Map<string, () => void>();
  const guard = new SlowConsumerGuard<Fake>(limits, log, {
    backlog: (fake) => fake.backlog,
    evict: (fake) => {
      evicted.push(fake.name);
      waiters.get(fake.name)?.();
    },
  });
  /** Resolves when `fake` is evicted (the guard's timer is unref'd: something must keep this process up meanwhile). */
  const eviction = async (fake: Fake) => {
    const alive = setInterval(() => {}, 1000);
    await new Promise<void>((resolve) => waiters.set(fake.name, resolve));
    clearInterval(alive);
  };
  return { guard, log, logger, evicted, eviction };
}

describe("SlowConsumerGuard", () => {
  it("backlogLimits() puts the hard limit at maxBackpressure + 16 × maxMessageSize", () => {
    const limits = backlogLimits({
      type: "uws",
      host: "h",
      port: 0,
      polling: true,
      maxBackpressure: 1000,
      drainTimeout: 5,
      maxMessageSize: 100,
    });
    assert.deepEqual(limits, { soft: 1000, hard: 2600, drainTimeout: 5 });
  });

  it("disconnects at once a connection over the hard limit, counts it and logs why", async () => {
    const { guard, log, logger, evicted } = setup({ soft: 100, hard: 1000, drainTimeout: 60_000 });
    guard.touch({ name: "a", backlog: 1001 });
    await nextTurn();
    assert.deepEqual(evicted, ["a"]);
    assert.equal(log.count, 1);
    assert.match(
      logger.lines[0]?.message ?? "",
      /send backlog 1001 B over the hard limit 1000 B \(total 1\)/,
    );
    guard.stop();
  });

  it("does not disconnect a connection for being over the soft limit; does once it stayed there for drainTimeout, with no further send", async () => {
    const { guard, evicted, eviction } = setup({ soft: 100, hard: 1000, drainTimeout: 30 });
    const slow = { name: "slow", backlog: 500 };
    guard.touch(slow);
    await nextTurn();
    assert.deepEqual(evicted, [], "not on sight");
    await eviction(slow); // the guard's own timer: nothing was touched since
    assert.deepEqual(evicted, ["slow"]);
  });

  it("forgives a connection that drained to the soft limit (relieve) or delivered what it held (restart) in time", async () => {
    const { guard, evicted, eviction } = setup({ soft: 100, hard: 1000, drainTimeout: 30 });
    const relieved = { name: "relieved", backlog: 500 };
    const restarted = { name: "restarted", backlog: 500 };
    guard.touch(relieved);
    guard.touch(restarted);
    await nextTurn();
    relieved.backlog = 100;
    guard.relieve(relieved);
    restarted.backlog = 400; // what it held is delivered; this is new data, with a new drainTimeout
    guard.restart(restarted);
    restarted.backlog = 0; // ...which it reads in time too
    // A marker: a connection over the soft limit from now on is due after both of the above were.
    const marker = { name: "marker", backlog: 500 };
    guard.touch(marker);
    await eviction(marker);
    assert.deepEqual(evicted, ["marker"]);
  });

  it("re-checks a congested connection after sends that did not name it (a uWS publish)", async () => {
    const { guard, evicted } = setup({ soft: 100, hard: 1000, drainTimeout: 60_000 });
    const fake = { name: "a", backlog: 50 };
    guard.touch(fake);
    await nextTurn();
    assert.equal(guard.lastBacklog(fake), 50);
    fake.backlog = 2000; // grew through sends the guard could not name (a uWS publish)
    guard.schedule();
    await nextTurn();
    assert.deepEqual(evicted, ["a"]);
    assert.equal(guard.evicted(fake), true);
    guard.stop();
  });
});
