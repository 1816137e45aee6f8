/**
 * Two real Strapi 5.54.0 nodes of one deployment (same database, same Redis): a content event written on
 * either node reaches the readers connected to both, sanitized once by the node that emits it; a
 * permission change made on one node is honoured by the other at its next event; a user blocked through
 * one node is disconnected from the other.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import {
  clientPool,
  type ClusterNode,
  eventually,
  redisClientNames,
  startStrapiNode,
  uniquePrefix,
} from "../support/cluster.ts";
import { collect, nextEvent, untilMarker } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { createToken, createUser, grant, revoke, socketsFor } from "../support/strapi-fixtures.ts";

const SHARED_REDIS_PORT = 6379;
const ARTICLE = "api::article.article";
const USER = "plugin::users-permissions.user";

describe("two Strapi nodes in one Redis cluster", { timeout: 90_000 }, () => {
  const prefix = uniquePrefix("strapi2");
  const ioConfig = {
    transport: { type: "uws", port: 0, host: "127.0.0.1" },
    adapter: { type: "redis", keyPrefix: prefix },
    contentTypes: [ARTICLE],
  } as const;
  const clients = clientPool();
  let first: BootedStrapi;
  let second: ClusterNode;
  let sockets: ReturnType<typeof socketsFor>;
  let publicOnFirst: ClientSocket;
  let publicOnSecond: ClientSocket;
  let memberOnSecond: ClientSocket;
  let readOnlyToken: string; // reads every type: an observer of the events the public role stops receiving

  before(async () => {
    first = await bootStrapi(ioConfig);
    await grant(first, "public", [`${ARTICLE}.find`, `${ARTICLE}.findOne`]);
    const member = await createUser(first, "authenticated"); // no article permission
    readOnlyToken = (await createToken(first, "read-only")).accessKey;
    second = await startStrapiNode(process.env.DATABASE_FILENAME!, ioConfig);
    sockets = socketsFor(first);
    publicOnFirst = await sockets.connect();
    publicOnSecond = await clients.connect(second.url);
    memberOnSecond = await clients.connect(second.url, { token: member.jwt });
    await eventually(
      () => first.io.getEntitySubscriptions(memberOnSecond.id!).success,
      "the first node to know the second node's sockets",
    );
  });

  after(async () => {
    sockets?.closeAll();
    clients.closeAll();
    await second?.close();
    await first?.destroy();
  });

  it("a document created on either node reaches the readers on both, sanitized, and no one else", async () => {
    const seenByMember = collect(memberOnSecond, "article:create");
    for (
      const [origin, create] of [
        ["first", () =>
          first.strapi.documents(ARTICLE).create({
            data: { title: "From first", internalNotes: "private" },
            status: "published",
          })],
        [
          "second",
          () => second.call("create", ARTICLE, { title: "From second", internalNotes: "private" }),
        ],
      ] as const
    ) {
      const received = Promise.all([
        nextEvent<any>(publicOnFirst, "article:create"),
        nextEvent<any>(publicOnSecond, "article:create"),
      ]);
      await create();
      const [onFirst, onSecond] = await received;
      assert.equal(onFirst.data.title, `From ${origin}`);
      assert.equal(
        "internalNotes" in onFirst.data,
        false,
        `private field sent for an event from the ${origin} node`,
      );
      assert.deepEqual(onSecond, onFirst);
    }
    // Each node's emit() sent every copy at once (the readers have theirs); the marker leaves the first node's
    // Redis connection after its copies, and reaches the second node after its emit() had run.
    await untilMarker(first.io, memberOnSecond);
    assert.deepEqual(seenByMember, []);
  });

  it("API tokens created on the first node receive the second node's very next event, sanitized", async () => {
    const announced = (await second.call<unknown[]>("accessChanges")).length;
    // Created after the second node cached its audiences: one in an existing permission set, one in a new one.
    const readOnly = await createToken(first, "read-only");
    const custom = await createToken(first, "custom", [`${ARTICLE}.find`]);
    // The first node announces a change before the write that made it returns: whatever it sends the second
    // node afterwards (this marker) arrives after the announcement, on the same Redis connection.
    await untilMarker(first.io, publicOnSecond);
    const changes = (await second.call<string[][]>("accessChanges")).slice(announced);
    assert.ok(
      changes.flat().includes("tokens"),
      `announced before the marker: ${JSON.stringify(changes)}`,
    );
    const readers = [
      await sockets.connect({ token: readOnly.accessKey }),
      await clients.connect(second.url, { token: custom.accessKey }),
    ];
    const received = Promise.all(readers.map((socket) => nextEvent<any>(socket, "article:create")));
    await second.call("create", ARTICLE, { title: "For new tokens", internalNotes: "private" });
    for (const payload of await received) {
      assert.equal(payload.data.title, "For new tokens");
      assert.equal("internalNotes" in payload.data, false, "private field sent to a token");
    }
  });

  it("an API token revoked on the first node is disconnected from the second, and told why", async () => {
    const token = await createToken(first, "read-only");
    await untilMarker(first.io, publicOnSecond);
    const socket = await clients.connect(second.url, { token: token.accessKey });
    const notice = nextEvent(socket, "strapi-io:disconnect", 5000);
    await first.strapi.service("admin::api-token-content-api").revoke(token.id);
    assert.deepEqual(await notice, { reason: "API token revoked" });
  });

  it("a permission revoked on the first node stops the second node's events to that role", async () => {
    // A read-only token still reads articles: its copy of an event says when the second node has sent it.
    const observer = await sockets.connect({ token: readOnlyToken });
    const seenByObserver = collect<any>(observer, "article:create");
    await revoke(first, "public", [`${ARTICLE}.find`, `${ARTICLE}.findOne`]);
    const seenFirst = collect(publicOnFirst, "article:create");
    const seenSecond = collect(publicOnSecond, "article:create");
    /** Creates an article on the second node; resolves once the public sockets have whatever it sent them. */
    const createOnSecond = async (title: string) => {
      await second.call("create", ARTICLE, { title });
      // One emit() sends every audience its copy at once: the public's left the second node with the observer's.
      await eventually(
        () => seenByObserver.some((payload) => payload.data.title === title),
        `the observer's copy of '${title}'`,
      );
      await untilMarker(first.io, publicOnFirst, publicOnSecond);
    };
    // The revocation travels to the second node as a cluster message: try until it has arrived.
    let attempt = 0;
    await eventually(async () => {
      const before = seenFirst.length + seenSecond.length;
      await createOnSecond(`After revoke ${++attempt}`);
      return seenFirst.length + seenSecond.length === before;
    }, "the second node to stop sending to the public role");
    const quiet = [seenFirst.length, seenSecond.length];
    await createOnSecond("Still nothing");
    assert.deepEqual([seenFirst.length, seenSecond.length], quiet);
  });

  it("a user blocked through the first node is disconnected from the second, and told why", async () => {
    const user = await createUser(first, "authenticated");
    const socket = await clients.connect(second.url, { token: user.jwt });
    const notice = nextEvent(socket, "strapi-io:disconnect", 5000);
    const documentId =
      (await first.strapi.db.query(USER).findOne({ where: { id: user.id } })).documentId;
    await first.strapi.documents(USER).update({ documentId, data: { blocked: true } });
    assert.deepEqual(await notice, { reason: "User is blocked" });
  });

  it("a rolling deploy: strapi.destroy() on the second node hands its clients over; they resume on the first, with the copies sanitized for them", async () => {
    const client = await clients.connect(second.url, { token: readOnlyToken });
    const received: unknown[][] = [];
    client.onAny((event: string, payload: any) => {
      if (event.startsWith("article:")) {
        received.push([event, payload.data.title, "internalNotes" in payload.data]);
      }
    });
    const create = (title: string) =>
      first.strapi.documents(ARTICLE).create({
        data: { title, internalNotes: "private" },
        status: "published",
      });
    await create("Before the deploy");
    await eventually(() => received.length === 1, "the first event arrived");
    assert.deepEqual(await second.call("failures"), []);
    const disconnected = new Promise((resolve) => client.once("disconnect", resolve));
    await second.close(); // strapi.destroy(), as on SIGTERM
    await disconnected;
    await create("During the deploy");
    (client.io as unknown as { uri: string }).uri = `http://127.0.0.1:${first.io.port}`;
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("connect_error", reject);
      client.connect();
    });
    assert.equal(client.recovered, true);
    await untilMarker(first.io, client);
    assert.deepEqual(received, [
      ["article:create", "Before the deploy", false],
      ["article:create", "During the deploy", false],
    ]);
  });

  it("closing both nodes leaves no Redis connection", async () => {
    sockets.closeAll();
    clients.closeAll();
    await second.close();
    await first.destroy();
    first = undefined as unknown as BootedStrapi;
    assert.deepEqual(await redisClientNames(SHARED_REDIS_PORT, prefix), []);
  });
});
