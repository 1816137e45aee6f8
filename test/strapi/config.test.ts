/**
 * Bad io config fails Strapi's boot with a message naming the key and the value.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bootStrapi } from "../support/strapi.ts";

describe("io plugin config validation at boot", () => {
  it("a bad 'transport.port' aborts boot naming the plugin, the key and the value", async () => {
    await assert.rejects(bootStrapi({ transport: { port: 99999 } }), (error: Error) => {
      assert.match(error.message, /io config/);
      assert.match(error.message, /'transport\.port' must be an integer from 0 to 65535, got 99999/);
      return true;
    });
  });
});
