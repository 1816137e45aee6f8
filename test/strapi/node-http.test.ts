/**
 * The plugin on the node-http transport: Socket.IO shares Strapi's own port, content events arrive there,
 * and Strapi's REST API keeps answering on the same port.
 */
// Strapi objects, REST bodies and IPC messages cross this file untyped (`any`).
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { nextEvent } from "../support/harness.ts";
import { type BootedStrapi, bootStrapi } from "../support/strapi.ts";
import { createToken, grant, rest, socketsFor } from "../support/strapi-fixtures.ts";

describe("io plugin in Strapi (node-http transport, one port)", () => {
  let app: BootedStrapi;
  let sockets: ReturnType<typeof socketsFor>;

  before(async () => {
    app = await bootStrapi({ transport: { type: "node-http" } });
    sockets = socketsFor(app);
  });

  after(async () => {
    sockets.closeAll();
    await app.destroy();
  });

  it("serves Socket.IO on Strapi's own port", () => {
    assert.equal(app.io.transport, "node-http");
    assert.equal(app.ioUrl, app.url);
  });

  it("a REST create reaches a public reader on the shared port, sanitized", async () => {
    await grant(app, "public", ["api::article.article.find"]);
    const socket = await sockets.connect();
    const event = nextEvent<any>(socket, "article:create");
    const created = await rest(app, "POST", "/api/articles", {
      data: { title: "One port", internalNotes: "x" },
    }, (await createToken(app, "full-access")).accessKey);
    assert.equal(created.status, 201);
    const { data } = await event;
    assert.equal(data.documentId, created.json.data.documentId);
    assert.equal("internalNotes" in data, false);
    assert.equal((await rest(app, "GET", "/api/articles")).status, 200);
  });
});
