/**
 * The plugin's `events`, `hooks.init` and `socket.serverOptions` config in a real Strapi 5.54.0.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { StrapiIO } from "../../lib/io.ts";
import type { IoSocket } from "../../lib/types.ts";
import { nextEvent, request } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { eventually, grant, socketsFor } from "../support/strapi-fixtures.ts";

describe("events, hooks and Socket.IO options from the plugin config", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;
  const connected: string[] = [];
  const disconnected: Array<[string, string]> = [];
  const init = { calls: 0, hadTransportWhenCalled: true, sawStrapi: false };

  before(async () => {
    app = await bootStrapi({
      transport: { type: "uws", port: 0, host: "127.0.0.1" },
      namespaces: ["chat"],
      socket: { serverOptions: { pingInterval: 4321 } },
      // Only articles, only create and update, drafts included: what the tests at the end check.
      contentTypes: [{ uid: "api::article.article", actions: ["create", "update"], drafts: true }],
      hooks: {
        init({ strapi, $io }: { strapi: { $io?: unknown; config?: unknown }; $io: StrapiIO }) {
          init.calls += 1;
          init.sawStrapi = typeof strapi.config === "object";
          try {
            void $io.port;
          } catch {
            init.hadTransportWhenCalled = false; // not listening yet: no client can have connected
          }
        },
      },
      events: [
        {
          name: "connection",
          handler: (_context: unknown, socket: IoSocket) => void connected.push(socket.id),
        },
        {
          name: "disconnect",
          handler: (_context: unknown, socket: IoSocket, reason: string) =>
            void disconnected.push([socket.id, reason]),
        },
        {
          name: "chat:message",
          handler: (
            { io }: { io: StrapiIO },
            socket: IoSocket,
            message: { text: string },
            ack?: (reply: unknown) => void,
          ) => {
            io.broadcast(socket.id, "chat:message", { from: socket.id, text: message.text });
            ack?.({ success: true });
          },
        },
        {
          name: "boom",
          handler: async () => {
            throw new Error("handler exploded");
          },
        },
      ],
    });
    sockets = socketsFor(app);
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  it("hooks.init runs once with { strapi, $io }, before the transport accepts connections", () => {
    assert.deepEqual(init, { calls: 1, hadTransportWhenCalled: false, sawStrapi: true });
  });

  it("connection and disconnect handlers run for every socket, in every namespace", async () => {
    const main = await sockets.connect();
    const chat = await sockets.connect({}, "/chat");
    await eventually(
      () => connected.includes(main.id!) && connected.includes(chat.id!),
      "both connection handlers",
    );
    const mainId = main.id!;
    main.disconnect();
    await eventually(() => disconnected.some(([id]) => id === mainId), "the disconnect handler");
    assert.deepEqual(disconnected.find(([id]) => id === mainId), [
      mainId,
      "client namespace disconnect",
    ]);
  });

  it("a client event handler gets ({ strapi, io }, socket, ...args) and may acknowledge", async () => {
    const alice = await sockets.connect();
    const bob = await sockets.connect();
    const received = nextEvent(bob, "chat:message");
    assert.deepEqual(await request(alice, "chat:message", { text: "hi" }), { success: true });
    assert.deepEqual(await received, { from: alice.id, text: "hi" });
  });

  it("a handler that throws answers the acknowledgement with the error and does not disturb the server", async () => {
    const socket = await sockets.connect();
    assert.deepEqual(await request(socket, "boom", { any: "thing" }), {
      success: false,
      error: "handler exploded",
      code: "handler_failed",
    });
    socket.emit("boom"); // without an acknowledgement: logged only
    assert.deepEqual(await request(socket, "chat:message", { text: "still here" }), {
      success: true,
    });
  });

  it("socket.serverOptions reach Socket.IO", () => {
    assert.equal(
      (app.io.server.engine as unknown as { opts: { pingInterval: number } }).opts.pingInterval,
      4321,
    );
  });

  it("contentTypes limits events to the listed types and actions; drafts: true pushes drafts", async () => {
    await grant(app, "public", ["api::article.article.find", "api::category.category.find"]);
    const socket = await sockets.connect();
    const seen: string[] = [];
    socket.onAny((event: string) => void seen.push(event));
    const draft = nextEvent<any>(socket, "article:create");
    const article = await app.strapi.documents("api::article.article").create({
      data: { title: "A draft" },
    });
    const { data } = await draft;
    assert.equal(data.publishedAt, null, "the draft itself is pushed");
    await app.strapi.documents("api::article.article").delete({ documentId: article.documentId });
    await app.strapi.documents("api::category.category").create({ data: { name: "Not listed" } });
    // A change made afterwards: its event would follow any event of the two changes before it.
    const later = nextEvent<any>(socket, "article:create");
    const afterwards = await app.strapi.documents("api::article.article").create({
      data: { title: "Afterwards" },
    });
    assert.equal((await later).data.documentId, afterwards.documentId);
    assert.deepEqual(
      seen,
      ["article:create", "article:create"],
      "no delete (not in actions), nothing for an unlisted type",
    );
  });
});
