/**
 * The io plugin in a real Strapi 5.54.0: strapi.$io exists after bootstrap, serves clients on its
 * transport, and destroy frees the port.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { io as connect } from "socket.io-client";
import { nextEvent } from "../support/harness.ts";
import { freePort, portIsFree } from "../support/ports.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";

describe("io plugin in Strapi (uws transport)", () => {
  let app: BootedStrapi;
  before(async () => {
    // A fixed port, as in production: uWS sets SO_REUSEADDR only on fixed ports, so only then is the port
    // re-bindable right after close (with port 0, closed connections' TIME_WAIT holds it for a minute).
    app = await bootStrapi({
      transport: { type: "uws", port: await freePort(), host: "127.0.0.1" },
      namespaces: ["chat"],
    });
  });

  it("bootstrap gives strapi.$io, serving Socket.IO on uWS's own port", async () => {
    // strapi.$io comes from the built dist/ (what Strapi loads), so compare by the contract, not by class.
    for (
      const member of [
        "emit",
        "raw",
        "joinRoom",
        "leaveRoom",
        "getSocketsInRoom",
        "sendPrivateMessage",
        "broadcast",
        "emitToNamespace",
        "disconnectSocket",
        "subscribeToEntity",
        "unsubscribeFromEntity",
        "getEntitySubscriptions",
        "emitToEntity",
        "getEntityRoomSockets",
      ]
    ) {
      assert.equal(typeof app.strapi.$io[member], "function", member);
    }
    assert.equal(app.strapi.$io.server.constructor.name, "Server");
    assert.equal(app.io.transport, "uws");
    assert.notEqual(app.ioUrl, app.url);
    assert.deepEqual(Object.keys(app.io.namespaces), ["chat"]);
    const client = connect(app.ioUrl, {
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
    });
    await nextEvent(client, "connect");
    const got = nextEvent(client, "hello");
    await app.io.raw({ event: "hello", data: { from: "strapi" } });
    assert.deepEqual(await got, { from: "strapi" });
    assert.deepEqual((await app.io.getSocketsInRoom(client.id!)).map((info) => info.role), [
      "public",
    ]);
    client.disconnect();
  });

  it("Strapi's REST API keeps working beside it", async () => {
    assert.equal((await fetch(`${app.url}/_health`)).status, 204);
    // No permission granted to the public role: Strapi's own refusal (403 Forbidden), untouched by the plugin.
    assert.equal((await fetch(`${app.url}/api/articles`)).status, 403);
  });

  let destroyed = false;
  it("destroy frees the uWS port and removes strapi.$io", async () => {
    const { port } = app.io;
    destroyed = true;
    await app.destroy();
    assert.equal(await portIsFree(port), true, "destroy frees the uWS port");
    assert.equal(app.strapi.$io, undefined);
  });

  after(async () => {
    if (!destroyed) await app.destroy();
  });
});
