/**
 * Bad io config fails Strapi's boot with a message naming the plugin, the key and the value. The messages
 * of every key are unit-tested without Strapi (test/options.test.ts); these boots show that Strapi's
 * config validator and the plugin's bootstrap are wired to them.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolvePluginOptions } from "../../lib/strapi/plugin-options.ts";
import type { PluginOptions } from "../../lib/strapi/plugin-options.ts";
import { bootStrapi } from "../support/strapi.ts";

/** Plugin keys refused by the resolver alone (no Strapi needed). */
const refusals: Array<[string, unknown, RegExp]> = [
  ["contentTypes", { contentTypes: "api::article.article" }, /'contentTypes' must be an array/],
  ["contentTypes[0].actions", {
    contentTypes: [{ uid: "api::article.article", actions: ["explode"] }],
  }, /'contentTypes\[0\]\.actions' must be an array of create, update, delete, publish, unpublish/],
  [
    "events[0].handler",
    { events: [{ name: "chat", handler: "nope" }] },
    /'events\[0\]\.handler' must be a function/,
  ],
  [
    "events[0].name",
    { events: [{ name: "subscribe-entity", handler: () => {} }] },
    /'events\[0\]\.name' must be a name strapi-io does not reserve/,
  ],
  [
    "emitPermission",
    { emitPermission: "write" },
    /'emitPermission' must be one of read, action, got 'write'/,
  ],
  ["hooks.init", { hooks: { init: 1 } }, /'hooks\.init' must be a function, got 1/],
];

describe("resolvePluginOptions()", () => {
  for (const [key, config, message] of refusals) {
    it(`refuses a bad '${key}' with a TypeError naming the key and the value`, () => {
      assert.throws(
        () => resolvePluginOptions(config as PluginOptions),
        (error: Error) => error instanceof TypeError && message.test(error.message),
      );
    });
  }
});

describe("io plugin config validation at boot", () => {
  it("a bad value aborts boot naming the plugin, the key and the value", async () => {
    await assert.rejects(bootStrapi({ transport: { port: 99999 } }), (error: Error) => {
      assert.match(error.message, /io config/);
      assert.match(
        error.message,
        /'transport\.port' must be an integer from 0 to 65535, got 99999/,
      );
      return true;
    });
  });

  it("an unknown key aborts boot naming it and the closest known key", async () => {
    await assert.rejects(
      bootStrapi({ contentType: ["api::article.article"] } as PluginOptions),
      /io config.*unknown option 'contentType' \(did you mean 'contentTypes'\?\)/s,
    );
  });

  it("a content type the app does not have aborts boot naming the key", async () => {
    await assert.rejects(
      bootStrapi({ contentTypes: ["api::nope.nope"] }),
      /'contentTypes\[0\]' must be a content type of this app, got 'api::nope.nope'/,
    );
  });
});
