/**
 * Plain HTTP on strapi-io's own port, on both transports: liveness and readiness for load balancers, and a
 * plain 404 (never a connection closed without a reply) for every other path that is not Socket.IO's.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { resolveOptions } from "../lib/options.ts";
import { startHarness, TRANSPORTS } from "./support/harness.ts";

async function get(url: string, method = "GET") {
  const response = await fetch(url, { method });
  return { status: response.status, body: await response.text() };
}

for (const transport of TRANSPORTS) {
  describe(`plain HTTP on strapi-io's port over ${transport}`, () => {
    it("answers /health/live and /health/ready with 200, HEAD without a body, and 404 for anything else", async () => {
      const h = await startHarness(transport);
      try {
        assert.deepEqual(await get(`${h.url}/health/live`), {
          status: 200,
          body: '{"status":"live"}',
        });
        assert.deepEqual(await get(`${h.url}/health/ready`), {
          status: 200,
          body: '{"status":"ready"}',
        });
        assert.deepEqual(await get(`${h.url}/health/ready`, "HEAD"), { status: 200, body: "" });
        for (const path of ["/", "/health", "/health/live/x", "/api/articles", "/socket.io"]) {
          assert.deepEqual(await get(`${h.url}${path}`), {
            status: 404,
            body: '{"error":"Not Found"}',
          }, path);
        }
        assert.equal((await get(`${h.url}/health/live`, "POST")).status, 404);
        await h.client(); // Socket.IO's own path is untouched
      } finally {
        await h.cleanup();
      }
    });

    it("health.path moves the endpoints; health.enabled: false leaves only 404s", async () => {
      const moved = await startHarness(transport, { health: { path: "/ops/health" } });
      const off = await startHarness(transport, { health: { enabled: false } });
      try {
        assert.equal((await get(`${moved.url}/ops/health/ready`)).status, 200);
        assert.equal((await get(`${moved.url}/health/ready`)).status, 404);
        assert.equal((await get(`${off.url}/health/live`)).status, 404);
      } finally {
        await moved.cleanup();
        await off.cleanup();
      }
    });
  });
}

describe("health options", () => {
  it("refuse a bad path or an unknown key, naming the key", () => {
    assert.throws(() => resolveOptions({ health: { path: "health/" } }), /'health\.path' must be/);
    assert.throws(
      () => resolveOptions({ health: { paht: "/x" } } as never),
      /did you mean 'health\.path'/,
    );
  });
});

describe("health.drainDelay", () => {
  it("close() answers unready at once and keeps serving connected clients for drainDelay, then closes them", async () => {
    const h = await startHarness("uws", { health: { drainDelay: 300 } });
    const client = await h.client();
    const disconnected = new Promise((resolve) => client.once("disconnect", resolve));
    const closing = h.io.close();
    assert.deepEqual(await get(`${h.url}/health/ready`), {
      status: 503,
      body: '{"status":"unready","reasons":["shutting down"]}',
    });
    assert.equal(client.connected, true, "still served while draining");
    await closing;
    await disconnected;
  });
});
