/**
 * Recovery in a Redis cluster of separate processes (uWS and node-http nodes): a client that comes back to
 * the node it was on, or to another node, or after its node shut down gracefully, gets what it missed —
 * events sent from any node — in order and once; after a crash of its node, or across a Redis outage, it
 * is told `recovered: false` and is sent nothing.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import {
  clientPool,
  type ClusterNode,
  eventually,
  type PrivateRedis,
  startNode,
  startPrivateRedis,
  uniquePrefix,
} from "../support/cluster.ts";
import { MARKER, untilMarkerFrom } from "../support/harness.ts";

type Received = [event: string, ...args: unknown[]];

function record(client: ClientSocket): Received[] {
  const received: Received[] = [];
  client.onAny((event: string, ...args: unknown[]) => void received.push([event, ...args]));
  return received;
}

/** The events received besides markers, each without its offset (checked to be one). */
function withoutOffsets(received: Received[]): Array<[string, unknown]> {
  return received.filter(([event]) => event !== MARKER).map(([event, data, offset]) => {
    assert.match(String(offset), /^[0-9a-z]+\.[0-9a-z]+$/, `${event} ends with its offset`);
    return [event, data];
  });
}

function reconnect(client: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve());
    client.once("connect_error", reject);
    client.connect();
  });
}

const NAMES = ["uws", "node-http"];

describe("recovery in a Redis cluster (uws and node-http nodes)", { timeout: 60_000 }, () => {
  const adapter = {
    type: "redis",
    url: "redis://127.0.0.1:6379",
    keyPrefix: uniquePrefix("recovery"),
  } as const;
  const clients = clientPool();
  let nodes: ClusterNode[];

  before(async () => {
    nodes = await Promise.all([
      startNode({ adapter, transport: { type: "uws" } }),
      startNode({ adapter, transport: { type: "node-http" } }),
    ]);
  });

  after(async () => {
    clients.closeAll();
    await Promise.all(nodes.map((node) => node.close()));
  });

  /** Closes the client's connection and waits until its node noticed. */
  async function drop(node: ClusterNode, client: ClientSocket): Promise<string> {
    const id = client.id!;
    client.io.engine.close();
    await eventually(
      async () => (await node.call<string[]>("localRooms", id)).length === 0,
      "the node saw the connection drop",
    );
    return id;
  }

  for (const home of [0, 1]) {
    it(`a client back on its node (${home === 0 ? "uws" : "node-http"}) gets what every node sent meanwhile, in order, once`, async () => {
      const node = nodes[home]!;
      const other = nodes[1 - home]!;
      const client = await clients.connect(node.url, { audience: "readers" });
      // Always connected on the same node: shows the order in which that node delivered the events.
      const witness = await clients.connect(node.url, { audience: "readers" });
      const received = record(client);
      const witnessed = record(witness);
      const id = await drop(node, client);
      // Each raw() is awaited on the witness before the next is sent; the private message travels
      // before "again" on the other node's Redis connection, so it has arrived here once "again" has.
      await other.call("raw", { event: "from-other", data: 1 });
      await eventually(() => witnessed.length === 1, "the witness got from-other");
      await node.call("raw", { event: "from-home", data: 2 });
      await eventually(() => witnessed.length === 2, "the witness got from-home");
      await other.call("sendPrivateMessage", id, "private", 3);
      await other.call("raw", { event: "again", data: 4 });
      await eventually(() => witnessed.length === 3, "the witness got again");
      await reconnect(client);
      assert.equal(client.recovered, true);
      assert.equal(client.id, id);
      assert.equal(await node.call("recovered", id), true);
      await untilMarkerFrom(node, client);
      assert.deepEqual(withoutOffsets(received), [
        ["from-other", 1],
        ["from-home", 2],
        ["private", 3],
        ["again", 4],
      ]);
    });
  }

  for (const [from, to] of [[0, 1], [1, 0]] as const) {
    it(`a client that comes back to another node (${NAMES[from]} → ${NAMES[to]}) gets what it missed there and since, in order, once`, async () => {
      const home = nodes[from]!;
      const elsewhere = nodes[to]!;
      const client = await clients.connect(home.url, { audience: "readers" });
      const witness = await clients.connect(home.url, { audience: "readers" });
      const received = record(client);
      const witnessed = record(witness);
      await home.call("raw", { event: "seen", data: 0 });
      await eventually(() => received.length === 1, "the client got the first event");
      const id = await drop(home, client);
      await home.call("raw", { event: "from-home", data: 1 });
      await eventually(() => witnessed.length === 2, "the witness got from-home");
      await elsewhere.call("raw", { event: "from-elsewhere", data: 2 });
      await eventually(() => witnessed.length === 3, "the witness got from-elsewhere");
      await elsewhere.call("sendPrivateMessage", id, "private", 3);
      // What a load balancer without sticky sessions does: the same client, another node.
      (client.io as unknown as { uri: string }).uri = elsewhere.url;
      await reconnect(client);
      assert.equal(client.recovered, true);
      assert.equal(client.id, id, "same socket id");
      assert.equal(await elsewhere.call("recovered", id), true);
      await elsewhere.call("raw", { event: "newer", data: 4 });
      await untilMarkerFrom(elsewhere, client);
      assert.deepEqual(withoutOffsets(received), [
        ["seen", 0],
        ["from-home", 1],
        ["from-elsewhere", 2],
        ["private", 3],
        ["newer", 4],
      ]);
    });
  }
});

