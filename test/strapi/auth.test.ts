/**
 * Handshake authentication in a real Strapi 5.54.0 (users-permissions JWT, API tokens of each type, the
 * public role), refusals that say why, every namespace guarded, and credentials that stop being valid
 * while connected.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { io as connect } from "socket.io-client";
import { nextEvent } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import {
  createRole,
  createToken,
  createUser,
  eventually,
  grant,
  rest,
  socketsFor,
} from "../support/strapi-fixtures.ts";

const ARTICLE = "api::article.article";
const USER = "plugin::users-permissions.user";
const API_TOKEN = "admin::api-token";

describe("handshake authentication", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;

  before(async () => {
    app = await bootStrapi({
      transport: { type: "uws", port: 0, host: "127.0.0.1" },
      namespaces: ["chat"],
    });
    sockets = socketsFor(app);
    await grant(app, "authenticated", [`${ARTICLE}.find`]);
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  const infoOf = async (socketId: string) => (await app.io.getSocketsInRoom(socketId))[0];

  it("no token connects as the public role", async () => {
    const socket = await sockets.connect();
    assert.deepEqual(await infoOf(socket.id!), { id: socket.id, role: "public", rooms: [] });
  });

  it("a users-permissions JWT connects as its user, in the user's role", async () => {
    const user = await createUser(app);
    const socket = await sockets.connect({ token: user.jwt });
    assert.deepEqual(await infoOf(socket.id!), {
      id: socket.id,
      userId: user.id,
      role: "authenticated",
      rooms: [],
    });
    const [entry] = await app.io.server.in(socket.id!).fetchSockets();
    assert.equal(entry?.data.user?.id, user.id);
    assert.equal(
      "password" in (entry?.data.user ?? {}),
      false,
      "socket data never holds the password",
    );
  });

  it("a JWT in the Authorization header works too, and strategy 'jwt' skips the API-token lookup", async () => {
    const user = await createUser(app);
    const viaStrategy = await sockets.connect({ token: user.jwt, strategy: "jwt" });
    assert.equal((await infoOf(viaStrategy.id!))?.userId, user.id);
    const viaHeader = connect(app.ioUrl, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      extraHeaders: { authorization: `Bearer ${user.jwt}` },
    });
    try {
      await nextEvent(viaHeader, "connect");
      assert.equal((await infoOf(viaHeader.id!))?.userId, user.id);
    } finally {
      viaHeader.disconnect();
    }
  });

  it("API tokens of each type connect as that token", async () => {
    for (const type of ["read-only", "full-access", "custom"] as const) {
      const token = await createToken(app, type, type === "custom" ? [`${ARTICLE}.find`] : []);
      const socket = await sockets.connect({ token: token.accessKey, strategy: "api-token" });
      assert.equal((await infoOf(socket.id!))?.role, `api-token:${type}`);
    }
  });

  it("refusals reach the client as connect_error saying why", async () => {
    const blocked = await createUser(app, "authenticated", { blocked: true });
    const expiredToken = await createToken(app, "read-only");
    await app.strapi.db.query(API_TOKEN).update({
      where: { id: expiredToken.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ token: "not-a-token" }, "invalid_token"],
      [{ token: "x", strategy: "api-token" }, "invalid_token"],
      [{ token: blocked.jwt }, "user_blocked"],
      [{ token: expiredToken.accessKey }, "token_expired"],
      [{ token: 42 }, "invalid_handshake"],
      [{ strategy: "oauth" }, "invalid_handshake"],
    ];
    for (const [auth, code] of cases) {
      const error = await sockets.refused(auth);
      assert.equal(error.data?.code, code, `auth ${JSON.stringify(auth)}`);
      assert.equal(error.message, error.data?.message);
    }
  });

  it("an unconfirmed user is refused when email confirmation is on", async () => {
    const store = app.strapi.store({ type: "plugin", name: "users-permissions" });
    const advanced = await store.get({ key: "advanced" });
    await store.set({ key: "advanced", value: { ...advanced, email_confirmation: true } });
    try {
      const unconfirmed = await createUser(app, "authenticated", { confirmed: false });
      assert.equal(
        (await sockets.refused({ token: unconfirmed.jwt })).data?.code,
        "user_not_confirmed",
      );
    } finally {
      await store.set({ key: "advanced", value: advanced });
    }
  });

  it("configured namespaces are guarded by the same checks", async () => {
    assert.equal((await sockets.refused({ token: "bad" }, "/chat")).data?.code, "invalid_token");
    const user = await createUser(app);
    const socket = await sockets.connect({ token: user.jwt }, "/chat");
    assert.equal((await infoOf(socket.id!))?.userId, user.id);
  });

  it("a user blocked while connected is disconnected, and told why", async () => {
    const user = await createUser(app);
    const socket = await sockets.connect({ token: user.jwt });
    const notice = nextEvent<{ reason: string }>(socket, "strapi-io:disconnect", 3000);
    await app.strapi.documents(USER).update({
      documentId: (await app.strapi.db.query(USER).findOne({ where: { id: user.id } })).documentId,
      data: { blocked: true },
    });
    assert.deepEqual(await notice, { reason: "User is blocked" });
    await eventually(() => socket.disconnected, "the disconnect");
  });

  it("a revoked API token is disconnected", async () => {
    const token = await createToken(app, "read-only");
    const socket = await sockets.connect({ token: token.accessKey });
    const notice = nextEvent<{ reason: string }>(socket, "strapi-io:disconnect", 3000);
    await app.strapi.service("admin::api-token-content-api").revoke(token.id);
    assert.deepEqual(await notice, { reason: "API token revoked" });
  });

  it("a regenerated API token disconnects the sockets that use its old key", async () => {
    const token = await createToken(app, "read-only");
    const socket = await sockets.connect({ token: token.accessKey });
    const notice = nextEvent<{ reason: string }>(socket, "strapi-io:disconnect", 3000);
    await app.strapi.service("admin::api-token-content-api").regenerate(token.id);
    assert.deepEqual(await notice, { reason: "API token regenerated" });
  });

  it("deleting a role keeps its users connected, moved to the role users-permissions gives them", async () => {
    const doomed = await createRole(app, "doomed", [`${ARTICLE}.find`]);
    const user = await createUser(app, "doomed");
    const socket = await sockets.connect({ token: user.jwt });
    assert.equal((await infoOf(socket.id!))?.role, "doomed");
    const publicRole = await app.strapi.db.query("plugin::users-permissions.role").findOne({
      where: { type: "public" },
    });
    await app.strapi.plugin("users-permissions").service("role").deleteRole(doomed, publicRole.id);
    await eventually(
      async () => (await infoOf(socket.id!))?.role === "public",
      "the move to the public role",
    );
    assert.equal(socket.connected, true);
  });

  it("a token that expires while connected is disconnected when it expires", async () => {
    const token = await createToken(app, "read-only");
    await app.strapi.db.query(API_TOKEN).update({
      where: { id: token.id },
      data: { expiresAt: new Date(Date.now() + 1500) },
    });
    const socket = await sockets.connect({ token: token.accessKey });
    assert.deepEqual(await nextEvent(socket, "strapi-io:disconnect", 4000), {
      reason: "API token expired",
    });
  });

  it("a user whose role changes keeps the connection and receives what the new role may read", async () => {
    await createRole(app, "no-read");
    const user = await createUser(app, "no-read");
    const socket = await sockets.connect({ token: user.jwt });
    const received: unknown[] = [];
    socket.on("article:create", (payload) => received.push(payload));
    const fullAccess = (await createToken(app, "full-access")).accessKey;
    await rest(app, "POST", "/api/articles", { data: { title: "Before" } }, fullAccess);
    const authenticatedRole = await app.strapi.db.query("plugin::users-permissions.role").findOne({
      where: { type: "authenticated" },
    });
    await app.strapi.db.query(USER).update({
      where: { id: user.id },
      data: { role: authenticatedRole.id },
    });
    await eventually(
      async () => (await infoOf(socket.id!))?.role === "authenticated",
      "the role move",
    );
    await rest(app, "POST", "/api/articles", { data: { title: "After" } }, fullAccess);
    await eventually(() => received.length === 1, "the event for the new role");
    assert.equal((received[0] as { data: { title: string } }).data.title, "After");
    assert.equal(socket.connected, true);
  });
});
