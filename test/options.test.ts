/**
 * resolveOptions(): defaults in one place, and errors that name the key and the value.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULTS, resolveOptions } from "../lib/options.ts";
import { startHarness } from "./support/harness.ts";

describe("resolveOptions()", () => {
  it("works with no config at all", () => {
    const resolved = resolveOptions();
    assert.deepEqual(resolved.transport, DEFAULTS.transport);
    assert.deepEqual(resolved.namespaces, []);
    assert.deepEqual(resolved.entitySubscriptions, DEFAULTS.entitySubscriptions);
    assert.deepEqual(resolved.socket.serverOptions.transports, ["websocket", "polling"]);
    assert.equal(resolved.socket.serverOptions.path, "/socket.io");
  });

  it("keeps an explicit 0 (never replaced by the default)", () => {
    assert.equal(resolveOptions({ transport: { port: 0 } }).transport.port, 0);
  });

  it("normalizes namespace names and offers WebSocket only when polling is off", () => {
    const resolved = resolveOptions({ namespaces: ["/chat", "admin"], transport: { polling: false } });
    assert.deepEqual(resolved.namespaces, ["chat", "admin"]);
    assert.deepEqual(resolved.socket.serverOptions.transports, ["websocket"]);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ["transport.type", { transport: { type: "tcp" } }, /'transport\.type' must be one of auto, uws, node-http, got 'tcp'/],
    ["transport.port", { transport: { port: 70000 } }, /'transport\.port' must be an integer from 0 to 65535, got 70000/],
    ["transport.port (string)", { transport: { port: "80" } }, /'transport\.port'.*got '80'/],
    ["transport.polling", { transport: { polling: "yes" } }, /'transport\.polling' must be a boolean/],
    ["transport.maxBackpressure", { transport: { maxBackpressure: 10 } }, /'transport\.maxBackpressure'.*got 10/],
    ["transport", { transport: "uws" }, /'transport' must be an object, got 'uws'/],
    ["namespaces", { namespaces: "chat" }, /'namespaces' must be an array/],
    ["namespaces[1]", { namespaces: ["chat", "bad name"] }, /'namespaces\[1\]'.*got 'bad name'/],
    ["namespaces duplicates", { namespaces: ["chat", "/chat"] }, /'namespaces' must be names without duplicates, got 'chat'/],
    ["socket.serverOptions.transports", { socket: { serverOptions: { transports: ["polling"] } } }, /'socket\.serverOptions\.transports'/],
    ["socket.serverOptions.path", { socket: { serverOptions: { path: "io" } } }, /'socket\.serverOptions\.path'/],
    ["entitySubscriptions.maxPerSocket", { entitySubscriptions: { maxPerSocket: 0 } }, /'entitySubscriptions\.maxPerSocket' must be a positive integer, got 0/],
    ["entitySubscriptions.enabled", { entitySubscriptions: { enabled: 1 } }, /'entitySubscriptions\.enabled'/],
    ["entitySubscriptions.allowedContentTypes", { entitySubscriptions: { allowedContentTypes: [""] } }, /'entitySubscriptions\.allowedContentTypes'/],
  ];
  for (const [key, config, message] of bad) {
    it(`rejects a bad '${key}' with a TypeError naming it`, () => {
      assert.throws(() => resolveOptions(config as never), (error: Error) => error instanceof TypeError && message.test(error.message));
    });
  }
});

describe("transport.polling: false", () => {
  it("refuses long-polling clients and accepts WebSocket ones", async () => {
    const h = await startHarness("uws", { transport: { polling: false } });
    try {
      const refused = await h.refusedClient("/", { transports: ["polling"] });
      assert.match(refused.message, /xhr poll error|websocket error|poll/i);
      await h.client("/", { transports: ["websocket"] });
    } finally {
      await h.cleanup();
    }
  });
});

describe("entitySubscriptions options", () => {
  it("enabled: false refuses every subscription with a reason", async () => {
    const h = await startHarness("uws", { entitySubscriptions: { enabled: false } });
    try {
      const socket = await h.client();
      const result = await h.io.subscribeToEntity(socket.id!, "api::article.article", "1");
      assert.deepEqual(result, { success: false, error: "Entity subscriptions are disabled" });
    } finally {
      await h.cleanup();
    }
  });

  it("allowedContentTypes limits which types may be followed", async () => {
    const h = await startHarness("node-http", { entitySubscriptions: { allowedContentTypes: ["api::article.article"] } });
    try {
      const socket = await h.client();
      assert.equal((await h.io.subscribeToEntity(socket.id!, "api::article.article", "1")).success, true);
      const refused = await h.io.subscribeToEntity(socket.id!, "api::comment.comment", "1");
      assert.equal(refused.success, false);
      assert.match(refused.error!, /does not allow entity subscriptions/);
    } finally {
      await h.cleanup();
    }
  });
});