describe("recovery across a Redis restart", { timeout: 60_000 }, () => {
  const clients = clientPool();
  let redis: PrivateRedis;
  let nodes: ClusterNode[];

  before(async () => {
    redis = await startPrivateRedis();
    const adapter = { type: "redis", url: redis.url, keyPrefix: uniquePrefix("restart") } as const;
    nodes = await Promise.all([
      startNode({ adapter, transport: { type: "uws" } }),
      startNode({ adapter, transport: { type: "node-http" } }),
    ]);
  });

  after(async () => {
    clients.closeAll();
    await Promise.all(nodes.map((node) => node.close()));
    await redis.stop();
  });

  it("a client away while Redis was down (other nodes' events lost) is told recovered: false, sent nothing", async () => {
    const [home, other] = nodes as [ClusterNode, ClusterNode];
    const client = await clients.connect(home.url, { audience: "readers" });
    const received = record(client);
    const id = client.id!;
    client.io.engine.close();
    await eventually(
      async () => (await home.call<string[]>("localRooms", id)).length === 0,
      "the node saw the connection drop",
    );
    await home.call("raw", { event: "before-outage", data: 1 });
    await redis.stop();
    await other.call("raw", { event: "lost", data: 2 }).catch(() => {});
    await redis.start();
    await eventually(async () => (await home.call<number>("reconnects")) > 0, "Redis is back");
    await reconnect(client);
    assert.notEqual(client.recovered, true);
    await untilMarkerFrom(home, client);
    assert.deepEqual(withoutOffsets(received), []);
  });
});

describe("recovery when a node leaves", { timeout: 60_000 }, () => {
  const adapter = {
    type: "redis",
    url: "redis://127.0.0.1:6379",
    keyPrefix: uniquePrefix("leave"),
  } as const;
  const clients = clientPool();
  let nodes: ClusterNode[];

  before(async () => {
    nodes = await Promise.all([
      startNode({ adapter, transport: { type: "uws" } }),
      startNode({ adapter, transport: { type: "node-http" } }),
      startNode({ adapter, transport: { type: "uws" } }),
      startNode({ adapter, transport: { type: "node-http" } }),
    ]);
  });

  after(async () => {
    clients.closeAll();
    await Promise.all(nodes.map((node) => node.close()));
  });

  it("a graceful shutdown (rolling deploy) loses no session: connected and away clients resume on the other nodes", async () => {
    const [leaving, b, c] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const connected = await clients.connect(leaving.url, { audience: "readers" });
    const away = await clients.connect(leaving.url, { audience: "readers" });
    const witness = await clients.connect(b.url, { audience: "readers" });
    const received = [record(connected), record(away)];
    const witnessed = record(witness);
    const ids = [connected.id, away.id];
    await leaving.call("joinRoom", away.id, "team");
    away.io.engine.close();
    await eventually(
      async () => (await leaving.call<string[]>("localRooms", ids[1])).length === 0,
      "the node saw the away client drop",
    );
    await b.call("raw", { event: "one", data: 1 });
    await eventually(() => witnessed.length === 1 && received[0]!.length === 1, "one arrived");
    await c.call("raw", { event: "to-team", rooms: ["team"], data: 2 });
    const disconnected = new Promise((resolve) => connected.once("disconnect", resolve));
    await leaving.close();
    await disconnected;
    await c.call("raw", { event: "two", data: 3 });
    await eventually(() => witnessed.length === 2, "two arrived");
    await b.call("raw", { event: "to-team", rooms: ["team"], data: 4 });

    for (const [client, target] of [[connected, b], [away, c]] as const) {
      (client.io as unknown as { uri: string }).uri = target.url;
      await reconnect(client);
    }
    assert.deepEqual([connected.recovered, away.recovered], [true, true]);
    assert.deepEqual([connected.id, away.id], ids);
    await untilMarkerFrom(b, connected);
    await untilMarkerFrom(c, away);
    assert.deepEqual(received.map(withoutOffsets), [
      [["one", 1], ["two", 3]],
      [["one", 1], ["to-team", 2], ["two", 3], ["to-team", 4]],
    ]);
  });

  it("after a crash of its node a client is told recovered: false and is sent nothing", async () => {
    const crashing = nodes[3]!;
    const other = nodes[1]!;
    const client = await clients.connect(crashing.url, { audience: "readers" });
    const received = record(client);
    await other.call("raw", { event: "missed", data: 1 });
    await eventually(() => received.length === 1, "the event arrived");
    const disconnected = new Promise((resolve) => client.once("disconnect", resolve));
    await crashing.kill();
    await disconnected;
    await other.call("raw", { event: "lost", data: 2 });
    (client.io as unknown as { uri: string }).uri = other.url;
    await reconnect(client);
    assert.notEqual(client.recovered, true);
    await untilMarkerFrom(other, client);
    assert.deepEqual(withoutOffsets(received), [["missed", 1]]);
  });
});
