/**
 * Readiness in a cluster: a node whose Redis is unreachable answers 503 on `/health/ready` (a balancer then
 * sends new clients to nodes that can reach the others), and 200 again once Redis is back; liveness stays
 * 200 throughout.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type ClusterNode,
  eventually,
  type PrivateRedis,
  startNode,
  startPrivateRedis,
  uniquePrefix,
} from "../support/cluster.ts";

async function status(node: ClusterNode, path: string) {
  const response = await fetch(`${node.url}${path}`);
  return { status: response.status, body: await response.json() };
}

describe("health in a Redis cluster", { timeout: 60_000 }, () => {
  let redis: PrivateRedis;
  let nodes: ClusterNode[];

  before(async () => {
    redis = await startPrivateRedis();
    const adapter = { type: "redis", url: redis.url, keyPrefix: uniquePrefix("health") } as const;
    nodes = await Promise.all([
      startNode({ adapter, transport: { type: "uws" } }),
      startNode({ adapter, transport: { type: "node-http" } }),
    ]);
  });

  after(async () => {
    await Promise.all(nodes.map((node) => node.close()));
    await redis.stop();
  });

  it("is unready while Redis is unreachable, ready again once it is back, and live throughout", async () => {
    for (const node of nodes) {
      assert.deepEqual(await status(node, "/health/ready"), {
        status: 200,
        body: { status: "ready" },
      });
    }
    await redis.stop();
    for (const node of nodes) {
      await eventually(
        async () => (await status(node, "/health/ready")).status === 503,
        "the node turns unready",
      );
      assert.deepEqual(await status(node, "/health/ready"), {
        status: 503,
        body: { status: "unready", reasons: ["Redis unreachable"] },
      });
      assert.equal((await status(node, "/health/live")).status, 200);
    }
    await redis.start();
    for (const node of nodes) {
      await eventually(
        async () => (await status(node, "/health/ready")).status === 200,
        "the node is ready again",
      );
    }
  });
});
