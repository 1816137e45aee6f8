/**
 * Faults of a Redis cluster, on a private redis-server that these tests stop and restart (the shared one
 * on 6379 is never touched): Redis unreachable at boot, Redis gone and back while nodes run, a node that
 * crashes, a node closed during an outage, and nothing left connected afterwards.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createSocketIO } from "../../lib/create-socket-io.ts";
import type { EntitySubscriptionResult, SocketInfo } from "../../lib/types.ts";
import {
  clientPool,
  type ClusterNode,
  eventually,
  type PrivateRedis,
  redisClients,
  startNode,
  startPrivateRedis,
  uniquePrefix,
} from "../support/cluster.ts";
import { collect, nextEvent, recordingLogger } from "../support/harness.ts";
import { freePort } from "../support/ports.ts";

type LogLine = { level: string; message: string };

describe("Redis cluster faults", { timeout: 60_000 }, () => {
  let redis: PrivateRedis;
  const clients = clientPool();
  const nodes: ClusterNode[] = [];
  const adapter = () =>
    ({
      type: "redis",
      url: redis.url,
      keyPrefix: uniquePrefix("faults"),
      heartbeatInterval: 100,
    }) as const;

  before(async () => {
    redis = await startPrivateRedis();
  });

  after(async () => {
    clients.closeAll();
    await Promise.all(nodes.map((node) => node.close()));
    await redis.stop();
  });

  async function node(options: Parameters<typeof startNode>[0]): Promise<ClusterNode> {
    const started = await startNode(options);
    nodes.push(started);
    return started;
  }

  for (const transport of ["uws", "node-http"] as const) {
    it(`${transport}: a message over maxMessageSize is refused by the emitting node before any other node sees it; a node with a lower limit logs one it cannot send and lives on`, async () => {
      const shared = adapter();
      const a = await node({
        transport: { type: transport, maxMessageSize: 4 * 1024 * 1024 },
        adapter: shared,
      });
      const b = await node({
        transport: { type: transport, maxMessageSize: 1024 * 1024 },
        adapter: shared,
      });
      const client = await clients.connect(b.url);
      await eventually(
        async () => (await a.call<SocketInfo[]>("getSocketsInRoom", client.id)).length === 1,
        "node A knows the client",
      );
      const received: string[] = [];
      client.onAny((event) => void received.push(event));
      await assert.rejects(
        a.call("raw", { event: "too-big", data: "x".repeat(5 * 1024 * 1024) }),
        /over transport\.maxMessageSize/,
      );
      await a.call("raw", { event: "too-big-for-b", data: "x".repeat(2 * 1024 * 1024) });
      const marker = nextEvent(client, "marker", 5000);
      await a.call("raw", { event: "marker", data: 1 });
      await marker;
      assert.deepEqual(received, ["marker"]);
      assert.deepEqual(await b.call("failures"), []);
      const errors = (await b.call<LogLine[]>("logs")).filter((line) => line.level === "error").map(
        (line) => line.message,
      );
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(errors[0]!, /could not deliver a broadcast from another node.*maxMessageSize/);
    });
  }

  it("createSocketIO() rejects with an error naming the URL when Redis is unreachable at boot", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const logger = recordingLogger();
    await assert.rejects(
      createSocketIO({
        transport: { type: "node-http", port: 0, host: "127.0.0.1" },
        adapter: { type: "redis", url },
      }, { logger }),
      {
        message: new RegExp(
          `^strapi-io: cannot connect to Redis at ${url} \\('adapter\\.url'\\): connect ECONNREFUSED .*allowDegraded`,
        ),
      },
    );
    assert.deepEqual(logger.lines.filter((line) => line.level === "warn"), []);
  });

  it("allowDegraded: a node boots without Redis, says so, and joins the cluster once Redis answers", async () => {
    const options = { ...adapter(), allowDegraded: true };
    await redis.stop();
    const degraded = await node({ adapter: options, transport: { type: "uws" } });
    const logs = await degraded.call<LogLine[]>("logs");
    assert.ok(
      logs.some((line) => line.level === "warn" && /running degraded/.test(line.message)),
      JSON.stringify(logs),
    );
    const local = await clients.connect(degraded.url);
    const here = nextEvent(local, "local-only");
    await degraded.call("raw", { event: "local-only", data: 1 });
    assert.equal(await here, 1);

    await redis.start();
    const other = await node({ adapter: options, transport: { type: "node-http" } });
    const seen = collect(local, "from-other");
    await eventually(async () => {
      await other.call("raw", { event: "from-other", data: 2 });
      return seen.length > 0;
    }, "delivery from the other node");
    await eventually(
      () => other.call("joinRoom", local.id, "found"),
      "the other node's directory to know the degraded node's socket",
    );
  });

  it("Redis stopped and restarted while nodes run: local delivery goes on, a warning, then cross-node delivery resumes by itself", async () => {
    const options = adapter();
    const [a, b] = await Promise.all([
      node({ adapter: options, transport: { type: "uws" } }),
      node({ adapter: options, transport: { type: "node-http" } }),
    ]);
    const [onA, onB] = await Promise.all([clients.connect(a.url), clients.connect(b.url)]);
    await eventually(() => a.call("joinRoom", onB.id, "r"), "A to know B's socket");

    await redis.stop();
    for (const n of [a, b]) {
      await eventually(
        async () =>
          (await n.call<LogLine[]>("logs")).some((line) =>
            line.level === "warn" && /unreachable.*cross-node delivery is paused/.test(line.message)
          ),
        "the outage warning",
      );
    }
    // While Redis is down: this node's own clients are served; requests for other nodes say they cannot be sent.
    const local = nextEvent(onA, "during");
    await a.call("raw", { event: "during", data: "local" });
    assert.equal(await local, "local");
    assert.equal(await a.call("joinRoom", onB.id, "r2"), false);
    assert.equal(await a.call("disconnectSocket", onB.id), false);
    const subscribed = await a.call<EntitySubscriptionResult>(
      "subscribeToEntity",
      onB.id,
      "api::article.article",
      "x",
    );
    assert.equal(subscribed.success, false);
    assert.match(subscribed.error!, /Cannot reach the node of socket/);
    await assert.rejects(
      a.call("getSocketsInRoom", "r"),
      /getSocketsInRoom\(\): could not ask every cluster node/,
    );

    await redis.start();
    const resumed = collect(onB, "after");
    await eventually(async () => {
      await a.call("raw", { event: "after", data: "cross-node" });
      return resumed.length > 0;
    }, "cross-node delivery to resume");
    await eventually(
      async () =>
        (await a.call<LogLine[]>("logs")).some((line) =>
          line.level === "info" && /reachable: cross-node delivery resumed/.test(line.message)
        ),
      "the recovery line",
    );
    assert.equal(await a.call("joinRoom", onB.id, "r3"), true);
    await eventually(
      async () => (await a.call<SocketInfo[]>("getSocketsInRoom", "r3")).length === 1,
      "the join after the outage",
    );
    // Whatever the other nodes announced during the outage was lost: the runtime is told, so that the
    // plugin can refresh its cached roles and tokens.
    for (const n of [a, b]) assert.equal(await n.call("reconnects"), 1);
    for (const n of [a, b]) assert.deepEqual(await n.call("failures"), []);
  });

  it("a node that crashes leaves no ghost sockets: listings drop them at once, directories after three heartbeats", async () => {
    const options = adapter();
    const [a, crashing] = await Promise.all([
      node({ adapter: options }),
      node({ adapter: options }),
    ]);
    const doomed = await clients.connect(crashing.url);
    const doomedId = doomed.id; // the client forgets its id once disconnected
    await eventually(() => a.call("joinRoom", doomed.id, "ghosts"), "A to know the socket");
    await eventually(
      async () => (await a.call<SocketInfo[]>("getSocketsInRoom", "ghosts")).length === 1,
      "the join",
    );
    await crashing.kill();
    await eventually(
      async () => (await a.call<SocketInfo[]>("getSocketsInRoom", "ghosts")).length === 0,
      "the listing to drop the crashed node",
    );
    await eventually(
      async () => (await a.call("joinRoom", doomedId, "ghosts")) === false,
      "the directory to forget the crashed node",
    );
    const logs = await a.call<LogLine[]>("logs");
    assert.ok(
      logs.some((line) =>
        line.level === "warn" && /silent for \d+ ms: forgetting its 1 socket/.test(line.message)
      ),
      JSON.stringify(logs),
    );
    assert.deepEqual(await a.call("failures"), []);
  });

  it("close() during an outage returns, and the process exits (no connection or timer left)", async () => {
    const closing = await node({ adapter: adapter() });
    await redis.stop();
    await eventually(
      async () => (await closing.call<LogLine[]>("logs")).some((line) => line.level === "warn"),
      "the outage warning",
    );
    await closing.close(); // resolves only once the process has exited
    await redis.start();
  });

  it("after every node closed, the Redis server has no client left", async () => {
    clients.closeAll();
    await Promise.all(nodes.map((n) => n.close()));
    // Every connection but the probe's own (named or not): a node that closed has quit both of its own.
    assert.deepEqual(await redisClients(redis.port), []);
  });
});
