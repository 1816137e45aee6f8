/**
 * `$io.overview()` and `$io.listConnections()` across Redis nodes (one uWS, one node-http): any node
 * answers for the whole cluster, pages span nodes without gaps or repeats, and a node that stops answering
 * is counted as missing rather than holding the answer back.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ConnectionPage, IoOverview } from "../../lib/operations/operations-types.ts";
import {
  clientPool,
  type ClusterNode,
  eventually,
  startNode,
  uniquePrefix,
} from "../support/cluster.ts";

describe("the overview of a Redis cluster", { timeout: 60_000 }, () => {
  const adapter = {
    type: "redis",
    url: "redis://127.0.0.1:6379",
    keyPrefix: uniquePrefix("operations"),
    requestsTimeout: 1000,
  } as const;
  const clients = clientPool();
  let a: ClusterNode;
  let b: ClusterNode;

  before(async () => {
    [a, b] = await Promise.all([
      startNode({ adapter, transport: { type: "uws" } }),
      startNode({ adapter, transport: { type: "node-http" } }),
    ]);
    for (const node of [a, a, a, b, b]) await clients.connect(node.url);
  });

  after(async () => {
    clients.closeAll();
    await Promise.all([a, b].map((node) => node.close()));
  });

  it("totals every node's connections, from either node", async () => {
    for (const node of [a, b]) {
      const overview = await eventually(async () => {
        const now = await node.call<IoOverview>("overview");
        return now.nodes.length === 2 && now.totals.connections === 5 && now;
      }, "both nodes counted");
      assert.deepEqual(overview.nodes.map((each) => each.connections).sort(), [2, 3]);
      assert.deepEqual(overview.nodes.map((each) => each.transport).sort(), ["node-http", "uws"]);
      assert.ok(overview.nodes.every((each) => each.redis === true));
      assert.equal(overview.totals.audiences.public, 5);
      assert.equal(overview.missingNodes, 0);
    }
  });

  it("pages through the connections of both nodes, each exactly once", async () => {
    const seen: string[] = [];
    const nodes = new Set<string>();
    let pageCount = 1;
    for (let page = 1; page <= pageCount; page += 1) {
      const listed = await b.call<ConnectionPage>("listConnections", { page, pageSize: 2 });
      assert.equal(listed.meta.pagination.total, 5);
      pageCount = listed.meta.pagination.pageCount;
      assert.ok(listed.data.length <= 2);
      for (const row of listed.data) {
        seen.push(row.id);
        nodes.add(row.node);
      }
    }
    assert.equal(pageCount, 3);
    assert.equal(new Set(seen).size, 5);
    assert.equal(nodes.size, 2);

    // A search finds a socket of the other node.
    const onA = (await a.call<ConnectionPage>("listConnections", { pageSize: 100 })).data
      .find((row) => row.transport === "websocket")!;
    const found = await b.call<ConnectionPage>("listConnections", { search: onA.id });
    assert.deepEqual(found.data.map((row) => row.id), [onA.id]);
  });

  it("refuses a malformed query with a TypeError", async () => {
    await assert.rejects(a.call("listConnections", { pageSize: 1000 }), /pageSize/);
    await assert.rejects(a.call("listConnections", { page: 0 }), /page/);
  });

  it("answers without a node that died, counting only the nodes that answered", async () => {
    await b.kill();
    const overview = await eventually(async () => {
      const now = await a.call<IoOverview>("overview");
      return now.totals.connections === 3 && now;
    }, "the dead node left out");
    assert.equal(overview.nodes.length, 1);
  });
});
