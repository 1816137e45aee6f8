/**
 * Hardening in a real Strapi 5.54.0: connection caps per user and per API token, entity followers in a
 * configured namespace, and a log-out on a shared connection (socket.io-client's Manager).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Manager } from "socket.io-client";
import type { EntitySubscriptionResult } from "../../lib/types.ts";
import { nextEvent, request } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import {
  createToken,
  createUser,
  eventually,
  grant,
  rest,
  socketsFor,
} from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";

describe("hardening in Strapi", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;
  let fullAccess: string;

  before(async () => {
    app = await bootStrapi({
      transport: { type: "uws", port: 0, host: "127.0.0.1" },
      namespaces: ["live"],
      limits: { connections: { maxPerUser: 2, maxPerToken: 2 } },
    });
    sockets = socketsFor(app);
    await grant(app, "authenticated", [`${ARTICLE}.find`, `${ARTICLE}.findOne`]);
    fullAccess = (await createToken(app, "full-access")).accessKey;
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  it("limits.connections.maxPerUser refuses a user's next connection with 'too_many_connections'; other users are not affected", async () => {
    const user = await createUser(app);
    const first = await sockets.connect({ token: user.jwt });
    await sockets.connect({ token: user.jwt });
    const refused = await sockets.refused({ token: user.jwt });
    assert.equal(refused.data?.code, "too_many_connections");
    assert.match(refused.message, /for this user: at most 2/);
    await sockets.connect({ token: (await createUser(app)).jwt });
    first.disconnect();
    await eventually(async () => {
      const again = await sockets.connect({ token: user.jwt }).then(() => true, () => false);
      return again;
    }, "a slot freed by the first connection");
  });

  it("limits.connections.maxPerToken refuses an API token's next connection with 'too_many_connections'", async () => {
    const token = (await createToken(app, "read-only")).accessKey;
    await sockets.connect({ token });
    await sockets.connect({ token });
    const refused = await sockets.refused({ token });
    assert.equal(refused.data?.code, "too_many_connections");
    assert.match(refused.message, /for this API token: at most 2/);
  });

  it("a socket of a configured namespace that follows an entity receives its content events there, sanitized for it", async () => {
    const created = await rest(app, "POST", "/api/articles", {
      data: { title: "Live", internalNotes: "private" },
    }, fullAccess);
    const documentId = created.json.data.documentId as string;
    const { jwt } = await createUser(app);
    const follower = await sockets.connect({ token: jwt }, "/live");
    const bystander = await sockets.connect({ token: jwt }, "/live");
    const subscribed = await request<EntitySubscriptionResult>(follower, "subscribe-entity", {
      uid: ARTICLE,
      id: documentId,
    });
    assert.equal(subscribed.success, true);
    const seenByBystander: string[] = [];
    bystander.onAny((event) => void seenByBystander.push(event));
    const update = nextEvent<{ data: Record<string, unknown> }>(follower, "article:update");
    await rest(
      app,
      "PUT",
      `/api/articles/${documentId}`,
      { data: { title: "Live, edited" } },
      fullAccess,
    );
    const { data } = await update;
    assert.equal(data.title, "Live, edited");
    assert.equal("internalNotes" in data, false);
    const marker = nextEvent(bystander, "marker");
    app.io.emitToNamespace("live", "marker", 1);
    await marker;
    assert.deepEqual(seenByBystander, ["marker"]);
  });

  it("after a log-out on a shared connection (disconnect, auth without token, connect) the socket gets only what the public role may read", async () => {
    const { jwt } = await createUser(app);
    const manager = new Manager(app.ioUrl, {
      transports: ["websocket"],
      reconnection: false,
      forceNew: true,
    });
    try {
      const live = manager.socket("/live");
      const main = manager.socket("/", { auth: { token: jwt } });
      await Promise.all(
        [live, main].map((socket) =>
          new Promise<void>((resolve) => socket.once("connect", () => resolve()))
        ),
      );
      const beforeLogout = nextEvent(main, "article:create");
      await rest(
        app,
        "POST",
        "/api/articles",
        { data: { title: "Seen while logged in" } },
        fullAccess,
      );
      assert.equal(
        ((await beforeLogout) as { data: { title: string } }).data.title,
        "Seen while logged in",
      );

      const observer = await sockets.connect({ token: (await createUser(app)).jwt });
      const socketsBefore = app.io.server.sockets.sockets.size;
      main.disconnect();
      await eventually(
        () => app.io.server.sockets.sockets.size === socketsBefore - 1,
        "the server saw the log-out",
      );
      main.auth = {};
      main.connect();
      await new Promise<void>((resolve) => main.once("connect", () => resolve()));
      assert.equal(manager.engine, live.io.engine, "the same connection");

      const received: string[] = [];
      main.onAny((event) => void received.push(event));
      // Once a logged-in observer has the event, any copy for `main` was sent too (one emit() sends them all).
      const observed = nextEvent(observer, "article:create");
      await rest(
        app,
        "POST",
        "/api/articles",
        { data: { title: "Not for the public role" } },
        fullAccess,
      );
      await observed;
      const marker = nextEvent(main, "marker");
      await app.io.raw({ event: "marker", data: 1 });
      await marker;
      assert.deepEqual(received, ["marker"]);
    } finally {
      manager.engine.close();
    }
  });
});
