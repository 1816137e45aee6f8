/**
 * resolveOptions(): defaults in one place, and errors that name the key and the value.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULTS, resolveOptions } from "../lib/options.ts";
import { resolvePluginOptions } from "../lib/strapi/plugin-options.ts";
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
    const resolved = resolveOptions({
      namespaces: ["/chat", "admin"],
      transport: { polling: false },
    });
    assert.deepEqual(resolved.namespaces, ["chat", "admin"]);
    assert.deepEqual(resolved.socket.serverOptions.transports, ["websocket"]);
  });

  const bad: Array<[string, unknown, RegExp]> = [
    [
      "transport.type",
      { transport: { type: "tcp" } },
      /'transport\.type' must be one of auto, uws, node-http, got 'tcp'/,
    ],
    [
      "transport.port",
      { transport: { port: 70000 } },
      /'transport\.port' must be an integer from 0 to 65535, got 70000/,
    ],
    ["transport.port (string)", { transport: { port: "80" } }, /'transport\.port'.*got '80'/],
    [
      "transport.polling",
      { transport: { polling: "yes" } },
      /'transport\.polling' must be a boolean/,
    ],
    [
      "transport.maxBackpressure",
      { transport: { maxBackpressure: 10 } },
      /'transport\.maxBackpressure'.*got 10/,
    ],
    ["transport", { transport: "uws" }, /'transport' must be an object, got 'uws'/],
    ["namespaces", { namespaces: "chat" }, /'namespaces' must be an array/],
    ["namespaces[1]", { namespaces: ["chat", "bad name"] }, /'namespaces\[1\]'.*got 'bad name'/],
    [
      "namespaces duplicates",
      { namespaces: ["chat", "/chat"] },
      /'namespaces' must be names without duplicates, got 'chat'/,
    ],
    [
      "socket.serverOptions.transports",
      { socket: { serverOptions: { transports: ["polling"] } } },
      /'socket\.serverOptions\.transports'/,
    ],
    [
      "socket.serverOptions.path",
      { socket: { serverOptions: { path: "io" } } },
      /'socket\.serverOptions\.path'/,
    ],
    [
      "entitySubscriptions.maxPerSocket",
      { entitySubscriptions: { maxPerSocket: 0 } },
      /'entitySubscriptions\.maxPerSocket' must be a positive integer, got 0/,
    ],
    [
      "entitySubscriptions.enabled",
      { entitySubscriptions: { enabled: 1 } },
      /'entitySubscriptions\.enabled'/,
    ],
    ["entitySubscriptions.allowedContentTypes", {
      entitySubscriptions: { allowedContentTypes: [""] },
    }, /'entitySubscriptions\.allowedContentTypes'/],
    [
      "transport.drainTimeout",
      { transport: { drainTimeout: -1 } },
      /'transport\.drainTimeout' must be an integer number of milliseconds, got -1/,
    ],
    [
      "transport.maxMessageSize",
      { transport: { maxMessageSize: 10 } },
      /'transport\.maxMessageSize' must be an integer number of bytes, at least 1024, got 10/,
    ],
    [
      "limits.events.rate",
      { limits: { events: { rate: 0 } } },
      /'limits\.events\.rate' must be a positive number of events per second, got 0/,
    ],
    [
      "limits.events.burst",
      { limits: { events: { burst: 1.5 } } },
      /'limits\.events\.burst' must be a positive integer, got 1\.5/,
    ],
    [
      "limits.connections.maxPerUser",
      { limits: { connections: { maxPerUser: -1 } } },
      /'limits\.connections\.maxPerUser' must be a positive integer, got -1/,
    ],
    [
      "limits.connections.trustProxy",
      { limits: { connections: { trustProxy: "yes" } } },
      /'limits\.connections\.trustProxy' must be a boolean, got 'yes'/,
    ],
    [
      "limits.maxPayload",
      { limits: { maxPayload: 10 } },
      /'limits\.maxPayload' must be an integer number of bytes, at least 1024, got 10/,
    ],
    ["socket.serverOptions.maxHttpBufferSize", {
      socket: { serverOptions: { maxHttpBufferSize: 1e8 } },
    }, /'socket\.serverOptions\.maxHttpBufferSize' must be unset \(use 'limits\.maxPayload'\)/],
  ];
  for (const [key, config, message] of bad) {
    it(`rejects a bad '${key}' with a TypeError naming it`, () => {
      assert.throws(
        () => resolveOptions(config as never),
        (error: Error) => error instanceof TypeError && message.test(error.message),
      );
    });
  }
});

describe("strict config: an unknown key fails, naming its path, its value and the closest known key", () => {
  const unknown: Array<[string, unknown, RegExp]> = [
    [
      "a top-level typo",
      { contentType: ["api::article.article"] },
      /unknown option 'contentType' \(did you mean 'contentTypes'\?\), got an array/,
    ],
    [
      "transport.prot",
      { transport: { prot: 1338 } },
      /unknown option 'transport\.prot' \(did you mean 'transport\.port'\?\), got 1338/,
    ],
    [
      "a key inside a contentTypes entry",
      { contentTypes: [{ uid: "api::article.article", action: ["create"] }] },
      /unknown option 'contentTypes\[0\]\.action' \(did you mean 'contentTypes\[0\]\.actions'\?\)/,
    ],
    [
      "entitySubscriptions.maxPerSockets",
      { entitySubscriptions: { maxPerSockets: 3 } },
      /'entitySubscriptions\.maxPerSockets' \(did you mean 'entitySubscriptions\.maxPerSocket'\?\)/,
    ],
    [
      "limits.events.rat",
      { limits: { events: { rat: 3 } } },
      /'limits\.events\.rat' \(did you mean 'limits\.events\.rate'\?\)/,
    ],
    [
      "limits.connection",
      { limits: { connection: {} } },
      /'limits\.connection' \(did you mean 'limits\.connections'\?\)/,
    ],
    [
      "adapter.urll",
      { adapter: { type: "redis", urll: "redis://x" } },
      /'adapter\.urll' \(did you mean 'adapter\.url'\?\), got 'redis:\/\/x'/,
    ],
    [
      "a Redis key on the memory adapter",
      { adapter: { type: "memory", url: "redis://x" } },
      /unknown option 'adapter\.url'/,
    ],
    [
      "hooks.inti",
      { hooks: { inti: () => {} } },
      /'hooks\.inti' \(did you mean 'hooks\.init'\?\), got a function/,
    ],
    [
      "events[0].nmae",
      { events: [{ nmae: "x", handler: () => {} }] },
      /'events\[0\]\.nmae' \(did you mean 'events\[0\]\.name'\?\)/,
    ],
    [
      "socket.serverOption",
      { socket: { serverOption: {} } },
      /'socket\.serverOption' \(did you mean 'socket\.serverOptions'\?\)/,
    ],
    [
      "a key like nothing known",
      { zzzzzzzz: 1 },
      /unknown option 'zzzzzzzz' \(known keys here: transport, socket, .*emitPermission\), got 1/,
    ],
  ];
  for (const [what, config, message] of unknown) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => resolvePluginOptions(config as never),
        (error: Error) => error instanceof TypeError && message.test(error.message),
      );
    });
  }

  it("resolveOptions() alone knows only the core keys", () => {
    assert.throws(
      () => resolveOptions({ contentTypes: [] } as never),
      /unknown option 'contentTypes'/,
    );
  });

  it("socket.serverOptions stays a pass-through to Socket.IO", () => {
    const resolved = resolveOptions({
      socket: { serverOptions: { pingInterval: 1000, somethingNew: true } as never },
    });
    assert.equal(resolved.socket.serverOptions.pingInterval, 1000);
    assert.equal((resolved.socket.serverOptions as Record<string, unknown>).somethingNew, true);
  });

  it("limits default to documented values and reach Socket.IO as maxHttpBufferSize", () => {
    const resolved = resolveOptions();
    assert.deepEqual(resolved.limits, DEFAULTS.limits);
    assert.equal(resolved.socket.serverOptions.maxHttpBufferSize, DEFAULTS.limits.maxPayload);
    assert.equal(
      resolveOptions({ limits: { maxPayload: 4096 } }).socket.serverOptions.maxHttpBufferSize,
      4096,
    );
  });
});

describe("recovery options", () => {
  it("default to on, a 2-minute window and 10,000 events, through the plugin config too", () => {
    assert.deepEqual(resolveOptions().recovery, {
      enabled: true,
      window: 120_000,
      maxEvents: 10_000,
    });
    assert.deepEqual(
      resolvePluginOptions({ recovery: { window: 5000 } }).core.recovery,
      { enabled: true, window: 5000, maxEvents: 10_000 },
    );
  });

  it("refuse bad values and unknown keys, naming the key", () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ enabled: "yes" }, /'recovery\.enabled' must be a boolean, got 'yes'/],
      [
        { window: 0 },
        /'recovery\.window' must be a positive integer number of milliseconds, got 0/,
      ],
      [{ maxEvents: 1.5 }, /'recovery\.maxEvents' must be a positive integer, got 1\.5/],
      [{ windw: 1 }, /unknown option 'recovery\.windw' \(did you mean 'recovery\.window'\?\)/],
      ["on", /'recovery' must be/],
    ];
    for (const [recovery, message] of cases) {
      assert.throws(() => resolveOptions({ recovery } as never), message);
    }
  });
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
    const h = await startHarness("node-http", {
      entitySubscriptions: { allowedContentTypes: ["api::article.article"] },
    });
    try {
      const socket = await h.client();
      assert.equal(
        (await h.io.subscribeToEntity(socket.id!, "api::article.article", "1")).success,
        true,
      );
      const refused = await h.io.subscribeToEntity(socket.id!, "api::comment.comment", "1");
      assert.equal(refused.success, false);
      assert.match(refused.error!, /does not allow entity subscriptions/);
    } finally {
      await h.cleanup();
    }
  });
});
