/**
 * The `adapter` option: defaults, validation naming the key and the value, and a Strapi boot that fails
 * when its Redis cannot be reached (the plugin resolves its config with the same `resolveOptions()`).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULTS, resolveOptions } from "../../lib/options.ts";
import { resolvePluginOptions } from "../../lib/strapi/plugin-options.ts";
import { freePort } from "../support/ports.ts";
import { bootStrapi } from "../support/strapi.ts";

describe("resolveOptions() → adapter", () => {
  it("defaults to the in-memory adapter (one process)", () => {
    assert.deepEqual(resolveOptions().adapter, { type: "memory" });
    assert.deepEqual(resolveOptions({ adapter: { type: "memory" } }).adapter, { type: "memory" });
  });

  it("fills every Redis default from DEFAULTS.redis, the subscriber URL from the URL", () => {
    assert.deepEqual(resolveOptions({ adapter: { type: "redis" } }).adapter, {
      type: "redis",
      url: DEFAULTS.redis.url,
      subscriberUrl: DEFAULTS.redis.url,
      keyPrefix: "strapi-io",
      requestsTimeout: 5000,
      heartbeatInterval: 5000,
      allowDegraded: false,
    });
    const custom = resolveOptions({
      adapter: {
        type: "redis",
        url: "rediss://user:pw@redis.internal:6380/2",
        subscriberUrl: "redis://replica:6379",
        keyPrefix: "shop:live",
      },
    });
    assert.equal(
      custom.adapter.type === "redis" && custom.adapter.subscriberUrl,
      "redis://replica:6379",
    );
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ["adapter", "redis", /'adapter' must be an object, got 'redis'/],
    [
      "adapter.type",
      { type: "mongo" },
      /'adapter\.type' must be one of memory, redis, got 'mongo'/,
    ],
    [
      "adapter.url",
      { type: "redis", url: "http://localhost:6379" },
      /'adapter\.url' must be a redis:\/\/ or rediss:\/\/ URL, got 'http:\/\/localhost:6379'/,
    ],
    [
      "adapter.subscriberUrl",
      { type: "redis", subscriberUrl: 6379 },
      /'adapter\.subscriberUrl' must be a redis:\/\/ or rediss:\/\/ URL, got 6379/,
    ],
    [
      "adapter.keyPrefix",
      { type: "redis", keyPrefix: "has space" },
      /'adapter\.keyPrefix' must be a non-empty string of letters, digits, '_', '-', '\.', ':', got 'has space'/,
    ],
    [
      "adapter.requestsTimeout",
      { type: "redis", requestsTimeout: 0 },
      /'adapter\.requestsTimeout' must be an integer number of milliseconds, at least 100, got 0/,
    ],
    [
      "adapter.heartbeatInterval",
      { type: "redis", heartbeatInterval: 2.5 },
      /'adapter\.heartbeatInterval' must be an integer number of milliseconds, at least 50, got 2\.5/,
    ],
    [
      "adapter.allowDegraded",
      { type: "redis", allowDegraded: "yes" },
      /'adapter\.allowDegraded' must be a boolean, got 'yes'/,
    ],
  ];
  for (const [key, adapter, message] of bad) {
    it(`rejects a bad '${key}' with a TypeError naming it and the value`, () => {
      assert.throws(() => resolveOptions({ adapter } as never), { name: "TypeError", message });
    });
  }

  it("rejects socket.serverOptions.adapter next to a Redis adapter (one adapter, configured once)", () => {
    assert.throws(
      () =>
        resolveOptions({
          adapter: { type: "redis" },
          socket: { serverOptions: { adapter: class {} as never } },
        }),
      {
        message: /'socket\.serverOptions\.adapter' must be unset when 'adapter\.type' is 'redis'/,
      },
    );
  });

  it("rejects Socket.IO's own connectionStateRecovery, with or without Redis: 'recovery' replaces it", () => {
    for (const adapter of [{ type: "redis" as const }, { type: "memory" as const }]) {
      assert.throws(
        () =>
          resolveOptions({ adapter, socket: { serverOptions: { connectionStateRecovery: {} } } }),
        {
          message:
            /'socket\.serverOptions\.connectionStateRecovery' must be unset \(use 'recovery'\)/,
        },
      );
    }
  });

  it("the plugin's config validator applies the same rules", () => {
    assert.throws(
      () => resolvePluginOptions({ adapter: { type: "redis", url: "localhost" } }),
      /'adapter\.url' must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });
});

describe("Strapi with an unreachable Redis", () => {
  it("fails to boot with an error naming the URL, instead of running as a lone node", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await assert.rejects(
      bootStrapi({ transport: { port: 0, host: "127.0.0.1" }, adapter: { type: "redis", url } }),
      {
        message: new RegExp(`cannot connect to Redis at ${url} \\('adapter\\.url'\\)`),
      },
    );
  });
});
