/**
 * The admin API behind the realtime page, in a real Strapi: the first super admin registers and logs in
 * through Strapi's own admin endpoints, and an editor role is granted `plugin::io.read` only. Totals and
 * connections come from the server (one page at a time), a disconnect reaches the client with its reason,
 * and every route refuses those without the permission.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Socket as ClientSocket } from "socket.io-client";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { createToken, createUser, rest, socketsFor } from "../support/strapi-fixtures.ts";
import { until } from "../support/harness.ts";

const ARTICLE = "api::article.article";
const PASSWORD = "Admin-password-123";

interface Overview {
  nodes: Array<{ node: string; connections: number; eventsIn: { total: number } }>;
  totals: { connections: number; audiences: { public: number; role: number; token: number } };
  rooms: Array<{ name: string; sockets: number }>;
  contentTypes: Array<{ uid: string; events: number }>;
  canDisconnect: boolean;
}

describe("the admin API of the realtime page", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;
  let superAdmin: string;
  let editor: string;

  before(async () => {
    app = await bootStrapi({
      transport: { port: 0, host: "127.0.0.1" },
      contentTypes: [ARTICLE],
    });
    sockets = socketsFor(app);
    const registered = await rest(app, "POST", "/admin/register-admin", {
      email: "owner@example.test",
      firstname: "Owner",
      lastname: "Admin",
      password: PASSWORD,
    });
    assert.equal(registered.status, 200, JSON.stringify(registered.json));
    superAdmin = registered.json.data.token;
    editor = await adminWith(app, "editor@example.test", ["plugin::io.read"]);
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  const overview = async (token = superAdmin): Promise<Overview> => {
    const { status, json } = await rest(app, "GET", "/io/overview", undefined, token);
    assert.equal(status, 200, JSON.stringify(json));
    return json.data;
  };

  it("registers its two permissions in Strapi's RBAC", async () => {
    const { status, json } = await rest(app, "GET", "/admin/permissions", undefined, superAdmin);
    assert.equal(status, 200);
    const actions = (json.data.sections.plugins as Array<{ action: string }>).map((p) => p.action);
    assert.ok(actions.includes("plugin::io.read"), actions.join(", "));
    assert.ok(actions.includes("plugin::io.disconnect"));
  });

  it("counts connections by audience, events in and out, rooms and content types", async () => {
    const before = await overview();
    assert.equal(before.totals.connections, 0);
    assert.equal(before.canDisconnect, true);
    const user = await createUser(app);
    const token = await createToken(app, "read-only");
    const reader = await sockets.connect({ token: user.jwt });
    await sockets.connect({ token: token.accessKey });
    const guest = await sockets.connect();
    app.io.joinRoom(guest.id!, "lobby");
    app.io.joinRoom(reader.id!, "lobby");
    await ackOf(guest, "subscribe-entity", { uid: ARTICLE, id: "missing" });
    await app.strapi.documents(ARTICLE).create({ data: { title: "Counted" }, status: "published" });

    await until(async () => {
      const now = await overview();
      return now.totals.connections === 3 &&
        now.contentTypes.some((type) => type.uid === ARTICLE && type.events === 1);
    }, "the overview counts the three sockets and the article");
    const now = await overview();
    assert.deepEqual(now.totals.audiences, { public: 1, role: 1, token: 1 });
    assert.deepEqual(now.rooms[0], { namespace: "/", name: "lobby", sockets: 2 });
    assert.equal(now.nodes.length, 1);
    assert.equal(now.nodes[0]!.eventsIn.total, 1, "the one subscribe-entity");
    assert.equal(editor === undefined, false);
    assert.equal((await overview(editor)).canDisconnect, false);
  });

  it("lists connections one page at a time and searches them", async () => {
    const user = await createUser(app);
    const named = await sockets.connect({ token: user.jwt });
    const { json: first } = await rest(app, "GET", "/io/connections?pageSize=2", undefined, editor);
    assert.equal(first.data.length, 2);
    assert.equal(first.meta.pagination.pageSize, 2);
    const total = first.meta.pagination.total;
    assert.ok(total >= 4, `total ${total}`);
    assert.equal(first.meta.pagination.pageCount, Math.ceil(total / 2));
    const pages = [];
    for (let page = 1; page <= first.meta.pagination.pageCount; page += 1) {
      const { json } = await rest(
        app,
        "GET",
        `/io/connections?pageSize=2&page=${page}`,
        undefined,
        editor,
      );
      pages.push(...json.data.map((row: { id: string }) => row.id));
    }
    assert.equal(new Set(pages).size, total, "every connection on exactly one page");

    const username = (await app.strapi.plugin("users-permissions").service("user").fetch(user.id))
      .username as string;
    const { json: found } = await rest(
      app,
      "GET",
      `/io/connections?search=${encodeURIComponent(username.toUpperCase())}`,
      undefined,
      editor,
    );
    assert.equal(found.meta.pagination.total, 1);
    const row = found.data[0];
    assert.equal(row.id, named.id);
    assert.equal(row.user.username, username);
    assert.equal(row.role, "authenticated");
    assert.equal(row.audience, "role");
    assert.equal(row.transport, "websocket");
    assert.ok(!Number.isNaN(Date.parse(row.connectedAt)));
    assert.equal("password" in row.user, false);
  });

  it("shows an API token's name", async () => {
    const token = await createToken(app, "read-only");
    const socket = await sockets.connect({ token: token.accessKey });
    const name = (await app.strapi.service("admin::api-token").getById(token.id)).name as string;
    const { json } = await rest(
      app,
      "GET",
      `/io/connections?search=${encodeURIComponent(socket.id!)}`,
      undefined,
      superAdmin,
    );
    assert.equal(json.data[0].token, name);
    assert.equal(json.data[0].audience, "token");
  });

  it("disconnects a connection with a reason, for admins with the permission only", async () => {
    const target = await sockets.connect();
    const told = new Promise<string>((resolve) =>
      target.once("strapi-io:disconnect", (notice: { reason: string }) => resolve(notice.reason))
    );
    const closed = new Promise<void>((resolve) => target.once("disconnect", () => resolve()));
    const path = `/io/connections/${encodeURIComponent(target.id!)}/disconnect`;

    const refused = await rest(app, "POST", path, { reason: "no" }, editor);
    assert.equal(refused.status, 403);
    assert.equal(target.connected, true);

    const empty = await rest(app, "POST", path, { reason: " " }, superAdmin);
    assert.equal(empty.status, 400);
    const long = await rest(app, "POST", path, { reason: "x".repeat(201) }, superAdmin);
    assert.equal(long.status, 400);

    const done = await rest(app, "POST", path, { reason: "Maintenance" }, superAdmin);
    assert.equal(done.status, 200);
    assert.deepEqual(done.json, { data: { disconnected: true } });
    assert.equal(await told, "Maintenance");
    await closed;
    const again = await rest(app, "POST", path, { reason: "Maintenance" }, superAdmin);
    assert.deepEqual(again.json, { data: { disconnected: false } });
  });

  it("refuses anonymous callers, roles without read, and malformed queries", async () => {
    for (const path of ["/io/overview", "/io/connections"]) {
      assert.equal((await rest(app, "GET", path)).status, 401, path);
    }
    const nobody = await adminWith(app, "nobody@example.test", []);
    assert.equal((await rest(app, "GET", "/io/overview", undefined, nobody)).status, 403);
    assert.equal((await rest(app, "GET", "/io/connections", undefined, nobody)).status, 403);
    for (
      const query of [
        "page=0",
        "page=-1",
        "page=x",
        "pageSize=101",
        "pageSize=0",
        `search=${"a".repeat(201)}`,
      ]
    ) {
      const { status, json } = await rest(
        app,
        "GET",
        `/io/connections?${query}`,
        undefined,
        editor,
      );
      assert.equal(status, 400, query);
      assert.equal(json.error.name, "ValidationError");
    }
    // Arrays and objects from the query parser are refused too.
    const array = await rest(
      app,
      "GET",
      "/io/connections?search[]=a&search[]=b",
      undefined,
      editor,
    );
    assert.equal(array.status, 400);
  });
});

/** Creates an admin role with `actions`, a user in it, and logs that user in through `/admin/login`. */
async function adminWith(app: BootedStrapi, email: string, actions: string[]): Promise<string> {
  const roles = app.strapi.service("admin::role");
  const role = await roles.create({ name: `role for ${email}`, description: "test" });
  await roles.assignPermissions(role.id, actions.map((action) => ({ action })));
  await app.strapi.service("admin::user").create({
    email,
    firstname: "Test",
    lastname: "Admin",
    password: PASSWORD,
    isActive: true,
    roles: [role.id],
  });
  const login = await rest(app, "POST", "/admin/login", { email, password: PASSWORD });
  assert.equal(login.status, 200, JSON.stringify(login.json));
  return login.json.data.token;
}

function ackOf(socket: ClientSocket, event: string, payload: unknown): Promise<unknown> {
  return new Promise((resolve) => socket.emit(event, payload, resolve));
}
