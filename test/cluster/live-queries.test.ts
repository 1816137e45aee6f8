/**
 * Filtered subscriptions across two real Strapi 5.54.0 nodes (same database, same Redis): a change written
 * on either node is matched once, by that node, against every node's queries, and each subscriber gets it
 * once with its subscriptions (or `:leave`), the others type-wide; a query is known to every node before
 * its subscription is acknowledged; `$io.subscribe`, `getSubscriptions` and `unsubscribe` work for a
 * socket on the other node.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import type { LiveQueryResult } from "../../lib/types.ts";
import {
  clientPool,
  type ClusterNode,
  eventually,
  startStrapiNode,
  uniquePrefix,
} from "../support/cluster.ts";
import { recordContentEvents, request, until, untilMarkerFrom } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { grant, socketsFor } from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";

describe("filtered subscriptions across two Strapi nodes", { timeout: 90_000 }, () => {
  const ioConfig = {
    transport: { type: "uws", port: 0, host: "127.0.0.1" },
    adapter: { type: "redis", keyPrefix: uniquePrefix("live") },
    contentTypes: [ARTICLE],
  } as const;
  const clients = clientPool();
  let first: BootedStrapi;
  let second: ClusterNode;
  let sockets: ReturnType<typeof socketsFor>;
  /** A raw() from each node: what it sent before has arrived once the marker has. */
  const settle = async (...targets: ClientSocket[]) => {
    await untilMarkerFrom({ call: (_method, options) => first.io.raw(options as any) }, ...targets);
    await untilMarkerFrom(second, ...targets);
  };

  before(async () => {
    first = await bootStrapi(ioConfig);
    await grant(first, "public", [`${ARTICLE}.find`, `${ARTICLE}.findOne`]);
    second = await startStrapiNode(process.env.DATABASE_FILENAME!, ioConfig);
    sockets = socketsFor(first);
  });

  after(async () => {
    sockets?.closeAll();
    clients.closeAll();
    await Promise.all([first?.destroy(), second?.close()]);
  });

  it("a change written on one node reaches the other node's subscriber once, with its subscription", async () => {
    const subscriber = await clients.connect(second.url);
    const bystander = await sockets.connect();
    const ack = await request<LiveQueryResult>(subscriber, "subscribe", {
      uid: ARTICLE,
      filters: { title: { $startsWith: "Cluster" } },
    });
    assert.equal(ack.success, true, ack.error);
    const id = ack.subscription!;
    const received = [recordContentEvents(subscriber), recordContentEvents(bystander)];

    // Written on the other node at once: the query was shared before the acknowledgement.
    const articles = first.strapi.documents(ARTICLE);
    const doc = await articles.create({ data: { title: "Cluster one" }, status: "published" });
    await articles.create({ data: { title: "Elsewhere" }, status: "published" });
    await articles.update({
      documentId: doc.documentId,
      data: { title: "Moved out" },
      status: "published",
    });
    await until(
      () => received[0]!.length === 3 && received[1]!.length === 3,
      "the events arrived",
    );
    await settle(subscriber, bystander);
    assert.deepEqual(received[0], [
      ["article:create", "Cluster one", [id]],
      ["article:create", "Elsewhere", undefined],
      ["article:leave", doc.documentId, [id]],
    ]);
    assert.deepEqual(received[1], [
      ["article:create", "Cluster one", undefined],
      ["article:create", "Elsewhere", undefined],
      ["article:update", "Moved out", undefined],
    ]);
  });

  it("a change written on the other node is matched there for this node's subscribers", async () => {
    const here = await sockets.connect();
    const there = await clients.connect(second.url);
    const filters = { title: { $contains: "both" } };
    const [ackHere, ackThere] = await Promise.all([
      request<LiveQueryResult>(here, "subscribe", { uid: ARTICLE, filters }),
      request<LiveQueryResult>(there, "subscribe", { uid: ARTICLE, filters }),
    ]);
    assert.equal(ackHere.subscription, ackThere.subscription, "one id for one query, cluster-wide");
    const id = ackHere.subscription!;
    const received = [recordContentEvents(here), recordContentEvents(there)];
    await second.call("create", ARTICLE, { title: "On both nodes" });
    await until(() => received.every((list) => list.length === 1), "both got it");
    await settle(here, there);
    for (const list of received) {
      assert.deepEqual(list, [["article:create", "On both nodes", [id]]]);
    }
  });

  it("$io.subscribe, getSubscriptions and unsubscribe work for a socket on the other node", async () => {
    const socket = await clients.connect(second.url);
    await eventually(
      () => first.io.getSubscriptions(socket.id!).success,
      "the first node to know the socket",
    );
    const result = await first.io.subscribe(socket.id!, ARTICLE, {
      filters: { title: { $eq: "Remote call" } },
    });
    assert.equal(result.success, true, result.error);
    const listed = await eventually(() => {
      const now = first.io.getSubscriptions(socket.id!);
      return now.subscriptions?.length === 1 && now;
    }, "the subscription announced");
    assert.equal(listed.subscriptions![0]!.id, result.subscription);
    assert.deepEqual(listed.subscriptions![0]!.filters, { title: { $eq: "Remote call" } });

    // Refused for the socket's own identity on its node: a private field.
    const refused = await first.io.subscribe(socket.id!, ARTICLE, {
      filters: { internalNotes: { $eq: "x" } },
    });
    assert.equal(refused.success, false);

    const received = recordContentEvents(socket);
    await first.strapi.documents(ARTICLE).create({
      data: { title: "Remote call" },
      status: "published",
    });
    await until(() => received.length === 1, "the match arrived");
    assert.deepEqual(received[0], ["article:create", "Remote call", [result.subscription]]);

    assert.equal(first.io.unsubscribe(socket.id!, result.subscription!).success, true);
    assert.equal(first.io.unsubscribe(socket.id!, result.subscription!).success, false);
    await eventually(
      async () =>
        (await second.call<any>("getSubscriptions", socket.id)).subscriptions.length === 0,
      "the socket's node carried it out",
    );
    await first.strapi.documents(ARTICLE).create({
      data: { title: "Remote call" },
      status: "published",
    });
    await until(() => received.length === 2, "the type-wide event arrived");
    assert.deepEqual(received[1], ["article:create", "Remote call", undefined]);
  });
});
