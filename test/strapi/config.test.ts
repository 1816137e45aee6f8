/**
 * Bad io config fails Strapi's boot with a message naming the key and the value.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { PluginOptions } from "../../lib/strapi/plugin-options.ts";
import { bootStrapi } from "../support/strapi.ts";

const refusals: Array<[string, unknown, RegExp]> = [
  [
    "transport.port",
    { transport: { port: 99999 } },
    /'transport\.port' must be an integer from 0 to 65535, got 99999/,
  ],
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
  [
    "an unknown key",
    { contentType: ["api::article.article"] },
    /unknown option 'contentType' \(did you mean 'contentTypes'\?\)/,
  ],
];

describe("io plugin config validation at boot", () => {
  for (const [key, config, message] of refusals) {
    it(`a bad '${key}' aborts boot naming the plugin, the key and the value`, async () => {
      await assert.rejects(bootStrapi(config as PluginOptions), (error: Error) => {
        assert.match(error.message, /io config/);
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it("a content type the app does not have aborts boot naming the key", async () => {
    await assert.rejects(
      bootStrapi({ contentTypes: ["api::nope.nope"] }),
      /'contentTypes\[0\]' must be a content type of this app, got 'api::nope.nope'/,
    );
  });
});
